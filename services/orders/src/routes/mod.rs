//! The route table of the orders service, which is also its OpenAPI document
//! (`platform::api`): each handler is mounted at the method and path its `#[utoipa::path]`
//! names.

pub mod addresses;
pub mod admin_orders;
pub mod admin_reports;
pub mod analytics;
pub mod cart;
pub mod compliance;
pub mod driver;
pub mod orders;

use auth_token::BearerAuth;
use domain::Money;
use platform::api::{Api, ApiRoutes};
use platform::endpoint;
use utoipa::OpenApi;

/// Every route of the service, in the order actix matches them.
#[must_use]
pub fn api() -> ApiRoutes {
    Api::new(ApiDoc::openapi())
        .endpoint(endpoint!(cart::get_cart))
        .endpoint(endpoint!(cart::add_to_cart))
        .endpoint(endpoint!(cart::update_cart))
        .endpoint(endpoint!(cart::remove_from_cart))
        .endpoint(endpoint!(addresses::list_addresses))
        .endpoint(endpoint!(addresses::create_address))
        .endpoint(endpoint!(addresses::update_address))
        .endpoint(endpoint!(addresses::delete_address))
        .endpoint(endpoint!(orders::list_orders))
        .endpoint(endpoint!(orders::place_order))
        .endpoint(endpoint!(orders::get_order))
        .endpoint(endpoint!(orders::cancel_order))
        .endpoint(endpoint!(driver::list_driver_orders))
        .endpoint(endpoint!(driver::get_driver_order))
        .endpoint(endpoint!(driver::pick_up_order))
        .endpoint(endpoint!(driver::deliver_order))
        .endpoint(endpoint!(driver::fail_delivery))
        .endpoint(endpoint!(admin_orders::list_all_orders))
        .endpoint(endpoint!(admin_orders::get_any_order))
        .endpoint(endpoint!(admin_orders::set_order_status))
        .endpoint(endpoint!(admin_orders::assign_driver))
        .endpoint(endpoint!(admin_reports::get_report))
        .endpoint(endpoint!(admin_reports::list_receipts))
        .endpoint(endpoint!(compliance::get_license))
        .endpoint(endpoint!(compliance::calculate_tax))
        .endpoint(endpoint!(compliance::validate_delivery_area))
        .endpoint(endpoint!(analytics::track_events))
        .build()
}

/// The document's frame: its title, tags and the bearer scheme; the paths come from [`api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies orders", description = "Cart, delivery addresses, checkout under the compliance rules, orders for customers, staff and drivers, compliance and analytics."),
    modifiers(&BearerAuth),
    tags((name = "cart", description = "A customer's cart, priced and estimated"),
        (name = "addresses", description = "A customer's delivery addresses"),
        (name = "orders", description = "Checkout and a customer's orders"),
        (name = "driver", description = "Orders assigned to a driver: pick-up, the ID check at the door, delivery"),
        (name = "admin", description = "Admins: every order, drivers, the report, track-and-trace receipts"),
        (name = "compliance", description = "The licence, the tax calculator and the delivery-area check (public)"),
        (name = "analytics", description = "Page views and app events from the apps"))
)]
pub struct ApiDoc;

/// Cents as an answer's money (never negative in orders' rows; zero if one ever were).
pub(crate) fn money(cents: i64) -> Money {
    Money::from_cents(cents).unwrap_or(Money::ZERO)
}
