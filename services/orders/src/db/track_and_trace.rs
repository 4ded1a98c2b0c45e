//! `track_and_trace_reports`: every delivered sale's receipt until the track-and-trace system
//! (Metrc, or the table itself) accepted it.

use crate::schema::track_and_trace_reports as reports;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OrderId, Pagination};

domain::string_enum! {
    /// Whether track-and-trace has accepted a receipt.
    pub enum ReceiptStatus (field = "status") {
        /// Queued or refused so far; sent again when due.
        Pending => "pending",
        /// Accepted by the adapter.
        Accepted => "accepted",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub order_id: OrderId,
    pub jurisdiction: String,
    pub adapter: String,
    pub status: ReceiptStatus,
    pub receipt: serde_json::Value,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    jurisdiction: &str,
    receipt: &serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(reports::table)
        .values((
            reports::order_id.eq(order),
            reports::jurisdiction.eq(jurisdiction),
            // Set to the adapter that accepts it.
            reports::adapter.eq(""),
            reports::status.eq(ReceiptStatus::Pending),
            reports::receipt.eq(receipt),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Pending reports whose next attempt is due, locked so replicas share the work.
pub async fn lock_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<ReportRow>> {
    reports::table
        .filter(reports::status.eq(ReceiptStatus::Pending))
        .filter(reports::next_attempt_at.le(now))
        .order(reports::next_attempt_at.asc())
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(ReportRow::as_select())
        .load(conn)
        .await
}

pub async fn accepted(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    adapter: &str,
    external_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(reports::table.find(order))
        .set((
            reports::status.eq(ReceiptStatus::Accepted),
            reports::adapter.eq(adapter),
            reports::attempts.eq(reports::attempts + 1),
            reports::external_id.eq(external_id),
            reports::last_error.eq(None::<String>),
            reports::accepted_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn failed(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(reports::table.find(order))
        .set((
            reports::attempts.eq(reports::attempts + 1),
            reports::last_error.eq(error),
            reports::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One page of receipts, newest first (only those in `status`, if given), and how many match.
pub async fn list(
    conn: &mut AsyncPgConnection,
    status: Option<ReceiptStatus>,
    page: Pagination,
) -> QueryResult<(Vec<ReportRow>, i64)> {
    let query = || {
        let mut query = reports::table.into_boxed();
        if let Some(status) = status {
            query = query.filter(reports::status.eq(status));
        }
        query
    };
    let total = query().count().get_result(conn).await?;
    let rows = query()
        .order(reports::created_at.desc())
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(ReportRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
