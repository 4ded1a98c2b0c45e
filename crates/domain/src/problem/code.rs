//! [`Code`]: the one table of stable error codes, each with its HTTP status and title.
//!
//! Clients branch on `code`, never on `detail` or `title`, so a code is never renamed or
//! reused; add new rows instead. `docs/api-design.md` points here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::input::{ParseError, quoted};

/// Prefix of a problem's `type` URI. The URI is a stable identifier (RFC 9457 §3.1.1) and
/// also where a code's documentation lives: `<prefix><code in kebab-case>`.
pub const TYPE_URI_PREFIX: &str = "https://docs.fadedskies.com/problems/";

macro_rules! codes {
    ($($(#[$meta:meta])* $variant:ident => ($status:literal, $code:literal, $title:literal),)+) => {
        /// A stable error code. See the module documentation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$meta])* $variant,)+
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The HTTP status this code is answered with.
            #[must_use]
            pub const fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                }
            }

            /// The code as sent, e.g. `CART_EMPTY`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// A short, fixed, human summary; the same for every occurrence of the code.
            #[must_use]
            pub const fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }
        }
    };
}

codes! {
    // 400: the request itself is malformed or invalid.
    /// One or more fields broke a rule; see `errors`.
    ValidationFailed => (400, "VALIDATION_FAILED", "Invalid request"),
    /// A request that is wrong in a way no single field explains.
    BadRequest => (400, "BAD_REQUEST", "Bad request"),
    /// A password-reset token that is unknown, expired or already used.
    ResetTokenInvalid => (400, "RESET_TOKEN_INVALID", "Invalid reset token"),
    /// The body is not syntactically valid JSON.
    MalformedJson => (400, "MALFORMED_JSON", "Malformed JSON"),
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge => (413, "PAYLOAD_TOO_LARGE", "Payload too large"),
    /// The body's `Content-Type` is not one the endpoint accepts.
    UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),

    // 401: who is asking is unknown.
    /// No access token was sent.
    Unauthenticated => (401, "UNAUTHENTICATED", "Authentication required"),
    /// The access token is malformed or its signature does not verify.
    InvalidToken => (401, "INVALID_TOKEN", "Invalid token"),
    /// The access token has expired; refresh it.
    TokenExpired => (401, "TOKEN_EXPIRED", "Token expired"),
    /// Email or password is wrong (deliberately not saying which).
    InvalidCredentials => (401, "INVALID_CREDENTIALS", "Invalid email or password"),

    // 403: known, but not allowed.
    /// The caller's role may not do this.
    Forbidden => (403, "FORBIDDEN", "Forbidden"),
    /// The account is suspended.
    AccountSuspended => (403, "ACCOUNT_SUSPENDED", "Account suspended"),
    /// Ordering needs an approved ID verification first.
    IdVerificationRequired => (403, "ID_VERIFICATION_REQUIRED", "ID verification required"),

    // 404 and 405.
    /// The resource does not exist or is not the caller's.
    NotFound => (404, "NOT_FOUND", "Not found"),
    /// No route matches the path.
    RouteNotFound => (404, "ROUTE_NOT_FOUND", "Route not found"),
    /// The route exists but not with this method.
    MethodNotAllowed => (405, "METHOD_NOT_ALLOWED", "Method not allowed"),

    // 409: the current state of a resource refuses the request.
    /// A generic conflict, e.g. a duplicate unique value.
    Conflict => (409, "CONFLICT", "Conflict"),
    /// An account with this email already exists.
    EmailTaken => (409, "EMAIL_TAKEN", "Email already registered"),
    /// The resource's status does not allow this change (e.g. cancelling a delivered order).
    InvalidStateTransition => (409, "INVALID_STATE_TRANSITION", "Invalid state transition"),

    // 422: understood and well-formed, but a business rule refuses it.
    /// The `Idempotency-Key` was used before with a different request.
    IdempotencyKeyReused => (422, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused"),
    /// A business rule without a more specific code.
    BusinessRule => (422, "BUSINESS_RULE", "Business rule violated"),
    /// The customer is under the legal age (21).
    Underage => (422, "UNDERAGE", "Under the legal age"),
    /// The delivery address is outside every service area.
    OutsideDeliveryArea => (422, "OUTSIDE_DELIVERY_AREA", "Outside delivery area"),
    /// Orders are not taken at this time of day.
    OutsideDeliveryHours => (422, "OUTSIDE_DELIVERY_HOURS", "Outside delivery hours"),
    /// The order would exceed the daily legal purchase limit.
    PurchaseLimitExceeded => (422, "PURCHASE_LIMIT_EXCEEDED", "Purchase limit exceeded"),
    /// The cart has no items.
    CartEmpty => (422, "CART_EMPTY", "Cart is empty"),
    /// The order total is below the minimum order amount.
    UnderMinimumOrder => (422, "UNDER_MINIMUM_ORDER", "Below the minimum order"),
    /// Not enough stock for one or more items.
    InsufficientStock => (422, "INSUFFICIENT_STOCK", "Insufficient stock"),
    /// The payment provider declined the charge.
    PaymentDeclined => (422, "PAYMENT_DECLINED", "Payment declined"),
    /// A product in the cart is not for sale any more (inactive, deleted or unknown).
    ProductUnavailable => (422, "PRODUCT_UNAVAILABLE", "Product unavailable"),
    /// The ID shown at the door is under age or not the customer's: do not hand over.
    IdCheckFailed => (422, "ID_CHECK_FAILED", "ID check failed"),
    /// The delivery address has no coordinates yet (the geocoder could not place it).
    AddressNotGeocoded => (422, "ADDRESS_NOT_GEOCODED", "Address could not be located"),

    // 429 and 5xx.
    /// Too many requests; see `Retry-After`.
    RateLimited => (429, "RATE_LIMITED", "Too many requests"),
    /// A bug or an unexpected failure on our side; logged, never explained to the client.
    Internal => (500, "INTERNAL", "Internal server error"),
    /// The gateway reached a service, but its answer was broken or the connection dropped.
    BadGateway => (502, "BAD_GATEWAY", "Bad gateway"),
    /// A dependency (database, broker, provider) is unavailable; retrying later may work.
    ServiceUnavailable => (503, "SERVICE_UNAVAILABLE", "Service unavailable"),
    /// A dependency did not answer in time.
    UpstreamTimeout => (504, "UPSTREAM_TIMEOUT", "Upstream timeout"),
}

