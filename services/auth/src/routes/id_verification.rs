//! `/api/users/id-verification`: a customer submits an ID document and follows its review.

use crate::audit::{self, Actor};
use crate::db;
use crate::db::verifications::{NewVerification, VerificationRow};
use crate::documents::{DOCUMENT_TYPES, DocumentFormat, DocumentStore, MAX_DOCUMENT_BYTES};
use crate::events;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use auth_token::AuthUser;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use domain::{Code, FieldError, Problem};
use futures_util::TryStreamExt;
use platform::client::ClientInfo;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// A submission as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub id: Uuid,
    /// `drivers_license`, `state_id` or `passport`.
    pub document_type: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&VerificationRow> for VerificationView {
    fn from(row: &VerificationRow) -> Self {
        Self {
            id: row.id,
            document_type: row.document_type.clone(),
            status: row.status.clone(),
            reason: row.reason.clone(),
            submitted_at: row.created_at,
            decided_at: row.decided_at,
        }
    }
}

/// The status of your ID verification (`not_submitted` when there is none).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationStatus {
    /// `not_submitted`, `pending`, `approved` or `rejected`.
    pub status: String,
    pub verification: Option<VerificationView>,
}

/// A parsed upload.
struct Upload {
    document_type: String,
    bytes: Vec<u8>,
    format: DocumentFormat,
}

/// The multipart form the upload endpoint takes (for the API description).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart body in the OpenAPI document"
)]
pub struct IdDocumentForm {
    /// JPEG, PNG or PDF, at most 10 MB; recognised by content.
    #[schema(value_type = String, format = Binary)]
    id_document: Vec<u8>,
    /// `drivers_license`, `state_id` or `passport`.
    document_type: String,
}

/// How much of an oversized document is read before giving up on the connection.
const MAX_DISCARD_BYTES: usize = 4 * 1024 * 1024;

