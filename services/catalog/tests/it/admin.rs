//! Admin routes: refusals for everyone else, product changes and their events, stock with
//! its history, the low-stock report, and bad input.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_refuse_customers_and_strangers() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({})).await;
    let (_, customer) = app.tokens.token(Role::Customer);
    let (_, agent) = app.tokens.token(Role::Agent);
    let routes = [
        (Method::POST, "/api/admin/categories".to_owned()),
        (Method::GET, "/api/admin/categories".to_owned()),
        (Method::POST, "/api/admin/products".to_owned()),
        (Method::PUT, format!("/api/admin/products/{product}")),
        (Method::DELETE, format!("/api/admin/products/{product}")),
        (Method::PUT, format!("/api/admin/products/{product}/stock")),
        (
            Method::POST,
            format!("/api/admin/products/{product}/stock/adjustments"),
        ),
        (
            Method::GET,
            format!("/api/admin/products/{product}/stock/history"),
        ),
        (Method::GET, "/api/admin/products/low-stock".to_owned()),
    ];
    for (method, path) in &routes {
        for token in [&customer, &agent] {
            let res = app
                .send(method.clone(), path, &json!({}), Some(token))
                .await;
            assert_eq!(res.status, 403, "{method} {path}");
            let body: Value = res.json();
            assert_eq!(body["code"], "FORBIDDEN");
        }
        let res = app.send(method.clone(), path, &json!({}), None).await;
        assert_eq!(res.status, 401, "{method} {path}");
    }
    let forged = app
        .send(
            Method::POST,
            "/api/admin/products",
            &json!({}),
            Some("not.a.token"),
        )
        .await;
    assert_eq!(forged.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_product_change_is_announced_and_audited() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let id = app
        .product(flower, json!({ "name": "Blue Dream", "price": "45.00", "netWeightGrams": 3.5, "thc": "24%", "cbd": "0.5%", "stockQuantity": 12, "packageLabel": "1A4000000000000000001234" }))
        .await;
    // The guide's clients read the potencies as the numbers `thcContent` and `cbdContent`.
    let page = app.get_json(&format!("/api/products/{id}"), 200).await;
    assert_eq!(page["product"]["thcContent"], 24.0);
    assert_eq!(page["product"]["cbdContent"], 0.5);
    assert_eq!(page["product"]["thc"]["display"], "24%");
    let listed = app.get_json("/api/products?search=blue", 200).await;
    assert_eq!(listed["products"][0]["thcContent"], 24.0);
    let created: v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &v1::ProductUpserted| {
            e.product_id == id.to_string()
        })
        .await;
    assert_eq!(created.price_cents, 4500);
    assert_eq!(created.net_weight_mg, 3500);
    assert_eq!(created.product_type, v1::ProductType::Flower as i32);
    assert_eq!(created.category_slug, "flower");
    assert_eq!(created.available_quantity, 12);
    assert_eq!(created.package_label, "1A4000000000000000001234");
    assert!(created.active);

    let mut update = json!({ "categoryId": flower, "name": "Blue Dream", "price": "39.99", "originalPrice": "45.00", "productType": "flower", "netWeightGrams": 3.5 });
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{id}"),
        &update,
        200,
    )
    .await;
    let repriced: v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &v1::ProductUpserted| {
            e.price_cents == 3999
        })
        .await;
    assert!(repriced.version > created.version);
    assert_eq!(repriced.original_price_cents, 4500);
    let page = app.get_json(&format!("/api/products/{id}"), 200).await;
    assert_eq!(
        (
            page["product"]["price"].clone(),
            page["product"]["originalPrice"].clone()
        ),
        (json!("39.99"), json!("45.00"))
    );

    update["name"] = json!("");
    let bad = app
        .admin(
            Method::PUT,
            &format!("/api/admin/products/{id}"),
            &update,
            400,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "name");
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{}", Uuid::new_v4()),
        &json!({ "categoryId": flower, "name": "X", "price": "1.00", "productType": "accessory" }),
        404,
    )
    .await;

    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{id}"),
        &json!(null),
        204,
    )
    .await;
    let inactive: v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &v1::ProductUpserted| !e.active)
        .await;
    assert_eq!(inactive.product_id, id.to_string());
    app.admin(
        Method::POST,
        &format!("/api/admin/products/{id}/activate"),
        &json!(null),
        200,
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/products/{id}"), None).await.status,
        200
    );

    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{id}?permanent=true"),
        &json!(null),
        204,
    )
    .await;
    let deleted = app
        .tap
        .first("product.deleted")
        .await
        .decode::<v1::ProductDeleted>();
    assert_eq!(deleted.product_id, id.to_string());
    assert_eq!(
        app.get(&format!("/api/products/{id}"), None).await.status,
        404
    );
    app.admin(
        Method::GET,
        &format!("/api/admin/products/{id}"),
        &json!(null),
        404,
    )
    .await;

    let audit: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "product.deleted"
        })
        .await;
    assert_eq!(audit.subject_id, id.to_string());
    assert_eq!(audit.service, "catalog");
    assert_eq!(audit.actor_role, v1::Role::Admin as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_product_input_names_every_field() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let body = app
        .admin(Method::POST, "/api/admin/products", &json!({ "categoryId": "nope", "price": "0.00", "productType": "seeds", "thc": "lots", "labResultsUrl": "ftp://x", "stockQuantity": -1, "effects": [""] }), 400)
        .await;
    let mut fields: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "categoryId",
            "effects",
            "labResultsUrl",
            "name",
            "price",
            "productType",
            "stockQuantity",
            "thc"
        ]
    );
    // Type-specific rules: flower needs its weight, an edible its THC milligrams.
    let body = app
        .admin(Method::POST, "/api/admin/products", &json!({ "categoryId": flower, "name": "Gummies", "price": "20.00", "productType": "edible" }), 400)
        .await;
    assert_eq!(body["errors"][0]["field"], "thcMgPerPackage");
    let body = app
        .admin(Method::POST, "/api/admin/products", &json!({ "categoryId": flower, "name": "Bud", "price": "20.00", "originalPrice": "10.00", "productType": "flower" }), 400)
        .await;
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("netWeightGrams"), json!("originalPrice")]);
    let body = app
        .admin(Method::POST, "/api/admin/products", &json!({ "categoryId": Uuid::new_v4(), "name": "Bud", "price": "20.00", "productType": "accessory" }), 400)
        .await;
    assert_eq!(body["errors"][0]["field"], "categoryId");
    // Malformed JSON and wrong types are 400 problems too, never 500.
    let res = app
        .client
        .post(app.url("/api/admin/products"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .send(
            Method::POST,
            "/api/admin/products",
            &json!({ "price": 20 }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(res.status, 400);
    app.product(flower, json!({ "slug": "blue-dream" })).await;
    app.admin(Method::POST, "/api/admin/products", &json!({ "categoryId": flower, "slug": "blue-dream", "name": "Again", "price": "1.00", "productType": "accessory" }), 409).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_is_set_and_adjusted_with_a_history_and_the_low_stock_report_follows() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    // Well stocked: never in the report.
    app.product(flower, json!({ "name": "Plenty", "stockQuantity": 100 }))
        .await;
    let few = app
        .product(flower, json!({ "name": "Few", "stockQuantity": 8 }))
        .await;
    app.product(flower, json!({ "name": "None", "stockQuantity": 0 }))
        .await;

    let report = app
        .admin(
            Method::GET,
            "/api/admin/products/low-stock",
            &json!(null),
            200,
        )
        .await;
    assert_eq!(report["threshold"], 10);
    let names: Vec<_> = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("None"), json!("Few")]);
    let report = app
        .admin(
            Method::GET,
            "/api/admin/products/low-stock?threshold=0",
            &json!(null),
            200,
        )
        .await;
    assert_eq!(report["products"].as_array().unwrap().len(), 1);
    app.admin(
        Method::GET,
        "/api/admin/products/low-stock?threshold=-3",
        &json!(null),
        400,
    )
    .await;

    let set = app
        .admin(
            Method::PUT,
            &format!("/api/admin/products/{few}/stock"),
            &json!({ "quantity": 40, "reason": "weekly count" }),
            200,
        )
        .await;
    assert_eq!(set["availableQuantity"], 40);
    let adjusted = app
        .admin(
            Method::POST,
            &format!("/api/admin/products/{few}/stock/adjustments"),
            &json!({ "change": -5, "reason": "damaged in transit" }),
            200,
        )
        .await;
    assert_eq!(adjusted["stockQuantity"], 35);
    app.admin(
        Method::POST,
        &format!("/api/admin/products/{few}/stock/adjustments"),
        &json!({ "change": -100, "reason": "too many" }),
        409,
    )
    .await;
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{few}/stock"),
        &json!({ "quantity": 5 }),
        400,
    )
    .await;
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{few}/stock"),
        &json!({ "quantity": -5, "reason": "oops" }),
        400,
    )
    .await;
    app.admin(
        Method::POST,
        &format!("/api/admin/products/{few}/stock/adjustments"),
        &json!({ "change": 0, "reason": "nothing" }),
        400,
    )
    .await;
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{}/stock", Uuid::new_v4()),
        &json!({ "quantity": 5, "reason": "count" }),
        404,
    )
    .await;

    let history = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{few}/stock/history"),
            &json!(null),
            200,
        )
        .await;
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(history["total"], 3);
    assert_eq!(
        (
            entries[0]["kind"].clone(),
            entries[0]["change"].clone(),
            entries[0]["quantityAfter"].clone()
        ),
        (json!("adjust"), json!(-5), json!(35))
    );
    assert_eq!(entries[0]["reason"], "damaged in transit");
    assert_eq!(
        (entries[1]["kind"].clone(), entries[1]["change"].clone()),
        (json!("set"), json!(32))
    );
    assert_eq!(entries[2]["kind"], "created");

    let report = app
        .admin(
            Method::GET,
            "/api/admin/products/low-stock",
            &json!(null),
            200,
        )
        .await;
    let names: Vec<_> = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("None")]);
    // Each change is announced with the new availability.
    let announced: v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &v1::ProductUpserted| {
            e.available_quantity == 35
        })
        .await;
    assert_eq!(announced.product_id, few.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/openapi.json", 200).await;
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/categories",
        "/api/products",
        "/api/products/{id}",
        "/api/products/{id}/reviews",
        "/api/admin/products",
        "/api/admin/products/{id}/stock",
        "/api/admin/products/low-stock",
        "/api/admin/products/{id}/images",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let health = app.get_json("/health", 200).await;
    assert_eq!(health["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_catalog_itself() {
    // Not only at the gateway: a token auth revoked (logout here) stops working in catalog
    // within its one-second cache of answers, even after it was accepted.
    let app = TestApp::spawn().await;
    let claims = app.tokens.claims(domain::UserId::new(), Role::Admin, true);
    let token = app.tokens.sign(&claims);
    let path = "/api/admin/categories";
    let res = app.send(Method::GET, path, &json!({}), Some(&token)).await;
    assert_eq!(res.status, 200);
    testkit::deny(&claims).await;
    let none = json!({});
    testkit::wait_for(
        "catalog to refuse the revoked token",
        Duration::from_secs(5),
        || async {
            let res = app.send(Method::GET, path, &none, Some(&token)).await;
            res.status == 401 && res.json()["code"] == "INVALID_TOKEN"
        },
    )
    .await;
}
