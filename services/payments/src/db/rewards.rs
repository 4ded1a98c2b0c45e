//! `rewards_accounts` and `rewards_transactions`: the FS Coin ledger.

use crate::rewards::EntryKind;
use crate::schema::{rewards_accounts, rewards_transactions};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, Pagination, UserId};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rewards_transactions)]
pub struct EntryRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub sequence: i64,
    pub kind: EntryKind,
    pub points: i64,
    pub balance_after: i64,
    pub order_id: Option<OrderId>,
    pub description: String,
    pub actor_id: Option<UserId>,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = rewards_transactions)]
pub struct NewEntry<'a> {
    pub user_id: UserId,
    pub sequence: i64,
    pub kind: EntryKind,
    pub points: i64,
    pub balance_after: i64,
    pub order_id: Option<OrderId>,
    pub description: &'a str,
    pub actor_id: Option<UserId>,
    pub reference: Option<&'a str>,
}

/// The balance, 0 for a user without an account.
pub async fn balance(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<i64> {
    Ok(rewards_accounts::table
        .find(user_id)
        .select(rewards_accounts::balance_points)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// Adds `points` (> 0), creating the account; returns (balance, sequence) after.
pub async fn credit(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    points: i64,
) -> QueryResult<(i64, i64)> {
    diesel::insert_into(rewards_accounts::table)
        .values((
            rewards_accounts::user_id.eq(user_id),
            rewards_accounts::balance_points.eq(points),
            rewards_accounts::sequence.eq(1),
        ))
        .on_conflict(rewards_accounts::user_id)
        .do_update()
        .set((
            rewards_accounts::balance_points.eq(rewards_accounts::balance_points + points),
            rewards_accounts::sequence.eq(rewards_accounts::sequence + 1),
            rewards_accounts::updated_at.eq(diesel::dsl::now),
        ))
        .returning((rewards_accounts::balance_points, rewards_accounts::sequence))
        .get_result(conn)
        .await
}

/// Takes `points` (> 0) if the balance holds them, in one statement, so concurrent debits
/// can never together overdraw; `None` when it does not.
pub async fn debit(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    points: i64,
) -> QueryResult<Option<(i64, i64)>> {
    diesel::update(
        rewards_accounts::table
            .find(user_id)
            .filter(rewards_accounts::balance_points.ge(points)),
    )
    .set((
        rewards_accounts::balance_points.eq(rewards_accounts::balance_points - points),
        rewards_accounts::sequence.eq(rewards_accounts::sequence + 1),
        rewards_accounts::updated_at.eq(diesel::dsl::now),
    ))
    .returning((rewards_accounts::balance_points, rewards_accounts::sequence))
    .get_result(conn)
    .await
    .optional()
}

pub async fn insert_entry(
    conn: &mut AsyncPgConnection,
    entry: NewEntry<'_>,
) -> QueryResult<EntryRow> {
    diesel::insert_into(rewards_transactions::table)
        .values(entry)
        .returning(EntryRow::as_returning())
        .get_result(conn)
        .await
}

/// The entry for `reference`, if any.
pub async fn by_reference(
    conn: &mut AsyncPgConnection,
    reference: &str,
) -> QueryResult<Option<EntryRow>> {
    rewards_transactions::table
        .filter(rewards_transactions::reference.eq(reference))
        .select(EntryRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether an entry for `reference` exists.
pub async fn exists(conn: &mut AsyncPgConnection, reference: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        rewards_transactions::table.filter(rewards_transactions::reference.eq(reference)),
    ))
    .get_result(conn)
    .await
}

/// A user's history, newest first, and its length.
pub async fn history(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    page: &Pagination,
) -> QueryResult<(Vec<EntryRow>, i64)> {
    let total = rewards_transactions::table
        .filter(rewards_transactions::user_id.eq(user_id))
        .count()
        .get_result(conn)
        .await?;
    let rows = rewards_transactions::table
        .filter(rewards_transactions::user_id.eq(user_id))
        .order(rewards_transactions::sequence.desc())
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(EntryRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
