//! The route table of the auth service, which is also its OpenAPI document
//! (`platform::api`): each handler is mounted at the method and path its `#[utoipa::path]`
//! names.

pub mod admin_audit;
pub mod admin_id_verifications;
pub mod admin_users;
pub mod auth;
pub mod id_documents;
pub mod id_verification;
pub mod jwks;
pub mod profile;
pub mod webhooks;

use auth_token::BearerAuth;
use domain::Validation;
use platform::api::{Api, ApiRoutes};
use platform::endpoint;
use utoipa::OpenApi;

/// Every route of the service, in the order actix matches them.
#[must_use]
pub fn api() -> ApiRoutes {
    Api::new(ApiDoc::openapi())
        .endpoint(endpoint!(auth::register))
        .endpoint(endpoint!(auth::login))
        .endpoint(endpoint!(auth::refresh))
        .endpoint(endpoint!(auth::logout))
        .endpoint(endpoint!(auth::forgot_password))
        .endpoint(endpoint!(auth::reset_password))
        .endpoint(endpoint!(profile::get_profile))
        .endpoint(endpoint!(profile::update_profile))
        .endpoint(endpoint!(id_verification::get_own_id_verification))
        .endpoint(endpoint!(id_verification::submit_id_verification))
        .endpoint(endpoint!(id_documents::get_document))
        .endpoint(endpoint!(admin_users::list_users))
        .endpoint(endpoint!(admin_users::get_user))
        .endpoint(endpoint!(admin_users::change_role))
        .endpoint(endpoint!(admin_users::suspend_user))
        .endpoint(endpoint!(admin_users::reactivate_user))
        .endpoint(endpoint!(admin_id_verifications::list_id_verifications))
        .endpoint(endpoint!(admin_id_verifications::get_id_verification))
        .endpoint(endpoint!(admin_id_verifications::create_document_link))
        .endpoint(endpoint!(admin_id_verifications::approve_id_verification))
        .endpoint(endpoint!(admin_id_verifications::reject_id_verification))
        .endpoint(endpoint!(admin_audit::list_audit))
        .endpoint(endpoint!(webhooks::id_verification_webhook))
        .endpoint(endpoint!(webhooks::jumio_webhook))
        .endpoint(endpoint!(jwks::get_jwks))
        .build()
}

/// The document's frame: its title, tags and the bearer scheme; the paths come from [`api`].
/// The schemas named only by query parameters are listed here, since an endpoint brings along
/// the schemas of its bodies but not those of its parameters' `value_type`s.
#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies auth", description = "Accounts, tokens, ID verification, staff roles, audit log."),
    components(schemas(domain::Role, domain::UserId, crate::db::users::AccountStatus,
        crate::db::verifications::ReviewStatus)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Registration, sessions and tokens, password resets, the signing keys"),
        (name = "users", description = "The signed-in user's own account and ID verification"),
        (name = "admin", description = "Staff: users and roles, the ID review queue, the audit log"),
        (name = "webhooks", description = "The ID-verification provider's results, signed"))
)]
pub struct ApiDoc;

/// Records an error when a free-text filter holds control characters (PostgreSQL refuses NUL,
/// and nothing legitimate contains them) or is longer than 200 characters.
pub(crate) fn check_filter(v: &mut Validation, field: &str, value: Option<&str>) {
    if let Some(value) = value {
        if value.chars().any(char::is_control) {
            v.add(field, "must not contain control characters");
        } else if value.chars().count() > 200 {
            v.add(field, "must be at most 200 characters");
        }
    }
}
