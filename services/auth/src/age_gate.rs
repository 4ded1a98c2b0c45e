//! The age gate: who may register, and the day it is measured on.

use chrono::{NaiveDate, Utc};
use domain::DateOfBirth;

/// The legal age to buy cannabis (COMPLIANCE.md: 21 in both shipped jurisdictions).
pub const MINIMUM_AGE: u32 = 21;

/// Whether someone born on `dob` may register on `today`: 21 or older, the 21st birthday
/// itself included (a 29 February birthday falls on 1 March in other years).
pub fn old_enough(dob: &DateOfBirth, today: NaiveDate) -> bool {
    dob.is_at_least(MINIMUM_AGE, today)
}

/// Today where the business is. Deliveries happen in US Central time in the default
/// jurisdiction; a birthday turns over at local midnight, not UTC midnight.
pub fn today() -> NaiveDate {
    // Central time is UTC-6 (UTC-5 in summer); using -6 is conservative: nobody is treated
    // as a day older than they are.
    (Utc::now() - chrono::Duration::hours(6)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dob(s: &str, today: NaiveDate) -> DateOfBirth {
        DateOfBirth::parse_on(s, today).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_21st_birthday_itself_is_old_enough() {
        let today = date("2026-11-24");
        assert!(
            old_enough(&dob("2005-11-24", today), today),
            "turns 21 today"
        );
        assert!(
            !old_enough(&dob("2005-11-25", today), today),
            "turns 21 tomorrow"
        );
        assert!(old_enough(&dob("1990-01-01", today), today));
    }

    #[test]
    fn a_leap_day_birth_turns_21_on_the_first_of_march() {
        let birth = "2004-02-29";
        let feb_28 = date("2025-02-28");
        let mar_1 = date("2025-03-01");
        assert!(!old_enough(&dob(birth, feb_28), feb_28));
        assert!(old_enough(&dob(birth, mar_1), mar_1));
    }
}
