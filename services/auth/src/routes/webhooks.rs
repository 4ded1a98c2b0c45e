//! `POST /webhooks/id-verification`, and the same at the guide's `POST /webhooks/jumio` (the
//! callback URL its Jumio integration registers): the ID-verification provider's result
//! (Jumio-style), HMAC-signed over the raw body.

use crate::id_verification::{self, ProviderOutcome};
use crate::state::AppState;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, web};
use chrono::Utc;
use domain::{Code, FieldError, IdVerificationId, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-signature";

/// The provider whose results this webhook takes, as `decided_by` names it.
const PROVIDER: &str = "jumio";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderResult {
    /// Our verification id, given to the provider when the scan started.
    pub customer_internal_reference: String,
    /// The provider's id of the scan.
    pub scan_reference: Option<String>,
    /// `APPROVED_VERIFIED`, `DENIED_FRAUD`, `DENIED_UNSUPPORTED_ID_TYPE`,
    /// `DENIED_UNSUPPORTED_ID_COUNTRY`, `ERROR_NOT_READABLE_ID` or `NO_ID_UPLOADED`.
    pub verification_status: String,
    pub reject_reason: Option<RejectReason>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectReason {
    pub reject_reason_description: Option<String>,
}

domain::string_enum! {
    /// What became of a provider's result.
    pub enum Receipt (field = "status") {
        /// The decision was recorded.
        Applied => "applied",
        /// An interim status, which carries no decision.
        Ignored => "ignored",
        /// The submission was decided already (a repeated delivery, or an admin first).
        AlreadyDecided => "already_decided",
    }
}

/// The acknowledgement: the provider stops retrying on any 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub status: Receipt,
}

/// Receive a verification result from the provider.
#[utoipa::path(post, path = "/webhooks/id-verification", tag = "webhooks", request_body = ProviderResult,
    params(("X-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`")),
    responses((status = 200, description = "Acknowledged", body = WebhookAck),
        (status = 401, description = "`INVALID_TOKEN`: the signature is missing, wrong or older than 5 minutes"),
        (status = 404, description = "`NOT_FOUND`: no such verification")))]
pub async fn id_verification_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<web::Json<WebhookAck>, Problem> {
    receive(&state, &req, &body).await
}

/// Receive a verification result from the provider at the guide's callback URL; the same as
/// `POST /webhooks/id-verification`.
#[utoipa::path(post, path = "/webhooks/jumio", tag = "webhooks", request_body = ProviderResult,
    params(("X-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`")),
    responses((status = 200, description = "Acknowledged", body = WebhookAck),
        (status = 401, description = "`INVALID_TOKEN`: the signature is missing, wrong or older than 5 minutes"),
        (status = 404, description = "`NOT_FOUND`: no such verification")))]
pub async fn jumio_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<web::Json<WebhookAck>, Problem> {
    receive(&state, &req, &body).await
}

/// Both paths: the signature on the raw body, then the result.
async fn receive(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<web::Json<WebhookAck>, Problem> {
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let secret = &state.config.id_verification_webhook_secret;
    if !id_verification::verify_webhook(secret, signature, body, Utc::now().timestamp()) {
        return Err(Problem::new(Code::InvalidToken)
            .with_detail("The webhook signature is missing or invalid."));
    }
    let result: ProviderResult = serde_json::from_slice(body)
        .map_err(|err| Problem::bad_request(format!("Unreadable webhook body: {err}")))?;
    let id = uuid::Uuid::parse_str(&result.customer_internal_reference)
        .map(IdVerificationId::from)
        .map_err(|_| {
            Problem::validation(vec![FieldError::new(
                "customerInternalReference",
                "must be a verification id",
            )])
        })?;
    let description = result
        .reject_reason
        .as_ref()
        .and_then(|r| r.reject_reason_description.as_deref());
    let Some(decision) =
        id_verification::provider_decision(&result.verification_status, description)
    else {
        // Interim statuses carry no decision; acknowledge so the provider stops retrying.
        return Ok(ack(Receipt::Ignored));
    };
    let outcome = id_verification::decide_as_provider(state, PROVIDER, id, &decision).await?;
    Ok(ack(match outcome {
        ProviderOutcome::Applied => Receipt::Applied,
        ProviderOutcome::AlreadyDecided => Receipt::AlreadyDecided,
    }))
}

fn ack(status: Receipt) -> web::Json<WebhookAck> {
    web::Json(WebhookAck { status })
}
