//! The compliance audit log: auth's own entries, written in the same transaction as the
//! action they record, so an action without its entry cannot happen (DESIGN §6), and the
//! entries every other service sends as `audit.recorded` (see `events.rs`), copied once each.

use crate::db::audit::{NewEntry, append};
use chrono::Utc;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::{Role, UserId};
use platform::client::ClientInfo;

/// Who acted, and from where. Unlike `platform::client::Actor`, auth's actors may be nobody
/// in particular: someone not signed in (a login attempt, a reset request), the system, or
/// a provider's webhook.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<UserId>,
    pub role: Option<Role>,
    pub client: ClientInfo,
}

impl Actor {
    /// A signed-in user (or one signing in), with their role.
    pub fn user(id: UserId, role: Role, client: ClientInfo) -> Self {
        Self {
            id: Some(id),
            role: Some(role),
            client,
        }
    }

    /// Someone not signed in (a login attempt, a reset request).
    pub fn anonymous(client: ClientInfo) -> Self {
        Self {
            id: None,
            role: None,
            client,
        }
    }

    /// The system itself, or a provider webhook.
    pub fn system() -> Self {
        Self::default()
    }
}

/// The verified caller of a request (`platform::client::Acting`).
impl From<&platform::client::Actor> for Actor {
    fn from(actor: &platform::client::Actor) -> Self {
        Self::user(actor.user_id(), actor.role, client_of(actor))
    }
}

/// Where the request of `actor` came from.
pub fn client_of(actor: &platform::client::Actor) -> ClientInfo {
    ClientInfo {
        ip: actor.ip.clone(),
        user_agent: actor.user_agent.clone(),
    }
}

/// Appends one entry about `subject_type`/`subject_id`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    subject_type: &str,
    subject_id: Option<String>,
    details: serde_json::Value,
) -> QueryResult<()> {
    append(
        conn,
        &NewEntry {
            event_id: None,
            occurred_at: Utc::now(),
            service: crate::config::SERVICE.into(),
            actor_id: actor.id,
            actor_role: actor.role,
            action: action.into(),
            subject_type: subject_type.into(),
            subject_id,
            details,
            ip: actor.client.ip.clone(),
            user_agent: actor.client.user_agent.clone(),
        },
    )
    .await
    .map(drop)
}

/// Why an entry another service sent is not copied (it is dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The body names another service than the producer the consumer verified.
    #[error("an audit entry from {producer} claims to be from {claimed}")]
    ClaimsAnotherService { producer: String, claimed: String },
    #[error("audit entry without action or subject")]
    Incomplete,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Copies an entry another service recorded (`audit.recorded`), once per event id however
/// often it arrives. `entry.service` is the producer the consumer verified against the broker
/// user; `claimed` is the service the body names, which may only repeat it (or be empty).
pub async fn copy(
    conn: &mut AsyncPgConnection,
    entry: &NewEntry,
    claimed: &str,
) -> Result<(), Refused> {
    if !claimed.is_empty() && claimed != entry.service {
        return Err(Refused::ClaimsAnotherService {
            producer: entry.service.clone(),
            claimed: claimed.to_owned(),
        });
    }
    if entry.action.is_empty() || entry.subject_type.is_empty() {
        return Err(Refused::Incomplete);
    }
    append(conn, entry).await?;
    Ok(())
}
