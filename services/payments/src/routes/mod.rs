//! The route table of the payments service, and its OpenAPI document.

pub mod admin_payments;
pub mod methods;
pub mod payments;
pub mod rewards;
pub mod sandbox;
pub mod webhooks;

use actix_web::{HttpResponse, web};
use auth_token::BearerAuth;
use auth_token::{Admin, Authenticated};
use events::audit::Actor;
use platform::client::ClientInfo;
use utoipa::OpenApi;

/// Every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .service(
            web::resource("/api/payments/methods")
                .route(web::get().to(methods::list_methods))
                .route(web::post().to(methods::add_method)),
        )
        .route(
            "/api/payments/methods/{id}",
            web::delete().to(methods::remove_method),
        )
        .route(
            "/api/payments/create-intent",
            web::post().to(payments::create_intent),
        )
        .route("/api/users/rewards", web::get().to(rewards::get_rewards))
        .route(
            "/api/admin/payments",
            web::get().to(admin_payments::list_payments),
        )
        .route(
            "/api/admin/payments/{id}/refunds",
            web::post().to(admin_payments::refund_payment),
        )
        .route(
            "/api/admin/rewards/{user_id}/adjustments",
            web::post().to(rewards::adjust_rewards),
        )
        .route("/webhooks/stripe", web::post().to(webhooks::stripe_webhook))
        .route(
            "/sandbox/payment_intents/{id}/action",
            web::post().to(sandbox::complete_action),
        );
}

/// Who is making an admin change, for the audit log.
pub fn actor(admin: &Authenticated<Admin>, client: ClientInfo) -> Actor {
    Actor {
        id: admin.user_id().into_inner(),
        role: admin.role(),
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies payments", description = "Payment methods, payments in the order saga, refunds, provider webhooks and FS Coin rewards."),
    paths(
        methods::list_methods, methods::add_method, methods::remove_method,
        payments::create_intent, admin_payments::list_payments, admin_payments::refund_payment,
        rewards::get_rewards, rewards::adjust_rewards,
        webhooks::stripe_webhook, sandbox::complete_action,
    ),
    modifiers(&BearerAuth),
    tags((name = "payments"), (name = "rewards"), (name = "admin"), (name = "webhooks"), (name = "sandbox"))
)]
pub struct ApiDoc;

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
