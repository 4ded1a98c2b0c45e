//! ID verification decisions, shared by the admin review queue and the provider webhook,
//! and the webhook's signature check.

use crate::audit::{self, Actor};
use crate::db;
use crate::db::verifications::VerificationRow;
use crate::events;
use diesel_async::AsyncPgConnection;
use domain::{Code, Problem};
use serde_json::json;
use uuid::Uuid;

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

/// Records `decision` on a pending verification: the verification, the user's ID status,
/// the audit entry and `user.id_verification_decided`, in the caller's transaction.
/// Deciding twice is refused (409), so a late webhook cannot overturn an admin.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    decision: &Decision,
    by: &DecidedBy,
) -> Result<VerificationRow, Problem> {
    let current = db::verifications::lock(conn, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such ID verification."))?;
    if current.status != "pending" {
        return Err(Problem::new(Code::InvalidStateTransition)
            .with_detail(format!("This verification was already {}.", current.status)));
    }
    let (status, reason) = match decision {
        Decision::Approve => ("approved", None),
        Decision::Reject { reason } => ("rejected", Some(reason.as_str())),
    };
    let (decided_by, reviewer, actor) = match by {
        DecidedBy::Admin(actor) => ("manual_review", actor.id, actor.clone()),
        DecidedBy::Provider(name) => (*name, None, Actor::system()),
    };
    let verification =
        db::verifications::decide(conn, id, status, reason, decided_by, reviewer).await?;
    // Lock the user like a submission does, so a concurrent new submission is either seen
    // as the latest here or waits; a newer submission supersedes this one for the status.
    db::users::lock(conn, current.user_id).await?;
    let latest = db::verifications::latest_for_user(conn, current.user_id).await?;
    let user = if latest.is_some_and(|l| l.id == id) {
        db::users::set_id_status(conn, current.user_id, status).await?
    } else {
        db::users::find(conn, current.user_id)
            .await?
            .ok_or_else(|| Problem::not_found("No such user."))?
    };
    let details = json!({ "userId": user.id, "reason": reason, "decidedBy": decided_by });
    let action = format!("id_verification.{status}");
    audit::record(
        conn,
        &actor,
        &action,
        "id_verification",
        Some(id.to_string()),
        details,
    )
    .await?;
    events::id_decided(conn, &user, &verification).await?;
    Ok(verification)
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
