//! The route table of the orders service, and its OpenAPI document.

pub mod addresses;
pub mod admin;
pub mod analytics;
pub mod cart;
pub mod compliance;
pub mod driver;
pub mod orders;

use actix_web::{HttpResponse, web};
use auth_token::BearerAuth;
use domain::Role;
use events::audit::Actor;
use platform::client::ClientInfo;
use utoipa::OpenApi;
use uuid::Uuid;

/// Every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .route("/api/cart", web::get().to(cart::get_cart))
        .route("/api/cart/add", web::post().to(cart::add_to_cart))
        .route("/api/cart/update", web::put().to(cart::update_cart))
        .route(
            "/api/cart/remove/{product_id}",
            web::delete().to(cart::remove_from_cart),
        )
        .service(
            web::resource("/api/users/addresses")
                .route(web::get().to(addresses::list_addresses))
                .route(web::post().to(addresses::create_address)),
        )
        .service(
            web::resource("/api/users/addresses/{id}")
                .route(web::put().to(addresses::update_address))
                .route(web::delete().to(addresses::delete_address)),
        )
        .service(
            web::resource("/api/orders")
                .route(web::get().to(orders::list_orders))
                .route(web::post().to(orders::place_order)),
        )
        .route("/api/orders/{id}", web::get().to(orders::get_order))
        .route(
            "/api/orders/{id}/cancel",
            web::post().to(orders::cancel_order),
        )
        .route(
            "/api/driver/orders",
            web::get().to(driver::list_driver_orders),
        )
        .route(
            "/api/driver/orders/{id}",
            web::get().to(driver::get_driver_order),
        )
        .route(
            "/api/driver/orders/{id}/pickup",
            web::post().to(driver::pick_up),
        )
        .route(
            "/api/driver/orders/{id}/deliver",
            web::post().to(driver::deliver),
        )
        .route(
            "/api/driver/orders/{id}/fail-delivery",
            web::post().to(driver::fail_delivery),
        )
        .route("/api/admin/orders", web::get().to(admin::list_all_orders))
        .route(
            "/api/admin/orders/{id}",
            web::get().to(admin::get_any_order),
        )
        .route(
            "/api/admin/orders/{id}/status",
            web::post().to(admin::set_order_status),
        )
        .route(
            "/api/admin/orders/{id}/assign-driver",
            web::post().to(admin::assign_driver),
        )
        .route("/api/admin/reports", web::get().to(admin::report))
        .route(
            "/api/admin/track-and-trace",
            web::get().to(admin::list_receipts),
        )
        .route(
            "/api/compliance/license",
            web::get().to(compliance::license),
        )
        .route(
            "/api/compliance/calculate-tax",
            web::post().to(compliance::calculate_tax),
        )
        .route(
            "/api/compliance/validate-delivery-area",
            web::post().to(compliance::validate_delivery_area),
        )
        .route(
            "/api/analytics/events",
            web::post().to(analytics::track_events),
        );
}

/// Who is acting, for the audit log.
pub fn actor(id: Uuid, role: Role, client: ClientInfo) -> Actor {
    Actor {
        id,
        role,
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies orders", description = "Cart, delivery addresses, checkout under the compliance rules, orders for customers, staff and drivers, compliance and analytics."),
    paths(
        cart::get_cart, cart::add_to_cart, cart::update_cart, cart::remove_from_cart,
        addresses::list_addresses, addresses::create_address, addresses::update_address, addresses::delete_address,
        orders::place_order, orders::list_orders, orders::get_order, orders::cancel_order,
        driver::list_driver_orders, driver::get_driver_order, driver::pick_up, driver::deliver, driver::fail_delivery,
        admin::list_all_orders, admin::get_any_order, admin::set_order_status, admin::assign_driver,
        admin::report, admin::list_receipts,
        compliance::license, compliance::calculate_tax, compliance::validate_delivery_area,
        analytics::track_events,
    ),
    modifiers(&BearerAuth),
    tags((name = "cart"), (name = "addresses"), (name = "orders"), (name = "driver"), (name = "admin"),
        (name = "compliance"), (name = "analytics"))
)]
pub struct ApiDoc;

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
