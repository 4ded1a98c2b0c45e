//! `password_resets`: single-use, hashed, short-lived.

use crate::schema::password_resets;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::UserId;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_resets)]
pub struct ResetRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl ResetRow {
    /// Neither used nor expired at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::id.eq(Uuid::now_v7()),
            password_resets::user_id.eq(user_id),
            password_resets::token_hash.eq(token_hash),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

pub async fn find_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<ResetRow>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .select(ResetRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<ResetRow>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .for_update()
        .select(ResetRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Uses every open reset of `user_id`: one reset ends them all.
pub async fn mark_used(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::update(
        password_resets::table
            .filter(password_resets::user_id.eq(user_id))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}
