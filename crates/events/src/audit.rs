//! Compliance audit entries (DESIGN §6): every service records its actions as
//! `audit.recorded` through its own outbox, in the transaction of the action, and auth
//! appends them to the one audit log.

use crate::outbox::publish;
use crate::{timestamp, v1};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::Role;
use uuid::Uuid;

/// Who did it; handlers take it as `platform::client::Acting<P>`.
pub use platform::client::{Acting, Actor};

pub const fn proto_role(role: Role) -> v1::Role {
    match role {
        Role::Customer => v1::Role::Customer,
        Role::Driver => v1::Role::Driver,
        Role::Agent => v1::Role::Agent,
        Role::Admin => v1::Role::Admin,
    }
}

/// Records `action` by `actor` on a subject, in the caller's transaction.
pub async fn record(
    conn: &mut AsyncPgConnection,
    service: &str,
    actor: &Actor,
    action: &str,
    subject: (&str, Uuid),
    details: &serde_json::Value,
) -> QueryResult<Uuid> {
    let (subject_type, subject_id) = subject;
    let event = v1::AuditRecorded {
        actor_id: actor.id.to_string(),
        actor_role: proto_role(actor.role) as i32,
        action: action.to_owned(),
        subject_type: subject_type.to_owned(),
        subject_id: subject_id.to_string(),
        details_json: details.to_string(),
        ip: actor.ip.clone().unwrap_or_default(),
        user_agent: actor.user_agent.clone().unwrap_or_default(),
        service: service.to_owned(),
        occurred_at: Some(timestamp(chrono::Utc::now())),
    };
    publish(conn, &event, Some(&subject_id.to_string())).await
}
