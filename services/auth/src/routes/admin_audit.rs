//! `GET /api/admin/audit`: the compliance audit log, newest first.

use crate::db;
use crate::db::audit::{AuditFilter, EntryRow};
use crate::routes::check_filter;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use domain::input::Validation;
use domain::{Listed, Page, Pagination, PaginationQuery, Problem, Role, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The filters of the search (`limit` and `offset` are [`PaginationQuery`]'s). Taken as
/// strings and parsed here, so a bad value is answered naming its field.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// User id of whoever acted.
    #[param(value_type = Option<UserId>)]
    pub actor: Option<String>,
    /// e.g. `auth.login_failed`, `order.cancelled`; at most 200 characters.
    #[param(max_length = 200)]
    pub action: Option<String>,
    /// e.g. `user`, `order`, `id_verification`; at most 200 characters.
    #[param(max_length = 200)]
    pub subject_type: Option<String>,
    /// At most 200 characters.
    #[param(max_length = 200)]
    pub subject_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Entries before this time (RFC 3339); after `from`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
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

impl AuditQuery {
    fn parse(self) -> Result<AuditFilter, Problem> {
        let mut v = Validation::new();
        let actor = self
            .actor
            .as_deref()
            .and_then(|a| match uuid::Uuid::parse_str(a) {
                Ok(id) => Some(UserId::from(id)),
                Err(_) => {
                    v.add("actor", format!("could not parse `{a}` as a UUID"));
                    None
                }
            });
        for (field, value) in [
            ("action", &self.action),
            ("subjectType", &self.subject_type),
            ("subjectId", &self.subject_id),
        ] {
            check_filter(&mut v, field, value.as_deref());
        }
        let from = time(&mut v, "from", self.from.as_deref());
        let to = time(&mut v, "to", self.to.as_deref());
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            v.add("to", "must be after `from`");
        }
        v.finish(|| {
            Some(AuditFilter {
                actor_id: actor,
                action: self.action,
                subject_type: self.subject_type,
                subject_id: self.subject_id,
                from,
                to,
            })
        })
    }
}

/// One entry of the log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The service that recorded it.
    pub service: String,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Listed for AuditEntry {
    const KEY: &'static str = "entries";
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

/// Search the audit log.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(AuditQuery, PaginationQuery),
    responses((status = 200, description = "A page of entries, newest first", body = Page<AuditEntry>)),
    security(("bearer" = [])))]
pub async fn list_audit(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    page: Pagination,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntry>>, Problem> {
    let filter = query.into_inner().parse()?;
    let mut conn = state.db().await?;
    let (rows, total) = db::audit::list(&mut conn, &filter, &page).await?;
    let entries = rows.into_iter().map(AuditEntry::from).collect();
    Ok(web::Json(Page::new(entries, total, page)))
}
