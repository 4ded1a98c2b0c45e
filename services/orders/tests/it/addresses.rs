use crate::helpers::{AUSTIN_ZIP, TestApp};
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::json;

fn address(zip: &str, primary: bool) -> serde_json::Value {
    json!({
        "name": "Work", "addressLine1": "500 W 2nd St", "addressLine2": "", "city": "Austin",
        "state": "TX", "zipCode": zip, "addressType": "work", "isPrimary": primary,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_are_geocoded_and_say_whether_they_are_served() {
    let app = TestApp::spawn().await;
    let user = app
        .user(
            Role::Customer,
            v1::IdVerificationStatus::NotSubmitted,
            "1990-01-01",
        )
        .await;
    let token = app.token(user, Role::Customer);

    let first = app
        .call(
            Method::POST,
            "/api/users/addresses",
            Some(&address(AUSTIN_ZIP, false)),
            Some(&token),
            201,
        )
        .await;
    // The first address is primary whatever the request said.
    assert_eq!(first["isPrimary"], true);
    assert_eq!(first["geocodePrecision"], "zip_centroid");
    assert_eq!(first["serviceArea"]["inServiceArea"], true);
    assert_eq!(first["serviceArea"]["areaId"], "austin");
    assert_eq!(first["serviceArea"]["deliveryFee"], "5.00");
    assert_eq!(first["addressLine2"], serde_json::Value::Null);

    // Round Rock is inside both circles; it is served from its own centre.
    let round_rock = app
        .call(
            Method::POST,
            "/api/users/addresses",
            Some(&address("78664", true)),
            Some(&token),
            201,
        )
        .await;
    assert_eq!(round_rock["serviceArea"]["areaId"], "round_rock");
    assert_eq!(round_rock["isPrimary"], true);
    // San Antonio is outside every area.
    let far = app
        .call(
            Method::POST,
            "/api/users/addresses",
            Some(&address("78205", false)),
            Some(&token),
            201,
        )
        .await;
    assert_eq!(far["serviceArea"]["inServiceArea"], false);
    assert_eq!(far["serviceArea"]["deliveryFee"], serde_json::Value::Null);

    let list = app
        .call(Method::GET, "/api/users/addresses", None, Some(&token), 200)
        .await;
    let list = list["addresses"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["id"], round_rock["id"], "primary first");
    assert_eq!(list.iter().filter(|a| a["isPrimary"] == true).count(), 1);

    // Deleting the primary one promotes the oldest remaining.
    let path = format!(
        "/api/users/addresses/{}",
        round_rock["id"].as_str().unwrap()
    );
    app.call(Method::DELETE, &path, None, Some(&token), 204)
        .await;
    let list = app
        .call(Method::GET, "/api/users/addresses", None, Some(&token), 200)
        .await;
    assert_eq!(list["addresses"][0]["id"], first["id"]);
    assert_eq!(list["addresses"][0]["isPrimary"], true);

    // Replacing keeps the id and re-geocodes.
    let path = format!("/api/users/addresses/{}", far["id"].as_str().unwrap());
    let moved = app
        .call(
            Method::PUT,
            &path,
            Some(&address(AUSTIN_ZIP, false)),
            Some(&token),
            200,
        )
        .await;
    assert_eq!(moved["id"], far["id"]);
    assert_eq!(moved["serviceArea"]["inServiceArea"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let user = app
        .user(
            Role::Customer,
            v1::IdVerificationStatus::Approved,
            "1990-01-01",
        )
        .await;
    let token = app.token(user, Role::Customer);
    let bad = json!({
        "name": "", "addressLine1": "1 A", "city": "A", "state": "XX", "zipCode": "7870",
        "addressType": "castle",
    });
    let (status, body) = app
        .send(
            Method::POST,
            "/api/users/addresses",
            Some(&bad),
            Some(&token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    let unknown = json!({
        "name": "Home", "addressLine1": "1100 Congress Ave", "city": "Austin", "state": "TX",
        "zipCode": "78701", "addressType": "home", "country": "US",
    });
    let (status, _) = app
        .send(
            Method::POST,
            "/api/users/addresses",
            Some(&unknown),
            Some(&token),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_is_only_its_owner_s() {
    let app = TestApp::spawn().await;
    let (owner, address) = app.customer().await;
    let (other, _) = app.customer().await;
    let path = format!("/api/users/addresses/{address}");
    app.call(
        Method::PUT,
        &path,
        Some(&address_body()),
        Some(&other.token),
        404,
    )
    .await;
    app.call(Method::DELETE, &path, None, Some(&other.token), 404)
        .await;
    app.call(Method::DELETE, &path, None, Some(&owner.token), 204)
        .await;
    app.call(Method::GET, "/api/users/addresses", None, None, 401)
        .await;
}

fn address_body() -> serde_json::Value {
    address(AUSTIN_ZIP, false)
}
