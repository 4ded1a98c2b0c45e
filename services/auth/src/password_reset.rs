//! Forgotten passwords: a reset request mails a single-use token (sealed so only notification
//! can read it), and the token sets a new password and ends every session of the account.

use crate::audit::{self, Actor};
use crate::db;
use crate::events;
use crate::limits;
use crate::revocation;
use crate::secrets;
use crate::state::AppState;
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::{Code, Email, Password, Problem};
use platform::client::ClientInfo;
use serde_json::json;

/// How long a reset token works.
const TOKEN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Asks for a reset mail to `email`. Whether or not the address has an account, and whether
/// or not the address is past its hourly limit, the caller learns nothing: the answer is the
/// same. For an account within the limit, the hashed token, the audit entry and
/// `user.password_reset_requested` (the token sealed to notification's key) commit together.
pub async fn request(state: &AppState, email: &Email, client: &ClientInfo) -> Result<(), Problem> {
    if !limits::allow(state, email).await {
        return Ok(());
    }
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let Some(user) = db::users::find_by_email(conn, email.as_str()).await? else {
            return Ok::<_, Problem>(());
        };
        let token = secrets::generate();
        // Only notification can open it: the outbox row and the broker message carry
        // nothing that resets a password.
        let sealed = state
            .seal_key
            .seal(token.as_bytes())
            .map_err(|err| Problem::internal(&err))?;
        let expires_at = Utc::now() + TOKEN_LIFETIME;
        db::resets::insert(conn, user.id, &secrets::digest(&token), expires_at).await?;
        let actor = Actor::anonymous(client.clone());
        let subject = Some(user.id.to_string());
        let action = "auth.password_reset_requested";
        audit::record(conn, &actor, action, "user", subject, json!({})).await?;
        let ip = client.ip.as_deref();
        events::password_reset_requested(conn, &user, sealed, expires_at, ip).await?;
        Ok(())
    })
    .await
}

/// Sets `password` with the reset `token`: the token and every other open one of the account
/// are used up, every session ends (refresh families revoked, access tokens voided). 400
/// `RESET_TOKEN_INVALID` for an unknown, expired or used token.
pub async fn reset(
    state: &AppState,
    token: &str,
    password: &Password,
    client: &ClientInfo,
) -> Result<(), Problem> {
    let digest = secrets::digest(token);
    // The token is checked before anything is hashed: a made-up token costs one query, not a
    // hashing slot and 19 MiB. It is checked again, locked, once the hash is ready.
    let found = db::resets::find_by_hash(&mut *state.db().await?, &digest).await?;
    if !found.is_some_and(|r| r.is_open(Utc::now())) {
        return Err(invalid_token());
    }
    let hash = state.passwords.hash(password).await?;
    let mut conn = state.db().await?;
    let user_id = conn
        .transaction(async |conn| {
            let reset = db::resets::lock_by_hash(conn, &digest).await?;
            let Some(reset) = reset.filter(|r| r.is_open(Utc::now())) else {
                return Err(invalid_token());
            };
            db::users::set_password(conn, reset.user_id, &hash).await?;
            db::resets::mark_used(conn, reset.user_id).await?;
            db::sessions::revoke_all_for_user(conn, reset.user_id).await?;
            // The user acted, but signed in as nobody: no role.
            let actor = Actor {
                id: Some(reset.user_id),
                role: None,
                client: client.clone(),
            };
            let subject = Some(reset.user_id.to_string());
            audit::record(
                conn,
                &actor,
                "auth.password_reset",
                "user",
                subject,
                json!({}),
            )
            .await?;
            Ok(reset.user_id)
        })
        .await?;
    revocation::void_access_tokens(state, user_id).await
}

fn invalid_token() -> Problem {
    Problem::new(Code::ResetTokenInvalid)
        .with_detail("The reset link is invalid, expired or already used.")
}
