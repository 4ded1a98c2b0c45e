//! `/api/admin/id-verifications*`: the manual review queue, and the signed links admins view
//! documents through (`routes/id_documents.rs` serves them).

use crate::db::verifications::{DocumentType, QueueFilter, ReviewStatus, Submission};
use crate::id_verification::{self, Decision};
use crate::routes::check_filter;
use crate::state::AppState;
use actix_web::web;
use auth_token::{Admin, Authenticated};
use chrono::{DateTime, NaiveDate, Utc};
use domain::input::{BoundedText, Validation};
use domain::{IdVerificationId, Listed, Page, Pagination, PaginationQuery, Problem, UserId};
use platform::client::Acting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A submission as an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminVerificationView {
    pub id: IdVerificationId,
    pub user_id: UserId,
    /// Who the customer says they are, from their account: what the document is compared with.
    pub customer: CustomerView,
    pub document_type: DocumentType,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: ReviewStatus,
    pub reason: Option<String>,
    /// `manual_review` or the provider's name.
    pub decided_by: Option<String>,
    pub reviewer_id: Option<UserId>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The customer behind a submission, as their account has them now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub full_name: String,
    pub email: String,
    pub date_of_birth: NaiveDate,
}

impl Listed for AdminVerificationView {
    const KEY: &'static str = "verifications";
}

impl From<&Submission> for AdminVerificationView {
    fn from(submission: &Submission) -> Self {
        let row = &submission.verification;
        let customer = &submission.customer;
        Self {
            id: row.id,
            user_id: row.user_id,
            customer: CustomerView {
                full_name: customer.full_name.clone(),
                email: customer.email.clone(),
                date_of_birth: customer.date_of_birth,
            },
            document_type: row.document_type,
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            status: row.status,
            reason: row.reason.clone(),
            decided_by: row.decided_by.clone(),
            reviewer_id: row.reviewer_id,
            submitted_at: row.created_at,
            decided_at: row.decided_at,
        }
    }
}

/// The queue's filters (`limit` and `offset` are [`PaginationQuery`]'s). Taken as strings and
/// parsed here, so a bad value is answered naming its field.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationQuery {
    /// Only submissions with this status; all when absent.
    #[param(value_type = Option<ReviewStatus>)]
    pub status: Option<String>,
    /// Part of the customer's full name or email, any case; at most 200 characters, no
    /// control characters. Blank is no filter.
    #[param(max_length = 200)]
    pub search: Option<String>,
}

impl VerificationQuery {
    fn parse(&self) -> Result<QueueFilter, Problem> {
        let mut v = Validation::new();
        let status = self.status.as_deref().and_then(|status| {
            let parsed = status.parse::<ReviewStatus>().ok();
            if parsed.is_none() {
                v.add("status", "must be pending, approved or rejected");
            }
            parsed
        });
        let search = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        check_filter(&mut v, "search", search);
        let search = search.map(str::to_owned);
        v.finish(|| Some(QueueFilter { status, search }))
    }
}

/// The review queue, oldest first, each submission with its customer's name, email and date
/// of birth; filtered by status and searched by the customer's name or email.
#[utoipa::path(get, path = "/api/admin/id-verifications", tag = "admin",
    params(VerificationQuery, PaginationQuery),
    responses((status = 200, description = "A page of submissions", body = Page<AdminVerificationView>)),
    security(("bearer" = [])))]
pub async fn list_id_verifications(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    page: Pagination,
    query: web::Query<VerificationQuery>,
) -> Result<web::Json<Page<AdminVerificationView>>, Problem> {
    let filter = query.parse()?;
    let (rows, total) = id_verification::queue(&state, &filter, &page).await?;
    let views = rows.iter().map(AdminVerificationView::from).collect();
    Ok(web::Json(Page::new(views, total, page)))
}

/// One submission, with its customer.
#[utoipa::path(get, path = "/api/admin/id-verifications/{id}", tag = "admin",
    params(("id" = IdVerificationId, Path, description = "The submission")),
    responses((status = 200, description = "The submission", body = AdminVerificationView),
        (status = 404, description = "`NOT_FOUND`: no such submission")),
    security(("bearer" = [])))]
pub async fn get_id_verification(
    state: web::Data<AppState>,
    _admin: Authenticated<Admin>,
    id: web::Path<IdVerificationId>,
) -> Result<web::Json<AdminVerificationView>, Problem> {
    let row = id_verification::find_submission(&state, *id).await?;
    Ok(web::Json(AdminVerificationView::from(&row)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentLink {
    /// Opens the document without a token until `expiresAt`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived link to view the document (the viewing is audited).
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/document-link", tag = "admin",
    params(("id" = IdVerificationId, Path, description = "The submission")),
    responses((status = 200, description = "A signed link, valid for `DOCUMENT_LINK_TTL_SECS` (5 minutes)", body = DocumentLink),
        (status = 404, description = "`NOT_FOUND`: no such submission")),
    security(("bearer" = [])))]
pub async fn create_document_link(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<IdVerificationId>,
) -> Result<web::Json<DocumentLink>, Problem> {
    let link = id_verification::document_link(&state, &admin, *id).await?;
    Ok(web::Json(DocumentLink {
        url: link.url,
        expires_at: link.expires_at,
    }))
}

/// Approve a pending submission.
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/approve", tag = "admin",
    params(("id" = IdVerificationId, Path, description = "The submission")),
    responses((status = 200, description = "The submission, approved", body = AdminVerificationView),
        (status = 404, description = "`NOT_FOUND`: no such submission"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: already decided")),
    security(("bearer" = [])))]
pub async fn approve_id_verification(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<IdVerificationId>,
) -> Result<web::Json<AdminVerificationView>, Problem> {
    let row = id_verification::decide_as_admin(&state, &admin, *id, &Decision::Approve).await?;
    Ok(web::Json(AdminVerificationView::from(&row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectRequest {
    /// Shown to the customer; 3 to 500 characters.
    pub reason: Option<String>,
}

/// Reject a pending submission; the reason is required.
#[utoipa::path(post, path = "/api/admin/id-verifications/{id}/reject", tag = "admin", request_body = RejectRequest,
    params(("id" = IdVerificationId, Path, description = "The submission")),
    responses((status = 200, description = "The submission, rejected", body = AdminVerificationView),
        (status = 404, description = "`NOT_FOUND`: no such submission"),
        (status = 409, description = "`INVALID_STATE_TRANSITION`: already decided")),
    security(("bearer" = [])))]
pub async fn reject_id_verification(
    state: web::Data<AppState>,
    admin: Acting<Admin>,
    id: web::Path<IdVerificationId>,
    body: web::Json<RejectRequest>,
) -> Result<web::Json<AdminVerificationView>, Problem> {
    let mut v = Validation::new();
    let reason = v.required(
        "reason",
        body.reason.as_deref(),
        BoundedText::<3, 500>::parse,
    );
    let reason = v.finish(|| reason)?.into_inner();
    let decision = Decision::Reject { reason };
    let row = id_verification::decide_as_admin(&state, &admin, *id, &decision).await?;
    Ok(web::Json(AdminVerificationView::from(&row)))
}
