//! The embedded sandbox provider: Stripe's test mode without an account. It keeps its state
//! in the payments schema, so replicas agree, and knows Stripe's test payment methods and
//! wallet tokens.

use super::{AttachedMethod, CardDetails, MethodSource, PaymentProvider, ProviderError};
use crate::schema::{sandbox_customers, sandbox_payment_methods};
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

pub struct SandboxProvider {
    pool: DbPool,
}

impl SandboxProvider {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
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
