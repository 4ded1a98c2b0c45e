//! The user read model (every `user.*` event from auth carries the whole `UserState`).

use crate::schema::users;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{Role, UserId};

domain::string_enum! {
    /// Where the user's ID verification stands (auth decides; checkout needs `approved`).
    pub enum IdVerification (field = "idVerificationStatus") {
        NotSubmitted => "not_submitted",
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

domain::string_enum! {
    /// Whether the account may act (a suspended one cannot order or deliver).
    pub enum AccountStatus (field = "accountStatus") {
        Active => "active",
        Suspended => "suspended",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub version: i64,
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub date_of_birth: Option<NaiveDate>,
    pub role: Role,
    pub id_verification: IdVerification,
    pub account_status: AccountStatus,
    pub registered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl UserRow {
    pub fn is_active(&self) -> bool {
        self.account_status == AccountStatus::Active
    }

    pub fn id_verified(&self) -> bool {
        self.id_verification == IdVerification::Approved
    }
}

/// Stores the state if it is newer than the one held. `registered_at` is kept once known.
pub async fn upsert(conn: &mut AsyncPgConnection, row: &UserRow) -> QueryResult<bool> {
    let changed = diesel::query_dsl::methods::FilterDsl::filter(
        diesel::insert_into(users::table)
            .values(row)
            .on_conflict(users::id)
            .do_update()
            .set((
                users::version.eq(excluded(users::version)),
                users::email.eq(excluded(users::email)),
                users::full_name.eq(excluded(users::full_name)),
                users::phone.eq(excluded(users::phone)),
                users::date_of_birth.eq(excluded(users::date_of_birth)),
                users::role.eq(excluded(users::role)),
                users::id_verification.eq(excluded(users::id_verification)),
                users::account_status.eq(excluded(users::account_status)),
                users::registered_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >(
                    "coalesce(users.registered_at, excluded.registered_at)"
                )),
                users::updated_at.eq(excluded(users::updated_at)),
            )),
        newer(),
    )
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's row, locked until the transaction ends: checkouts of one customer queue here,
/// so two at once cannot both pass the daily limits.
pub async fn lock(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .for_update()
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The upsert's `WHERE`: only a newer version replaces the row.
fn newer() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("users.version < excluded.version")
}
