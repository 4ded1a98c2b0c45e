//! Stripe's documented test payment methods and wallet tokens, what each does when charged,
//! and the messages Stripe gives for declines: the sandbox's data.

use crate::provider::{CardDetails, MethodSource, ProviderError};

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

pub(super) fn details(card: &TestCard) -> CardDetails {
    CardDetails {
        brand: card.brand.to_owned(),
        last_four: card.last_four.to_owned(),
        exp_month: TEST_EXP_MONTH,
        exp_year: TEST_EXP_YEAR,
    }
}

/// The test card a source stands for, and the wallet it came through.
pub(super) fn resolve(
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
}
