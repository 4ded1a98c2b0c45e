//! `audit_log`: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).

use crate::schema::audit_log;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{Pagination, Role, UserId};
use uuid::Uuid;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewEntry {
    pub event_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct EntryRow {
    pub id: i64,
    pub event_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Appends an entry; one consumed from an event is recorded once however often it arrives.
pub async fn append(conn: &mut AsyncPgConnection, entry: &NewEntry) -> QueryResult<usize> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .on_conflict(audit_log::event_id)
        .do_nothing()
        .execute(conn)
        .await
}

/// Filters of the audit search; each one given narrows it.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: &Pagination,
) -> QueryResult<(Vec<EntryRow>, u64)> {
    let query = || {
        let mut query = audit_log::table.into_boxed();
        if let Some(actor) = filter.actor_id {
            query = query.filter(audit_log::actor_id.eq(actor));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(subject_type) = &filter.subject_type {
            query = query.filter(audit_log::subject_type.eq(subject_type.clone()));
        }
        if let Some(subject_id) = &filter.subject_id {
            query = query.filter(audit_log::subject_id.eq(subject_id.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_log::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_log::occurred_at.lt(to));
        }
        query
    };
    let total: i64 = query().count().get_result(conn).await?;
    let rows = query()
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .limit(page.limit_i64())
        .offset(page.offset_i64())
        .select(EntryRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, u64::try_from(total).unwrap_or_default()))
}
