//! The embedded sandbox provider: Stripe's test mode without an account. It keeps its state
//! in the payments schema, so replicas agree, and knows Stripe's test payment methods and
//! wallet tokens.

use super::{
    AttachedMethod, CardDetails, Intent, IntentRequest, IntentStatus, MethodSource,
    PaymentProvider, ProviderError,
};
use crate::schema::{
    sandbox_customers, sandbox_payment_intents, sandbox_payment_methods, sandbox_refunds,
};
use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use platform::db::DbPool;
use uuid::Uuid;

/// What a Stripe test card does when charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    Succeeds,
    /// Declined with Stripe's decline code.
    Declined(&'static str),
    /// Needs 3-D Secure: succeeds or fails when the customer confirms.
    AuthenticationRequired,
}

/// A Stripe test payment method: its name, card and outcome.
#[derive(Debug, Clone, Copy)]
pub struct TestCard {
    pub name: &'static str,
    pub brand: &'static str,
    pub last_four: &'static str,
    pub outcome: TestOutcome,
}

/// Stripe's documented test payment methods this sandbox knows.
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        name: "pm_card_visa",
        brand: "visa",
        last_four: "4242",
        outcome: TestOutcome::Succeeds,
    },
    TestCard {
        name: "pm_card_mastercard",
        brand: "mastercard",
        last_four: "4444",
        outcome: TestOutcome::Succeeds,
    },
    TestCard {
        name: "pm_card_amex",
        brand: "amex",
        last_four: "8431",
        outcome: TestOutcome::Succeeds,
    },
    TestCard {
        name: "pm_card_chargeDeclined",
        brand: "visa",
        last_four: "0002",
        outcome: TestOutcome::Declined("generic_decline"),
    },
    TestCard {
        name: "pm_card_chargeDeclinedInsufficientFunds",
        brand: "visa",
        last_four: "9995",
        outcome: TestOutcome::Declined("insufficient_funds"),
    },
    TestCard {
        name: "pm_card_authenticationRequired",
        brand: "visa",
        last_four: "3184",
        outcome: TestOutcome::AuthenticationRequired,
    },
];

/// Wallet tokens (Apple Pay, Google Pay) and the test card each becomes.
const WALLET_TOKENS: &[(&str, &str)] = &[
    ("tok_visa", "pm_card_visa"),
    ("tok_mastercard", "pm_card_mastercard"),
];

/// Test cards expire at the end of a year well ahead, as Stripe's do.
const TEST_EXP_MONTH: i16 = 12;
const TEST_EXP_YEAR: i16 = 2034;

pub fn test_card(name: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|card| card.name == name)
}

fn details(card: &TestCard) -> CardDetails {
    CardDetails {
        brand: card.brand.to_owned(),
        last_four: card.last_four.to_owned(),
        exp_month: TEST_EXP_MONTH,
        exp_year: TEST_EXP_YEAR,
    }
}

/// The test card a source stands for, and the wallet it came through.
fn resolve(
    source: &MethodSource,
) -> Result<(&'static TestCard, Option<&'static str>), ProviderError> {
    match source {
        MethodSource::PaymentMethod(name) => {
            test_card(name).map(|card| (card, None)).ok_or_else(|| {
                ProviderError::InvalidRequest(format!("No such PaymentMethod: '{name}'"))
            })
        }
        MethodSource::WalletToken(token) => WALLET_TOKENS
            .iter()
            .find(|(known, _)| known == token)
            .and_then(|(known, card)| Some((test_card(card)?, Some(*known))))
            .ok_or_else(|| ProviderError::InvalidRequest(format!("No such token: '{token}'"))),
    }
}

/// Where the sandbox delivers its webhook events: this service's own endpoint, signed with
/// the configured secret exactly as Stripe would.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

pub struct SandboxProvider {
    pool: DbPool,
    webhook: WebhookTarget,
    client: reqwest::Client,
}

/// Stripe's message for a decline code, as a customer would read it.
pub fn decline_message(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "Your card has insufficient funds.",
        "payment_intent_authentication_failure" => {
            "We are unable to authenticate your payment method. Please choose a different payment method and try again."
        }
        _ => "Your card was declined.",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_payment_intents)]
