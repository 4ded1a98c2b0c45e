//! Search: full text over name, description, effects and category, ranked; misspellings
//! found by trigram similarity.

use crate::helpers::TestApp;
use serde_json::json;

async fn fixture(app: &TestApp) {
    let flower = app.category("flower").await;
    let edibles = app.category("edibles").await;
    // Prices run against relevance: the best matches of "diesel OR dream" cost the most.
    app.product(flower, json!({ "name": "Blue Dream", "price": "45.00", "description": "Sweet berry aroma with a calm, creative lift.", "effects": ["creative", "uplifted"] })).await;
    app.product(flower, json!({ "name": "Blueberry Kush", "price": "30.00", "description": "Dense buds; a dream of a nightcap.", "effects": ["sleepy"] })).await;
    app.product(flower, json!({ "name": "Sour Diesel", "price": "35.00", "description": "Pungent fuel with a citrus finish.", "effects": ["energetic"] })).await;
    app.product(edibles, json!({ "name": "Lemon Drops", "productType": "edible", "netWeightGrams": null, "thcMgPerPackage": 100, "thc": "100mg", "description": "Tart gummies.", "effects": ["happy"] })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_best_match_comes_first() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    let found = app.names("search=blue%20dream").await;
    assert_eq!(found[0], "Blue Dream");
    // A product matching one word ranks below the one matching both.
    let either = app.names("search=blue%20OR%20dream").await;
    assert_eq!(either[0], "Blue Dream", "{either:?}");
    assert!(either.contains(&"Blueberry Kush".to_owned()), "{either:?}");
    let body = app.get_json("/api/products?search=blue%20dream", 200).await;
    assert_eq!(body["total"], found.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelling_still_finds_the_product() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    assert_eq!(app.names("search=blu%20dreem").await[0], "Blue Dream");
    assert_eq!(app.names("search=sour%20deisel").await, ["Sour Diesel"]);
    assert!(app.names("search=xylophone").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effects_descriptions_and_categories_are_searched() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    assert_eq!(app.names("search=sleepy").await, ["Blueberry Kush"]);
    assert_eq!(app.names("search=citrus").await, ["Sour Diesel"]);
    assert_eq!(app.names("search=edibles").await, ["Lemon Drops"]);
    // Search combines with filters; price sorting overrides relevance.
    assert_eq!(
        app.names("search=blue&category=edibles").await,
        Vec::<String>::new()
    );
    let by_relevance = app.names("search=diesel%20OR%20dream").await;
    assert_eq!(
        by_relevance.last().map(String::as_str),
        Some("Blueberry Kush")
    );
    assert_eq!(
        app.names("search=diesel%20OR%20dream&sort=price_asc").await,
        ["Blueberry Kush", "Sour Diesel", "Blue Dream"]
    );
    assert_eq!(
        app.names("search=diesel%20OR%20dream&sort=price_desc")
            .await,
        ["Blue Dream", "Sour Diesel", "Blueberry Kush"]
    );
    // Search text is bounded.
    let long = "a".repeat(101);
    assert_eq!(
        app.get(&format!("/api/products?search={long}"), None)
            .await
            .status,
        400
    );
}
