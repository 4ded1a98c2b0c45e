use crate::helpers::TestApp;
use deadpool_redis::redis;
use serde_json::json;
use testkit::TestResponse;
use testkit::assert_problem;

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    app.post(
        "/api/auth/refresh-token",
        &json!({ "refreshToken": token }),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let (_, _, first) = app.customer().await;

    let res = refresh(&app, &first).await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = res.json();
    let second = body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(
        app.get("/api/users/profile", Some(access)).await.status,
        200
    );

    // The first token again: somebody else has it. The family dies, including `second`.
    assert_problem!(refresh(&app, &first).await, 401, "INVALID_TOKEN");
    assert_problem!(refresh(&app, &second).await, 401, "INVALID_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_missing_or_expired_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    assert_problem!(refresh(&app, "made-up").await, 401, "INVALID_TOKEN");
    let problem = assert_problem!(
        app.post("/api/auth/refresh-token", &json!({}), None).await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(crate::helpers::fields(&problem), ["refreshToken"]);

    let (_, _, token) = app.customer().await;
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_problem!(refresh(&app, &token).await, 401, "INVALID_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_family_and_denies_the_access_token() {
    let app = TestApp::spawn().await;
    let (_, access, refresh_token) = app.customer().await;

    assert_problem!(
        app.post("/api/auth/logout", &json!({}), None).await,
        401,
        "UNAUTHENTICATED"
    );
    let res = app
        .post(
            "/api/auth/logout",
            &json!({ "refreshToken": refresh_token }),
            Some(&access),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_problem!(refresh(&app, &refresh_token).await, 401, "INVALID_TOKEN");

    // The gateway refuses a denied jti; the entry lives exactly as long as the token would.
    let claims = testkit_claims(&access);
    let redis = platform::redis::pool(&testkit::redis_url(), 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(auth::revocation::denylist_key(claims))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((850..=900).contains(&ttl), "ttl {ttl}");
}

/// The `jti` of an access token, read without verifying (the test just issued it).
fn testkit_claims(token: &str) -> uuid::Uuid {
    use base64::Engine;
    let body = token.split('.').nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    uuid::Uuid::parse_str(json["jti"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_absent_token_is_401_problem_json() {
    let app = TestApp::spawn().await;
    assert_problem!(
        app.get("/api/users/profile", None).await,
        401,
        "UNAUTHENTICATED"
    );
    assert_problem!(
        app.get("/api/users/profile", Some("not.a.token")).await,
        401,
        "INVALID_TOKEN"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_logout_body_is_400_and_revokes_nothing_silently() {
    let app = TestApp::spawn().await;
    let (_, access, refresh_token) = app.customer().await;
    let res = app
        .post(
            "/api/auth/logout",
            &json!({ "refreshToken": 123 }),
            Some(&access),
        )
        .await;
    assert_problem!(res, 400, "MALFORMED_JSON");
    assert_eq!(
        refresh(&app, &refresh_token).await.status,
        200,
        "the session is still there"
    );
    // No body at all: only the access token is denied.
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}
