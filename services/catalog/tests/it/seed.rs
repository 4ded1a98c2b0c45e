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
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(app.names("search=blu%20dreem").await[0], "Blue Dream");

    // A restart seeds again: nothing is added.
    let again = app.build(&[("CATALOG_SEED_DEMO", "true")]).await;
    drop(again);
    let all = app.get_json("/api/products?limit=100", 200).await;
    assert_eq!(all["total"], 40);
    testkit::wait_for(
        "every announcement",
        std::time::Duration::from_secs(15),
        || async { app.tap.named("product.upserted").len() >= 40 },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.tap.named("product.upserted").len(), 40);
}
