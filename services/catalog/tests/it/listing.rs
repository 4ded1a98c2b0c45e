//! `GET /api/products`: every filter and sort, pagination edges, bad parameters, and the
//! product page.

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// Two categories and four products that tell every filter apart.
async fn fixture(app: &TestApp) -> (uuid::Uuid, uuid::Uuid) {
    let flower = app.category("flower").await;
    let edibles = app.category("edibles").await;
    app.product(flower, json!({ "name": "Sativa Sun", "price": "45.00", "thc": "24%", "strainType": "sativa", "isFeatured": true, "stockQuantity": 10 })).await;
    app.product(flower, json!({ "name": "Indica Night", "price": "30.00", "thc": "18%", "strainType": "indica", "stockQuantity": 0 })).await;
    app.product(flower, json!({ "name": "Hybrid Haze", "price": "60.00", "thc": "28%", "strainType": "hybrid", "originalPrice": "70.00", "stockQuantity": 5 })).await;
    app.product(edibles, json!({ "name": "Gummy Bears", "price": "20.00", "productType": "edible", "netWeightGrams": null, "thcMgPerPackage": 100, "thc": "100mg", "strainType": null, "stockQuantity": 50 })).await;
    (flower, edibles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_narrows_the_list() {
    let app = TestApp::spawn().await;
    let (flower, _) = fixture(&app).await;

    assert_eq!(app.names("").await.len(), 4);
    let mut by_slug = app.names("category=flower&sort=price_asc").await;
    assert_eq!(by_slug, ["Indica Night", "Sativa Sun", "Hybrid Haze"]);
    by_slug = app
        .names(&format!("category={flower}&sort=price_asc"))
        .await;
    assert_eq!(by_slug, ["Indica Night", "Sativa Sun", "Hybrid Haze"]);
    assert!(app.names("category=unknown").await.is_empty());
    assert_eq!(app.names("featured=true").await, ["Sativa Sun"]);
    assert_eq!(app.names("strainType=indica").await, ["Indica Night"]);
    assert_eq!(app.names("productType=edible").await, ["Gummy Bears"]);
    assert_eq!(
        app.names("minPrice=25.00&maxPrice=50.00&sort=price_desc")
            .await,
        ["Sativa Sun", "Indica Night"]
    );
    // minThc compares percentages only; the edible's THC is in mg.
    assert_eq!(
        app.names("minThc=20&sort=thc_desc").await,
        ["Hybrid Haze", "Sativa Sun"]
    );
    assert_eq!(app.names("inStock=false").await, ["Indica Night"]);
    assert_eq!(app.names("inStock=true").await.len(), 3);
    // Filters combine.
    assert_eq!(
        app.names("category=flower&inStock=true&maxPrice=50.00")
            .await,
        ["Sativa Sun"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorts_order_the_list() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    assert_eq!(
        app.names("sort=price_asc").await,
        ["Gummy Bears", "Indica Night", "Sativa Sun", "Hybrid Haze"]
    );
    assert_eq!(
        app.names("sort=price_desc").await,
        ["Hybrid Haze", "Sativa Sun", "Indica Night", "Gummy Bears"]
    );
    // Newest first is the default: the fixture created them in this order.
    assert_eq!(
        app.names("").await,
        ["Gummy Bears", "Hybrid Haze", "Indica Night", "Sativa Sun"]
    );
    assert_eq!(app.names("sort=newest").await, app.names("").await);
    assert_eq!(app.names("sort=thc_desc").await[0], "Gummy Bears");
    // Without reviews every rating is null: the name breaks the tie.
    assert_eq!(
        app.names("sort=rating").await,
        ["Gummy Bears", "Hybrid Haze", "Indica Night", "Sativa Sun"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_report_total_and_has_more() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    let first = app
        .get_json("/api/products?limit=3&sort=price_asc", 200)
        .await;
    assert_eq!(first["total"], 4);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["products"].as_array().unwrap().len(), 3);
    let last = app
        .get_json("/api/products?limit=3&offset=3&sort=price_asc", 200)
        .await;
    assert_eq!(
        (last["total"].clone(), last["hasMore"].clone()),
        (json!(4), json!(false))
    );
    assert_eq!(last["products"][0]["name"], "Hybrid Haze");
    let exact = app.get_json("/api/products?limit=4", 200).await;
    assert_eq!(exact["hasMore"], false);
    let beyond = app.get_json("/api/products?offset=100", 200).await;
    assert_eq!(beyond["products"], json!([]));
    assert_eq!(beyond["hasMore"], false);
    let one = app
        .get_json("/api/products?limit=1&sort=price_asc", 200)
        .await;
    assert_eq!(one["products"].as_array().unwrap().len(), 1);
    assert_eq!(one["total"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_parameter_is_a_400_problem() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("limit=-1", "limit"),
        ("limit=100000", "limit"),
        ("limit=0", "limit"),
        ("offset=abc", "offset"),
        ("offset=-5", "offset"),
        // Deep offsets make PostgreSQL read and discard every skipped row.
        ("offset=10001", "offset"),
        ("offset=9223372036854775807", "offset"),
        ("sort=cheapest", "sort"),
        ("featured=yes", "featured"),
        ("inStock=2", "inStock"),
        ("strainType=ruderalis", "strainType"),
        ("productType=seeds", "productType"),
        ("minPrice=ten", "minPrice"),
        ("maxPrice=-1.00", "maxPrice"),
        ("minThc=101", "minThc"),
        ("minPrice=50.00&maxPrice=10.00", "maxPrice"),
    ] {
        let res = app.get(&format!("/api/products?{query}"), None).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(
            res.headers["content-type"], "application/problem+json",
            "{query}"
        );
        let body: Value = res.json();
        assert_eq!(body["code"], "VALIDATION_FAILED", "{query}");
        assert!(
            body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{query}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_page_has_images_reviews_and_summary_and_unknown_ones_are_404() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let id = app
        .product(flower, json!({ "name": "Blue Dream", "thc": { "value": 24.5, "unit": "percent" }, "cbd": "0.1%" }))
        .await;
    let page = app.get_json(&format!("/api/products/{id}"), 200).await;
    let product = &page["product"];
    assert_eq!(product["name"], "Blue Dream");
    assert_eq!(product["price"], "40.00");
    assert_eq!(
        product["thc"],
        json!({ "value": 24.5, "unit": "percent", "display": "24.5%" })
    );
    assert_eq!(product["cbd"]["display"], "0.1%");
    assert_eq!(product["netWeightGrams"], 3.5);
    assert_eq!(product["category"]["slug"], "flower");
    assert_eq!(product["inStock"], true);
    assert_eq!(product["availableQuantity"], 10);
    assert_eq!(page["images"], json!([]));
    assert_eq!(page["reviews"], json!([]));
    assert_eq!(page["ratingSummary"]["count"], 0);

    let missing = app
        .get(&format!("/api/products/{}", uuid::Uuid::new_v4()), None)
        .await;
    assert_eq!(missing.status, 404);
    let body: Value = missing.json();
    assert_eq!(body["code"], "NOT_FOUND");
    let malformed = app.get("/api/products/not-a-uuid", None).await;
    assert!(malformed.status >= 400 && malformed.status < 500);

    // Deactivated: gone for clients, still there for admins.
    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{id}"),
        &json!({}),
        204,
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/products/{id}"), None).await.status,
        404
    );
    assert!(app.names("").await.is_empty());
    let admin_view = app
        .admin(
            Method::GET,
            &format!("/api/admin/products/{id}"),
            &json!(null),
            200,
        )
        .await;
    assert_eq!(admin_view["product"]["isActive"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_are_listed_in_menu_order_and_inactive_ones_hide_their_products() {
    let app = TestApp::spawn().await;
    let b = app.category("bbb").await;
    app.admin(
        Method::PUT,
        &format!("/api/admin/categories/{b}"),
        &json!({ "name": "BBB", "slug": "bbb", "sortOrder": 2 }),
        200,
    )
    .await;
    let a = app.category("aaa").await;
    app.admin(
        Method::PUT,
        &format!("/api/admin/categories/{a}"),
        &json!({ "name": "AAA", "slug": "aaa", "sortOrder": 1 }),
        200,
    )
    .await;
    app.product(b, json!({ "name": "In B" })).await;
    let list = app.get_json("/api/categories", 200).await;
    let slugs: Vec<_> = list["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("aaa"), json!("bbb")]);

    app.admin(
        Method::PUT,
        &format!("/api/admin/categories/{b}"),
        &json!({ "name": "BBB", "slug": "bbb", "isActive": false }),
        200,
    )
    .await;
    let list = app.get_json("/api/categories", 200).await;
    assert_eq!(list["categories"].as_array().unwrap().len(), 1);
    assert!(app.names("").await.is_empty());
    // Its products are announced as no longer for sale.
    let upserted: events::v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &events::v1::ProductUpserted| {
            !e.active
        })
        .await;
    assert_eq!(upserted.name, "In B");
    let duplicate = app
        .send(
            Method::POST,
            "/api/admin/categories",
            &json!({ "name": "A again", "slug": "aaa" }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(duplicate.status, 409);
}
