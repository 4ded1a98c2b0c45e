use crate::helpers::{PASSWORD, TestApp, assert_problem};
use events::v1;
use serde_json::json;

const NEW_PASSWORD: &str = "N3w!Passw0rd";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_is_202_for_anyone_but_mails_only_real_accounts() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": "ghost@example.com" }),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);
    let body = app.register("real@example.com").await;
    let res = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": "real@example.com" }),
            None,
        )
        .await;
    assert_eq!(res.status(), 202);

    let event: v1::UserPasswordResetRequested = app
        .tap
        .first("user.password_reset_requested")
        .await
        .decode();
    assert_eq!(event.email, "real@example.com");
    assert_eq!(event.user_id, body["user"]["id"].as_str().unwrap());
    assert_eq!(event.reset_token.len(), 43);
    let expires = event.expires_at.unwrap().seconds - chrono::Utc::now().timestamp();
    assert!((3590..=3600).contains(&expires), "one hour, got {expires}s");
    assert_eq!(
        app.tap.named("user.password_reset_requested").len(),
        1,
        "nothing for the unknown email"
    );
}

async fn reset_token(app: &TestApp, email: &str, nth: usize) -> String {
    app.post(
        "/api/auth/forgot-password",
        &json!({ "email": email }),
        None,
    )
    .await;
    let event: v1::UserPasswordResetRequested = app
        .tap
        .nth("user.password_reset_requested", nth)
        .await
        .decode();
    event.reset_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_sets_the_password_ends_every_session_and_is_single_use() {
    let app = TestApp::spawn().await;
    let body = app.register("reset@example.com").await;
    let old_refresh = body["refreshToken"].as_str().unwrap();
    let token = reset_token(&app, "reset@example.com", 1).await;

    let res = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.login("reset@example.com", NEW_PASSWORD).await.status(),
        200
    );
    assert_problem(
        app.login("reset@example.com", PASSWORD).await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    let res = app
        .post(
            "/api/auth/refresh-token",
            &json!({ "refreshToken": old_refresh }),
            None,
        )
        .await;
    assert_problem(res, 401, "INVALID_TOKEN").await;

    let again = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": "An0ther!Pass" }),
            None,
        )
        .await;
    assert_problem(again, 400, "RESET_TOKEN_INVALID").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unknown_token_or_weak_password_is_refused() {
    let app = TestApp::spawn().await;
    app.register("expired@example.com").await;
    let token = reset_token(&app, "expired@example.com", 1).await;

    let weak = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": "weak" }),
            None,
        )
        .await;
    let problem = assert_problem(weak, 400, "VALIDATION_FAILED").await;
    assert_eq!(crate::helpers::fields(&problem)[0], "password");

    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE password_resets SET expires_at = now() - interval '1 second'"),
        &mut conn,
    )
    .await
    .unwrap();
    let expired = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_problem(expired, 400, "RESET_TOKEN_INVALID").await;
    let unknown = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": "nope", "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_problem(unknown, 400, "RESET_TOKEN_INVALID").await;
}
