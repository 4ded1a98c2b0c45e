//! ID verification: a customer submits a document (kept private in the object store), and
//! an admin from the review queue or the provider's webhook decides; admins view documents
//! through short-lived signed links. Also the webhook's signature check.

use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::IdStatus;
use crate::db::verifications::{
    Customer, Decided, DocumentType, NewVerification, QueueFilter, ReviewStatus, Submission,
    VerificationRow,
};
use crate::documents::{DocumentFormat, DocumentStore};
use crate::events;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, IdVerificationId, Problem, UserId};
use serde_json::json;

/// A document as uploaded, recognised by its content.
#[derive(Debug)]
pub struct Upload {
    pub document_type: DocumentType,
    pub bytes: Vec<u8>,
    pub format: DocumentFormat,
}

/// Submits `upload` for the caller (`actor`): stored first (outside any transaction: a slow
/// store must not hold a connection), then the verification row, the user's `pending` ID
/// status, the audit entry and `user.id_verification_submitted` commit together. 409 when the
/// caller's ID is already verified (checked before the upload and again under a lock).
pub async fn submit(
    state: &AppState,
    actor: &platform::client::Actor,
    upload: Upload,
) -> Result<VerificationRow, Problem> {
    let me = actor.user_id();
    // Refuse before storing anything; the transaction below checks again under a lock.
    let account = db::users::find(&mut *state.db().await?, me).await?;
    if account.as_ref().is_some_and(|a| a.id_verified()) {
        return Err(already_verified());
    }
    let id = IdVerificationId::new();
    let key = DocumentStore::key(me, id);
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    state
        .documents
        .put(&key, upload.bytes)
        .await
        .map_err(|err| Problem::unavailable(&err))?;

    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let account = db::users::lock(conn, me)
            .await?
            .ok_or_else(|| Problem::not_found("No such user."))?;
        if account.id_verified() {
            return Err(already_verified());
        }
        let new = NewVerification {
            id,
            user_id: me,
            document_type: upload.document_type,
            object_key: &key,
            content_type: upload.format.mime(),
            size_bytes: size,
        };
        let verification = db::verifications::insert(conn, new).await?;
        let account = db::users::set_id_status(conn, me, IdStatus::Pending).await?;
        let details = json!({
            "documentType": upload.document_type,
            "contentType": upload.format.mime(),
            "size": size,
        });
        let subject = Some(id.to_string());
        let action = "id_verification.submitted";
        audit::record(
            conn,
            &Actor::from(actor),
            action,
            "id_verification",
            subject,
            details,
        )
        .await?;
        events::id_submitted(conn, &account, &verification, MANUAL_REVIEW).await?;
        Ok(verification)
    })
    .await
}

fn already_verified() -> Problem {
    Problem::new(Code::Conflict).with_detail("Your ID is already verified.")
}

/// Who reviews what the admins decide, as `decided_by` and the events name it.
const MANUAL_REVIEW: &str = "manual_review";

/// The caller's ID status and latest submission; 404 when the account no longer exists.
pub async fn status_of(
    state: &AppState,
    user: UserId,
) -> Result<(IdStatus, Option<VerificationRow>), Problem> {
    let mut conn = state.db().await?;
    let account = db::users::find(&mut conn, user)
        .await?
        .ok_or_else(|| Problem::not_found("No such user."))?;
    let latest = db::verifications::latest_for_user(&mut conn, user).await?;
    Ok((account.id_status, latest))
}

/// One submission, for the review queue.
pub async fn find(state: &AppState, id: IdVerificationId) -> Result<VerificationRow, Problem> {
    db::verifications::find(&mut *state.db().await?, id)
        .await?
        .ok_or_else(no_such_verification)
}

/// One submission with its customer, for the review queue.
pub async fn find_submission(
    state: &AppState,
    id: IdVerificationId,
) -> Result<Submission, Problem> {
    db::verifications::find_submission(&mut *state.db().await?, id)
        .await?
        .ok_or_else(no_such_verification)
}

/// A page of the review queue, oldest first, each submission with its customer; and the
/// total count of matches.
pub async fn queue(
    state: &AppState,
    filter: &QueueFilter,
    page: &domain::Pagination,
) -> Result<(Vec<Submission>, u64), Problem> {
    Ok(db::verifications::list(&mut *state.db().await?, filter, page).await?)
}

fn no_such_verification() -> Problem {
    Problem::not_found("No such ID verification.")
}

