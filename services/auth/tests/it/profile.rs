use crate::helpers::{TestApp, assert_problem};
use events::v1;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_is_read_and_changed_with_an_event_and_an_audit_entry() {
    let app = TestApp::spawn().await;
    let (id, token, _) = app.customer().await;
    let res = app.get("/api/users/profile", Some(&token)).await;
    assert_eq!(res.status(), 200);

    let res = app
        .put(
            "/api/users/profile",
            &json!({ "fullName": "Jamie R. Rivera", "phone": "512.555.0199" }),
            &token,
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["fullName"], "Jamie R. Rivera");
    assert_eq!(body["phone"], "+15125550199");

    let event: v1::UserProfileUpdated = app.tap.first("user.profile_updated").await.decode();
    assert_eq!(event.user_id, id);
    assert_eq!(event.changed_fields, ["fullName", "phone"]);
    assert_eq!(event.user.unwrap().version, 2);

    let admin = app.admin_token().await;
    let audit: serde_json::Value = app
        .get(
            &format!("/api/admin/audit?action=user.profile_updated&subjectId={id}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1);
    assert_eq!(
        audit["entries"][0]["details"]["before"]["fullName"],
        "Jamie Rivera"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_email_or_bad_input_is_refused() {
    let app = TestApp::spawn().await;
    app.register("taken@example.com").await;
    let (_, token, _) = app.customer().await;
    assert_problem(
        app.put(
            "/api/users/profile",
            &json!({ "email": "Taken@example.com" }),
            &token,
        )
        .await,
        409,
        "EMAIL_TAKEN",
    )
    .await;
    let problem = assert_problem(
        app.put("/api/users/profile", &json!({ "phone": "12" }), &token)
            .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(crate::helpers::fields(&problem), ["phone"]);
    let res = app
        .put("/api/users/profile", &json!({ "role": "admin" }), &token)
        .await;
    assert_eq!(
        res.status(),
        400,
        "a customer cannot smuggle in other fields"
    );
}
