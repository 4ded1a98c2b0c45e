//! `POST /webhooks/id-verification`: the ID-verification provider's result (Jumio-style),
//! HMAC-signed over the raw body.

use crate::state::AppState;
use crate::verification::{self, DecidedBy};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::{Code, FieldError, Problem};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-signature";

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

/// Receive a verification result from the provider.
#[utoipa::path(post, path = "/webhooks/id-verification", tag = "webhooks", request_body = ProviderResult,
    responses((status = 200), (status = 400, body = domain::ProblemBody), (status = 401, body = domain::ProblemBody)))]
pub async fn id_verification_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Problem> {
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let secret = &state.config.id_verification_webhook_secret;
    if !verification::verify_webhook(secret, signature, &body, Utc::now().timestamp()) {
        return Err(Problem::new(Code::InvalidToken)
            .with_detail("The webhook signature is missing or invalid."));
    }
    let result: ProviderResult = serde_json::from_slice(&body)
        .map_err(|err| Problem::bad_request(format!("Unreadable webhook body: {err}")))?;
    let id = Uuid::parse_str(&result.customer_internal_reference).map_err(|_| {
        Problem::validation(vec![FieldError::new(
            "customerInternalReference",
            "must be a verification id",
        )])
    })?;
    let description = result
        .reject_reason
        .as_ref()
        .and_then(|r| r.reject_reason_description.as_deref());
    let Some(decision) = verification::provider_decision(&result.verification_status, description)
    else {
        // Interim statuses carry no decision; acknowledge so the provider stops retrying.
        return Ok(HttpResponse::Ok().json(json!({ "status": "ignored" })));
    };
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| {
            verification::decide(conn, id, &decision, &DecidedBy::Provider("jumio")).await
        })
        .await;
    match outcome {
        Ok(_) => Ok(HttpResponse::Ok().json(json!({ "status": "applied" }))),
        // A repeated delivery of a result already applied: acknowledge it.
        Err(problem) if problem.code() == Code::InvalidStateTransition => {
            Ok(HttpResponse::Ok().json(json!({ "status": "already_decided" })))
        }
        Err(problem) => Err(problem),
    }
}