/// A decision on a submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// Who decided: an admin, or the provider.
#[derive(Debug, Clone)]
pub enum DecidedBy {
    Admin(Actor),
    Provider(&'static str),
}

/// An admin (`admin`) decides a pending submission, in a transaction of its own (see
/// [`decide`]).
pub async fn decide_as_admin(
    state: &AppState,
    admin: &platform::client::Actor,
    id: IdVerificationId,
    decision: &Decision,
) -> Result<Submission, Problem> {
    let by = DecidedBy::Admin(Actor::from(admin));
    let mut conn = state.db().await?;
    conn.transaction(async |conn| decide(conn, id, decision, &by).await)
        .await
}

/// What a provider's result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderOutcome {
    /// The decision was recorded.
    Applied,
    /// The submission had been decided already (a repeated delivery, or an admin first).
    AlreadyDecided,
}

/// The provider (`provider`) decides a submission, in a transaction of its own. A decision on
/// one decided already changes nothing: the provider retries until it is acknowledged.
pub async fn decide_as_provider(
    state: &AppState,
    provider: &'static str,
    id: IdVerificationId,
    decision: &Decision,
) -> Result<ProviderOutcome, Problem> {
    let by = DecidedBy::Provider(provider);
    let mut conn = state.db().await?;
    let outcome = conn
        .transaction(async |conn| decide(conn, id, decision, &by).await)
        .await;
    match outcome {
        Ok(_) => Ok(ProviderOutcome::Applied),
        Err(problem) if problem.code() == Code::InvalidStateTransition => {
            Ok(ProviderOutcome::AlreadyDecided)
        }
        Err(problem) => Err(problem),
    }
}

/// Records `decision` on a pending verification: the verification, the user's ID status,
/// the audit entry and `user.id_verification_decided`, in the caller's transaction; answers
/// the decided submission with its customer. Deciding twice is refused (409), so a late
/// webhook cannot overturn an admin.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    id: IdVerificationId,
    decision: &Decision,
    by: &DecidedBy,
) -> Result<Submission, Problem> {
    let current = db::verifications::lock(conn, id)
        .await?
        .ok_or_else(no_such_verification)?;
    if current.status != ReviewStatus::Pending {
        return Err(Problem::new(Code::InvalidStateTransition)
            .with_detail(format!("This verification was already {}.", current.status)));
    }
    let (status, id_status, reason) = match decision {
        Decision::Approve => (ReviewStatus::Approved, IdStatus::Approved, None),
        Decision::Reject { reason } => (
            ReviewStatus::Rejected,
            IdStatus::Rejected,
            Some(reason.as_str()),
        ),
    };
    let (decided_by, reviewer_id, actor) = match by {
        DecidedBy::Admin(actor) => (MANUAL_REVIEW, actor.id, actor.clone()),
        DecidedBy::Provider(name) => (*name, None, Actor::system()),
    };
    let decided = Decided {
        status,
        reason,
        decided_by,
        reviewer_id,
    };
    let verification = db::verifications::decide(conn, id, decided).await?;
    // Lock the user like a submission does, so a concurrent new submission is either seen
    // as the latest here or waits; a newer submission supersedes this one for the status.
    db::users::lock(conn, current.user_id).await?;
    let latest = db::verifications::latest_for_user(conn, current.user_id).await?;
    let user = if latest.is_some_and(|l| l.id == id) {
        db::users::set_id_status(conn, current.user_id, id_status).await?
    } else {
        db::users::find(conn, current.user_id)
            .await?
            .ok_or_else(|| Problem::not_found("No such user."))?
    };
    let details = json!({ "userId": user.id, "reason": reason, "decidedBy": decided_by });
    let action = format!("id_verification.{status}");
    let subject = Some(id.to_string());
    audit::record(conn, &actor, &action, "id_verification", subject, details).await?;
    events::id_decided(conn, &user, &verification).await?;
    let customer = Customer {
        full_name: user.full_name,
        email: user.email,
        date_of_birth: user.date_of_birth,
    };
    Ok(Submission {
        verification,
        customer,
    })
}

/// A link that opens a document without a token until `expires_at`.
#[derive(Debug)]
pub struct DocumentLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs a short-lived link to the document of `id` for an admin. Viewing someone's ID is
/// itself something a regulator may ask about: the link is audited.
pub async fn document_link(
    state: &AppState,
    admin: &platform::client::Actor,
    id: IdVerificationId,
) -> Result<DocumentLink, Problem> {
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        db::verifications::find(conn, id)
            .await?
            .ok_or_else(no_such_verification)?;
        let subject = Some(id.to_string());
        let action = "id_verification.document_viewed";
        let actor = Actor::from(admin);
        audit::record(conn, &actor, action, "id_verification", subject, json!({})).await?;
        Ok::<_, Problem>(())
    })
    .await?;
    let ttl = i64::try_from(state.config.document_link_ttl_secs).unwrap_or(i64::MAX);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl);
    let expires = expires_at.timestamp();
    let signature = state.links.sign(id, expires);
    let base = state.config.auth_public_url.trim_end_matches('/');
    Ok(DocumentLink {
        url: format!("{base}/api/id-documents/{id}?expires={expires}&signature={signature}"),
        expires_at,
    })
}

