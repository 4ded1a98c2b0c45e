//! What auth publishes and consumes (DESIGN §4), in one place.
//!
//! - Publishes, through the outbox in the caller's transaction, one function per event:
//!   [`registered`], [`profile_updated`], [`password_reset_requested`], [`email_changed`],
//!   [`id_submitted`], [`id_decided`], [`role_changed`], [`status_changed`]. Every user event
//!   carries the user's full state with its `version` ([`user_state`]), so read models drop
//!   stale ones.
//! - Consumes, on the queue [`AUDIT_QUEUE`]: `audit.recorded` from every service, copied into
//!   the audit log ([`crate::audit::copy`]) in the inbox transaction, so a redelivered entry
//!   lands once; on [`REWARDS_QUEUE`]: payments' `rewards.changed`, the user's FS Coin
//!   balance ([`crate::rewards::apply`]; the highest ledger sequence wins).

use crate::audit;
use crate::db::audit::NewEntry;
use crate::db::users::{AccountStatus, IdStatus, UserRow};
use crate::db::verifications::{DocumentType, ReviewStatus, VerificationRow};
use crate::rewards::{self, BalanceChange};
use ::events::audit::proto_role;
use ::events::outbox::publish;
use ::events::{Handler, HandlerError, IncomingEvent, timestamp, v1};
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use domain::{Role, UserId};
use futures_util::future::BoxFuture;
use uuid::Uuid;

/// The queue auth consumes, and what it is bound to.
pub const AUDIT_QUEUE: &str = "auth.audit";
pub const AUDIT_BINDINGS: &[&str] = &["audit.recorded"];

/// The queue of the rewards balance shown on the user, and what it is bound to.
pub const REWARDS_QUEUE: &str = "auth.rewards";
pub const REWARDS_BINDINGS: &[&str] = &["rewards.changed"];

const fn proto_id_status(status: IdStatus) -> v1::IdVerificationStatus {
    match status {
        IdStatus::NotSubmitted => v1::IdVerificationStatus::NotSubmitted,
        IdStatus::Pending => v1::IdVerificationStatus::Pending,
        IdStatus::Approved => v1::IdVerificationStatus::Approved,
        IdStatus::Rejected => v1::IdVerificationStatus::Rejected,
    }
}

const fn proto_account_status(status: AccountStatus) -> v1::AccountStatus {
    match status {
        AccountStatus::Active => v1::AccountStatus::Active,
        AccountStatus::Suspended => v1::AccountStatus::Suspended,
    }
}

const fn proto_document_type(value: DocumentType) -> v1::IdDocumentType {
    match value {
        DocumentType::DriversLicense => v1::IdDocumentType::DriversLicense,
        DocumentType::StateId => v1::IdDocumentType::StateId,
        DocumentType::Passport => v1::IdDocumentType::Passport,
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
        id_verification_status: proto_id_status(row.id_status) as i32,
        account_status: proto_account_status(row.status) as i32,
    }
}

fn correlation(row: &UserRow) -> String {
    row.id.to_string()
}

