//! `refresh_tokens`: one row per refresh token; a family per login.

use crate::schema::refresh_tokens;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::UserId;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    family_id: Uuid,
    user_id: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

/// The token with this hash, locked: two concurrent refreshes with one token must not both
/// rotate it.
pub async fn lock_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .for_update()
        .select(RefreshRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn mark_rotated(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::rotated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

pub async fn revoke_family(conn: &mut AsyncPgConnection, family_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Ends every session of `user_id` (password reset, suspension).
pub async fn revoke_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}
