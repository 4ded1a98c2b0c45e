//! The customer's age against the jurisdiction's minimum.

use crate::jurisdiction::Jurisdiction;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The customer is younger than the jurisdiction's minimum age (answered with
/// `ID_VERIFICATION_REQUIRED` or a refusal, as the caller's flow requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("customers must be at least {minimum_age}; this customer is {age}")]
pub struct UnderAge {
    pub minimum_age: u32,
    /// Whole years on the day checked (negative for a birth date in the future).
    pub age: i32,
    /// The first day the customer has the minimum age.
    pub of_age_on: Option<NaiveDate>,
}

/// Whole years from `date_of_birth` to `today`. A birthday counts from its day; someone born
/// on 29 February gains a year on 1 March in years without one.
#[must_use]
pub fn age_on(date_of_birth: NaiveDate, today: NaiveDate) -> i32 {
    let years = today.year() - date_of_birth.year();
    if (today.month(), today.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years - 1
    } else {
        years
    }
}

/// The first day someone born on `date_of_birth` is `years` old.
fn birthday(date_of_birth: NaiveDate, years: u32) -> Option<NaiveDate> {
    let year = date_of_birth
        .year()
        .checked_add(i32::try_from(years).ok()?)?;
    NaiveDate::from_ymd_opt(year, date_of_birth.month(), date_of_birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
}

impl Jurisdiction {
    /// # Errors
    /// [`UnderAge`] when the customer is younger than the minimum age on `today` (their
    /// local date).
    pub fn check_age(&self, date_of_birth: NaiveDate, today: NaiveDate) -> Result<(), UnderAge> {
        let age = age_on(date_of_birth, today);
        if i64::from(age) >= i64::from(self.minimum_age) {
            return Ok(());
        }
        Err(UnderAge {
            minimum_age: self.minimum_age,
            age,
            of_age_on: birthday(date_of_birth, self.minimum_age),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rules;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn tx() -> Jurisdiction {
        Rules::embedded().unwrap().get("TX").unwrap().clone()
    }

    #[test]
    fn a_twenty_first_birthday_today_is_old_enough() {
        let tx = tx();
        assert_eq!(tx.check_age(day(2004, 6, 15), day(2025, 6, 15)), Ok(()));
        assert_eq!(
            tx.check_age(day(2004, 6, 15), day(2025, 6, 14)),
            Err(UnderAge {
                minimum_age: 21,
                age: 20,
                of_age_on: Some(day(2025, 6, 15)),
            })
        );
        assert_eq!(tx.check_age(day(1980, 1, 1), day(2025, 6, 14)), Ok(()));
    }

    #[test]
    fn a_leap_day_birthday_comes_of_age_on_the_first_of_march() {
        let tx = tx();
        // 2025 has no 29 February.
        let born = day(2004, 2, 29);
        let err = tx.check_age(born, day(2025, 2, 28)).unwrap_err();
        assert_eq!((err.age, err.of_age_on), (20, Some(day(2025, 3, 1))));
        assert_eq!(tx.check_age(born, day(2025, 3, 1)), Ok(()));
        // In a leap year the birthday itself counts.
        assert_eq!(age_on(day(2004, 2, 29), day(2028, 2, 29)), 24);
        assert_eq!(age_on(day(2004, 2, 29), day(2028, 2, 28)), 23);
    }

    #[test]
    fn a_birth_date_in_the_future_is_under_age() {
        let err = tx()
            .check_age(day(2030, 1, 1), day(2025, 1, 1))
            .unwrap_err();
        assert_eq!(err.age, -5);
    }
}
