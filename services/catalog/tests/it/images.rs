//! Product images: recognised by content, at most 5 MB, served at a stable URL.

use crate::helpers::TestApp;
use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::{Value, json};

/// A real 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8, 0xCF, 0xC0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xDD, 0x8D, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn upload(
    app: &TestApp,
    product: uuid::Uuid,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> (u16, Value) {
    let res = app.upload_image(product, bytes, name, mime).await;
    (res.status, res.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_image_is_served_at_its_url_and_becomes_primary() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "name": "Blue Dream" })).await;
    let (status, image) = upload(&app, product, PNG.to_vec(), "photo.png", "image/png").await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(image["isPrimary"], true);
    assert_eq!(image["contentType"], "image/png");
    let url = image["url"].as_str().unwrap();
    let path = url.strip_prefix("http://gateway.test").unwrap();
    let (status, headers, bytes) = app.get_bytes(path, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(bytes, PNG);

    let listed = app.get_json("/api/products", 200).await;
    assert_eq!(listed["products"][0]["primaryImage"]["url"], url);
    let page = app.get_json(&format!("/api/products/{product}"), 200).await;
    assert_eq!(page["images"][0]["altText"], "Buds in a jar");
    let announced: events::v1::ProductUpserted = app
        .tap
        .find("product.upserted", |e: &events::v1::ProductUpserted| {
            !e.primary_image_url.is_empty()
        })
        .await;
    assert_eq!(announced.primary_image_url, url);

    // A second image; making it primary, then removing it, hands primary back.
    let (_, second) = upload(&app, product, PNG.to_vec(), "two.png", "image/png").await;
    assert_eq!(second["isPrimary"], false);
    let second_id = second["id"].as_str().unwrap();
    app.admin(
        Method::PUT,
        &format!("/api/admin/products/{product}/images/{second_id}/primary"),
        &json!(null),
        204,
    )
    .await;
    let page = app.get_json(&format!("/api/products/{product}"), 200).await;
    assert_eq!(page["product"]["primaryImage"]["id"], second_id);
    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{product}/images/{second_id}"),
        &json!(null),
        204,
    )
    .await;
    let page = app.get_json(&format!("/api/products/{product}"), 200).await;
    assert_eq!(page["product"]["primaryImage"]["url"], url);
    assert_eq!(
        app.get(&format!("/api/products/{product}/images/{second_id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disguised_and_oversized_files_are_refused() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({})).await;

    // A script named and labelled as a PNG.
    let (status, body) = upload(
        &app,
        product,
        b"<script>alert(1)</script>".to_vec(),
        "photo.png",
        "image/png",
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["code"], "UNSUPPORTED_MEDIA_TYPE");
    // A PDF with an image name.
    let (status, _) = upload(
        &app,
        product,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        "photo.jpg",
        "image/jpeg",
    )
    .await;
    assert_eq!(status, 415);
    // 6 MB of a real PNG header.
    let mut big = PNG.to_vec();
    big.resize(6 * 1024 * 1024, 0);
    let (status, body) = upload(&app, product, big, "big.png", "image/png").await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
    // No file at all.
    let res = app
        .client
        .post(app.url(&format!("/api/admin/products/{product}/images")))
        .bearer_auth(&app.admin)
        .multipart(Form::new().text("altText", "nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Unknown product.
    let (status, _) = upload(
        &app,
        uuid::Uuid::new_v4(),
        PNG.to_vec(),
        "photo.png",
        "image/png",
    )
    .await;
    assert_eq!(status, 404);
    let page = app.get_json(&format!("/api/products/{product}"), 200).await;
    assert_eq!(page["images"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_of_hidden_products_are_not_served_except_to_admins() {
    let app = TestApp::spawn().await;
    let flower = app.category("flower").await;
    let product = app.product(flower, json!({ "name": "Blue Dream" })).await;
    let (_, image) = upload(&app, product, PNG.to_vec(), "photo.png", "image/png").await;
    let path = format!(
        "/api/products/{product}/images/{}",
        image["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&path, None).await.status, 200);

    // Deactivated: the image goes with the product, for anyone but admins.
    app.admin(
        Method::DELETE,
        &format!("/api/admin/products/{product}"),
        &json!({}),
        204,
    )
    .await;
    let res = app.get(&path, None).await;
    assert_eq!(res.status, 404);
    let body: Value = res.json();
    assert_eq!(body["code"], "NOT_FOUND");
    let (_, customer) = app.tokens.token(domain::Role::Customer);
    assert_eq!(app.get(&path, Some(&customer)).await.status, 404);
    let (status, headers, bytes) = app.get_bytes(&path, Some(&app.admin)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(bytes, PNG);

    // A product of an inactive category is hidden too.
    let edibles = app.category("edibles").await;
    let gummies = app.product(edibles, json!({ "name": "Gummies" })).await;
    let (_, image) = upload(&app, gummies, PNG.to_vec(), "photo.png", "image/png").await;
    let path = format!(
        "/api/products/{gummies}/images/{}",
        image["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&path, None).await.status, 200);
    app.admin(
        Method::PUT,
        &format!("/api/admin/categories/{edibles}"),
        &json!({ "name": "Edibles", "slug": "edibles", "isActive": false }),
        200,
    )
    .await;
    assert_eq!(app.get(&path, None).await.status, 404);
}
