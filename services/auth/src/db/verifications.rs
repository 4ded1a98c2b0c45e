//! `id_verifications`: one row per submitted document.

use crate::schema::id_verifications;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::Pagination;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = id_verifications)]
pub struct VerificationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub document_type: String,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = id_verifications)]
pub struct NewVerification<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub document_type: &'a str,
    pub object_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewVerification<'_>,
) -> QueryResult<VerificationRow> {
    diesel::insert_into(id_verifications::table)
        .values(new)
        .returning(VerificationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn latest_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .filter(id_verifications::user_id.eq(user_id))
        .order((
            id_verifications::created_at.desc(),
            id_verifications::id.desc(),
        ))
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .find(id)
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<VerificationRow>> {
    id_verifications::table
        .find(id)
        .for_update()
        .select(VerificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Oldest first: the review queue is worked in arrival order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
    page: &Pagination,
) -> QueryResult<(Vec<VerificationRow>, i64)> {
    let query = || {
        let mut query = id_verifications::table.into_boxed();
        if let Some(status) = status {
            query = query.filter(id_verifications::status.eq(status.to_owned()));
        }
        query
    };
    let total = query().count().get_result(conn).await?;
    let rows = query()
        .order((id_verifications::created_at.asc(), id_verifications::id))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(VerificationRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Records a decision on a pending verification.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
    decided_by: &str,
    reviewer_id: Option<Uuid>,
) -> QueryResult<VerificationRow> {
    diesel::update(id_verifications::table.find(id))
        .set((
            id_verifications::status.eq(status),
            id_verifications::reason.eq(reason),
            id_verifications::decided_by.eq(decided_by),
            id_verifications::reviewer_id.eq(reviewer_id),
            id_verifications::decided_at.eq(diesel::dsl::now),
        ))
        .returning(VerificationRow::as_returning())
        .get_result(conn)
        .await
}