/// `user.registered`.
pub async fn registered(conn: &mut AsyncPgConnection, row: &UserRow) -> QueryResult<Uuid> {
    let event = v1::UserRegistered {
        user_id: row.id.to_string(),
        user: Some(user_state(row)),
        registered_at: Some(timestamp(row.created_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// `user.profile_updated`: `changed_fields` by their API names.
pub async fn profile_updated(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    changed_fields: Vec<String>,
    actor: UserId,
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

/// `user.password_reset_requested`. `sealed_token` is the reset token sealed to
/// notification's key; the clear field stays empty.
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

/// `user.email_changed`: tells the previous address that the email of `row` (after the
/// change) was changed.
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

/// `user.id_verification_submitted`; `reviewer` is who will decide (`manual_review`).
pub async fn id_submitted(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    verification: &VerificationRow,
    reviewer: &str,
) -> QueryResult<Uuid> {
    let event = v1::UserIdVerificationSubmitted {
        user_id: row.id.to_string(),
        verification_id: verification.id.to_string(),
        document_type: proto_document_type(verification.document_type) as i32,
        reviewer: reviewer.to_owned(),
        user: Some(user_state(row)),
        submitted_at: Some(timestamp(verification.created_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// `user.id_verification_decided` (`verification` as decided, `row` after the decision).
pub async fn id_decided(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    verification: &VerificationRow,
) -> QueryResult<Uuid> {
    let decision = if verification.status == ReviewStatus::Approved {
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

/// `user.role_changed`; `changed_by` is nil for the start-up bootstrap.
pub async fn role_changed(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    previous: Role,
    changed_by: UserId,
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

/// `user.status_changed` (suspension or reactivation).
pub async fn status_changed(
    conn: &mut AsyncPgConnection,
    row: &UserRow,
    previous: AccountStatus,
    reason: Option<&str>,
    changed_by: UserId,
) -> QueryResult<Uuid> {
    let event = v1::UserStatusChanged {
        user_id: row.id.to_string(),
        previous_status: proto_account_status(previous) as i32,
        status: proto_account_status(row.status) as i32,
        reason: reason.unwrap_or_default().to_owned(),
        changed_by: changed_by.to_string(),
        user: Some(user_state(row)),
        changed_at: Some(timestamp(row.updated_at)),
    };
    publish(conn, &event, Some(&correlation(row))).await
}

/// The consumer of [`AUDIT_QUEUE`]: every service's `audit.recorded`, into the audit log.
pub struct AuditRecorder;

impl AuditRecorder {
    /// The entry `recorded` describes, as the producer the consumer verified sent it.
    fn entry(event: &IncomingEvent, recorded: v1::AuditRecorded) -> NewEntry {
        let details = if recorded.details_json.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&recorded.details_json)
                .unwrap_or_else(|_| serde_json::json!({ "raw": recorded.details_json }))
        };
        let actor_role = match v1::Role::try_from(recorded.actor_role) {
            Ok(v1::Role::Customer) => Some(Role::Customer),
            Ok(v1::Role::Driver) => Some(Role::Driver),
            Ok(v1::Role::Agent) => Some(Role::Agent),
            Ok(v1::Role::Admin) => Some(Role::Admin),
            Ok(v1::Role::Unspecified) | Err(_) => None,
        };
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        NewEntry {
            event_id: Some(event.id),
            occurred_at: recorded
                .occurred_at
                .and_then(::events::from_timestamp)
                .unwrap_or_else(Utc::now),
            // The producer was checked against the broker user before this handler ran; the
            // body's own `service` was not (see `audit::copy`).
            service: event.producer.clone().unwrap_or_else(|| "unknown".into()),
            actor_id: Uuid::parse_str(&recorded.actor_id).ok().map(UserId::from),
            actor_role,
            action: recorded.action,
            subject_type: recorded.subject_type,
            subject_id: non_empty(recorded.subject_id),
            details,
            ip: non_empty(recorded.ip),
            user_agent: non_empty(recorded.user_agent),
        }
    }
}

impl Handler for AuditRecorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut recorded: v1::AuditRecorded = event.decode()?;
            let claimed = std::mem::take(&mut recorded.service);
            let entry = Self::entry(event, recorded);
            match audit::copy(conn, &entry, &claimed).await {
                Ok(()) => Ok(()),
                Err(audit::Refused::Database(err)) => Err(err.into()),
                Err(refused) => Err(HandlerError::Permanent(refused.to_string())),
            }
        })
    }
}

/// The consumer of [`REWARDS_QUEUE`]: payments' `rewards.changed`, into the user's balance.
pub struct RewardsRecorder;

impl Handler for RewardsRecorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a IncomingEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let changed: v1::RewardsChanged = event.decode()?;
            let change =
                BalanceChange::parse(&changed.user_id, changed.sequence, changed.balance_points)
                    .map_err(HandlerError::Permanent)?;
            rewards::apply(conn, change).await?;
            Ok(())
        })
    }
}
