//! Auth's own audit entries, written in the same transaction as the action they record, so
//! an action without its entry cannot happen (DESIGN §6).

use crate::db::audit::{NewEntry, append};
use chrono::Utc;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::Role;
use platform::client::ClientInfo;
use uuid::Uuid;

/// Who acted, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub role: Option<Role>,
    pub client: ClientInfo,
}

impl Actor {
    pub fn new(id: Uuid, role: Role, client: ClientInfo) -> Self {
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
            actor_role: actor.role.map(|role| role.as_str().to_owned()),
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
