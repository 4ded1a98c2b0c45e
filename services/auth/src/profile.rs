//! A user's own account: reading it, and changing the name, email or phone. Changing the
//! email (what signs in, and where reset links go) takes the current password and ends
//! every session of the account.

use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::{ProfileChanges, UserRow};
use crate::events;
use crate::limits;
use crate::registration::email_taken;
use crate::revocation;
use crate::sessions::{self, Family, TokenPair};
use crate::state::AppState;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Email, FieldError, FullName, PhoneNumber, Problem, UserId};
use platform::client::ClientInfo;
use serde_json::json;

/// The caller's account; 404 when it no longer exists.
pub async fn find(state: &AppState, me: UserId) -> Result<UserRow, Problem> {
    crate::users::find(state, me).await
}

/// The changes asked for, parsed; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub full_name: Option<FullName>,
    pub email: Option<Email>,
    pub phone: Option<PhoneNumber>,
}

impl ProfileUpdate {
    /// Whether this asks for another email than `user` has.
    fn changes_email(&self, user: &UserRow) -> bool {
        self.email
            .as_ref()
            .is_some_and(|e| e.as_str() != user.email)
    }
}

/// The account after an update; `tokens` is a new pair for the caller when the email changed
/// (every session of the account ended, theirs included).
#[derive(Debug)]
pub struct Updated {
    pub user: UserRow,
    pub tokens: Option<TokenPair>,
}

/// Applies `update` to the caller's account (`actor`). The email must not belong to another
/// account (409 `EMAIL_TAKEN`), and changing it takes `current_password` (400 without it,
/// 401 `INVALID_CREDENTIALS` when wrong, 429 after five wrong ones in 15 minutes). The
/// change, its audit entry and `user.profile_updated` (with `user.email_changed` for the
/// previous address) commit together; nothing changes when nothing differs.
pub async fn update(
    state: &AppState,
    actor: &platform::client::Actor,
    update: &ProfileUpdate,
    current_password: Option<&str>,
) -> Result<Updated, Problem> {
    let me = actor.user_id();
    let client = audit::client_of(actor);
    let current = find(state, me).await?;
    // A stolen access token alone must not be enough to take the account over through its
    // email (and then its reset links): the password is asked for again. An address that is
    // taken is refused first, without asking (registration says as much to anyone).
    let confirmed_hash = match &update.email {
        Some(email) if update.changes_email(&current) => {
            if db::users::email_taken(&mut *state.db().await?, email.as_str()).await? {
                return Err(email_taken());
            }
            Some(confirm_password(state, &current, current_password, &client).await?)
        }
        _ => None,
    };

    let mut conn = state.db().await?;
    let updated = conn
        .transaction(async |conn| {
            let before = db::users::lock(conn, me).await?.ok_or_else(no_such_user)?;
            let email_changes = update.changes_email(&before);
            // The password checked above must still be the account's (a reset may have come
            // between), and an email change must have been confirmed at all.
            if email_changes && confirmed_hash.as_deref() != Some(before.password_hash.as_str()) {
                return Err(wrong_password());
            }
            let changes = ProfileChanges {
                full_name: update
                    .full_name
                    .as_ref()
                    .map(FullName::as_str)
                    .filter(|n| *n != before.full_name),
                email: update
                    .email
                    .as_ref()
                    .map(Email::as_str)
                    .filter(|_| email_changes),
                phone: update
                    .phone
                    .as_ref()
                    .map(PhoneNumber::as_e164)
                    .filter(|p| *p != before.phone),
            };
            let changed = changes.fields();
            if changed.is_empty() {
                return Ok::<_, Problem>(Updated {
                    user: before,
                    tokens: None,
                });
            }
            let after = db::users::update_profile(conn, me, &changes)
                .await
                .map_err(|err| {
                    if db::is_unique_violation(&err) {
                        email_taken()
                    } else {
                        Problem::from(err)
                    }
                })?;
            let details = json!({
                "changed": changed,
                "before": {
                    "fullName": before.full_name, "email": before.email, "phone": before.phone,
                },
            });
            let subject = Some(me.to_string());
            let action = "user.profile_updated";
            audit::record(conn, &Actor::from(actor), action, "user", subject, details).await?;
            events::profile_updated(conn, &after, changed, me).await?;
            let tokens = if email_changes {
                Some(end_sessions(conn, state, &before, &after, &client).await?)
            } else {
                None
            };
            Ok(Updated {
                user: after,
                tokens,
            })
        })
        .await?;
    if updated.tokens.is_some() {
        // The update raised the token version (migration `token_version`); this tells the
        // services, so access tokens issued before it stop working now, not at their expiry.
        revocation::void_access_tokens(state, me).await?;
    }
    Ok(updated)
}

/// Checks `given` against the account's password and answers the hash it matched. A missing
/// password is a 400 naming the field; a wrong one a 401, audited like a failed login.
async fn confirm_password(
    state: &AppState,
    user: &UserRow,
    given: Option<&str>,
    client: &ClientInfo,
) -> Result<String, Problem> {
    let Some(given) = given.filter(|p| !p.is_empty()) else {
        return Err(Problem::validation(vec![FieldError::new(
            "currentPassword",
            "is required to change the email",
        )]));
    };
    limits::reauth_allowed(state, user.id).await?;
    if state
        .passwords
        .verify(given, Some(user.password_hash.clone()))
        .await?
    {
        return Ok(user.password_hash.clone());
    }
    limits::reauth_failed(state, user.id).await;
    let mut conn = state.db().await?;
    let actor = Actor::user(user.id, user.role, client.clone());
    let details = json!({ "purpose": "email_change" });
    let subject = Some(user.id.to_string());
    let action = "auth.reauthentication_failed";
    audit::record(&mut conn, &actor, action, "user", subject, details).await?;
    Err(wrong_password())
}

fn wrong_password() -> Problem {
    Problem::new(Code::InvalidCredentials).with_detail("The current password is incorrect.")
}

fn no_such_user() -> Problem {
    Problem::not_found("No such user.")
}

/// After an email change: ends every session of the account (its refresh-token families; its
/// access tokens fall below the raised token version), tells the previous address, and signs
/// the caller in again on a new session.
async fn end_sessions(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    before: &UserRow,
    after: &UserRow,
    client: &ClientInfo,
) -> Result<TokenPair, Problem> {
    db::sessions::revoke_all_for_user(conn, after.id).await?;
    events::email_changed(conn, after, &before.email, client.ip.as_deref()).await?;
    sessions::issue(conn, state, after, Family::New).await
}
