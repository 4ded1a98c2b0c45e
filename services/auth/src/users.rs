//! What admins do to accounts: give another role, suspend, reactivate. Each change, its
//! audit entry and its event commit together; then the user's older access tokens are voided
//! (they carry the old role, or belong to a suspended account).

use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::{AccountStatus, UserRow};
use crate::events;
use crate::revocation;
use crate::state::AppState;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Code, Problem, Role, UserId};
use serde_json::json;

/// An admin's actor, for `platform::client::Acting<Admin>`'s.
type Admin = platform::client::Actor;

/// The account of `id`; 404 when there is none.
pub async fn find(state: &AppState, id: UserId) -> Result<UserRow, Problem> {
    db::users::find(&mut *state.db().await?, id)
        .await?
        .ok_or_else(no_such_user)
}

fn no_such_user() -> Problem {
    Problem::not_found("No such user.")
}

/// Gives `target` the role `role` (no change when they have it). Admins cannot change their
/// own role (409).
pub async fn change_role(
    state: &AppState,
    admin: &Admin,
    target: UserId,
    role: Role,
) -> Result<UserRow, Problem> {
    refuse_self(admin, target)?;
    let mut conn = state.db().await?;
    let row = conn
        .transaction(async |conn| {
            let before = locked(conn, target).await?;
            if before.role == role {
                return Ok::<_, Problem>(before);
            }
            let after = db::users::set_role(conn, target, role).await?;
            let details = json!({ "from": before.role, "to": role });
            let subject = Some(target.to_string());
            let actor = Actor::from(admin);
            audit::record(conn, &actor, "user.role_changed", "user", subject, details).await?;
            events::role_changed(conn, &after, before.role, admin.user_id()).await?;
            Ok(after)
        })
        .await?;
    // Tokens carry the role: the old ones must not keep the old rights for 15 minutes.
    revocation::void_access_tokens(state, target).await?;
    Ok(row)
}

/// Suspends `target` for `reason`: they cannot sign in, and every session of theirs ends now.
/// Admins cannot suspend themselves (409).
pub async fn suspend(
    state: &AppState,
    admin: &Admin,
    target: UserId,
    reason: &str,
) -> Result<UserRow, Problem> {
    refuse_self(admin, target)?;
    let row = set_status(state, admin, target, AccountStatus::Suspended, Some(reason)).await?;
    revocation::void_access_tokens(state, row.id).await?;
    Ok(row)
}

/// Lets a suspended user back in (no change for an active one).
pub async fn reactivate(
    state: &AppState,
    admin: &Admin,
    target: UserId,
) -> Result<UserRow, Problem> {
    set_status(state, admin, target, AccountStatus::Active, None).await
}

fn refuse_self(admin: &Admin, target: UserId) -> Result<(), Problem> {
    if admin.user_id() == target {
        return Err(Problem::new(Code::Conflict)
            .with_detail("Admins cannot change their own role or status."));
    }
    Ok(())
}

async fn locked(conn: &mut AsyncPgConnection, id: UserId) -> Result<UserRow, Problem> {
    db::users::lock(conn, id).await?.ok_or_else(no_such_user)
}

async fn set_status(
    state: &AppState,
    admin: &Admin,
    target: UserId,
    status: AccountStatus,
    reason: Option<&str>,
) -> Result<UserRow, Problem> {
    let mut conn = state.db().await?;
    conn.transaction(async |conn| {
        let before = locked(conn, target).await?;
        if before.status == status {
            return Ok::<_, Problem>(before);
        }
        let after = db::users::set_status(conn, target, status).await?;
        let action = match status {
            AccountStatus::Suspended => {
                db::sessions::revoke_all_for_user(conn, target).await?;
                "user.suspended"
            }
            AccountStatus::Active => "user.reactivated",
        };
        let subject = Some(target.to_string());
        let details = json!({ "reason": reason });
        audit::record(conn, &Actor::from(admin), action, "user", subject, details).await?;
        events::status_changed(conn, &after, before.status, reason, admin.user_id()).await?;
        Ok(after)
    })
    .await
}
