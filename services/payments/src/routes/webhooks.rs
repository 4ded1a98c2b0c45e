//! `POST /webhooks/stripe`: provider events, checked on the raw body, then handed to
//! [`crate::webhooks`], which stores each once and settles the payment that waited for it.
//! The sandbox delivers its events here too.

use crate::state::AppState;
use crate::webhooks::{self, ProviderEvent};
use actix_web::{HttpRequest, web};
use chrono::Utc;
use domain::{Code, Problem};
use platform::signature::{self, SignatureError};
use serde::Serialize;
use utoipa::ToSchema;

/// What the provider is told.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    /// Always true: the event was received (also a replay or a type not handled).
    pub received: bool,
}

fn refused(err: &SignatureError) -> Problem {
    let result = match err {
        SignatureError::Malformed => "malformed",
        SignatureError::TooLarge => "too_large",
        SignatureError::Mismatch => "mismatch",
        SignatureError::OutsideTolerance => "expired",
    };
    metrics::counter!("payments_webhook_events_total", "type" => "unknown", "verification" => result).increment(1);
    match err {
        SignatureError::Malformed | SignatureError::TooLarge => {
            Problem::bad_request(err.to_string())
        }
        SignatureError::Mismatch | SignatureError::OutsideTolerance => {
            Problem::new(Code::InvalidToken).with_detail(err.to_string())
        }
    }
}

/// A provider event (Stripe's JSON).
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks",
    request_body(content = String, description = "Stripe's event JSON", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, description = "Received (also for replays and unknown types)", body = Receipt),
        (status = 400, description = "`BAD_REQUEST` or `MALFORMED_JSON`: a missing, malformed or oversized signature header, or not an event"),
        (status = 401, description = "`INVALID_TOKEN`: the signature does not match, or is outside the 5-minute tolerance")))]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<Receipt>, Problem> {
    let header = request
        .headers()
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    signature::verify(&state.webhook_secret, &body, header, Utc::now().timestamp())
        .map_err(|err| refused(&err))?;
    let event = ProviderEvent::parse(&body)?;
    metrics::counter!("payments_webhook_events_total", "type" => event.kind.clone(), "verification" => "ok").increment(1);
    webhooks::receive(&state, &event).await?;
    Ok(web::Json(Receipt { received: true }))
}
