//! The error answers of each route, snapshotted (`snapshots/`), so a change to what a client
//! reads when refused shows in review.

use crate::helpers::{TestApp, order_submitted};
use domain::Role;
use reqwest::Method;
use serde_json::json;
use testkit::assert_problem;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_and_customer_refusals_read_as_documented() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({})).await;
    let (_, token) = app.tokens.token(Role::Customer);
    let anyone = app.http(None);
    let customer = app.http(Some(&token));

    let list = anyone
        .get("/api/products?limit=0&sort=cheapest&minPrice=ten")
        .await;
    let body = assert_problem!(list, 400, "VALIDATION_FAILED", "list_invalid");
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    let not_an_id = anyone.get("/api/products/not-a-uuid").await;
    assert_problem!(not_an_id, 400, "VALIDATION_FAILED", "product_not_an_id");
    let missing = anyone
        .get(&format!("/api/products/{}", Uuid::new_v4()))
        .await;
    assert_problem!(missing, 404, "NOT_FOUND", "product_not_found");
    let image = anyone
        .get(&format!(
            "/api/products/{product}/images/{}",
            Uuid::new_v4()
        ))
        .await;
    assert_problem!(image, 404, "NOT_FOUND", "image_not_found");
    let bad_token = app
        .http(Some("not.a.token"))
        .get(&format!("/api/products/{product}"))
        .await;
    assert_problem!(bad_token, 401, "INVALID_TOKEN", "public_read_bad_token");

    let reviews = format!("/api/products/{product}/reviews");
    let unpaged = anyone.get(&format!("{reviews}?offset=10001")).await;
    assert_problem!(unpaged, 400, "VALIDATION_FAILED", "reviews_bad_offset");
    let anonymous = anyone.post(&reviews, &json!({ "rating": 5 })).await;
    assert_problem!(anonymous, 401, "UNAUTHENTICATED", "review_no_token");
    let invalid = customer
        .post(&reviews, &json!({ "rating": 6, "displayName": "" }))
        .await;
    assert_problem!(invalid, 400, "VALIDATION_FAILED", "review_invalid");
    let stranger = customer.post(&reviews, &json!({ "rating": 5 })).await;
    assert_problem!(stranger, 403, "FORBIDDEN", "review_not_received");
    let edit = customer
        .send(
            Method::PUT,
            &format!("{reviews}/{}", Uuid::new_v4()),
            Some(&json!({ "rating": 4 })),
        )
        .await;
    assert_problem!(edit, 404, "NOT_FOUND", "review_not_found");
    let malformed = app
        .client
        .post(app.url(&reviews))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_refusals_read_as_documented() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "slug": "blue-dream" })).await;
    let (_, customer) = app.tokens.token(Role::Customer);
    let admin = app.http(Some(&app.admin));

    assert_problem!(
        app.http(None).get("/api/admin/categories").await,
        401,
        "UNAUTHENTICATED",
        "no_token"
    );
    assert_problem!(
        app.http(Some(&customer)).get("/api/admin/categories").await,
        403,
        "FORBIDDEN",
        "wrong_role"
    );

    let taken = admin
        .post(
            "/api/admin/categories",
            &json!({ "name": "Flower", "slug": "flower" }),
        )
        .await;
    assert_problem!(taken, 409, "CONFLICT", "category_slug_taken");
    let category = admin
        .send(
            Method::PUT,
            &format!("/api/admin/categories/{}", Uuid::new_v4()),
            Some(&json!({ "name": "Nothing" })),
        )
        .await;
    assert_problem!(category, 404, "NOT_FOUND", "category_not_found");

    let invalid = admin
        .post(
            "/api/admin/products",
            &json!({ "categoryId": "nope", "price": "0.00", "productType": "seeds", "thc": "lots", "stockQuantity": -1 }),
        )
        .await;
    assert_problem!(invalid, 400, "VALIDATION_FAILED", "product_invalid");
    let slug = admin
        .post(
            "/api/admin/products",
            &json!({ "categoryId": flower, "slug": "blue-dream", "name": "Again", "price": "1.00", "productType": "accessory" }),
        )
        .await;
    assert_problem!(slug, 409, "CONFLICT", "product_slug_taken");
    let unknown = admin
        .get(&format!("/api/admin/products/{}", Uuid::new_v4()))
        .await;
    assert_problem!(unknown, 404, "NOT_FOUND", "admin_product_not_found");

    let stock = format!("/api/admin/products/{product}/stock");
    let count = admin
        .send(Method::PUT, &stock, Some(&json!({ "quantity": -5 })))
        .await;
    assert_problem!(count, 400, "VALIDATION_FAILED", "stock_invalid");
    let below = admin
        .post(
            &format!("{stock}/adjustments"),
            &json!({ "change": -11, "reason": "written off" }),
        )
        .await;
    assert_problem!(below, 409, "CONFLICT", "stock_below_zero");
    let threshold = admin
        .get("/api/admin/products/low-stock?threshold=-3")
        .await;
    assert_problem!(
        threshold,
        400,
        "VALIDATION_FAILED",
        "low_stock_bad_threshold"
    );
    let permanent = admin
        .delete(&format!("/api/admin/products/{product}?permanent=maybe"))
        .await;
    let body = assert_problem!(permanent, 400, "VALIDATION_FAILED", "delete_bad_permanent");
    assert_eq!(body["errors"][0]["field"], "permanent");

    let script = app
        .upload_image(
            product,
            b"<script>alert(1)</script>".to_vec(),
            "a.png",
            "image/png",
        )
        .await;
    assert_problem!(script, 415, "UNSUPPORTED_MEDIA_TYPE", "image_not_an_image");
    let image = admin
        .delete(&format!(
            "/api/admin/products/{product}/images/{}",
            Uuid::new_v4()
        ))
        .await;
    assert_problem!(image, 404, "NOT_FOUND", "admin_image_not_found");
    let review = admin
        .send(
            Method::PUT,
            &format!(
                "/api/admin/products/{product}/reviews/{}/visibility",
                Uuid::new_v4()
            ),
            Some(&json!({ "hidden": true })),
        )
        .await;
    assert_problem!(review, 404, "NOT_FOUND", "moderated_review_not_found");

    // Open orders hold stock: the product cannot be deleted, nor counted below them.
    app.publish(
        &order_submitted(Uuid::new_v4(), Uuid::new_v4(), &[(product, 4)]),
        None,
    )
    .await;
    app.tap.first("stock.reserved").await;
    let held = admin
        .delete(&format!("/api/admin/products/{product}?permanent=true"))
        .await;
    assert_problem!(held, 409, "CONFLICT", "product_held_by_orders");
    let counted = admin
        .send(
            Method::PUT,
            &stock,
            Some(&json!({ "quantity": 3, "reason": "count" })),
        )
        .await;
    assert_problem!(counted, 409, "CONFLICT", "stock_below_reserved");
}
