//! The route table of the catalog service, and its OpenAPI document.

pub mod admin_categories;
pub mod admin_products;
pub mod categories;
pub mod products;
pub mod reviews;

use crate::events::Actor;
use actix_web::{HttpResponse, web};
use auth_token::{Admin, Authenticated, BearerAuth};
use platform::client::ClientInfo;
use utoipa::OpenApi;

/// Every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .route(
            "/api/categories",
            web::get().to(categories::list_categories),
        )
        .route("/api/products", web::get().to(products::list_products))
        .route("/api/products/{id}", web::get().to(products::get_product))
        .route(
            "/api/products/{id}/images/{image_id}",
            web::get().to(products::get_image),
        )
        .service(
            web::resource("/api/products/{id}/reviews")
                .route(web::get().to(reviews::list_reviews))
                .route(web::post().to(reviews::create_review)),
        )
        .service(
            web::resource("/api/products/{id}/reviews/{review_id}")
                .route(web::put().to(reviews::update_review))
                .route(web::delete().to(reviews::delete_review)),
        )
        .service(
            web::scope("/api/admin")
                .service(
                    web::resource("/categories")
                        .route(web::get().to(admin_categories::list_all_categories))
                        .route(web::post().to(admin_categories::create_category)),
                )
                .route(
                    "/categories/{id}",
                    web::put().to(admin_categories::update_category),
                )
                .route("/products", web::post().to(admin_products::create_product))
                .route(
                    "/products/low-stock",
                    web::get().to(admin_products::low_stock),
                )
                .service(
                    web::resource("/products/{id}")
                        .route(web::get().to(admin_products::get_product))
                        .route(web::put().to(admin_products::update_product))
                        .route(web::delete().to(admin_products::delete_product)),
                )
                .route(
                    "/products/{id}/activate",
                    web::post().to(admin_products::activate_product),
                )
                .route(
                    "/products/{id}/stock",
                    web::put().to(admin_products::set_stock),
                )
                .route(
                    "/products/{id}/stock/adjustments",
                    web::post().to(admin_products::adjust_stock),
                )
                .route(
                    "/products/{id}/stock/history",
                    web::get().to(admin_products::stock_history),
                )
                .route(
                    "/products/{id}/images",
                    web::post().to(admin_products::upload_image),
                )
                .route(
                    "/products/{id}/images/{image_id}",
                    web::delete().to(admin_products::delete_image),
                )
                .route(
                    "/products/{id}/images/{image_id}/primary",
                    web::put().to(admin_products::make_image_primary),
                )
                .route(
                    "/products/{id}/reviews/{review_id}/visibility",
                    web::put().to(reviews::set_review_visibility),
                ),
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
    info(title = "Faded Skies catalog", description = "Categories, products, search, reviews, images and inventory."),
    paths(
        categories::list_categories,
        products::list_products, products::get_product, products::get_image,
        reviews::list_reviews, reviews::create_review, reviews::update_review, reviews::delete_review,
        reviews::set_review_visibility,
        admin_categories::list_all_categories, admin_categories::create_category, admin_categories::update_category,
        admin_products::create_product, admin_products::get_product, admin_products::update_product,
        admin_products::delete_product, admin_products::activate_product,
        admin_products::set_stock, admin_products::adjust_stock, admin_products::stock_history,
        admin_products::low_stock, admin_products::upload_image, admin_products::delete_image,
        admin_products::make_image_primary,
    ),
    modifiers(&BearerAuth),
    tags((name = "catalog"), (name = "reviews"), (name = "admin"))
)]
pub struct ApiDoc;

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
