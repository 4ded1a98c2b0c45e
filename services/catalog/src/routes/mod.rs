//! The route table of the catalog service, which is also its OpenAPI document
//! (`platform::api`): each handler is mounted at the method and path its `#[utoipa::path]`
//! names.

pub mod admin_categories;
pub mod admin_images;
pub mod admin_products;
pub mod admin_stock;
pub mod categories;
pub mod products;
pub mod reviews;

use auth_token::BearerAuth;
use platform::api::{Api, ApiRoutes};
use platform::endpoint;
use utoipa::OpenApi;

/// The 401 of a public route that reads an optional token (`MaybeUser`): a token that was
/// sent is checked, and a bad one is refused rather than ignored.
pub(crate) const BAD_TOKEN: &str = "A token was sent and it is bad, expired or revoked: `UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`";

/// Every route of the service, in the order actix matches them (static segments before the
/// `{id}` they would be taken for: `low-stock` before `{id}`).
#[must_use]
pub fn api() -> ApiRoutes {
    Api::new(ApiDoc::openapi())
        .endpoint(endpoint!(categories::list_categories))
        .endpoint(endpoint!(products::list_products))
        .endpoint(endpoint!(products::get_product))
        .endpoint(endpoint!(products::get_image))
        .endpoint(endpoint!(reviews::list_reviews))
        .endpoint(endpoint!(reviews::create_review))
        .endpoint(endpoint!(reviews::update_review))
        .endpoint(endpoint!(reviews::delete_review))
        .endpoint(endpoint!(admin_categories::list_all_categories))
        .endpoint(endpoint!(admin_categories::create_category))
        .endpoint(endpoint!(admin_categories::update_category))
        .endpoint(endpoint!(admin_products::create_product))
        .endpoint(endpoint!(admin_stock::list_low_stock_products))
        .endpoint(endpoint!(admin_products::get_admin_product))
        .endpoint(endpoint!(admin_products::update_product))
        .endpoint(endpoint!(admin_products::delete_product))
        .endpoint(endpoint!(admin_products::activate_product))
        .endpoint(endpoint!(admin_stock::set_stock))
        .endpoint(endpoint!(admin_stock::adjust_stock))
        .endpoint(endpoint!(admin_stock::list_stock_history))
        .endpoint(endpoint!(admin_images::upload_image))
        .endpoint(endpoint!(admin_images::delete_image))
        .endpoint(endpoint!(admin_images::make_image_primary))
        .endpoint(endpoint!(reviews::set_review_visibility))
        .build()
}

/// The document's frame: its title, tags and the bearer scheme; the paths come from [`api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Faded Skies catalog", description = "Categories, products, search, reviews, images and inventory."),
    modifiers(&BearerAuth),
    tags((name = "catalog", description = "The menu: categories, products, search and product images"),
        (name = "reviews", description = "Reviews by customers who received the product"),
        (name = "admin", description = "Staff: categories, products, stock, images and review moderation"))
)]
pub struct ApiDoc;
