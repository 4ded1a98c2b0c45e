//! Local time in a jurisdiction: delivery hours, the next opening and the local day.

use crate::jurisdiction::Jurisdiction;
use crate::serde_fmt::{hh_mm, time_zone};
use chrono::{
    DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::Serialize;

/// `OUTSIDE_DELIVERY_HOURS`: the order was placed while the jurisdiction's window is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error(
    "deliveries run from {} to {} {} time; it is {} there",
    .opens.format("%H:%M"),
    .closes.format("%H:%M"),
    .time_zone.name(),
    .local_time.format("%H:%M:%S")
)]
pub struct OutsideDeliveryHours {
    #[serde(with = "hh_mm")]
    pub opens: NaiveTime,
    #[serde(with = "hh_mm")]
    pub closes: NaiveTime,
    /// The wall-clock time in the jurisdiction when the order was placed.
    pub local_time: NaiveDateTime,
    #[serde(with = "time_zone")]
    pub time_zone: Tz,
    /// When deliveries start again, if that instant can be computed.
    pub next_opening: Option<DateTime<Utc>>,
}

impl Jurisdiction {
    /// The wall-clock date in the jurisdiction at `now`.
    #[must_use]
    pub fn local_date(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// The instant the local day containing `now` began, so "today's purchases" are those
    /// at or after it. Usually local midnight; where a DST jump skips midnight, the first
    /// instant of the day.
    #[must_use]
    pub fn start_of_local_day(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let midnight = self.local_date(now).and_time(NaiveTime::MIN);
        local_to_utc(self.time_zone, midnight).unwrap_or(now)
    }

    /// # Errors
    /// [`OutsideDeliveryHours`] when `now`, in local time, is outside the delivery window.
    pub fn check_delivery_hours(&self, now: DateTime<Utc>) -> Result<(), OutsideDeliveryHours> {
        let local_time = now.with_timezone(&self.time_zone).naive_local();
        if self.delivery_hours.contains(local_time.time()) {
            return Ok(());
        }
        Err(OutsideDeliveryHours {
            opens: self.delivery_hours.opens,
            closes: self.delivery_hours.closes,
            local_time,
            time_zone: self.time_zone,
            next_opening: self.next_opening(now),
        })
    }

    /// When the delivery window next opens after `now`; `None` while it is open (or if the
    /// instant falls outside chrono's range).
    #[must_use]
    pub fn next_opening(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.time_zone).naive_local();
        let hours = self.delivery_hours;
        if hours.contains(local.time()) {
            return None;
        }
        let today = local.date().and_time(hours.opens);
        let opening = if local < today {
            today
        } else {
            today.checked_add_signed(TimeDelta::days(1))?
        };
        local_to_utc(self.time_zone, opening)
    }
}

