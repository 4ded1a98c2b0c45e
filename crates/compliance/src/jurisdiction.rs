//! One jurisdiction's rules as they appear in a rules file, and its licence.

use crate::fees::DeliveryFee;
use crate::limits::PurchaseLimit;
use crate::serde_fmt::{hh_mm, time_zone};
use crate::tax::TaxRule;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use geo::ServiceArea;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the business must apply where it delivers, e.g. Texas (`TX`).
///
/// Built by loading a rules file ([`crate::Rules`]), which validates it; the fields are public
/// so endpoints can show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Jurisdiction {
    /// Stable key, e.g. `TX`.
    pub code: String,
    /// Display name, e.g. `Texas`.
    pub name: String,
    /// Where delivery hours and "today" (for daily limits) are counted.
    #[serde(with = "time_zone")]
    pub time_zone: Tz,
    /// Where each figure comes from; a regulator will ask.
    pub sources: Vec<String>,
    /// What the data deliberately leaves out or is unsure of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub license: License,
    /// In whole years.
    pub minimum_age: u32,
    /// Where the business delivers; a point outside all of them is not deliverable.
    pub service_areas: Vec<ServiceArea>,
    /// Informative only (shown to customers and returned by the area check): the service
    /// areas decide, so a city missing here never refuses an order.
    pub approved_municipalities: Vec<String>,
    pub delivery_hours: DeliveryHours,
    /// Daily purchase limits per customer.
    pub purchase_limits: Vec<PurchaseLimit>,
    /// Taxes due everywhere in the jurisdiction.
    pub taxes: Vec<TaxRule>,
    /// Extra taxes by city (matched ignoring case), added to [`Jurisdiction::taxes`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_taxes: BTreeMap<String, Vec<TaxRule>>,
    pub delivery_fee: DeliveryFee,
    /// Goods subtotal (before tax and fees) an order needs, in cents.
    pub minimum_order_cents: i64,
    /// Most retail value of goods one delivery vehicle may carry, in cents, where capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle_cap_cents: Option<i64>,
}

/// The licence the business delivers under, as `GET /api/compliance/license` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct License {
    pub business_name: String,
    pub license_number: String,
    pub license_type: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    /// The last day the licence is valid.
    pub expires_on: NaiveDate,
    /// The state's track-and-trace system, e.g. `Metrc`.
    pub track_and_trace: String,
    pub age_verification_required: bool,
    /// E.g. that the licence is an example, not a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a licence is in force on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LicenseStatus {
    Active,
    Expired,
    NotYetValid,
}

impl License {
    /// Computed from the dates on every call, so an expired licence never shows as active.
    #[must_use]
    pub fn status(&self, today: NaiveDate) -> LicenseStatus {
        if today < self.issued_on {
            LicenseStatus::NotYetValid
        } else if today > self.expires_on {
            LicenseStatus::Expired
        } else {
            LicenseStatus::Active
        }
    }
}

/// The daily delivery window in local time, half-open: `[opens, closes)`, so with closes
/// `22:00` a delivery at 22:00:00 exactly is outside. A window whose `closes` is earlier than
/// `opens` runs past midnight (`closes` `00:00` means until the end of the day), and equal
/// times mean around the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryHours {
    #[serde(with = "hh_mm")]
    pub opens: NaiveTime,
    #[serde(with = "hh_mm")]
    pub closes: NaiveTime,
}

impl DeliveryHours {
    /// Whether the local clock time `time` is inside the window.
    #[must_use]
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.opens < self.closes {
            self.opens <= time && time < self.closes
        } else {
            self.opens <= time || time < self.closes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap()
    }

    fn license() -> License {
        License {
            business_name: "Faded Skies LLC".into(),
            license_number: "TX-RET-2024-001".into(),
            license_type: "Retail Cannabis Delivery".into(),
            issuer: "Texas Department of State Health Services".into(),
            issued_on: date(2024, 1, 15),
            expires_on: date(2025, 1, 15),
            track_and_trace: "Metrc".into(),
            age_verification_required: true,
            note: None,
        }
    }

    #[test]
    fn equal_opening_and_closing_times_mean_around_the_clock() {
        let hours: DeliveryHours =
            serde_json::from_str(r#"{"opens":"00:00","closes":"00:00"}"#).unwrap();
        for (h, m) in [(0, 0), (12, 0), (23, 59)] {
            assert!(hours.contains(NaiveTime::from_hms_opt(h, m, 59).unwrap()));
        }
    }

    #[test]
    fn license_status_follows_the_dates() {
        let l = license();
        assert_eq!(l.status(date(2024, 1, 14)), LicenseStatus::NotYetValid);
        assert_eq!(l.status(date(2024, 1, 15)), LicenseStatus::Active);
        assert_eq!(l.status(date(2024, 7, 1)), LicenseStatus::Active);
        // The expiry date is the last valid day.
        assert_eq!(l.status(date(2025, 1, 15)), LicenseStatus::Active);
        assert_eq!(l.status(date(2025, 1, 16)), LicenseStatus::Expired);
        assert_eq!(l.status(date(2026, 11, 1)), LicenseStatus::Expired);
    }

    #[test]
    fn hours_are_half_open() {
        let hours = DeliveryHours {
            opens: time(6, 0, 0),
            closes: time(22, 0, 0),
        };
        assert!(!hours.contains(time(5, 59, 59)));
        assert!(hours.contains(time(6, 0, 0)));
        assert!(hours.contains(time(21, 59, 59)));
        assert!(!hours.contains(time(22, 0, 0)));
    }

    #[test]
    fn a_window_may_run_past_midnight() {
        let late = DeliveryHours {
            opens: time(18, 0, 0),
            closes: time(2, 0, 0),
        };
        assert!(late.contains(time(23, 30, 0)));
        assert!(late.contains(time(1, 59, 59)));
        assert!(!late.contains(time(2, 0, 0)));
        assert!(!late.contains(time(12, 0, 0)));
        let until_midnight = DeliveryHours {
            opens: time(10, 0, 0),
            closes: time(0, 0, 0),
        };
        assert!(until_midnight.contains(time(23, 59, 59)));
        assert!(!until_midnight.contains(time(0, 0, 0)));
    }

    #[test]
    fn hours_are_written_hh_mm() {
        let hours: DeliveryHours =
            serde_json::from_str(r#"{"opens":"06:00","closes":"22:00"}"#).unwrap();
        assert_eq!(hours.closes, time(22, 0, 0));
        assert_eq!(
            serde_json::to_string(&hours).unwrap(),
            r#"{"opens":"06:00","closes":"22:00"}"#
        );
        for bad in ["6:00", "22:00:00", "24:00", "10 pm"] {
            let json = format!(r#"{{"opens":"{bad}","closes":"22:00"}}"#);
            let err = serde_json::from_str::<DeliveryHours>(&json).unwrap_err();
            assert!(err.to_string().contains("HH:MM"), "{bad}: {err}");
        }
    }
}