/// A stored document and its content type.
#[derive(Debug)]
pub struct Document {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The document of `id` behind a signed link (`expires`, `signature`): 403 when the link is
/// missing a part, forged or expired; 404 when the submission or its file is gone.
pub async fn document(
    state: &AppState,
    id: IdVerificationId,
    expires: Option<i64>,
    signature: Option<&str>,
) -> Result<Document, Problem> {
    let valid = match (expires, signature) {
        (Some(expires), Some(signature)) => {
            state
                .links
                .verify(id, expires, signature, Utc::now().timestamp())
        }
        _ => false,
    };
    if !valid {
        return Err(Problem::forbidden().with_detail("This link is invalid or has expired."));
    }
    let row = find(state, id).await?;
    let bytes = state
        .documents
        .get(&row.object_key)
        .await
        .map_err(|err| match err {
            err if err.is_not_found() => Problem::not_found("The document is no longer stored."),
            other => Problem::unavailable(&other),
        })?;
    Ok(Document {
        content_type: row.content_type,
        bytes,
    })
}

/// Checks `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` against the
/// raw body (see `platform::signature`). No secret configured means no webhook.
pub fn verify_webhook(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    platform::signature::verify(secret, body, header, now).is_ok()
}

/// The signature header for `body` at `timestamp` (tests and the provider simulator).
pub fn sign_webhook(secret: &str, body: &[u8], timestamp: i64) -> String {
    platform::signature::sign(secret, timestamp, body)
}

/// What a Jumio-style `verificationStatus` means for us.
pub fn provider_decision(status: &str, description: Option<&str>) -> Option<Decision> {
    match status {
        "APPROVED_VERIFIED" => Some(Decision::Approve),
        "DENIED_FRAUD"
        | "DENIED_UNSUPPORTED_ID_TYPE"
        | "DENIED_UNSUPPORTED_ID_COUNTRY"
        | "ERROR_NOT_READABLE_ID"
        | "NO_ID_UPLOADED" => Some(Decision::Reject {
            reason: description
                .map(str::to_owned)
                .unwrap_or_else(|| status.to_lowercase()),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_checked_on_the_raw_body_with_a_tolerance() {
        let body = br#"{"verificationStatus":"APPROVED_VERIFIED"}"#;
        let header = sign_webhook("s3cret", body, 1_000_000);
        assert!(verify_webhook("s3cret", &header, body, 1_000_000));
        assert!(verify_webhook(
            "s3cret",
            &header,
            body,
            1_000_000 + platform::signature::TOLERANCE_SECS
        ));
        assert!(
            !verify_webhook(
                "s3cret",
                &header,
                body,
                1_000_000 + platform::signature::TOLERANCE_SECS + 1
            ),
            "replayed late"
        );
        assert!(
            !verify_webhook("other", &header, body, 1_000_000),
            "wrong secret"
        );
        assert!(
            !verify_webhook("s3cret", &header, b"{}", 1_000_000),
            "body changed"
        );
        assert!(
            !verify_webhook("s3cret", "v1=00", body, 1_000_000),
            "no timestamp"
        );
        assert!(!verify_webhook("s3cret", "garbage", body, 1_000_000));
        let unsigned = sign_webhook("", body, 1_000_000);
        assert!(
            !verify_webhook("", &unsigned, body, 1_000_000),
            "an empty secret disables the webhook"
        );
    }

    #[test]
    fn provider_statuses_map_to_decisions() {
        assert_eq!(
            provider_decision("APPROVED_VERIFIED", None),
            Some(Decision::Approve)
        );
        assert_eq!(
            provider_decision("DENIED_FRAUD", Some("manipulated document")),
            Some(Decision::Reject {
                reason: "manipulated document".into()
            })
        );
        assert_eq!(
            provider_decision("ERROR_NOT_READABLE_ID", None),
            Some(Decision::Reject {
                reason: "error_not_readable_id".into()
            })
        );
        assert_eq!(provider_decision("PENDING", None), None);
    }
}
