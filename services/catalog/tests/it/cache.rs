//! The product cache: category and featured pages come from Redis, and a read after any
//! change never returns the old data.

use crate::helpers::{TestApp, order_submitted};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

async fn page(app: &TestApp, query: &str) -> (String, Value) {
    let res = app.get(&format!("/api/products?{query}"), None).await;
    assert_eq!(res.status, 200);
    let cache = res.headers["x-cache"].to_str().unwrap().to_owned();
    (cache, res.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_pages_are_cached_and_dropped_on_every_change() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "name": "Blue Dream", "price": "45.00", "isFeatured": true, "stockQuantity": 3 })).await;

    assert_eq!(page(&app, "category=flower").await.0, "miss");
    let (cache, body) = page(&app, "category=flower").await;
    assert_eq!(cache, "hit");
    assert_eq!(body["products"][0]["price"], "45.00");
    // By id it is another key of the same category; a second page is another field.
    assert_eq!(page(&app, &format!("category={flower}")).await.0, "miss");
    assert_eq!(page(&app, "category=flower&offset=20").await.0, "miss");
    assert_eq!(page(&app, "featured=true").await.0, "miss");
    assert_eq!(page(&app, "featured=true").await.0, "hit");
    assert_eq!(page(&app, "search=blue").await.0, "bypass");

    // A price change is visible at once, by slug, by id and in the featured list.
    let update = json!({ "categoryId": flower, "name": "Blue Dream", "price": "40.00", "productType": "flower", "netWeightGrams": 3.5, "isFeatured": true });
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{product}"),
        &update,
        200,
    )
    .await;
    for query in [
        "category=flower",
        &format!("category={flower}"),
        "featured=true",
    ] {
        let (cache, body) = page(&app, query).await;
        assert_eq!(cache, "miss", "{query}");
        assert_eq!(body["products"][0]["price"], "40.00", "{query}");
    }

    // So is a stock change, and a reservation by an order.
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{product}/stock"),
        &json!({ "quantity": 1, "reason": "count" }),
        200,
    )
    .await;
    let (_, body) = page(&app, "category=flower").await;
    assert_eq!(body["products"][0]["availableQuantity"], 1);
    assert_eq!(page(&app, "category=flower").await.0, "hit");
    app.publish(
        &order_submitted(Uuid::new_v4(), Uuid::new_v4(), &[(product, 1)]),
        None,
    )
    .await;
    app.tap.first("stock.reserved").await;
    testkit::wait_for(
        "the reservation to reach the cached page",
        std::time::Duration::from_secs(10),
        || async {
            let (_, body) = page(&app, "category=flower").await;
            body["products"][0]["inStock"] == false
        },
    )
    .await;

    // And a category rename (the slug moves with it).
    app.admin(
        Method::PUT,
        &format!("/api/admin/categories/{flower}"),
        &json!({ "name": "Buds", "slug": "buds" }),
        200,
    )
    .await;
    let (_, body) = page(&app, &format!("category={flower}")).await;
    assert_eq!(body["products"][0]["category"]["name"], "Buds");
    let (_, body) = page(&app, "category=flower").await;
    assert_eq!(body["products"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_cache_off_every_page_comes_from_the_database() {
    let app = TestApp::spawn_with(&[("CATALOG_CACHE_ENABLED", "false")]).await;
    let flower = app.category("flower").await;
    app.product(flower, json!({})).await;
    assert_eq!(page(&app, "category=flower").await.0, "bypass");
    assert_eq!(page(&app, "category=flower").await.0, "bypass");
}
