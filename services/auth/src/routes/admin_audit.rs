//! `GET /api/admin/audit`: the compliance audit log, newest first.

use crate::db;
use crate::db::audit::{AuditFilter, EntryRow};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::Validation;
use domain::{Pagination, PaginationQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// User id of whoever acted.
    pub actor: Option<String>,
    /// e.g. `auth.login_failed`, `order.cancelled`.
    pub action: Option<String>,
    /// e.g. `user`, `order`, `id_verification`.
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// RFC 3339; entries at or after.
    pub from: Option<String>,
    /// RFC 3339; entries before.
    pub to: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The service that recorded it.
    pub service: String,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<EntryRow> for AuditEntry {
    fn from(row: EntryRow) -> Self {
        Self {
            id: row.id,
            occurred_at: row.occurred_at,
            service: row.service,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            details: row.details,
            ip: row.ip,
            user_agent: row.user_agent,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
    pub has_more: bool,
}

fn time(v: &mut Validation, field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            v.add(
                field,
                format!("could not parse `{value}` as an RFC 3339 time"),
            );
            None
        }
    }
}

/// Search the audit log.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 400, body = domain::ProblemBody),
        (status = 403, body = domain::ProblemBody)), security(("bearer" = [])))]
pub async fn list_audit(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let page = Pagination::from_query(PaginationQuery {
        limit: query.limit.clone(),
        offset: query.offset.clone(),
    })?;
    let mut v = Validation::new();
    let actor = query
        .actor
        .as_deref()
        .and_then(|a| match Uuid::parse_str(a) {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("actor", format!("could not parse `{a}` as a UUID"));
                None
            }
        });
    for (field, value) in [
        ("action", &query.action),
        ("subjectType", &query.subject_type),
        ("subjectId", &query.subject_id),
    ] {
        crate::routes::auth::check_filter(&mut v, field, value.as_deref());
    }
    let from = time(&mut v, "from", query.from.as_deref());
    let to = time(&mut v, "to", query.to.as_deref());
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        v.add("to", "must be after `from`");
    }
    let filter = v.finish(|| {
        Some(AuditFilter {
            actor_id: actor,
            action: query.action,
            subject_type: query.subject_type,
            subject_id: query.subject_id,
            from,
            to,
        })
    })?;
    let mut conn = state.db().await?;
    let (rows, total) = db::audit::list(&mut conn, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(AuditList {
        entries: rows.into_iter().map(AuditEntry::from).collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
    }))
}