struct IntentRow {
    id: String,
    amount_cents: i64,
    status: String,
    client_secret: String,
    decline_code: Option<String>,
    metadata: serde_json::Value,
}

impl IntentRow {
    fn intent(&self) -> Intent {
        let status = match self.status.as_str() {
            "succeeded" => IntentStatus::Succeeded,
            "requires_action" => IntentStatus::RequiresAction,
            "requires_confirmation" => IntentStatus::RequiresConfirmation,
            "canceled" => IntentStatus::Canceled,
            _ => {
                let code = self
                    .decline_code
                    .clone()
                    .unwrap_or_else(|| "generic_decline".into());
                IntentStatus::Failed {
                    message: decline_message(&code).to_owned(),
                    decline_code: code,
                }
            }
        };
        Intent {
            id: self.id.clone(),
            status,
            client_secret: self.client_secret.clone(),
        }
    }

    /// Stripe's event JSON for this PaymentIntent.
    fn event(&self, event_type: &str) -> serde_json::Value {
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

impl SandboxProvider {
    pub fn new(pool: DbPool, webhook: WebhookTarget) -> Self {
        Self {
            pool,
            webhook,
            client: reqwest::Client::new(),
        }
    }

    /// What a customer does in the 3-D Secure window (or Stripe.js's confirmation): the
    /// PaymentIntent succeeds or fails, and the outcome is delivered to the webhook.
    pub async fn complete_action(
        &self,
        intent_id: &str,
        authenticated: bool,
    ) -> Result<(), ProviderError> {
        let mut conn = self.conn().await?;
        let row: Option<IntentRow> = sandbox_payment_intents::table
            .find(intent_id)
            .select(IntentRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(unavailable)?;
        let Some(row) = row else {
            return Err(ProviderError::InvalidRequest(format!(
                "No such payment_intent: '{intent_id}'"
            )));
        };
        if !matches!(
            row.status.as_str(),
            "requires_action" | "requires_confirmation"
        ) {
            return Err(ProviderError::InvalidRequest(format!(
                "This PaymentIntent's status is {}; it cannot be confirmed.",
                row.status
            )));
        }
        // Confirming applies the card's own outcome; passing 3-D Secure ends it.
        let outcome = if row.status == "requires_confirmation" {
            let card: Option<String> = sandbox_payment_methods::table
                .inner_join(
                    sandbox_payment_intents::table.on(sandbox_payment_intents::payment_method_id
                        .eq(sandbox_payment_methods::id.nullable())),
                )
                .filter(sandbox_payment_intents::id.eq(intent_id))
                .select(sandbox_payment_methods::test_card)
                .first(&mut conn)
                .await
                .optional()
                .map_err(unavailable)?;
            card.and_then(|name| test_card(&name))
                .map_or(TestOutcome::Succeeds, |card| card.outcome)
        } else {
            TestOutcome::Succeeds
        };
        let (status, decline) = match (authenticated, outcome) {
            (false, _) => (
                "requires_payment_method",
                Some("payment_intent_authentication_failure"),
            ),
            (true, TestOutcome::Succeeds) => ("succeeded", None),
            (true, TestOutcome::Declined(code)) => ("requires_payment_method", Some(code)),
            (true, TestOutcome::AuthenticationRequired) => ("requires_action", None),
        };
        let row: IntentRow = diesel::update(sandbox_payment_intents::table.find(intent_id))
            .set((
                sandbox_payment_intents::status.eq(status),
                sandbox_payment_intents::decline_code.eq(decline),
            ))
            .returning(IntentRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(unavailable)?;
        match status {
            "succeeded" => self.deliver(row.event("payment_intent.succeeded")),
            "requires_payment_method" => self.deliver(row.event("payment_intent.payment_failed")),
            // Still waiting for the customer: nothing to announce yet.
            _ => {}
        }
        Ok(())
    }

    /// Sends an event to the webhook as Stripe does: later, signed, retried a few times.
    fn deliver(&self, event: serde_json::Value) {
        let client = self.client.clone();
        let target = self.webhook.clone();
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

    async fn conn(&self) -> Result<platform::db::DbConn, ProviderError> {
        self.pool
            .get()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))
    }
}

fn unavailable(error: diesel::result::Error) -> ProviderError {
    ProviderError::Unavailable(error.to_string())
}

/// A Stripe-like id: prefix and 24 random characters.
fn new_id(prefix: &str) -> String {
    format!("{prefix}_sbx{}", &Uuid::new_v4().simple().to_string()[..21])
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn ping(&self) -> Result<(), ProviderError> {
        let mut conn = self.conn().await?;
        sandbox_customers::table
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_customer(&self, user_id: Uuid) -> Result<String, ProviderError> {
        let id = new_id("cus");
        let mut conn = self.conn().await?;
        diesel::insert_into(sandbox_customers::table)
            .values((
                sandbox_customers::id.eq(&id),
                sandbox_customers::metadata.eq(serde_json::json!({ "userId": user_id })),
            ))
            .execute(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(id)
    }

    async fn attach_payment_method(
        &self,
        customer: &str,
        source: &MethodSource,
    ) -> Result<AttachedMethod, ProviderError> {
        let (card, wallet) = resolve(source)?;
        let id = new_id("pm");
        let mut conn = self.conn().await?;
        let known: i64 = sandbox_customers::table
            .filter(sandbox_customers::id.eq(customer))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(unavailable)?;
        if known == 0 {
            return Err(ProviderError::InvalidRequest(format!(
                "No such customer: '{customer}'"
            )));
        }
        diesel::insert_into(sandbox_payment_methods::table)
            .values((
                sandbox_payment_methods::id.eq(&id),
                sandbox_payment_methods::test_card.eq(card.name),
                sandbox_payment_methods::customer_id.eq(customer),
                sandbox_payment_methods::wallet.eq(wallet),
            ))
            .execute(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(AttachedMethod {
            id,
            card: details(card),
        })
    }

    async fn detach_payment_method(&self, payment_method: &str) -> Result<(), ProviderError> {
        let mut conn = self.conn().await?;
        diesel::update(sandbox_payment_methods::table.find(payment_method))
            .set(sandbox_payment_methods::customer_id.eq(None::<String>))
            .execute(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_payment_intent(
        &self,
        request: &IntentRequest<'_>,
    ) -> Result<Intent, ProviderError> {
        let mut conn = self.conn().await?;
        let existing: Option<IntentRow> = sandbox_payment_intents::table
            .filter(sandbox_payment_intents::idempotency_key.eq(request.idempotency_key))
            .select(IntentRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(unavailable)?;
        if let Some(row) = existing {
            return Ok(row.intent());
        }
        if request.amount_cents < 50 {
            return Err(ProviderError::InvalidRequest(
                "Amount must be at least $0.50 usd".into(),
            ));
        }
        let card = match request.payment_method {
            Some(id) => {
                let card: Option<String> = sandbox_payment_methods::table
                    .find(id)
                    .filter(sandbox_payment_methods::customer_id.eq(request.customer))
                    .select(sandbox_payment_methods::test_card)
                    .first(&mut conn)
                    .await
                    .optional()
                    .map_err(unavailable)?;
                let card = card.and_then(|name| test_card(&name)).ok_or_else(|| {
                    ProviderError::InvalidRequest(format!("No such PaymentMethod: '{id}'"))
                })?;
                Some(card)
            }
            None => None,
        };
        let (status, decline) = match (request.confirm, card) {
            (false, _) => ("requires_confirmation", None),
            (true, None) => {
                return Err(ProviderError::InvalidRequest(
                    "A PaymentIntent confirmed at creation needs a payment_method.".into(),
                ));
            }
            (true, Some(card)) => match card.outcome {
                TestOutcome::Succeeds => ("succeeded", None),
                TestOutcome::Declined(code) => ("requires_payment_method", Some(code)),
                TestOutcome::AuthenticationRequired => ("requires_action", None),
            },
        };
        let id = new_id("pi");
        let secret = format!("{id}_secret_{}", &Uuid::new_v4().simple().to_string()[..16]);
        diesel::insert_into(sandbox_payment_intents::table)
            .values((
                sandbox_payment_intents::id.eq(&id),
                sandbox_payment_intents::idempotency_key.eq(request.idempotency_key),
                sandbox_payment_intents::amount_cents.eq(request.amount_cents),
                sandbox_payment_intents::customer_id.eq(request.customer),
                sandbox_payment_intents::payment_method_id.eq(request.payment_method),
                sandbox_payment_intents::status.eq(status),
                sandbox_payment_intents::client_secret.eq(&secret),
                sandbox_payment_intents::decline_code.eq(decline),
                sandbox_payment_intents::metadata
                    .eq(serde_json::json!({ "order_id": request.order_id })),
            ))
            .on_conflict(sandbox_payment_intents::idempotency_key)
            .do_nothing()
            .execute(&mut conn)
            .await
            .map_err(unavailable)?;
        // A concurrent twin may have won: whatever is stored under the key is the answer.
        let row: IntentRow = sandbox_payment_intents::table
            .filter(sandbox_payment_intents::idempotency_key.eq(request.idempotency_key))
            .select(IntentRow::as_select())
            .first(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(row.intent())
    }

    async fn cancel_payment_intent(&self, id: &str) -> Result<(), ProviderError> {
        let mut conn = self.conn().await?;
        diesel::update(
            sandbox_payment_intents::table
                .find(id)
                .filter(sandbox_payment_intents::status.ne("succeeded")),
        )
        .set(sandbox_payment_intents::status.eq("canceled"))
        .execute(&mut conn)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn refund(
        &self,
        payment_intent: &str,
        amount_cents: i64,
        idempotency_key: &str,
    ) -> Result<String, ProviderError> {
        let mut conn = self.conn().await?;
        let existing: Option<String> = sandbox_refunds::table
            .filter(sandbox_refunds::idempotency_key.eq(idempotency_key))
            .select(sandbox_refunds::id)
            .first(&mut conn)
            .await
            .optional()
            .map_err(unavailable)?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let intent: Option<IntentRow> = sandbox_payment_intents::table
            .find(payment_intent)
            .select(IntentRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(unavailable)?;
        let intent = intent
            .filter(|row| row.status == "succeeded")
            .ok_or_else(|| {
                ProviderError::InvalidRequest(format!(
                    "PaymentIntent {payment_intent} has no charge to refund"
                ))
            })?;
        let refunded: i64 = sandbox_refunds::table
            .filter(sandbox_refunds::payment_intent_id.eq(payment_intent))
            .select(sandbox_refunds::amount_cents)
            .load::<i64>(&mut conn)
            .await
            .map_err(unavailable)?
            .iter()
            .sum();
        if refunded + amount_cents > intent.amount_cents {
            return Err(ProviderError::InvalidRequest(
                "Refund amount is greater than the unrefunded amount on the charge".into(),
            ));
        }
        let id = new_id("re");
        diesel::insert_into(sandbox_refunds::table)
            .values((
                sandbox_refunds::id.eq(&id),
                sandbox_refunds::idempotency_key.eq(idempotency_key),
                sandbox_refunds::payment_intent_id.eq(payment_intent),
                sandbox_refunds::amount_cents.eq(amount_cents),
            ))
            .execute(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut event = intent.event("charge.refunded");
        event["data"]["object"]["amount_refunded"] = serde_json::json!(refunded + amount_cents);
        self.deliver(event);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_and_wallet_tokens_resolve() {
        let (card, wallet) = resolve(&MethodSource::PaymentMethod("pm_card_amex".into())).unwrap();
        assert_eq!((card.brand, card.last_four, wallet), ("amex", "8431", None));
        let (card, wallet) = resolve(&MethodSource::WalletToken("tok_mastercard".into())).unwrap();
        assert_eq!((card.brand, wallet), ("mastercard", Some("tok_mastercard")));
        assert!(resolve(&MethodSource::PaymentMethod("pm_card_unknown".into())).is_err());
        assert!(resolve(&MethodSource::WalletToken("tok_amex_fake".into())).is_err());
        assert_eq!(
            test_card("pm_card_chargeDeclinedInsufficientFunds")
                .unwrap()
                .outcome,
            TestOutcome::Declined("insufficient_funds")
        );
    }

    #[test]
    fn ids_look_like_stripe_ids() {
        let id = new_id("pm");
        assert!(id.starts_with("pm_sbx") && id.len() == 27, "{id}");
    }
}
