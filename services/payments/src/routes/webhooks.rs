//! `POST /webhooks/stripe`: provider events, checked on the raw body, stored once by id, and
//! applied to the payments that waited for them. The sandbox delivers its events here too.

use crate::db;
use crate::saga;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{Code, Problem};
use events::v1;
use platform::signature::{self, SignatureError};
use serde_json::Value;

/// Stores the event once; `false` when its id was seen before (a replay).
async fn remember(
    conn: &mut AsyncPgConnection,
    id: &str,
    kind: &str,
    payload: &Value,
) -> QueryResult<bool> {
    use crate::schema::provider_events;
    let inserted = diesel::insert_into(provider_events::table)
        .values((
            provider_events::id.eq(id),
            provider_events::event_type.eq(kind),
            provider_events::payload.eq(payload),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// A provider event (Stripe's JSON).
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks",
    request_body(content = String, description = "Stripe's event JSON", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, description = "Received (also for replays and unknown types)"),
        (status = 400, body = domain::ProblemBody), (status = 401, body = domain::ProblemBody)))]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let header = request
        .headers()
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if let Err(err) =
        signature::verify(&state.webhook_secret, &body, header, Utc::now().timestamp())
    {
        let result = match err {
            SignatureError::Malformed => "malformed",
            SignatureError::TooLarge => "too_large",
            SignatureError::Mismatch => "mismatch",
            SignatureError::OutsideTolerance => "expired",
        };
        metrics::counter!("payments_webhook_events_total", "type" => "unknown", "verification" => result).increment(1);
        let problem = match err {
            SignatureError::Malformed | SignatureError::TooLarge => {
                Problem::bad_request(err.to_string())
            }
            SignatureError::Mismatch | SignatureError::OutsideTolerance => {
                Problem::new(Code::InvalidToken).with_detail(err.to_string())
            }
        };
        return Err(problem);
    }
    let event: Value =
        serde_json::from_slice(&body).map_err(|_| Problem::new(Code::MalformedJson))?;
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(Problem::bad_request("An event needs an id and a type."));
    };
    metrics::counter!("payments_webhook_events_total", "type" => kind.to_owned(), "verification" => "ok").increment(1);
    let object = &event["data"]["object"];
    let provider = state.provider.name();
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        if !remember(conn, id, kind, &event).await? {
            return Ok::<_, Problem>(());
        }
        match kind {
            "payment_intent.succeeded" | "payment_intent.payment_failed" => {
                let Some(intent) = object["id"].as_str() else {
                    return Ok(());
                };
                let Some(payment) =
                    db::payments::lock_by_provider_id(conn, provider, intent).await?
                else {
                    tracing::info!(intent, "webhook for a PaymentIntent we do not know");
                    return Ok(());
                };
                if payment.status != "requires_action" {
                    return Ok(());
                }
                if kind == "payment_intent.succeeded" {
                    let row =
                        db::payments::settle(conn, payment.id, "succeeded", None, None).await?;
                    saga::succeeded(conn, &row).await?;
                } else {
                    let error = &object["last_payment_error"];
                    let code = error["decline_code"].as_str().unwrap_or("generic_decline");
                    let message = error["message"]
                        .as_str()
                        .unwrap_or("Your payment was not completed.");
                    let reason = if error["code"] == "payment_intent_authentication_failure" {
                        v1::PaymentFailureReason::AuthenticationFailed
                    } else {
                        v1::PaymentFailureReason::CardDeclined
                    };
                    let row =
                        db::payments::settle(conn, payment.id, "failed", Some(code), Some(message))
                            .await?;
                    let restored =
                        saga::restore_points(conn, &row, "Payment failed: points returned").await?;
                    saga::failed(conn, &row, reason, restored).await?;
                }
            }
            "charge.refunded" => tracing::info!(id, "charge refunded at the provider"),
            other => tracing::info!(id, kind = other, "provider event acknowledged, not handled"),
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true })))
}
