//! The demo catalog: loaded at start when asked, and only once.

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_catalog_loads_once_with_images() {
    let app = TestApp::spawn_with(&[("CATALOG_SEED_DEMO", "true")]).await;
    let all = app.get_json("/api/products?limit=100", 200).await;
    assert_eq!(all["total"], 40);
    let categories = app.get_json("/api/categories", 200).await;
    assert_eq!(categories["categories"].as_array().unwrap().len(), 8);
    let image = all["products"][0]["primaryImage"]["url"].as_str().unwrap();
    let res = app
        .get(image.strip_prefix("http://gateway.test").unwrap(), None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["content-type"], "image/png");
    assert_eq!(app.names("search=blu%20dreem").await[0], "Blue Dream");

    // An admin edits a demo product (a replacement without its slug), then a restart seeds
    // again: nothing is added, nothing is undone.
    let blue = app.get_json("/api/products?search=blue%20dream", 200).await;
    let product = &blue["products"][0];
    let id = product["id"].as_str().unwrap();
    let edit = serde_json::json!({
        "categoryId": product["category"]["id"], "name": "Blue Dream (house)", "price": "44.00",
        "productType": "flower", "netWeightGrams": 3.5,
    });
    app.admin(
        reqwest::Method::PUT,
        &format!("/api/admin/products/{id}"),
        &edit,
        200,
    )
    .await;
    let again = app.build(&[("CATALOG_SEED_DEMO", "true")]).await;
    drop(again);
    let all = app.get_json("/api/products?limit=100", 200).await;
    assert_eq!(all["total"], 40);
    let page = app.get_json(&format!("/api/products/{id}"), 200).await;
    assert_eq!(page["product"]["name"], "Blue Dream (house)");
    assert_eq!(page["product"]["slug"], product["slug"]);
    testkit::wait_for(
        "every announcement",
        std::time::Duration::from_secs(15),
        || async { app.tap.named("product.upserted").len() >= 41 },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // 40 from the seed, 1 from the edit.
    assert_eq!(app.tap.named("product.upserted").len(), 41);
}
