//! Provider events, once verified (`routes/webhooks.rs` checks the signature): each is
//! stored once by id (a replay changes nothing), and a PaymentIntent's outcome settles the
//! payment that waited for the customer, announcing it as the saga step would have.

use crate::db;
use crate::db::payments::{PaymentStatus, Settlement};
use crate::events;
use crate::refunds;
use crate::state::AppState;
use ::events::v1;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Problem};
use serde_json::Value;

/// What a provider event means to payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The customer confirmed (3-D Secure passed): the PaymentIntent succeeded.
    IntentSucceeded { intent: String },
    /// The PaymentIntent failed, with the decline code and the message the provider gives.
    IntentFailed {
        intent: String,
        decline_code: String,
        message: String,
        reason: v1::PaymentFailureReason,
    },
    /// Logged only: refunds are made by payments, which knows them already.
    ChargeRefunded,
    /// Any other type: acknowledged and logged.
    Other,
}

/// A provider event: its id and type as sent, the whole JSON (stored), and what it means.
#[derive(Debug, Clone)]
pub struct ProviderEvent {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    pub outcome: Outcome,
}

impl ProviderEvent {
    /// Reads Stripe's event JSON: 400 when it is not JSON or not an event.
    pub fn parse(body: &[u8]) -> Result<Self, Problem> {
        let payload: Value =
            serde_json::from_slice(body).map_err(|_| Problem::new(Code::MalformedJson))?;
        let (Some(id), Some(kind)) = (payload["id"].as_str(), payload["type"].as_str()) else {
            return Err(Problem::bad_request("An event needs an id and a type."));
        };
        let (id, kind) = (id.to_owned(), kind.to_owned());
        let object = &payload["data"]["object"];
        let intent = object["id"].as_str().map(str::to_owned);
        let outcome = match (kind.as_str(), intent) {
            ("payment_intent.succeeded", Some(intent)) => Outcome::IntentSucceeded { intent },
            ("payment_intent.payment_failed", Some(intent)) => {
                let error = &object["last_payment_error"];
                Outcome::IntentFailed {
                    intent,
                    decline_code: error["decline_code"]
                        .as_str()
                        .unwrap_or("generic_decline")
                        .to_owned(),
                    message: error["message"]
                        .as_str()
                        .unwrap_or("Your payment was not completed.")
                        .to_owned(),
                    reason: if error["code"] == "payment_intent_authentication_failure" {
                        v1::PaymentFailureReason::AuthenticationFailed
                    } else {
                        v1::PaymentFailureReason::CardDeclined
                    },
                }
            }
            ("charge.refunded", _) => Outcome::ChargeRefunded,
            _ => Outcome::Other,
        };
        Ok(Self {
            id,
            kind,
            payload,
            outcome,
        })
    }
}

/// Stores `event` once and applies it, in one transaction.
pub async fn receive(state: &AppState, event: &ProviderEvent) -> Result<(), Problem> {
    let provider = state.provider.name();
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        if !db::provider_events::remember(conn, &event.id, &event.kind, &event.payload).await? {
            return Ok::<_, Problem>(());
        }
        apply(conn, provider, event).await
    })
    .await
}

async fn apply(
    conn: &mut AsyncPgConnection,
    provider: &str,
    event: &ProviderEvent,
) -> Result<(), Problem> {
    let intent = match &event.outcome {
        Outcome::IntentSucceeded { intent } | Outcome::IntentFailed { intent, .. } => intent,
        Outcome::ChargeRefunded => {
            tracing::info!(id = event.id, "charge refunded at the provider");
            return Ok(());
        }
        Outcome::Other => {
            tracing::info!(
                id = event.id,
                kind = event.kind,
                "provider event acknowledged, not handled"
            );
            return Ok(());
        }
    };
    let Some(payment) = db::payments::lock_by_provider_id(conn, provider, intent).await? else {
        tracing::info!(intent, "webhook for a PaymentIntent we do not know");
        return Ok(());
    };
    // Only a payment still waiting for the customer is settled; a late or repeated outcome
    // changes nothing.
    if payment.status != PaymentStatus::RequiresAction {
        return Ok(());
    }
    match &event.outcome {
        Outcome::IntentSucceeded { .. } => {
            let row = db::payments::settle(conn, payment.id, Settlement::Succeeded).await?;
            events::payment_succeeded(conn, &row).await?;
        }
        Outcome::IntentFailed {
            decline_code,
            message,
            reason,
            ..
        } => {
            let settlement = Settlement::Failed {
                decline_code: Some(decline_code),
                message,
            };
            let row = db::payments::settle(conn, payment.id, settlement).await?;
            let restored =
                refunds::restore_points(conn, &row, "Payment failed: points returned").await?;
            events::payment_failed(conn, &row, *reason, restored).await?;
        }
        Outcome::ChargeRefunded | Outcome::Other => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_for_what_they_mean() {
        let failed = br#"{"id":"evt_1","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1",
            "last_payment_error":{"code":"payment_intent_authentication_failure","decline_code":"x","message":"No"}}}}"#;
        let event = ProviderEvent::parse(failed).unwrap();
        assert_eq!(
            event.outcome,
            Outcome::IntentFailed {
                intent: "pi_1".into(),
                decline_code: "x".into(),
                message: "No".into(),
                reason: v1::PaymentFailureReason::AuthenticationFailed,
            }
        );
        let other = br#"{"id":"evt_2","type":"customer.created","data":{"object":{}}}"#;
        assert_eq!(ProviderEvent::parse(other).unwrap().outcome, Outcome::Other);
        let problem = ProviderEvent::parse(br#"{"hello":1}"#).unwrap_err();
        assert_eq!(problem.code(), Code::BadRequest);
        assert_eq!(
            ProviderEvent::parse(b"nope").unwrap_err().code(),
            Code::MalformedJson
        );
    }
}
