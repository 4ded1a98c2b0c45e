//! The FS Coin balance shown on the user (`rewardsBalance`): a read model of payments' rewards
//! ledger, which announces every entry with the balance after it (`rewards.changed`). The
//! ledger numbers each user's entries (`sequence`, 1, 2, ...); the balance of the highest
//! sequence seen wins, so an older event — redelivered, retried or replayed from the
//! dead-letter queue after a newer one — changes nothing.

use crate::db;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::UserId;

/// A ledger entry's balance, as `rewards.changed` announced it and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
    pub user_id: UserId,
    /// The user's ledger sequence of the entry; at least 1.
    pub sequence: i64,
    /// FS Coins after the entry; never negative.
    pub balance: i64,
}

impl BalanceChange {
    /// Checks what the event carries: a user id, a sequence (the only order there is) and a
    /// balance the ledger could have. The reason, when it cannot be applied; retrying the same
    /// event cannot change it.
    pub fn parse(user_id: &str, sequence: i64, balance: i64) -> Result<Self, String> {
        let user_id = uuid::Uuid::parse_str(user_id)
            .map(UserId::from)
            .map_err(|_| format!("rewards.changed for {user_id:?}, not a user id"))?;
        if sequence < 1 {
            return Err(format!(
                "rewards.changed for {user_id} without a ledger sequence ({sequence})"
            ));
        }
        if balance < 0 {
            return Err(format!(
                "rewards.changed for {user_id} with a negative balance ({balance})"
            ));
        }
        Ok(Self {
            user_id,
            sequence,
            balance,
        })
    }
}

/// Keeps `change`'s balance unless a balance of the same or a later entry is kept already;
/// answers whether it was kept. An unknown user (deleted since) keeps nothing either.
pub async fn apply(conn: &mut AsyncPgConnection, change: BalanceChange) -> QueryResult<bool> {
    let applied =
        db::users::set_rewards(conn, change.user_id, change.balance, change.sequence).await?;
    if !applied {
        tracing::debug!(user_id = %change.user_id, sequence = change.sequence,
            "rewards.changed not newer than the balance kept (or no such user); ignored");
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn a_ledger_entry_parses_with_its_user_sequence_and_balance() {
        let change = BalanceChange::parse(USER, 3, 145).unwrap();
        assert_eq!(change.user_id.to_string(), USER);
        assert_eq!((change.sequence, change.balance), (3, 145));
        assert!(BalanceChange::parse(USER, 1, 0).is_ok(), "an empty balance");
    }

    #[test]
    fn what_cannot_be_ordered_or_cannot_be_a_balance_is_refused() {
        assert!(BalanceChange::parse("not-a-uuid", 1, 10).is_err());
        assert!(BalanceChange::parse("", 1, 10).is_err());
        assert!(
            BalanceChange::parse(USER, 0, 10).is_err(),
            "no sequence: no order"
        );
        assert!(BalanceChange::parse(USER, -4, 10).is_err());
        assert!(BalanceChange::parse(USER, 2, -1).is_err());
    }
}
