//! Saved payment methods through the sandbox provider.

use crate::helpers::TestApp;
use domain::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_and_wallets_are_saved_with_one_primary() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tokens.token(Role::Customer);
    let path = "/api/payments/methods";
    let empty = app.call(Method::GET, path, None, Some(&token), 200).await;
    assert_eq!(empty["paymentMethods"], json!([]));

    let visa = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "type": "card", "stripePaymentMethodId": "pm_card_visa" })),
            Some(&token),
            201,
        )
        .await;
    assert_eq!(
        (
            visa["cardBrand"].clone(),
            visa["lastFour"].clone(),
            visa["isPrimary"].clone()
        ),
        (json!("visa"), json!("4242"), json!(true))
    );
    assert_eq!(visa["expMonth"], 12);
    let apple = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "type": "apple_pay", "token": "tok_mastercard", "isPrimary": true })),
            Some(&token),
            201,
        )
        .await;
    assert_eq!(
        (
            apple["type"].clone(),
            apple["cardBrand"].clone(),
            apple["isPrimary"].clone()
        ),
        (json!("apple_pay"), json!("mastercard"), json!(true))
    );
    let amex = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "type": "card", "stripePaymentMethodId": "pm_card_amex" })),
            Some(&token),
            201,
        )
        .await;
    assert_eq!(amex["isPrimary"], false);

    let list = app.call(Method::GET, path, None, Some(&token), 200).await;
    let methods = list["paymentMethods"].as_array().unwrap();
    assert_eq!(methods.len(), 3);
    assert_eq!(methods[0]["id"], apple["id"]);
    assert_eq!(methods.iter().filter(|m| m["isPrimary"] == true).count(), 1);
    // Never a card number, never the provider's id.
    let text = list.to_string();
    assert!(!text.contains("pm_") && !text.contains("4242424242424242"));

    // Removing the primary hands primary to the newest remaining one.
    let apple_id = apple["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("{path}/{apple_id}"),
        None,
        Some(&token),
        204,
    )
    .await;
    let list = app.call(Method::GET, path, None, Some(&token), 200).await;
    let methods = list["paymentMethods"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    assert_eq!(
        (methods[0]["id"].clone(), methods[0]["isPrimary"].clone()),
        (amex["id"].clone(), json!(true))
    );
    app.call(
        Method::DELETE,
        &format!("{path}/{apple_id}"),
        None,
        Some(&token),
        404,
    )
    .await;

    // Another customer sees none of them and cannot remove them.
    let (_, other) = app.tokens.token(Role::Customer);
    let list = app.call(Method::GET, path, None, Some(&other), 200).await;
    assert_eq!(list["paymentMethods"], json!([]));
    let visa_id = visa["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("{path}/{visa_id}"),
        None,
        Some(&other),
        404,
    )
    .await;
    app.call(Method::GET, path, None, None, 401).await;

    let health = app.call(Method::GET, "/health", None, None, 200).await;
    assert_eq!(health["checks"]["payment_provider"]["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_methods_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tokens.token(Role::Customer);
    let path = "/api/payments/methods";
    for (body, status, field) in [
        (
            json!({ "stripePaymentMethodId": "pm_card_visa" }),
            400,
            "type",
        ),
        (
            json!({ "type": "bitcoin", "stripePaymentMethodId": "pm_card_visa" }),
            400,
            "type",
        ),
        (json!({ "type": "card" }), 400, "stripePaymentMethodId"),
        (json!({ "type": "card", "token": "tok_visa" }), 400, "token"),
        (json!({ "type": "google_pay" }), 400, "token"),
        (
            json!({ "type": "card", "stripePaymentMethodId": "4242 4242 4242 4242" }),
            400,
            "stripePaymentMethodId",
        ),
        (
            json!({ "type": "card", "stripePaymentMethodId": "pm_card_visa", "token": "tok_visa" }),
            400,
            "token",
        ),
    ] {
        let problem = app
            .call(Method::POST, path, Some(&body), Some(&token), status)
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    // Unknown to the provider: a business-rule refusal naming it.
    let problem = app
        .call(
            Method::POST,
            path,
            Some(&json!({ "type": "card", "stripePaymentMethodId": "pm_card_unknown" })),
            Some(&token),
            422,
        )
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("pm_card_unknown")
    );
    app.call(
        Method::POST,
        path,
        Some(&json!({ "type": "google_pay", "token": "tok_nope" })),
        Some(&token),
        422,
    )
    .await;
    // Staff do not save payment methods.
    let (_, driver) = app.tokens.token(Role::Driver);
    app.call(Method::GET, path, None, Some(&driver), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_payments_itself() {
    // Not only at the gateway: a token auth revoked (logout) cannot save a card here.
    let app = TestApp::spawn().await;
    let claims = app
        .tokens
        .claims(domain::UserId::new(), Role::Customer, true);
    let token = app.tokens.sign(&claims);
    let path = "/api/payments/methods";
    app.call(Method::GET, path, None, Some(&token), 200).await;
    testkit::deny(&claims).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let body = json!({ "type": "card", "stripePaymentMethodId": "pm_card_visa" });
    let refused = app
        .call(Method::POST, path, Some(&body), Some(&token), 401)
        .await;
    assert_eq!(refused["code"], "INVALID_TOKEN");
}

/// Saves `card` for `token`; the status and the JSON body.
async fn add(app: &TestApp, token: &str, card: &str) -> (u16, serde_json::Value, Option<u64>) {
    let res = app
        .client
        .post(format!("{}/api/payments/methods", app.base))
        .bearer_auth(token)
        .json(&json!({ "type": "card", "stripePaymentMethodId": card }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, res.json().await.unwrap(), retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_keeps_a_bounded_number_of_methods() {
    let app = TestApp::spawn_with(&[
        ("PAYMENTS_MAX_METHODS", "3"),
        ("PAYMENTS_METHOD_ADDS_PER_HOUR", "100"),
    ])
    .await;
    let (_, token) = app.tokens.token(Role::Customer);
    let path = "/api/payments/methods";
    let mut saved = Vec::new();
    for _ in 0..3 {
        saved.push(app.save_card(&token, "pm_card_visa").await);
    }
    let (status, problem, _) = add(&app, &token, "pm_card_mastercard").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("BUSINESS_RULE")),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("at most 3"),
        "{problem}"
    );
    let list = app.call(Method::GET, path, None, Some(&token), 200).await;
    assert_eq!(list["paymentMethods"].as_array().unwrap().len(), 3);

    // Concurrent adds cannot both take the last place.
    app.call(
        Method::DELETE,
        &format!("{path}/{}", saved[0]),
        None,
        Some(&token),
        204,
    )
    .await;
    let (a, b) = tokio::join!(
        add(&app, &token, "pm_card_visa"),
        add(&app, &token, "pm_card_amex")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 422]);
    let list = app.call(Method::GET, path, None, Some(&token), 200).await;
    assert_eq!(list["paymentMethods"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_methods_is_limited_per_hour_refused_ones_included() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tokens.token(Role::Customer);
    // Five attempts an hour by default, whether the provider takes the card or not.
    for card in ["pm_card_unknown", "pm_card_stolen"] {
        assert_eq!(add(&app, &token, card).await.0, 422, "{card}");
    }
    for _ in 0..3 {
        app.save_card(&token, "pm_card_visa").await;
    }
    let (status, problem, retry_after) = add(&app, &token, "pm_card_visa").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("5"),
        "{problem}"
    );
    let retry_after = retry_after.expect("Retry-After");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let list = app
        .call(
            Method::GET,
            "/api/payments/methods",
            None,
            Some(&token),
            200,
        )
        .await;
    assert_eq!(list["paymentMethods"].as_array().unwrap().len(), 3);

    // Another customer has their own allowance.
    let (_, other) = app.tokens.token(Role::Customer);
    app.save_card(&other, "pm_card_visa").await;
}
