//! Orders the system itself cancels, on the timer: orders left `pending` past the grace
//! period (the saga never finished) and orders whose payment failed, once the customer has
//! had time to see why. Stock and points are released through `order.cancelled`. Rows are
//! taken with `SKIP LOCKED`, so several replicas share the work.

use super::{CancelReason, Change, ChangeError, apply};
use crate::db;
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::OrderStatus;
use platform::db::DbPool;
use std::time::Duration;

/// Which orders a timeout closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Still `pending` this long after checkout.
    Pending,
    /// `payment_failed` this long after the failure.
    PaymentFailed,
}

impl Timeout {
    const fn status(self) -> OrderStatus {
        match self {
            Self::Pending => OrderStatus::Pending,
            Self::PaymentFailed => OrderStatus::PaymentFailed,
        }
    }

    const fn reason(self) -> CancelReason {
        match self {
            Self::Pending => CancelReason::PendingTimeout,
            Self::PaymentFailed => CancelReason::PaymentFailed,
        }
    }

    const fn note(self) -> &'static str {
        match self {
            Self::Pending => "The order was not confirmed in time.",
            Self::PaymentFailed => "The payment failed; the order was closed.",
        }
    }
}

/// Cancels up to 100 orders past `timeout` (`after` long); answers how many it took.
pub async fn expire(
    pool: &DbPool,
    timeout: Timeout,
    after: Duration,
) -> Result<usize, diesel::result::Error> {
    let Ok(mut conn) = pool.get().await else {
        return Ok(0);
    };
    let before = Utc::now() - chrono::Duration::from_std(after).unwrap_or_default();
    conn.transaction(async |conn| {
        let stale = db::orders::lock_stale(conn, timeout.status(), before, 100).await?;
        let count = stale.len();
        for mut order in stale {
            let change = Change {
                status: Some(OrderStatus::Cancelled),
                cancel: Some(timeout.reason()),
                note: Some(timeout.note()),
                ..Change::default()
            };
            match apply(conn, &mut order, change).await {
                Ok(_) => {}
                Err(ChangeError::Database(err)) => return Err(err),
                Err(ChangeError::Transition(err)) => {
                    tracing::error!(order = %order.id, error = %err, "timer could not cancel an order");
                }
            }
        }
        Ok(count)
    })
    .await
}
