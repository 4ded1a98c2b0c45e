//! The payment provider boundary: what payments asks of Stripe, behind a trait so the
//! embedded sandbox (the default) and the real adapter are interchangeable (DESIGN §7).

pub mod sandbox;

use async_trait::async_trait;
use uuid::Uuid;

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

    /// Creates the provider's customer for a user (metadata `userId`).
    async fn create_customer(&self, user_id: Uuid) -> Result<String, ProviderError>;

    /// Attaches a payment method (or a wallet token made into one) to `customer`.
    async fn attach_payment_method(
        &self,
        customer: &str,
        source: &MethodSource,
    ) -> Result<AttachedMethod, ProviderError>;

    /// Detaches a payment method; detaching one already gone succeeds.
    async fn detach_payment_method(&self, payment_method: &str) -> Result<(), ProviderError>;
}
