use crate::helpers::{PASSWORD, TestApp};
use events::sealed::OpeningKey;
use events::v1;
use serde_json::json;
use testkit::assert_problem;

const NEW_PASSWORD: &str = "N3w!Passw0rd";

/// An address no other test or earlier run used: reset requests are counted per address in
/// the shared Redis for an hour.
fn unique(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_is_202_for_anyone_but_mails_only_real_accounts() {
    let app = TestApp::spawn().await;
    let real = unique("real");
    let res = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": unique("ghost") }),
            None,
        )
        .await;
    assert_eq!(res.status, 202);
    let body = app.register(&real).await;
    let res = app
        .post("/api/auth/forgot-password", &json!({ "email": real }), None)
        .await;
    assert_eq!(res.status, 202);

    let event: v1::UserPasswordResetRequested = app
        .tap
        .first("user.password_reset_requested")
        .await
        .decode();
    assert_eq!(event.email, real);
    assert_eq!(event.user_id, body["user"]["id"].as_str().unwrap());
    assert_eq!(open(&event, &dev_key()).len(), 43);
    let expires = event.expires_at.unwrap().seconds - chrono::Utc::now().timestamp();
    assert!((3590..=3600).contains(&expires), "one hour, got {expires}s");
    assert_eq!(
        app.tap.named("user.password_reset_requested").len(),
        1,
        "nothing for the unknown email"
    );
}

/// The development key's secret half, which opens what a test app (`APP_ENV=test`, default
/// key) seals.
fn dev_key() -> OpeningKey {
    OpeningKey::parse(events::sealed::DEV_SECRET_KEY).unwrap()
}

/// The reset token of `event`, as notification will read it.
fn open(event: &v1::UserPasswordResetRequested, key: &OpeningKey) -> String {
    String::from_utf8(key.open(&event.sealed_reset_token).unwrap()).unwrap()
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
    open(&event, &dev_key())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_sets_the_password_ends_every_session_and_is_single_use() {
    let app = TestApp::spawn().await;
    let email = unique("reset");
    let body = app.register(&email).await;
    let old_refresh = body["refreshToken"].as_str().unwrap();
    let token = reset_token(&app, &email, 1).await;

    let res = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
    assert_problem!(
        app.login(&email, PASSWORD).await,
        401,
        "INVALID_CREDENTIALS"
    );
    let res = app
        .post(
            "/api/auth/refresh-token",
            &json!({ "refreshToken": old_refresh }),
            None,
        )
        .await;
    assert_problem!(res, 401, "INVALID_TOKEN");

    let again = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": "An0ther!Pass" }),
            None,
        )
        .await;
    assert_problem!(again, 400, "RESET_TOKEN_INVALID");
}

/// The guide's request, `{token, newPassword}`, resets like ours (`password`); both together
/// only when they agree, and one of them is required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_new_password_field_resets_the_password() {
    let app = TestApp::spawn().await;
    let email = unique("guide");
    app.register(&email).await;
    let token = reset_token(&app, &email, 1).await;

    let both_differ = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": NEW_PASSWORD, "password": "An0ther!Pass" }),
            None,
        )
        .await;
    let problem = assert_problem!(both_differ, 400, "VALIDATION_FAILED");
    assert_eq!(crate::helpers::fields(&problem), ["newPassword"]);
    let neither = app
        .post("/api/auth/reset-password", &json!({ "token": token }), None)
        .await;
    let problem = assert_problem!(neither, 400, "VALIDATION_FAILED");
    assert_eq!(crate::helpers::fields(&problem), ["newPassword"]);
    let weak = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": "weak" }),
            None,
        )
        .await;
    let problem = assert_problem!(weak, 400, "VALIDATION_FAILED");
    assert_eq!(crate::helpers::fields(&problem)[0], "newPassword");

    // The guide's exact body: `{"token": "string", "newPassword": "string"}`.
    let res = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
    assert_problem!(
        app.login(&email, PASSWORD).await,
        401,
        "INVALID_CREDENTIALS"
    );

    // Both names with the same value are one password.
    let token = reset_token(&app, &email, 2).await;
    let res = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "newPassword": PASSWORD, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unknown_token_or_weak_password_is_refused() {
    let app = TestApp::spawn().await;
    let email = unique("expired");
    app.register(&email).await;
    let token = reset_token(&app, &email, 1).await;

    let weak = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": "weak" }),
            None,
        )
        .await;
    let problem = assert_problem!(weak, 400, "VALIDATION_FAILED");
    assert_eq!(crate::helpers::fields(&problem)[0], "password");

    let mut conn = app.db.conn().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap();
    let expired = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_problem!(expired, 400, "RESET_TOKEN_INVALID");
    let unknown = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": "nope", "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_problem!(unknown, 400, "RESET_TOKEN_INVALID");
}

/// Every column of the outbox rows of `routing_key`, as bytes.
#[derive(diesel::QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    row: Vec<u8>,
}

