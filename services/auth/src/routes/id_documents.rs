//! `GET /api/id-documents/{id}`: the ID document behind a link an admin had signed
//! (`POST /api/admin/id-verifications/{id}/document-link`). The link is the credential: no
//! token.

use crate::id_verification;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::input::quoted;
use domain::{IdVerificationId, Problem, Validation};
use serde::Deserialize;
use utoipa::IntoParams;

/// The signed link's parts. `expires` is taken as a string and parsed here, so a bad value
/// is answered naming its field.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// When the link stops working, Unix seconds.
    #[param(value_type = Option<i64>)]
    pub expires: Option<String>,
    /// Hex HMAC-SHA256 of the submission and `expires`.
    pub signature: Option<String>,
}

impl LinkQuery {
    fn expires(&self) -> Result<Option<i64>, Problem> {
        let mut v = Validation::new();
        let expires = self.expires.as_deref().and_then(|text| {
            let parsed = text.parse::<i64>().ok();
            if parsed.is_none() {
                v.add(
                    "expires",
                    format!("could not parse {} as Unix seconds", quoted(text)),
                );
            }
            parsed
        });
        v.finish(|| Some(expires))
    }
}

/// The document behind a signed link. Never cached, never shown inline to scripts.
#[utoipa::path(get, path = "/api/id-documents/{id}", tag = "admin",
    params(("id" = IdVerificationId, Path, description = "The submission"), LinkQuery),
    responses((status = 200, description = "The document, as its content was recognised",
            content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"))),
        (status = 403, description = "`FORBIDDEN`: the link is incomplete, forged or expired"),
        (status = 404, description = "`NOT_FOUND`: no such submission, or its document is no longer stored")))]
pub async fn get_document(
    state: web::Data<AppState>,
    id: web::Path<IdVerificationId>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, Problem> {
    let expires = query.expires()?;
    let signature = query.signature.as_deref();
    let document = id_verification::document(&state, *id, expires, signature).await?;
    // Binary, with headers of its own: the one answer that is not a typed body.
    Ok(HttpResponse::Ok()
        .content_type(document.content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(document.bytes))
}
