//! The route table of the payments service, which is also its OpenAPI document
//! (`platform::api`): each handler is mounted at the method and path its `#[utoipa::path]`
//! names.

pub mod admin_payments;
pub mod methods;
pub mod payments;
pub mod rewards;
pub mod sandbox;
pub mod webhooks;

use auth_token::BearerAuth;
use platform::api::{Api, ApiRoutes};
use platform::endpoint;
use utoipa::OpenApi;

/// Every route of the service, in the order actix matches them.
#[must_use]
pub fn api() -> ApiRoutes {
    Api::new(ApiDoc::openapi())
        .endpoint(endpoint!(methods::list_methods))
        .endpoint(endpoint!(methods::add_method))
        .endpoint(endpoint!(methods::remove_method))
        .endpoint(endpoint!(payments::create_intent))
        .endpoint(endpoint!(rewards::get_rewards))
        .endpoint(endpoint!(admin_payments::list_payments))
        .endpoint(endpoint!(admin_payments::refund_payment))
        .endpoint(endpoint!(rewards::adjust_rewards))
        .endpoint(endpoint!(webhooks::stripe_webhook))
        .endpoint(endpoint!(sandbox::complete_action))
        .build()
}

/// The document's frame: its title, tags and the bearer scheme; the paths come from [`api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies payments", description = "Payment methods, payments in the order saga, refunds, provider webhooks and FS Coin rewards."),
    modifiers(&BearerAuth),
    tags((name = "payments", description = "A customer's payment methods and payments"),
        (name = "rewards", description = "FS Coin: 100 points = $1.00"),
        (name = "admin", description = "Staff: payments, refunds and balance adjustments"),
        (name = "webhooks", description = "Provider events, signed"),
        (name = "sandbox", description = "The sandbox provider's customer side (development and tests)"))
)]
pub struct ApiDoc;
