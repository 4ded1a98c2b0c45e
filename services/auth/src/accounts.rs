//! Account rules and the shapes users are shown in: the age gate, statuses, and the user as
//! the API and the events describe it.

use crate::db::users::UserRow;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{DateOfBirth, Role};
use events::v1;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    /// E.164, e.g. `+15125550134`.
    pub phone: String,
    pub date_of_birth: NaiveDate,
    pub role: Role,
    /// `not_submitted`, `pending`, `approved` or `rejected`.
    pub id_verification_status: String,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&UserRow> for UserView {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email.clone(),
            full_name: row.full_name.clone(),
            phone: row.phone.clone(),
            date_of_birth: row.date_of_birth,
            role: row.role,
            id_verification_status: row.id_status.clone(),
            status: row.status.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub use events::audit::proto_role;

pub fn proto_id_status(status: &str) -> v1::IdVerificationStatus {
    match status {
        "pending" => v1::IdVerificationStatus::Pending,
        "approved" => v1::IdVerificationStatus::Approved,
        "rejected" => v1::IdVerificationStatus::Rejected,
        _ => v1::IdVerificationStatus::NotSubmitted,
    }
}

pub fn proto_account_status(status: &str) -> v1::AccountStatus {
    if status == "suspended" {
        v1::AccountStatus::Suspended
    } else {
        v1::AccountStatus::Active
    }
}

/// The user's full state as user events carry it.
pub fn user_state(row: &UserRow) -> v1::UserState {
    v1::UserState {
        version: row.version,
        email: row.email.clone(),
        full_name: row.full_name.clone(),
        phone: row.phone.clone(),
        date_of_birth: row.date_of_birth.to_string(),
        role: proto_role(row.role) as i32,
        id_verification_status: proto_id_status(&row.id_status) as i32,
        account_status: proto_account_status(&row.status) as i32,
    }
}

pub use events::timestamp;

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
