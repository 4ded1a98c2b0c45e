//! `/api/users/id-verification`: a customer submits an ID document and follows its review.

use crate::db::users::IdStatus;
use crate::db::verifications::{DocumentType, ReviewStatus, VerificationRow};
use crate::documents::{DocumentFormat, MAX_DOCUMENT_BYTES};
use crate::id_verification::{self, Upload};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::web;
use auth_token::AuthUser;
use chrono::{DateTime, Utc};
use domain::{Code, FieldError, IdVerificationId, Problem};
use futures_util::TryStreamExt;
use platform::api::Created;
use platform::client::Acting;
use serde::Serialize;
use utoipa::ToSchema;

/// A submission as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub id: IdVerificationId,
    pub document_type: DocumentType,
    pub status: ReviewStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&VerificationRow> for VerificationView {
    fn from(row: &VerificationRow) -> Self {
        Self {
            id: row.id,
            document_type: row.document_type,
            status: row.status,
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
    pub status: IdStatus,
    pub verification: Option<VerificationView>,
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
    document_type: DocumentType,
}

/// How much of an oversized document is read before giving up on the connection.
const MAX_DISCARD_BYTES: usize = 4 * 1024 * 1024;

fn unreadable(err: impl std::fmt::Display) -> Problem {
    Problem::bad_request(err.to_string())
}

/// Reads the form: `documentType` and `idDocument` (unknown fields are drained and ignored).
/// 400 naming each missing or bad field, 413 past 10 MB, 415 for anything but a JPEG, PNG or
/// PDF by content.
async fn read_upload(mut form: Multipart) -> Result<Upload, Problem> {
    let mut document_type = None;
    let mut document: Option<Vec<u8>> = None;
    let mut too_large = false;
    let mut discarded = 0usize;
    while let Some(mut field) = form.try_next().await.map_err(unreadable)? {
        match field.name() {
            Some("documentType") => {
                let mut value = Vec::new();
                while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
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
                while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
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
            _ => while field.try_next().await.map_err(unreadable)?.is_some() {},
        }
    }
    if too_large {
        return Err(document_too_large());
    }
    let mut errors = Vec::new();
    let document_type = match document_type.as_deref().map(str::parse::<DocumentType>) {
        Some(Ok(parsed)) => Some(parsed),
        Some(Err(_)) => {
            errors.push(FieldError::new(
                "documentType",
                "must be drivers_license, state_id or passport",
            ));
            None
        }
        None => {
            errors.push(FieldError::new("documentType", "is required"));
            None
        }
    };
    let bytes = match document {
        Some(bytes) if !bytes.is_empty() => bytes,
        Some(_) => {
            return Err(Problem::validation(vec![FieldError::new(
                "idDocument",
                "is empty",
            )]));
        }
        None => {
            errors.push(FieldError::new("idDocument", "is required"));
            Vec::new()
        }
    };
    let Some(document_type) = document_type.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let format = DocumentFormat::sniff(&bytes).ok_or_else(|| {
        Problem::new(Code::UnsupportedMediaType)
            .with_detail("The document must be a JPEG, PNG or PDF file (checked by its content).")
    })?;
    Ok(Upload {
        document_type,
        bytes,
        format,
    })
}

fn document_too_large() -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail("The document must be at most 10 MB.")
}

/// Submit an ID document for review.
#[utoipa::path(post, path = "/api/users/id-verification", tag = "users",
    request_body(content = IdDocumentForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Submitted; pending review", body = VerificationView),
        (status = 404, description = "`NOT_FOUND`: the account no longer exists"),
        (status = 409, description = "`CONFLICT`: your ID is already verified"),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: the document is over 10 MB"),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: not a JPEG, PNG or PDF by its content, or not a multipart form")),
    security(("bearer" = [])))]
pub async fn submit_id_verification(
    state: web::Data<AppState>,
    user: Acting,
    form: Multipart,
) -> Result<Created<VerificationView>, Problem> {
    let upload = read_upload(form).await?;
    let row = id_verification::submit(&state, &user, upload).await?;
    Ok(Created::new(VerificationView::from(&row)))
}

/// The status of your latest submission.
#[utoipa::path(get, path = "/api/users/id-verification", tag = "users",
    responses((status = 200, description = "Your ID status and latest submission", body = VerificationStatus),
        (status = 404, description = "`NOT_FOUND`: the account no longer exists")),
    security(("bearer" = [])))]
pub async fn get_own_id_verification(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<VerificationStatus>, Problem> {
    let (status, latest) = id_verification::status_of(&state, user.user_id()).await?;
    Ok(web::Json(VerificationStatus {
        status,
        verification: latest.as_ref().map(VerificationView::from),
    }))
}
