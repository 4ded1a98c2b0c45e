//! Cannabis delivery rules as data, and the pure functions that apply them.
//!
//! Regulations differ by jurisdiction and change (California's excise rate changed twice in
//! 2025), so every figure lives in a jurisdiction file that operations can edit: licence,
//! minimum age, service areas, delivery hours, daily purchase limits, taxes with dated rates,
//! delivery fee bands, the minimum order and the vehicle cap. Texas and California ship
//! embedded (`data/jurisdictions/*.json`, each naming its sources); a deployment loads those
//! or its own file with [`Rules`], validated on load, and picks its jurisdictions with
//! [`Rules::select`].
//!
//! The checks are pure: the caller passes the time, the customer's purchases today and the
//! order, and gets a typed answer. Each refusal is an error type carrying the figures a
//! problem+json answer needs:
//!
//! | check | refusal | code |
//! |---|---|---|
//! | [`Rules::locate`] | `None` | `OUTSIDE_DELIVERY_AREA` |
//! | [`Jurisdiction::check_delivery_hours`] | [`OutsideDeliveryHours`] | `OUTSIDE_DELIVERY_HOURS` |
//! | [`Jurisdiction::check_purchase_limits`] | [`PurchaseLimitExceeded`] | `PURCHASE_LIMIT_EXCEEDED` |
//! | [`Jurisdiction::check_minimum_order`] | [`UnderMinimumOrder`] | `UNDER_MINIMUM_ORDER` |
//! | [`Jurisdiction::check_age`] | [`UnderAge`] | `ID_VERIFICATION_REQUIRED` (or a refusal) |
//! | [`Jurisdiction::delivery_fee_cents`] | `None` (too far) | `OUTSIDE_DELIVERY_AREA` |
//!
//! Units: money in integer US cents, weights and THC in integer milligrams, tax rates as
//! exact hundredths of a percent ([`Percent`]), times as UTC instants converted to the
//! jurisdiction's IANA time zone.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod age;
mod fees;
mod hours;
mod jurisdiction;
mod limits;
mod product;
mod rules;
mod serde_fmt;
mod tax;
mod validate;

pub use age::{UnderAge, age_on};
pub use chrono_tz::Tz;
pub use fees::{DeliveryFee, FeeBand, UnderMinimumOrder};
pub use hours::OutsideDeliveryHours;
pub use jurisdiction::{DeliveryHours, Jurisdiction, License, LicenseStatus};
pub use limits::{
    LimitCount, LimitUsage, LimitedLine, Measure, PurchaseLimit, PurchaseLimitExceeded,
};
pub use product::{ProductType, UnknownProductType};
pub use rules::{Located, Rules, RulesError};
pub use tax::{
    AppliesTo, InvalidPercent, Percent, TaxBreakdown, TaxComponent, TaxRate, TaxRule, TaxableLine,
};
