//! The first admin: created at start from `FS_ADMIN_EMAIL` / `FS_ADMIN_PASSWORD` when no
//! admin exists, so a fresh deployment can be administered without touching the database.

use crate::audit::{self, Actor};
use crate::db;
use crate::db::users::NewUser;
use crate::events;
use crate::passwords::Passwords;
use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Email, Password, Problem, Role, UserId};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("FS_ADMIN_EMAIL is invalid: {0}")]
    Email(String),
    #[error("FS_ADMIN_PASSWORD does not meet the password policy: {0}")]
    Password(String),
    #[error("could not create the admin: {0}")]
    Failed(String),
}

impl From<Problem> for BootstrapError {
    fn from(problem: Problem) -> Self {
        Self::Failed(problem.to_string())
    }
}

/// Ensures an admin exists. With none and both variables set, the named account becomes
/// admin (created if needed). Returns whether anything changed.
pub async fn ensure_admin(
    conn: &mut AsyncPgConnection,
    passwords: &Passwords,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<bool, BootstrapError> {
    let (Some(email), Some(password)) = (email, password) else {
        return Ok(false);
    };
    let email = Email::parse(email).map_err(|e| BootstrapError::Email(e.to_string()))?;
    let password =
        Password::parse(password).map_err(|e| BootstrapError::Password(e.to_string()))?;
    let hash = passwords.hash(&password).await?;
    let changed = conn
        .transaction(async |conn| {
            diesel_async::RunQueryDsl::execute(
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('auth.bootstrap_admin'))"),
                conn,
            )
            .await?;
            if db::users::any_admin(conn).await? {
                return Ok::<_, Problem>(false);
            }
            let actor = Actor::system();
            let admin = match db::users::find_by_email(conn, email.as_str()).await? {
                Some(existing) => {
                    // Anyone can register any address: only the configured password proves
                    // the account is the intended admin's.
                    if !passwords.verify(password.expose(), Some(existing.password_hash.clone())).await? {
                        return Err(Problem::new(domain::Code::Conflict).with_detail(
                            "FS_ADMIN_EMAIL belongs to an existing account whose password is not FS_ADMIN_PASSWORD",
                        ));
                    }
                    let promoted = db::users::set_role(conn, existing.id, Role::Admin).await?;
                    let nobody = UserId::from_uuid(Uuid::nil());
                    events::role_changed(conn, &promoted, existing.role, nobody).await?;
                    promoted
                }
                None => {
                    let created = db::users::insert(
                        conn,
                        NewUser {
                            id: UserId::new(),
                            email: email.as_str(),
                            password_hash: &hash,
                            full_name: "Administrator",
                            // Staff accounts are not age-gated customers; these are placeholders
                            // the admin can edit in their profile.
                            phone: "+15125550100",
                            date_of_birth: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
                            role: Role::Admin,
                        },
                    )
                    .await?;
                    events::registered(conn, &created).await?;
                    created
                }
            };
            audit::record(
                conn,
                &actor,
                "user.admin_bootstrapped",
                "user",
                Some(admin.id.to_string()),
                json!({}),
            )
            .await?;
            tracing::info!(email = %admin.email, "bootstrapped the first admin");
            Ok(true)
        })
        .await?;
    Ok(changed)
}
