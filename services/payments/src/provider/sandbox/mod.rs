//! The embedded sandbox provider: Stripe's test mode without an account. It keeps its state
//! in the payments schema, so replicas agree; `cards` holds Stripe's test payment methods and
//! wallet tokens, `delivery` sends its webhook events as Stripe would.

mod cards;
mod delivery;

pub use cards::{TEST_CARDS, TestCard, TestOutcome, decline_message, test_card};

use super::{
    AttachedMethod, Confirm, Intent, IntentRequest, IntentStatus, MethodSource, PaymentProvider,
    ProviderError,
};
use crate::schema::{
    sandbox_customers, sandbox_payment_intents, sandbox_payment_methods, sandbox_refunds,
};
use async_trait::async_trait;
use cards::{details, resolve};
use delivery::Deliverer;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::UserId;
use platform::db::DbPool;
use uuid::Uuid;

/// Where the sandbox delivers its webhook events: this service's own endpoint, signed with
/// the configured secret exactly as Stripe would.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

pub struct SandboxProvider {
    pool: DbPool,
    webhooks: Deliverer,
}

domain::string_enum! {
    /// Where a sandbox PaymentIntent stands, in Stripe's words.
    enum IntentState (field = "status") {
        RequiresConfirmation => "requires_confirmation",
        RequiresAction => "requires_action",
        /// Declined (Stripe's state after a failed attempt).
        RequiresPaymentMethod => "requires_payment_method",
        Succeeded => "succeeded",
        Canceled => "canceled",
    }
}

/// What the customer did in the 3-D Secure window (or Stripe.js's confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    /// Passed 3-D Secure (or confirmed).
    Authenticate,
    /// Failed or abandoned it.
    Fail,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_payment_intents)]
struct IntentRow {
    id: String,
    amount_cents: i64,
    status: IntentState,
    client_secret: String,
    decline_code: Option<String>,
    metadata: serde_json::Value,
}

impl IntentRow {
    fn intent(&self) -> Intent {
        let status = match self.status {
            IntentState::Succeeded => IntentStatus::Succeeded,
            IntentState::RequiresAction => IntentStatus::RequiresAction,
            IntentState::RequiresConfirmation => IntentStatus::RequiresConfirmation,
            IntentState::Canceled => IntentStatus::Canceled,
            IntentState::RequiresPaymentMethod => {
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
}

impl SandboxProvider {
    pub fn new(pool: DbPool, webhook: WebhookTarget) -> Self {
        Self {
            pool,
            webhooks: Deliverer::new(webhook),
        }
    }

    /// What a customer does in the 3-D Secure window (or Stripe.js's confirmation): the
    /// PaymentIntent succeeds or fails, and the outcome is delivered to the webhook.
    pub async fn complete_action(
        &self,
        intent_id: &str,
        action: CustomerAction,
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
            row.status,
            IntentState::RequiresAction | IntentState::RequiresConfirmation
        ) {
            return Err(ProviderError::InvalidRequest(format!(
                "This PaymentIntent's status is {}; it cannot be confirmed.",
                row.status
            )));
        }
        // Confirming applies the card's own outcome; passing 3-D Secure ends it.
        let outcome = if row.status == IntentState::RequiresConfirmation {
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
        let (status, decline) = match (action, outcome) {
            (CustomerAction::Fail, _) => (
                IntentState::RequiresPaymentMethod,
                Some("payment_intent_authentication_failure"),
            ),
            (CustomerAction::Authenticate, TestOutcome::Succeeds) => (IntentState::Succeeded, None),
            (CustomerAction::Authenticate, TestOutcome::Declined(code)) => {
                (IntentState::RequiresPaymentMethod, Some(code))
            }
            (CustomerAction::Authenticate, TestOutcome::AuthenticationRequired) => {
                (IntentState::RequiresAction, None)
            }
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
            IntentState::Succeeded => self.webhooks.send(row.event("payment_intent.succeeded")),
            IntentState::RequiresPaymentMethod => {
                self.webhooks
                    .send(row.event("payment_intent.payment_failed"));
            }
            // Still waiting for the customer: nothing to announce yet.
            _ => {}
        }
        Ok(())
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
pub(super) fn new_id(prefix: &str) -> String {
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

    async fn create_customer(&self, user_id: UserId) -> Result<String, ProviderError> {
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
            (Confirm::Later, _) => (IntentState::RequiresConfirmation, None),
            (Confirm::Now, None) => {
                return Err(ProviderError::InvalidRequest(
                    "A PaymentIntent confirmed at creation needs a payment_method.".into(),
                ));
            }
            (Confirm::Now, Some(card)) => match card.outcome {
                TestOutcome::Succeeds => (IntentState::Succeeded, None),
                TestOutcome::Declined(code) => (IntentState::RequiresPaymentMethod, Some(code)),
                TestOutcome::AuthenticationRequired => (IntentState::RequiresAction, None),
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
                .filter(sandbox_payment_intents::status.ne(IntentState::Succeeded)),
        )
        .set(sandbox_payment_intents::status.eq(IntentState::Canceled))
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
            .filter(|row| row.status == IntentState::Succeeded)
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
        self.webhooks.send(event);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_stripe_ids() {
        let id = new_id("pm");
        assert!(id.starts_with("pm_sbx") && id.len() == 27, "{id}");
    }
}
