//! `/api/admin/id-verifications*`: the manual review queue, and the signed links admins view
//! documents through.

use crate::audit::Actor;
use crate::db;
use crate::db::verifications::VerificationRow;
use crate::state::AppState;
use crate::verification::{self, DecidedBy, Decision};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use domain::input::Validation;
use domain::{FieldError, Pagination, Problem};
use platform::client::ClientInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A submission as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminVerificationView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub document_type: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: String,
    pub reason: Option<String>,
    /// `manual_review` or the provider's name.
    pub decided_by: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&VerificationRow> for AdminVerificationView {
    fn from(row: &VerificationRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            document_type: row.document_type.clone(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            status: row.status.clone(),
            reason: row.reason.clone(),
            decided_by: row.decided_by.clone(),
            reviewer_id: row.reviewer_id,
            submitted_at: row.created_at,
            decided_at: row.decided_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `pending`, `approved` or `rejected`; all when absent.
    pub status: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationList {
    pub verifications: Vec<AdminVerificationView>,
    pub total: i64,
    pub has_more: bool,
}

/// The review queue, oldest first.
#[utoipa::path(get, path = "/api/admin/id-verifications", tag = "admin", params(ListQuery),
    responses((status = 200, body = VerificationList), (status = 403, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn list_id_verifications(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let page = Pagination::from_query(domain::PaginationQuery {
        limit: query.limit,
        offset: query.offset,
    })?;
    if let Some(status) = &query.status
        && !["pending", "approved", "rejected"].contains(&status.as_str())
    {
        return Err(Problem::validation(vec![FieldError::new(
            "status",
            "must be pending, approved or rejected",
        )]));
    }
    let mut conn = state.db().await?;
    let (rows, total) = db::verifications::list(&mut conn, query.status.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(VerificationList {
        verifications: rows.iter().map(AdminVerificationView::from).collect(),
        total,
        has_more: page.has_more(u64::try_from(total).unwrap_or_default()),
    }))
}

/// One submission.
#[utoipa::path(get, path = "/api/admin/id-verifications/{id}", tag = "admin",
    responses((status = 200, body = AdminVerificationView), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn get_id_verification(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let row = db::verifications::find(&mut conn, *id)
        .await?
        .ok_or_else(|| Problem::not_found("No such ID verification."))?;
    Ok(HttpResponse::Ok().json(AdminVerificationView::from(&row)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentLink {
    /// Opens the document without a token until `expiresAt`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived link to view the document.
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/document-link", tag = "admin",
    responses((status = 200, body = DocumentLink), (status = 404, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn create_document_link(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let id = *id;
    let mut conn = state.db().await?;
    let claims = admin.claims().clone();
    conn.transaction(async |conn| {
        db::verifications::find(conn, id)
            .await?
            .ok_or_else(|| Problem::not_found("No such ID verification."))?;
        // Viewing someone's ID is itself something a regulator may ask about.
        let actor = Actor::new(claims.sub, claims.role, client.clone());
        crate::audit::record(
            conn,
            &actor,
            "id_verification.document_viewed",
            "id_verification",
            Some(id.to_string()),
            serde_json::json!({}),
        )
        .await?;
        Ok::<_, Problem>(())
    })
    .await?;
    let expires_at =
        Utc::now() + chrono::Duration::seconds(state.config.document_link_ttl_secs as i64);
    let expires = expires_at.timestamp();
    let signature = state.links.sign(id, expires);
    let base = state.config.auth_public_url.trim_end_matches('/');
    Ok(HttpResponse::Ok().json(DocumentLink {
        url: format!("{base}/api/id-documents/{id}?expires={expires}&signature={signature}"),
        expires_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkQuery {
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// The document behind a signed link. Never cached, never shown inline to scripts.
#[utoipa::path(get, path = "/api/id-documents/{id}", tag = "admin", params(LinkQuery),
    responses((status = 200, description = "the document", content_type = "application/octet-stream"),
        (status = 403, body = domain::ProblemBody)))]
pub async fn get_document(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, Problem> {
    let id = *id;
    let valid = match (query.expires, query.signature.as_deref()) {
        (Some(expires), Some(signature)) => {
            state
                .links
                .verify(id, expires, signature, Utc::now().timestamp())
        }
        _ => false,
    };
    if !valid {
        return Err(Problem::forbidden().with_detail("This link is invalid or has expired."));
    }
    let mut conn = state.db().await?;
    let row = db::verifications::find(&mut conn, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such ID verification."))?;
    let bytes = state
        .documents
        .get(&row.object_key)
        .await
        .map_err(|err| match err {
            err if err.is_not_found() => Problem::not_found("The document is no longer stored."),
            other => Problem::unavailable(&other),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(bytes))
}

/// Approve a pending submission.
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/approve", tag = "admin",
    responses((status = 200, body = AdminVerificationView), (status = 404, body = domain::ProblemBody),
        (status = 409, description = "already decided", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn approve_id_verification(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    decide(&state, &admin, client, *id, Decision::Approve).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectRequest {
    /// Shown to the customer.
    pub reason: Option<String>,
}

/// Reject a pending submission; the reason is required.
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/reject", tag = "admin", request_body = RejectRequest,
    responses((status = 200, body = AdminVerificationView), (status = 400, body = domain::ProblemBody),
        (status = 409, description = "already decided", body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn reject_id_verification(
    state: web::Data<AppState>,
    admin: Authenticated<Admin>,
    client: ClientInfo,
    id: web::Path<Uuid>,
    body: web::Json<RejectRequest>,
) -> Result<HttpResponse, Problem> {
    let mut v = Validation::new();
    let reason = v.required("reason", body.reason.as_deref(), |s| {
        domain::input::BoundedText::<3, 500>::parse(s)
    });
    let reason = v.finish(|| reason)?;
    decide(
        &state,
        &admin,
        client,
        *id,
        Decision::Reject {
            reason: reason.into_inner(),
        },
    )
    .await
}

async fn decide(
    state: &AppState,
    admin: &Authenticated<Admin>,
    client: ClientInfo,
    id: Uuid,
    decision: Decision,
) -> Result<HttpResponse, Problem> {
    let by = DecidedBy::Admin(Actor::new(admin.sub, admin.role, client));
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async |conn| verification::decide(conn, id, &decision, &by).await)
        .await?;
    Ok(HttpResponse::Ok().json(AdminVerificationView::from(&row)))
}
