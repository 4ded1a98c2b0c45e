//! The payment provider boundary: what payments asks of Stripe, behind a trait so the
//! embedded sandbox (the default) and the real adapter are interchangeable (DESIGN §7).

pub mod sandbox;
pub mod stripe;
pub mod stripe_client;

use platform::health::HealthCheck;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::{OrderId, UserId};

/// Where a new payment method comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodSource {
    /// A PaymentMethod the client created with the provider's SDK (`pm_...`).
    PaymentMethod(String),
    /// An Apple Pay or Google Pay token (`tok_...`), turned into a card PaymentMethod.
    WalletToken(String),
}

/// What the provider tells about a card; never the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub brand: String,
    pub last_four: String,
    pub exp_month: i16,
    pub exp_year: i16,
}

/// A payment method attached to a customer at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedMethod {
    pub id: String,
    pub card: CardDetails,
}

/// Whether a new PaymentIntent is confirmed (charged) at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Charged at creation (the saga).
    Now,
    /// Left for the client to confirm (`create-intent`).
    Later,
}

/// A charge to create.
#[derive(Debug, Clone)]
pub struct IntentRequest<'a> {
    pub amount_cents: i64,
    pub customer: &'a str,
    pub payment_method: Option<&'a str>,
    pub confirm: Confirm,
    /// The same key returns the same PaymentIntent: a retried charge never charges twice.
    pub idempotency_key: &'a str,
    pub order_id: OrderId,
}

/// Where a PaymentIntent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentStatus {
    Succeeded,
    /// The customer must act (3-D Secure); the outcome arrives by webhook.
    RequiresAction,
    /// Waiting for the client to confirm it.
    RequiresConfirmation,
    /// Declined, with the provider's decline code and a message a customer can read.
    Failed {
        decline_code: String,
        message: String,
    },
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    pub client_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The request cannot succeed as sent (unknown payment method, bad token): the client's
    /// doing, answered 4xx.
    #[error("{0}")]
    InvalidRequest(String),
    /// The provider did not answer or failed: try again later (503).
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// `sandbox` or `stripe`, stored with every provider id.
    fn name(&self) -> &'static str;

    /// Whether the provider answers (for `/health`).
    async fn ping(&self) -> Result<(), ProviderError>;

    /// Creates the provider's customer for a user (metadata `userId`).
    async fn create_customer(&self, user_id: UserId) -> Result<String, ProviderError>;

    /// Attaches a payment method (or a wallet token made into one) to `customer`.
    async fn attach_payment_method(
        &self,
        customer: &str,
        source: &MethodSource,
    ) -> Result<AttachedMethod, ProviderError>;

    /// Detaches a payment method; detaching one already gone succeeds.
    async fn detach_payment_method(&self, payment_method: &str) -> Result<(), ProviderError>;

    /// Creates (and with `confirm`, charges) a PaymentIntent.
    async fn create_payment_intent(
        &self,
        request: &IntentRequest<'_>,
    ) -> Result<Intent, ProviderError>;

    /// Cancels a PaymentIntent that has not succeeded.
    async fn cancel_payment_intent(&self, id: &str) -> Result<(), ProviderError>;

    /// Refunds `amount_cents` of a succeeded PaymentIntent; returns the refund id.
    async fn refund(
        &self,
        payment_intent: &str,
        amount_cents: i64,
        idempotency_key: &str,
    ) -> Result<String, ProviderError>;
}

/// The provider's state in `/health`. Asked at most every 30 s: probes call `/health` often,
/// and each ask may be a call to Stripe.
pub struct ProviderCheck {
    provider: Arc<dyn PaymentProvider>,
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

const PING_EVERY: Duration = Duration::from_secs(30);

impl ProviderCheck {
    pub fn new(provider: Arc<dyn PaymentProvider>) -> Self {
        Self {
            provider,
            last: Mutex::new(None),
        }
    }
}

impl HealthCheck for ProviderCheck {
    fn name(&self) -> &'static str {
        "payment_provider"
    }

    /// Stripe down makes payments degraded, not unready: readiness failing on every pod would
    /// take the webhook (and refunds, and the saga's answers) down with it.
    fn external(&self) -> bool {
        true
    }

    fn check(&self) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let cached = self
                .last
                .lock()
                .ok()
                .and_then(|last| last.clone())
                .filter(|(at, _)| at.elapsed() < PING_EVERY);
            if let Some((_, result)) = cached {
                return result;
            }
            let result = self
                .provider
                .ping()
                .await
                .map_err(|e| format!("{}: {e}", self.provider.name()));
            if let Ok(mut last) = self.last.lock() {
                *last = Some((Instant::now(), result.clone()));
            }
            result
        })
    }
}
