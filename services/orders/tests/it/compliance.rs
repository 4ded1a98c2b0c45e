use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_licence_shows_its_status_computed_from_its_dates() {
    let app = TestApp::spawn().await;
    let license = app
        .call(Method::GET, "/api/compliance/license", None, None, 200)
        .await;
    assert_eq!(license["business"]["licenseNumber"], "TX-RET-2024-001");
    assert_eq!(license["business"]["expirationDate"], "2025-01-15");
    // The guide says "Active"; the dates say otherwise.
    assert_eq!(license["business"]["status"], "expired");
    assert_eq!(license["compliance"]["trackAndTrace"], "Metrc");
    assert_eq!(license["compliance"]["minimumAge"], 21);
    assert_eq!(license["licenses"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxes_are_computed_from_the_jurisdiction_rules() {
    let app = TestApp::spawn().await;
    let body = json!({ "subtotal": "100.00", "deliveryAddress": { "city": "Austin", "state": "TX", "zipCode": "78701" } });
    let tax = app
        .call(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&body),
            None,
            200,
        )
        .await;
    // 6.25 % + 15 % + 1 % + 1 % of $100.00.
    assert_eq!(tax["taxes"]["state"], "6.25");
    assert_eq!(tax["taxes"]["cannabis"], "15.00");
    assert_eq!(tax["taxes"]["local"], "2.00");
    assert_eq!(tax["taxes"]["total"], "23.25");
    assert_eq!(tax["total"], "123.25");
    // Round Rock has no local rate in the data: state and excise only.
    let body = json!({ "subtotal": "19.99", "deliveryAddress": { "city": "Round Rock", "zipCode": "78664" } });
    let tax = app
        .call(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&body),
            None,
            200,
        )
        .await;
    // 6.25 % of 1999 = 124.94 → 125; 15 % = 299.85 → 300 (half up).
    assert_eq!(tax["taxes"]["total"], "4.25");
    for bad in [
        json!({ "subtotal": "-1.00", "deliveryAddress": { "state": "TX" } }),
        json!({ "subtotal": "1.001", "deliveryAddress": { "state": "TX" } }),
        json!({ "subtotal": "10.00", "deliveryAddress": { "state": "ZZ" } }),
    ] {
        app.call(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&bad),
            None,
            400,
        )
        .await;
    }
    let elsewhere =
        json!({ "subtotal": "10.00", "deliveryAddress": { "state": "NY", "zipCode": "10001" } });
    let (status, body) = app
        .send(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&elsewhere),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "OUTSIDE_DELIVERY_AREA")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_area_check_answers_for_points_and_zip_codes() {
    let app = TestApp::spawn().await;
    let path = "/api/compliance/validate-delivery-area";
    let inside = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "latitude": 30.2672, "longitude": -97.7431 })),
            None,
            200,
        )
        .await;
    assert_eq!(inside["inServiceArea"], true);
    assert_eq!(inside["areaName"], "Austin");
    assert_eq!(inside["distanceMiles"], 0.0);
    // 30 miles north of Round Rock's centre, outside both circles.
    let outside = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "latitude": 30.9, "longitude": -97.68 })),
            None,
            200,
        )
        .await;
    assert_eq!(outside["inServiceArea"], false);
    let zip = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "zipCode": "78664" })),
            None,
            200,
        )
        .await;
    assert_eq!(zip["areaId"], "round_rock");
    app.call(
        Method::POST,
        path,
        Some(&json!({ "latitude": 91.0, "longitude": 0.0 })),
        None,
        400,
    )
    .await;
    app.call(Method::POST, path, Some(&json!({})), None, 400)
        .await;
}

/// The guide's client sends the subtotal as a number and the whole address object it got from
/// `GET /api/users/addresses`; it reads `subtotal`, `taxes.{state,cannabis,local,total}` and
/// `total`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_tax_request_is_answered_with_the_guides_fields() {
    let app = TestApp::spawn().await;
    let guide = json!({
        "subtotal": 100,
        "deliveryAddress": {
            "name": "Home",
            "addressLine1": "1100 Congress Ave",
            "addressLine2": "Apt 4",
            "city": "Austin",
            "state": "TX",
            "zipCode": "78701",
            "addressType": "home",
            "deliveryInstructions": "Gate code 1234",
            "isPrimary": true
        }
    });
    let tax = app
        .call(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&guide),
            None,
            200,
        )
        .await;
    assert_eq!(tax["subtotal"], "100.00");
    assert_eq!(tax["taxes"]["state"], "6.25");
    assert_eq!(tax["taxes"]["cannabis"], "15.00");
    assert_eq!(tax["taxes"]["local"], "2.00");
    assert_eq!(tax["taxes"]["total"], "23.25");
    assert_eq!(tax["total"], "123.25");
    // A fractional number of dollars, as a JavaScript client holds it.
    let cents = json!({ "subtotal": 19.99, "deliveryAddress": { "city": "Round Rock", "zipCode": "78664" } });
    let tax = app
        .call(
            Method::POST,
            "/api/compliance/calculate-tax",
            Some(&cents),
            None,
            200,
        )
        .await;
    assert_eq!(tax["taxes"]["total"], "4.25");
    // A float that is not a whole number of cents is refused, not rounded.
    for bad in [json!(0.30000000000000004), json!(-5), json!(true)] {
        let body = json!({ "subtotal": bad, "deliveryAddress": { "state": "TX" } });
        let (status, problem) = app
            .send(
                Method::POST,
                "/api/compliance/calculate-tax",
                Some(&body),
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(problem["code"], "VALIDATION_FAILED");
        // The guide's clients show `error` and `message`.
        assert_eq!(problem["error"], "Invalid request");
        assert!(problem["message"].is_string());
    }
}

/// The guide sends `{address: {...}}` and reads `approved`, `reason` and `availableAreas`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_delivery_area_request_is_answered_with_the_guides_fields() {
    let app = TestApp::spawn().await;
    let path = "/api/compliance/validate-delivery-area";
    let austin = json!({ "address": {
        "addressLine1": "1100 Congress Ave",
        "city": "Austin",
        "state": "TX",
        "zipCode": "78701"
    } });
    let answer = app.call(Method::POST, path, Some(&austin), None, 200).await;
    assert_eq!(answer["approved"], true);
    assert_eq!(answer["reason"], serde_json::Value::Null);
    assert_eq!(answer["inServiceArea"], true);
    let areas = answer["availableAreas"].as_array().unwrap();
    assert!(areas.iter().any(|a| a == "Austin"), "{areas:?}");
    assert!(areas.iter().any(|a| a == "Round Rock"), "{areas:?}");
    // Coordinates in the address win over its ZIP.
    let far = json!({ "address": { "city": "Austin", "zipCode": "78701", "latitude": 30.9, "longitude": -97.68 } });
    let answer = app.call(Method::POST, path, Some(&far), None, 200).await;
    assert_eq!(answer["approved"], false);
    assert_eq!(answer["reason"], "Delivery not available in this area");
    // A New York address: its ZIP's centre is no service area's.
    let ny = json!({ "address": { "city": "New York", "state": "NY", "zipCode": "10001" } });
    let answer = app.call(Method::POST, path, Some(&ny), None, 200).await;
    assert_eq!(answer["approved"], false);
    // An address with nothing to place it is a 400 naming what to send.
    let nowhere = json!({ "address": { "city": "Austin" } });
    app.call(Method::POST, path, Some(&nowhere), None, 400)
        .await;
    let half = json!({ "address": { "latitude": 30.2 } });
    app.call(Method::POST, path, Some(&half), None, 400).await;
}