async fn read_upload(mut form: Multipart) -> Result<Upload, Problem> {
    let bad = |message: &str| Problem::validation(vec![FieldError::new("idDocument", message)]);
    let mut document_type = None;
    let mut document: Option<Vec<u8>> = None;
    let mut too_large = false;
    let mut discarded = 0usize;
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| Problem::bad_request(e.to_string()))?
    {
        match field.name() {
            Some("documentType") => {
                let mut value = Vec::new();
                while let Some(chunk) = field
                    .try_next()
                    .await
                    .map_err(|e| Problem::bad_request(e.to_string()))?
                {
                    if value.len() + chunk.len() > 64 {
                        return Err(Problem::validation(vec![FieldError::new(
                            "documentType",
                            "is too long",
                        )]));
                    }
                    value.extend_from_slice(&chunk);
                }
                document_type = Some(String::from_utf8_lossy(&value).trim().to_owned());
            }
            Some("idDocument") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field
                    .try_next()
                    .await
                    .map_err(|e| Problem::bad_request(e.to_string()))?
                {
                    // Past the limit keep reading (and discarding) a little, so an honest
                    // client gets the 413 rather than a reset connection; then stop.
                    if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                        too_large = true;
                        bytes.clear();
                    }
                    if too_large {
                        discarded += chunk.len();
                        if discarded > MAX_DISCARD_BYTES {
                            return Err(document_too_large());
                        }
                    } else {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                document = Some(bytes);
            }
            // Unknown fields are drained and ignored.
            _ => {
                while field
                    .try_next()
                    .await
                    .map_err(|e| Problem::bad_request(e.to_string()))?
                    .is_some()
                {}
            }
        }
    }
    if too_large {
        return Err(document_too_large());
    }
    let mut errors = Vec::new();
    match document_type.as_deref() {
        Some(t) if DOCUMENT_TYPES.contains(&t) => {}
        Some(_) => errors.push(FieldError::new(
            "documentType",
            "must be drivers_license, state_id or passport",
        )),
        None => errors.push(FieldError::new("documentType", "is required")),
    }
    let bytes = match document {
        Some(bytes) if !bytes.is_empty() => bytes,
        Some(_) => return Err(bad("is empty")),
        None => {
            errors.push(FieldError::new("idDocument", "is required"));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let format = DocumentFormat::sniff(&bytes).ok_or_else(|| {
        Problem::new(Code::UnsupportedMediaType)
            .with_detail("The document must be a JPEG, PNG or PDF file (checked by its content).")
    })?;
    Ok(Upload {
        document_type: document_type.unwrap_or_default(),
        bytes,
        format,
    })
}

/// Submit an ID document for review.
#[utoipa::path(post, path = "/api/users/id-verification", tag = "users",
    request_body(content = IdDocumentForm, content_type = "multipart/form-data"),
    responses((status = 201, body = VerificationView), (status = 400, body = domain::ProblemBody),
        (status = 409, description = "already approved", body = domain::ProblemBody),
        (status = 413, body = domain::ProblemBody), (status = 415, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn submit_id_verification(
    state: web::Data<AppState>,
    user: AuthUser,
    client: ClientInfo,
    form: Multipart,
) -> Result<HttpResponse, Problem> {
    let upload = read_upload(form).await?;
    // Refuse before storing anything; the transaction below checks again under a lock.
    let mut conn = state.db().await?;
    let account = db::users::find(&mut conn, user.sub).await?;
    if account.as_ref().is_some_and(|a| a.id_verified()) {
        return Err(already_verified());
    }
    // Not held across the upload to storage: slow uploads must not drain the pool.
    drop(conn);
    let id = Uuid::now_v7();
    let key = DocumentStore::key(user.sub, id);
    let size = upload.bytes.len() as i64;
    state
        .documents
        .put(&key, upload.bytes)
        .await
        .map_err(|err| Problem::unavailable(&err))?;

    let mut conn = state.db().await?;
    let claims = user.claims().clone();
    let row = conn
        .transaction(async |conn| {
            let account = db::users::lock(conn, claims.sub)
                .await?
                .ok_or_else(|| Problem::not_found("No such user."))?;
            if account.id_verified() {
                return Err(already_verified());
            }
            let verification = db::verifications::insert(
                conn,
                NewVerification {
                    id,
                    user_id: claims.sub,
                    document_type: &upload.document_type,
                    object_key: &key,
                    content_type: upload.format.mime(),
                    size_bytes: size,
                },
            )
            .await?;
            let account = db::users::set_id_status(conn, claims.sub, "pending").await?;
            let actor = Actor::new(claims.sub, claims.role, client.clone());
            let details = json!({ "documentType": upload.document_type, "contentType": upload.format.mime(), "size": size });
            audit::record(conn, &actor, "id_verification.submitted", "id_verification", Some(id.to_string()), details)
                .await?;
            events::id_submitted(conn, &account, &verification, "manual_review").await?;
            Ok(verification)
        })
        .await?;
    Ok(HttpResponse::Created().json(VerificationView::from(&row)))
}

fn document_too_large() -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail("The document must be at most 10 MB.")
}

fn already_verified() -> Problem {
    Problem::new(Code::Conflict).with_detail("Your ID is already verified.")
}

/// The status of your latest submission.
#[utoipa::path(get, path = "/api/users/id-verification", tag = "users",
    responses((status = 200, body = VerificationStatus), (status = 401, body = domain::ProblemBody)),
    security(("bearer" = [])))]
pub async fn get_id_verification(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, Problem> {
    let mut conn = state.db().await?;
    let account = db::users::find(&mut conn, user.sub)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    let latest = db::verifications::latest_for_user(&mut conn, user.sub).await?;
    Ok(HttpResponse::Ok().json(VerificationStatus {
        status: account.id_status,
        verification: latest.as_ref().map(VerificationView::from),
    }))
}
