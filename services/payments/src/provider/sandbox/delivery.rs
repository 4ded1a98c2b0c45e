//! How the sandbox tells this service what happened, as Stripe does: a PaymentIntent's event
//! JSON, delivered later to the webhook endpoint, signed, retried a few times.

use super::{IntentRow, WebhookTarget, cards::decline_message, new_id};

/// Sends events to the configured webhook in the background.
pub(super) struct Deliverer {
    client: reqwest::Client,
    target: WebhookTarget,
}

impl Deliverer {
    pub(super) fn new(target: WebhookTarget) -> Self {
        Self {
            client: reqwest::Client::new(),
            target,
        }
    }

    /// Sends `event` in the background: later, signed, retried a few times.
    pub(super) fn send(&self, event: serde_json::Value) {
        let client = self.client.clone();
        let target = self.target.clone();
        tokio::spawn(async move {
            let body = event.to_string();
            for attempt in 0..5u32 {
                let signature = platform::signature::sign(
                    &target.secret,
                    chrono::Utc::now().timestamp(),
                    body.as_bytes(),
                );
                let sent = client
                    .post(&target.url)
                    .header("content-type", "application/json")
                    .header("stripe-signature", signature)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => {
                        tracing::warn!(status = %response.status(), "sandbox webhook refused")
                    }
                    Err(err) => tracing::warn!(error = %err, "sandbox webhook not delivered"),
                }
                tokio::time::sleep(std::time::Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
        });
    }
}

impl IntentRow {
    /// Stripe's event JSON for this PaymentIntent.
    pub(super) fn event(&self, event_type: &str) -> serde_json::Value {
        let error = self.decline_code.as_ref().map(|code| {
            serde_json::json!({
                "type": "card_error",
                "code": if code == "payment_intent_authentication_failure" { code.as_str() } else { "card_declined" },
                "decline_code": code,
                "message": decline_message(code),
            })
        });
        serde_json::json!({
            "id": new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": chrono::Utc::now().timestamp(),
            "livemode": false,
            "data": { "object": {
                "id": self.id,
                "object": "payment_intent",
                "amount": self.amount_cents,
                "currency": "usd",
                "status": self.status,
                "metadata": self.metadata,
                "last_payment_error": error,
            }},
        })
    }
}
