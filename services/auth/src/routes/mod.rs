//! The route table of the auth service, and its OpenAPI document.

pub mod admin_audit;
pub mod admin_id_verifications;
pub mod admin_users;
pub mod auth;
pub mod id_verification;
pub mod jwks;
pub mod profile;
pub mod webhooks;

use actix_web::{HttpResponse, web};
use auth_token::BearerAuth;
use utoipa::OpenApi;

/// Every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks::get_jwks))
        .route("/openapi.json", web::get().to(openapi_json))
        .service(
            web::scope("/api/auth")
                .route("/register", web::post().to(auth::register))
                .route("/login", web::post().to(auth::login))
                .route("/refresh-token", web::post().to(auth::refresh))
                .route("/logout", web::post().to(auth::logout))
                .route("/forgot-password", web::post().to(auth::forgot_password))
                .route("/reset-password", web::post().to(auth::reset_password)),
        )
        .service(
            web::resource("/api/users/profile")
                .route(web::get().to(profile::get_profile))
                .route(web::put().to(profile::update_profile)),
        )
        .service(
            web::resource("/api/users/id-verification")
                .route(web::get().to(id_verification::get_id_verification))
                .route(web::post().to(id_verification::submit_id_verification)),
        )
        .route(
            "/api/id-documents/{id}",
            web::get().to(admin_id_verifications::get_document),
        )
        .service(
            web::scope("/api/admin")
                .route("/users", web::get().to(admin_users::list_users))
                .route("/users/{id}", web::get().to(admin_users::get_user))
                .route("/users/{id}/role", web::put().to(admin_users::change_role))
                .route(
                    "/users/{id}/suspend",
                    web::post().to(admin_users::suspend_user),
                )
                .route(
                    "/users/{id}/reactivate",
                    web::post().to(admin_users::reactivate_user),
                )
                .route(
                    "/id-verifications",
                    web::get().to(admin_id_verifications::list_id_verifications),
                )
                .route(
                    "/id-verifications/{id}",
                    web::get().to(admin_id_verifications::get_id_verification),
                )
                .route(
                    "/id-verifications/{id}/document-link",
                    web::post().to(admin_id_verifications::create_document_link),
                )
                .route(
                    "/id-verifications/{id}/approve",
                    web::post().to(admin_id_verifications::approve_id_verification),
                )
                .route(
                    "/id-verifications/{id}/reject",
                    web::post().to(admin_id_verifications::reject_id_verification),
                )
                .route("/audit", web::get().to(admin_audit::list_audit)),
        )
        .route(
            "/webhooks/id-verification",
            web::post().to(webhooks::id_verification_webhook),
        );
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies auth", description = "Accounts, tokens, ID verification, staff roles, audit log."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::forgot_password, auth::reset_password,
        profile::get_profile, profile::update_profile,
        id_verification::submit_id_verification, id_verification::get_id_verification,
        admin_users::list_users, admin_users::get_user, admin_users::change_role, admin_users::suspend_user,
        admin_users::reactivate_user,
        admin_id_verifications::list_id_verifications, admin_id_verifications::get_id_verification,
        admin_id_verifications::create_document_link, admin_id_verifications::get_document,
        admin_id_verifications::approve_id_verification, admin_id_verifications::reject_id_verification,
        admin_audit::list_audit, jwks::get_jwks, webhooks::id_verification_webhook,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "users"), (name = "admin"), (name = "webhooks"))
)]
pub struct ApiDoc;

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
