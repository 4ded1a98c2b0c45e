//! Registration: a new customer account (21 or older), signed in at once.

use crate::age_gate;
use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::NewUser;
use crate::events;
use crate::sessions::{self, Family, SignedIn};
use crate::state::AppState;
use diesel_async::AsyncConnection;
use domain::{Code, DateOfBirth, Email, FullName, Password, PhoneNumber, Problem, Role, UserId};
use platform::client::ClientInfo;
use serde_json::json;

/// A registration, parsed.
#[derive(Debug)]
pub struct NewAccount {
    pub full_name: FullName,
    pub email: Email,
    pub password: Password,
    pub phone: PhoneNumber,
    pub date_of_birth: DateOfBirth,
}

/// Creates the customer account of `account` and signs it in: the user, its audit entry,
/// `user.registered` and the first session commit together. 422 `UNDERAGE` under 21 (checked
/// before anything is hashed), 409 `EMAIL_TAKEN` when the address has an account.
pub async fn register(
    state: &AppState,
    account: &NewAccount,
    client: &ClientInfo,
) -> Result<SignedIn, Problem> {
    if !age_gate::old_enough(&account.date_of_birth, age_gate::today()) {
        return Err(Problem::new(Code::Underage).with_detail(format!(
            "You must be {} or older to register.",
            age_gate::MINIMUM_AGE
        )));
    }
    let password_hash = state.passwords.hash(&account.password).await?;
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let new = NewUser {
            id: UserId::new(),
            email: account.email.as_str(),
            password_hash: &password_hash,
            full_name: account.full_name.as_str(),
            phone: account.phone.as_e164(),
            date_of_birth: account.date_of_birth.date(),
            role: Role::Customer,
        };
        // The unique index decides between two concurrent registrations of one email.
        let user = db::users::insert(conn, new).await.map_err(|err| {
            if db::is_unique_violation(&err) {
                email_taken()
            } else {
                Problem::from(err)
            }
        })?;
        let actor = Actor::user(user.id, user.role, client.clone());
        let subject = Some(user.id.to_string());
        audit::record(conn, &actor, "user.registered", "user", subject, json!({})).await?;
        events::registered(conn, &user).await?;
        let tokens = sessions::issue(conn, state, &user, Family::New).await?;
        Ok(SignedIn { user, tokens })
    })
    .await
}

/// The refusal for an address another account has.
pub fn email_taken() -> Problem {
    Problem::new(Code::EmailTaken).with_detail("An account with this email already exists.")
}