async fn outbox_rows(app: &TestApp, routing_key: &str) -> Vec<Vec<u8>> {
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "SELECT convert_to(o::text, 'UTF8') || o.payload AS row FROM outbox o WHERE routing_key = $1",
    )
    .bind::<diesel::sql_types::Text, _>(routing_key)
    .load::<OutboxRow>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.row)
    .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_token_travels_sealed_so_only_notification_can_use_it() {
    let notification = OpeningKey::generate();
    let public = notification.sealing_key().to_base64();
    let app = TestApp::spawn_with(&[("NOTIFICATION_SEAL_PUBLIC_KEY", &public)]).await;
    let email = unique("sealed");
    app.register(&email).await;
    let res = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": email }),
            None,
        )
        .await;
    assert_eq!(res.status, 202);

    let tapped = app.tap.first("user.password_reset_requested").await;
    let event: v1::UserPasswordResetRequested = tapped.decode();
    #[expect(deprecated, reason = "the clear field must stay empty")]
    let clear = &event.reset_token;
    assert!(clear.is_empty(), "the clear field is not filled");
    assert!(
        dev_key().open(&event.sealed_reset_token).is_err(),
        "sealed to the configured key, not the development one"
    );
    let token = open(&event, &notification);
    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &token).unwrap();

    // Neither the message nor the outbox row holds the token, in text or in its raw bytes.
    let rows = outbox_rows(&app, "user.password_reset_requested").await;
    assert_eq!(rows.len(), 1);
    for bytes in [&tapped.payload, &rows[0]] {
        assert!(!contains(bytes, token.as_bytes()), "the token in clear");
        assert!(!contains(bytes, &raw), "the token's bytes");
    }

    // What notification opens is the token that resets the password.
    let res = app
        .post(
            "/api/auth/reset-password",
            &json!({ "token": token, "password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_sends_at_most_three_emails_per_address_an_hour() {
    let app = TestApp::spawn().await;
    let email = unique("bombed");
    let other = unique("other");
    app.register(&email).await;
    app.register(&other).await;
    // Every spelling of the address counts towards the same limit.
    let spellings = [
        email.clone(),
        email.to_uppercase(),
        format!("  {email} "),
        email.clone(),
        email.clone(),
    ];
    for spelling in &spellings {
        let res = app
            .post(
                "/api/auth/forgot-password",
                &json!({ "email": spelling }),
                None,
            )
            .await;
        assert_eq!(res.status, 202, "the same answer past the limit");
        let body: serde_json::Value = res.json();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("If an account exists")
        );
    }
    let res = app
        .post(
            "/api/auth/forgot-password",
            &json!({ "email": other }),
            None,
        )
        .await;
    assert_eq!(res.status, 202);

    // Each request commits before it is answered, so the rows are all there.
    assert_eq!(
        outbox_rows(&app, "user.password_reset_requested")
            .await
            .len(),
        4,
        "three for the address, one for the other"
    );
    app.tap.nth("user.password_reset_requested", 4).await;
    let events: Vec<v1::UserPasswordResetRequested> = app
        .tap
        .named("user.password_reset_requested")
        .iter()
        .map(|e| e.decode())
        .collect();
    assert_eq!(events.iter().filter(|e| e.email == email).count(), 3);
    assert_eq!(events.iter().filter(|e| e.email == other).count(), 1);

    // The counter is kept under a hash of the address, never the address itself.
    let mut redis = redis::Client::open(testkit::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = auth::limits::key(&domain::Email::parse(&email).unwrap());
    let count: u64 = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(count, 5);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((3590..=3600).contains(&ttl), "one hour, got {ttl}s");
    assert!(!key.contains(&email));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_checks_the_token_before_it_hashes_anything() {
    // One hashing slot and no waiting: a request that hashed while another holds the slot
    // would be refused 503.
    let app = TestApp::spawn_with(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_WAIT_MS", "0"),
    ])
    .await;
    let email = unique("slots");
    app.register(&email).await;

    let send = |body: serde_json::Value, path: &'static str| {
        let client = app.client.clone();
        let url = app.url(path);
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
    };
    // The set-up can refuse: concurrent logins, which must hash, do get 503s.
    let logins: Vec<_> = (0..50)
        .map(|_| {
            send(
                json!({ "email": email, "password": PASSWORD }),
                "/api/auth/login",
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for login in logins {
        statuses.push(login.await.unwrap().as_u16());
    }
    assert!(statuses.contains(&503), "one slot, no wait: {statuses:?}");

    let resets: Vec<_> = (0..30)
        .map(|i| {
            send(
                json!({ "token": format!("made-up-{i}"), "password": NEW_PASSWORD }),
                "/api/auth/reset-password",
            )
        })
        .collect();
    for reset in resets {
        assert_eq!(
            reset.await.unwrap(),
            400,
            "refused for the token, never for a slot"
        );
    }
}
