use crate::helpers::{PASSWORD, TestApp};
use serde_json::json;
use testkit::assert_problem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_succeeds_with_the_right_password_and_is_audited() {
    let app = TestApp::spawn().await;
    app.register("login@example.com").await;
    let res = app.login("LOGIN@example.com", PASSWORD).await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = res.json();
    assert!(body["accessToken"].is_string() && body["refreshToken"].is_string());
    assert_eq!(body["user"]["email"], "login@example.com");

    let admin = app.admin_token().await;
    let audit: serde_json::Value = app
        .get("/api/admin/audit?action=auth.login_succeeded", Some(&admin))
        .await
        .json();
    let subjects: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subjectId"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&body["user"]["id"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("known@example.com").await;
    let wrong = assert_problem!(
        app.login("known@example.com", "Wr0ng!Pass").await,
        401,
        "INVALID_CREDENTIALS"
    );
    let unknown = assert_problem!(
        app.login("nobody@example.com", PASSWORD).await,
        401,
        "INVALID_CREDENTIALS"
    );
    assert_eq!(wrong, unknown, "nothing tells the two apart");

    let admin = app.admin_token().await;
    let audit: serde_json::Value = app
        .get("/api/admin/audit?action=auth.login_failed", Some(&admin))
        .await
        .json();
    assert_eq!(audit["total"], 2, "both failures are audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_are_400() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/auth/login",
            &json!({ "email": "a@example.com" }),
            None,
        )
        .await;
    let problem = assert_problem!(res, 400, "VALIDATION_FAILED");
    assert_eq!(crate::helpers::fields(&problem), ["password"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_account_cannot_log_in() {
    let app = TestApp::spawn().await;
    let body = app.register("suspended@example.com").await;
    let id = body["user"]["id"].as_str().unwrap();
    let admin = app.admin_token().await;
    let res = app
        .post(
            &format!("/api/admin/users/{id}/suspend"),
            &json!({ "reason": "fraud investigation" }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_problem!(
        app.login("suspended@example.com", PASSWORD).await,
        403,
        "ACCOUNT_SUSPENDED"
    );
    // A wrong password still says only "invalid credentials": suspension is not revealed to
    // someone who does not know the password.
    assert_problem!(
        app.login("suspended@example.com", "Wr0ng!Pass").await,
        401,
        "INVALID_CREDENTIALS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn something_that_is_not_an_email_is_an_unknown_email_not_a_500() {
    let app = TestApp::spawn().await;
    for email in ["a\u{0}b@example.com", "not an email", ""] {
        let res = app.login(email, PASSWORD).await;
        assert_problem!(res, 401, "INVALID_CREDENTIALS");
    }
}