/// The instant a wall-clock time names. In the repeated hour after clocks go back, the first
/// one; in the hour skipped when they go forward, the time as if the jump had not happened yet
/// (00:30 in a gap from 00:00 to 01:00 becomes 01:30), the usual convention.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => {
            // A day earlier, the offset before the jump is in force.
            let before = local.checked_sub_signed(TimeDelta::days(1))?;
            let offset = tz.offset_from_utc_datetime(&before);
            let shift = TimeDelta::seconds(i64::from(offset.fix().local_minus_utc()));
            let utc = local.checked_sub_signed(shift)?;
            Some(utc.and_utc())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn rules() -> Rules {
        Rules::embedded().unwrap()
    }

    #[test]
    fn california_hours_in_summer_time() {
        let rules = rules();
        let ca = rules.get("CA").unwrap();
        // July: Pacific Daylight Time, UTC-7.
        assert!(ca.check_delivery_hours(utc("2025-07-16T04:59:59Z")).is_ok()); // 21:59:59
        let err = ca
            .check_delivery_hours(utc("2025-07-16T05:00:00Z")) // 22:00:00
            .unwrap_err();
        assert_eq!(err.local_time.to_string(), "2025-07-15 22:00:00");
        assert_eq!(
            err.to_string(),
            "deliveries run from 06:00 to 22:00 America/Los_Angeles time; it is 22:00:00 there"
        );
        assert_eq!(err.next_opening, Some(utc("2025-07-16T13:00:00Z"))); // 06:00 PDT
        assert!(
            ca.check_delivery_hours(utc("2025-07-15T12:59:00Z"))
                .is_err()
        ); // 05:59
        assert!(ca.check_delivery_hours(utc("2025-07-15T13:00:00Z")).is_ok()); // 06:00
    }

    #[test]
    fn california_hours_in_winter_time() {
        let rules = rules();
        let ca = rules.get("CA").unwrap();
        // December: Pacific Standard Time, UTC-8, so the same UTC instants move an hour.
        assert!(ca.check_delivery_hours(utc("2025-12-02T05:59:59Z")).is_ok()); // 21:59:59
        assert!(
            ca.check_delivery_hours(utc("2025-12-02T06:00:00Z"))
                .is_err()
        ); // 22:00
        let early = ca
            .check_delivery_hours(utc("2025-12-01T13:59:00Z")) // 05:59
            .unwrap_err();
        assert_eq!(early.local_time.to_string(), "2025-12-01 05:59:00");
        assert_eq!(early.next_opening, Some(utc("2025-12-01T14:00:00Z")));
        assert!(ca.check_delivery_hours(utc("2025-12-01T14:00:00Z")).is_ok()); // 06:00
    }

    #[test]
    fn texas_hours_in_central_time() {
        let rules = rules();
        let tx = rules.get("TX").unwrap();
        // CDT, UTC-5: 22:00 local is 03:00 UTC the next day.
        assert!(tx.check_delivery_hours(utc("2025-06-02T02:59:59Z")).is_ok());
        assert!(
            tx.check_delivery_hours(utc("2025-06-02T03:00:00Z"))
                .is_err()
        );
        // CST, UTC-6: 09:59 local is closed, 10:00 open.
        assert!(
            tx.check_delivery_hours(utc("2025-01-10T15:59:00Z"))
                .is_err()
        );
        assert!(tx.check_delivery_hours(utc("2025-01-10T16:00:00Z")).is_ok());
        assert_eq!(tx.next_opening(utc("2025-01-10T16:00:00Z")), None);
    }

    #[test]
    fn the_next_opening_crosses_a_dst_change() {
        let rules = rules();
        let ca = rules.get("CA").unwrap();
        // 23:00 PDT on Saturday 2025-11-01; clocks go back that night, so Sunday's 06:00 is PST.
        let closed = utc("2025-11-02T06:00:00Z");
        assert_eq!(ca.next_opening(closed), Some(utc("2025-11-02T14:00:00Z")));
    }

    #[test]
    fn the_local_day_starts_at_local_midnight() {
        let rules = rules();
        let tx = rules.get("TX").unwrap();
        // 02:00 UTC on 2 June is 21:00 CDT on 1 June.
        let now = utc("2025-06-02T02:00:00Z");
        assert_eq!(
            tx.local_date(now),
            NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
        );
        assert_eq!(tx.start_of_local_day(now), utc("2025-06-01T05:00:00Z"));
        // In January (CST) midnight is 06:00 UTC.
        assert_eq!(
            tx.start_of_local_day(utc("2025-01-10T16:00:00Z")),
            utc("2025-01-10T06:00:00Z")
        );
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_clocks_jump() {
        // Chile moved clocks from 00:00 to 01:00 on 2024-09-08 (UTC-4 to UTC-3).
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let midnight = NaiveDate::from_ymd_opt(2024, 9, 8)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert_eq!(
            local_to_utc(santiago, midnight),
            Some(utc("2024-09-08T04:00:00Z"))
        );
    }
}
