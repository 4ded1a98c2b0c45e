//! The user read model (every `user.*` event from auth carries the whole `UserState`).

use crate::schema::users;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub version: i64,
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub date_of_birth: Option<NaiveDate>,
    pub role: String,
    pub id_verification: String,
    pub account_status: String,
    pub registered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl UserRow {
    pub fn is_active(&self) -> bool {
        self.account_status == "active"
    }

    pub fn id_verified(&self) -> bool {
        self.id_verification == "approved"
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

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's row, locked until the transaction ends: checkouts of one customer queue here,
/// so two at once cannot both pass the daily limits.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
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