impl Code {
    /// The problem `type` URI, e.g. `https://docs.fadedskies.com/problems/cart-empty`.
    #[must_use]
    pub fn type_uri(self) -> String {
        let kebab = self.as_str().to_ascii_lowercase().replace('_', "-");
        format!("{TYPE_URI_PREFIX}{kebab}")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == input)
            .ok_or_else(|| {
                ParseError::new(
                    "code",
                    format!("{} is not a known error code", quoted(input)),
                )
            })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The OpenAPI schema lists every code, so client generators get the full set.
impl utoipa::PartialSchema for Code {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Stable error code; branch on this, not on `title` or `detail`.",
            ))
            .enum_values(Some(Self::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for Code {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_screaming_snake_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "duplicate {text}");
            assert!(
                text.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !text.starts_with('_'),
                "{text}"
            );
        }
    }

    #[test]
    fn statuses_are_error_statuses_in_their_documented_classes() {
        for code in Code::ALL {
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.title().is_empty(), "{code}");
        }
        assert_eq!(Code::ValidationFailed.status(), 400);
        assert_eq!(Code::PayloadTooLarge.status(), 413);
        assert_eq!(Code::UnsupportedMediaType.status(), 415);
        assert_eq!(Code::TokenExpired.status(), 401);
        assert_eq!(Code::IdVerificationRequired.status(), 403);
        assert_eq!(Code::MethodNotAllowed.status(), 405);
        assert_eq!(Code::EmailTaken.status(), 409);
        assert_eq!(Code::PurchaseLimitExceeded.status(), 422);
        assert_eq!(Code::RateLimited.status(), 429);
        assert_eq!(Code::Internal.status(), 500);
        assert_eq!(Code::ServiceUnavailable.status(), 503);
        assert_eq!(Code::UpstreamTimeout.status(), 504);
    }

    #[test]
    fn the_table_holds_every_code_the_design_names() {
        let names: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for required in [
            "ID_VERIFICATION_REQUIRED",
            "OUTSIDE_DELIVERY_AREA",
            "PURCHASE_LIMIT_EXCEEDED",
            "CART_EMPTY",
            "INVALID_CREDENTIALS",
            "RATE_LIMITED",
        ] {
            assert!(names.contains(required), "{required}");
        }
        assert_eq!(names.len(), Code::ALL.len(), "every code's text is unique");
    }

    #[test]
    fn serde_and_from_str_use_the_stable_text() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>().unwrap(), *code);
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::json!(code.as_str()));
            assert_eq!(serde_json::from_value::<Code>(json).unwrap(), *code);
        }
        assert!("cart_empty".parse::<Code>().is_err());
    }

    #[test]
    fn type_uri_is_the_kebab_case_code_under_the_docs_prefix() {
        assert_eq!(
            Code::IdVerificationRequired.type_uri(),
            "https://docs.fadedskies.com/problems/id-verification-required"
        );
        assert_eq!(
            Code::Internal.type_uri(),
            "https://docs.fadedskies.com/problems/internal"
        );
    }
}
