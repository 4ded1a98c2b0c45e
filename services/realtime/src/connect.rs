//! Authentication at CONNECT: the client's `auth.token` is an access token of auth's, verified
//! like any request's (signature, time, issuer, audience) and checked against auth's
//! revocations. A refusal is a CONNECT_ERROR whose message a client can show and whose `data`
//! carries the stable code it can act on (`TOKEN_EXPIRED`: refresh and reconnect).

use crate::limits::TokenBucket;
use auth_token::{Claims, TokenError, Verifier};
use domain::{Code, Role};
use serde_json::{Value, json};
use socketio::Refusal;
use std::sync::Mutex;

/// Who a socket is, kept with it for its whole life.
#[derive(Debug)]
pub struct SocketUser {
    pub claims: Claims,
    /// The access token, sent on as the user's when an event is proxied.
    pub token: String,
    pub bucket: Mutex<TokenBucket>,
}

impl SocketUser {
    /// The room every socket of the user joins.
    pub fn user_room(&self) -> String {
        user_room(&self.claims.sub.to_string())
    }
}

/// The room of user `id`: their events (`order-status`...) go there.
pub fn user_room(id: &str) -> String {
    format!("user:{id}")
}

/// The room of the support agents.
pub const AGENTS_ROOM: &str = "agents";

/// The rooms a socket of `role` joins at once.
pub fn rooms_for(user: &SocketUser) -> Vec<String> {
    let mut rooms = vec![user.user_room()];
    if user.claims.role == Role::Agent {
        rooms.push(AGENTS_ROOM.to_owned());
    }
    rooms
}

fn refusal(code: Code, message: &str) -> Refusal {
    metrics::counter!("realtime_connect_refused_total", "code" => code.as_str()).increment(1);
    Refusal::new(message).with_data(json!({ "code": code.as_str() }))
}

/// The user of the CONNECT payload `auth`, or why not.
pub async fn authenticate(
    verifier: &Verifier,
    auth: Option<&Value>,
    bucket: TokenBucket,
) -> Result<SocketUser, Refusal> {
    let Some(token) = auth
        .and_then(|auth| auth.get("token"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
    else {
        return Err(refusal(
            Code::Unauthenticated,
            "Sign in first: send your access token as auth.token.",
        ));
    };
    let claims = verifier.verify(token).await.map_err(|err| match err {
        TokenError::Expired => refusal(
            Code::TokenExpired,
            "Your session has expired; sign in again.",
        ),
        TokenError::KeysUnavailable => refusal(
            Code::ServiceUnavailable,
            "Signing in is unavailable for a moment; try again shortly.",
        ),
        _ => refusal(
            Code::InvalidToken,
            "Your session is not valid; sign in again.",
        ),
    })?;
    if let Some(check) = verifier.revocations() {
        match check.is_revoked(&claims).await {
            Ok(false) => {
                metrics::counter!("token_revocation_checks_total", "outcome" => "stands")
                    .increment(1);
            }
            Ok(true) => {
                metrics::counter!("token_revocation_checks_total", "outcome" => "revoked")
                    .increment(1);
                return Err(refusal(
                    Code::InvalidToken,
                    "This session has ended; sign in again.",
                ));
            }
            // As for requests (auth_token::extract): staff sessions are not let in unchecked,
            // the others are, counted.
            Err(error) if matches!(claims.role, Role::Admin | Role::Agent) => {
                tracing::warn!(%error, "refusing a staff socket whose token could not be checked");
                metrics::counter!("token_revocation_checks_total", "outcome" => "refused")
                    .increment(1);
                return Err(refusal(
                    Code::ServiceUnavailable,
                    "Your session cannot be checked right now; try again shortly.",
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "a socket connects with its token unchecked for revocation");
                metrics::counter!("token_revocation_checks_total", "outcome" => "unchecked")
                    .increment(1);
            }
        }
    }
    Ok(SocketUser {
        claims,
        token: token.to_owned(),
        bucket: Mutex::new(bucket),
    })
}
