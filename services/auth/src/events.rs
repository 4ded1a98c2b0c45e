//! What auth publishes (user events, through its outbox, inside the transaction of the
//! change) and consumes (`audit.recorded` from every service, into the audit log).

use crate::accounts::{proto_account_status, proto_role, timestamp, user_state};
use crate::db;
use crate::db::users::UserRow;
use crate::db::verifications::VerificationRow;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::Role;
use events::outbox::publish;
use events::{Handler, HandlerError, IncomingEvent, v1};
use futures_util::future::BoxFuture;
use uuid::Uuid;

/// The queue auth consumes, and what it is bound to.
pub const AUDIT_QUEUE: &str = "auth.audit";
pub const AUDIT_BINDINGS: &[&str] = &["audit.recorded"];

fn correlation(row: &UserRow) -> String {
    row.id.to_string()
}

pub async fn registered(conn: &mut AsyncPgConnection, row: &UserRow) -> QueryResult<Uuid> {
    let event = v1::UserRegistered {
        user_id: row.id.to_string(),
        user: Some(user_state(row)),
        registered_at: Some(timestamp(row.created_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

pub async fn profile_updated(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    changed_fields: Vec<String>,
    actor: Uuid,
) -> QueryResult<Uuid> {
    let event = v1::UserProfileUpdated {
        user_id: row.id.to_string(),
        user: Some(user_state(row)),
        changed_fields,
        actor_id: actor.to_string(),
        updated_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// `sealed_token` is the reset token sealed to notification's key; the clear field stays
/// empty.
pub async fn password_reset_requested(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    sealed_token: Vec<u8>,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
) -> QueryResult<Uuid> {
    let event = v1::UserPasswordResetRequested {
        user_id: row.id.to_string(),
        email: row.email.clone(),
        full_name: row.full_name.clone(),
        sealed_reset_token: sealed_token,
        expires_at: Some(timestamp(expires_at)),
        requested_ip: ip.unwrap_or_default().to_owned(),
        requested_at: Some(timestamp(Utc::now())),
        // The deprecated clear `reset_token`, left empty.
        ..Default::default()
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// Tells the previous address that the email of `row` (after the change) was changed.
pub async fn email_changed(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    previous_email: &str,
    ip: Option<&str>,
) -> QueryResult<Uuid> {
    let event = v1::UserEmailChanged {
        user_id: row.id.to_string(),
        previous_email: previous_email.to_owned(),
        email: row.email.clone(),
        full_name: row.full_name.clone(),
        requested_ip: ip.unwrap_or_default().to_owned(),
        user: Some(user_state(row)),
        changed_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

fn document_type(value: &str) -> v1::IdDocumentType {
    match value {
        "drivers_license" => v1::IdDocumentType::DriversLicense,
        "state_id" => v1::IdDocumentType::StateId,
        "passport" => v1::IdDocumentType::Passport,
        _ => v1::IdDocumentType::Unspecified,
    }
}

pub async fn id_submitted(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    verification: &VerificationRow,
    reviewer: &str,
) -> QueryResult<Uuid> {
    let event = v1::UserIdVerificationSubmitted {
        user_id: row.id.to_string(),
        verification_id: verification.id.to_string(),
        document_type: document_type(&verification.document_type) as i32,
        reviewer: reviewer.to_owned(),
        user: Some(user_state(row)),
        submitted_at: Some(timestamp(verification.created_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

pub async fn id_decided(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    verification: &VerificationRow,
) -> QueryResult<Uuid> {
    let decision = if verification.status == "approved" {
        v1::IdVerificationDecision::Approved
    } else {
        v1::IdVerificationDecision::Rejected
    };
    let event = v1::UserIdVerificationDecided {
        user_id: row.id.to_string(),
        verification_id: verification.id.to_string(),
        decision: decision as i32,
        reason: verification.reason.clone().unwrap_or_default(),
        decided_by: verification
            .reviewer_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        reviewer: verification.decided_by.clone().unwrap_or_default(),
        user: Some(user_state(row)),
        decided_at: verification.decided_at.map(timestamp),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

pub async fn role_changed(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    previous: Role,
    changed_by: Uuid,
) -> QueryResult<Uuid> {
    let event = v1::UserRoleChanged {
        user_id: row.id.to_string(),
        previous_role: proto_role(previous) as i32,
        role: proto_role(row.role) as i32,
        changed_by: changed_by.to_string(),
        user: Some(user_state(row)),
        changed_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

pub async fn status_changed(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    previous: &str,
    reason: Option<&str>,
    changed_by: Uuid,
) -> QueryResult<Uuid> {
    let event = v1::UserStatusChanged {
        user_id: row.id.to_string(),
        previous_status: proto_account_status(previous) as i32,
        status: proto_account_status(&row.status) as i32,
        reason: reason.unwrap_or_default().to_owned(),
        changed_by: changed_by.to_string(),
        user: Some(user_state(row)),
        changed_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// Copies every service's `audit.recorded` into the audit log.
pub struct AuditRecorder;

impl Handler for AuditRecorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let recorded: v1::AuditRecorded = event.decode()?;
            let details = if recorded.details_json.is_empty() {
                serde_json::json!({})
            } else {
                serde_json::from_str(&recorded.details_json)
                    .unwrap_or_else(|_| serde_json::json!({ "raw": recorded.details_json }))
            };
            let occurred_at = recorded
                .occurred_at
                .and_then(events::from_timestamp)
                .unwrap_or_else(Utc::now);
            let role = v1::Role::try_from(recorded.actor_role)
                .ok()
                .and_then(|role| match role {
                    v1::Role::Customer => Some("customer"),
                    v1::Role::Driver => Some("driver"),
                    v1::Role::Agent => Some("agent"),
                    v1::Role::Admin => Some("admin"),
                    v1::Role::Unspecified => None,
                });
            let non_empty = |s: String| (!s.is_empty()).then_some(s);
            // The producer was checked against the broker user before this handler ran; the
            // body's own `service` was not, so it may only repeat it, never name another.
            let service = event.producer.clone().unwrap_or_else(|| "unknown".into());
            if !recorded.service.is_empty() && recorded.service != service {
                return Err(HandlerError::Permanent(format!(
                    "an audit entry from {service} claims to be from {}",
                    recorded.service
                )));
            }
            let entry = db::audit::NewEntry {
                event_id: Some(event.id),
                occurred_at,
                service,
                actor_id: Uuid::parse_str(&recorded.actor_id).ok(),
                actor_role: role.map(str::to_owned),
                action: recorded.action,
                subject_type: recorded.subject_type,
                subject_id: non_empty(recorded.subject_id),
                details,
                ip: non_empty(recorded.ip),
                user_agent: non_empty(recorded.user_agent),
            };
            if entry.action.is_empty() || entry.subject_type.is_empty() {
                return Err(HandlerError::Permanent(
                    "audit entry without action or subject".into(),
                ));
            }
            db::audit::append(conn, &entry).await?;
            Ok(())
        })
    }
}
