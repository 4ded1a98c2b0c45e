//! The FS Coin ledger: balance, value, history, admin adjustments, never below zero.

use crate::helpers::TestApp;
use domain::Role;
use events::v1;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_move_the_balance_and_are_announced_and_audited() {
    let app = TestApp::spawn().await;
    let (user, token) = app.tokens.token(Role::Customer);
    let user = user.into_inner();
    let rewards = app
        .call(Method::GET, "/api/users/rewards", None, Some(&token), 200)
        .await;
    assert_eq!(
        (rewards["balance"].clone(), rewards["value"].clone()),
        (json!(0), json!("0.00"))
    );
    assert_eq!(rewards["pointsPerDollar"], 100);

    let path = format!("/api/admin/rewards/{user}/adjustments");
    let entry = app
        .call(
            Method::POST,
            &path,
            Some(&json!({ "points": 1250, "reason": "Welcome bonus" })),
            Some(&app.admin),
            201,
        )
        .await;
    assert_eq!(
        (
            entry["type"].clone(),
            entry["amount"].clone(),
            entry["balanceAfter"].clone()
        ),
        (json!("adjusted"), json!(1250), json!(1250))
    );
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "points": -250, "reason": "Correction" })),
        Some(&app.admin),
        201,
    )
    .await;
    let problem = app
        .call(
            Method::POST,
            &path,
            Some(&json!({ "points": -1001, "reason": "Too much" })),
            Some(&app.admin),
            422,
        )
        .await;
    assert_eq!(problem["code"], "BUSINESS_RULE");

    let rewards = app
        .call(
            Method::GET,
            "/api/users/rewards?limit=1",
            None,
            Some(&token),
            200,
        )
        .await;
    assert_eq!(
        (rewards["balance"].clone(), rewards["value"].clone()),
        (json!(1000), json!("10.00"))
    );
    assert_eq!(
        (rewards["total"].clone(), rewards["hasMore"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(rewards["transactions"][0]["description"], "Correction");

    let changed: v1::RewardsChanged = app
        .tap
        .find("rewards.changed", |e: &v1::RewardsChanged| e.sequence == 2)
        .await;
    assert_eq!((changed.points_delta, changed.balance_points), (-250, 1000));
    assert_eq!(changed.kind, v1::RewardsChangeKind::Adjusted as i32);
    let audit: v1::AuditRecorded = app
        .tap
        .find("audit.recorded", |e: &v1::AuditRecorded| {
            e.action == "rewards.adjusted"
        })
        .await;
    assert_eq!(audit.subject_id, user.to_string());
    assert_eq!(audit.service, "payments");

    // Only admins adjust; bad input is named.
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "points": 5, "reason": "Nice" })),
        Some(&token),
        403,
    )
    .await;
    let problem = app
        .call(
            Method::POST,
            &path,
            Some(&json!({ "points": 0 })),
            Some(&app.admin),
            400,
        )
        .await;
    let fields: Vec<Value> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("points"), json!("reason")]);
    app.call(
        Method::GET,
        "/api/users/rewards?limit=500",
        None,
        Some(&token),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_debits_that_together_exceed_the_balance_cannot_all_pass() {
    let app = TestApp::spawn().await;
    let (user, token) = app.tokens.token(Role::Customer);
    let path = format!("/api/admin/rewards/{}/adjustments", user.into_inner());
    app.call(
        Method::POST,
        &path,
        Some(&json!({ "points": 100, "reason": "Start" })),
        Some(&app.admin),
        201,
    )
    .await;
    let attempts = (0..8).map(|_| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        let admin = app.admin.clone();
        async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "points": -60, "reason": "Spend" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        7,
        "{statuses:?}"
    );
    let rewards = app
        .call(Method::GET, "/api/users/rewards", None, Some(&token), 200)
        .await;
    assert_eq!(rewards["balance"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adjustment_of_the_smallest_64_bit_number_is_refused_as_invalid() {
    // Found by the gateway's contract test: `abs()` of it overflowed and killed the request.
    let app = TestApp::spawn().await;
    let (user, _) = app.tokens.token(Role::Customer);
    let path = format!("/api/admin/rewards/{}/adjustments", user.into_inner());
    let body = app
        .call(
            Method::POST,
            &path,
            Some(&json!({ "points": i64::MIN, "reason": "Overflow" })),
            Some(&app.admin),
            400,
        )
        .await;
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert_eq!(body["errors"][0]["field"], "points");
}
