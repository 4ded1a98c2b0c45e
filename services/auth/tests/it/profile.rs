use crate::helpers::{PASSWORD, TestApp};
use events::v1;
use serde_json::json;
use testkit::assert_problem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_is_read_and_changed_with_an_event_and_an_audit_entry() {
    let app = TestApp::spawn().await;
    let (id, token, _) = app.customer().await;
    let res = app.get("/api/users/profile", Some(&token)).await;
    assert_eq!(res.status, 200);

    let res = app
        .put(
            "/api/users/profile",
            &json!({ "fullName": "Jamie R. Rivera", "phone": "512.555.0199" }),
            &token,
        )
        .await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = res.json();
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
        .json();
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
    assert_problem!(
        app.put(
            "/api/users/profile",
            &json!({ "email": "Taken@example.com" }),
            &token,
        )
        .await,
        409,
        "EMAIL_TAKEN"
    );
    let problem = assert_problem!(
        app.put("/api/users/profile", &json!({ "phone": "12" }), &token)
            .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(crate::helpers::fields(&problem), ["phone"]);
    let res = app
        .put("/api/users/profile", &json!({ "role": "admin" }), &token)
        .await;
    assert_eq!(res.status, 400, "a customer cannot smuggle in other fields");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_email_takes_the_current_password() {
    let app = TestApp::spawn().await;
    let body = app.register("owner@example.com").await;
    let id = body["user"]["id"].as_str().unwrap();
    let token = body["accessToken"].as_str().unwrap();

    let missing = assert_problem!(
        app.put(
            "/api/users/profile",
            &json!({ "email": "thief@example.com" }),
            token,
        )
        .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(crate::helpers::fields(&missing), ["currentPassword"]);
    assert_problem!(
        app.put(
            "/api/users/profile",
            &json!({ "email": "thief@example.com", "currentPassword": "Wr0ng!Pass" }),
            token,
        )
        .await,
        401,
        "INVALID_CREDENTIALS"
    );

    // Nothing changed, nothing was announced, and the wrong guess is in the audit log.
    let profile: serde_json::Value = app.get("/api/users/profile", Some(token)).await.json();
    assert_eq!(profile["email"], "owner@example.com");
    let admin = app.admin_token().await;
    let audit: serde_json::Value = app
        .get(
            &format!("/api/admin/audit?action=auth.reauthentication_failed&subjectId={id}"),
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(audit["total"], 1);

    // The same email (in any spelling), a name or a phone need no password.
    let res = app
        .put(
            "/api/users/profile",
            &json!({ "email": "Owner@Example.com", "fullName": "Jamie Owner" }),
            token,
        )
        .await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = res.json();
    assert!(body.get("tokens").is_none(), "no new session: {body}");
    assert!(app.tap.named("user.email_changed").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_ends_every_other_session_and_tells_the_old_address() {
    let app = TestApp::spawn().await;
    let first = app.register("before@example.com").await;
    let id = first["user"]["id"].as_str().unwrap().to_owned();
    let (access_a, refresh_a) = (
        first["accessToken"].as_str().unwrap(),
        first["refreshToken"].as_str().unwrap(),
    );
    let second: serde_json::Value = app.login("before@example.com", PASSWORD).await.json();
    let (access_b, refresh_b) = (
        second["accessToken"].as_str().unwrap(),
        second["refreshToken"].as_str().unwrap(),
    );

    let res = app
        .put(
            "/api/users/profile",
            &json!({ "email": "after@example.com", "currentPassword": PASSWORD }),
            access_a,
        )
        .await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = res.json();
    assert_eq!(body["email"], "after@example.com");
    let new_access = body["tokens"]["accessToken"].as_str().unwrap();
    let new_refresh = body["tokens"]["refreshToken"].as_str().unwrap();

    // Every session that existed is over: refresh tokens at once, access tokens as soon as the
    // services' one-second cache of "this token stands" runs out.
    for refresh in [refresh_a, refresh_b] {
        let res = app
            .post(
                "/api/auth/refresh-token",
                &json!({ "refreshToken": refresh }),
                None,
            )
            .await;
        assert_problem!(res, 401, "INVALID_TOKEN");
    }
    for access in [access_a, access_b] {
        testkit::wait_for(
            "an access token from before the change to be refused",
            std::time::Duration::from_secs(5),
            || async { app.get("/api/users/profile", Some(access)).await.status == 401 },
        )
        .await;
    }
    // The caller goes on with the new pair.
    let res = app.get("/api/users/profile", Some(new_access)).await;
    assert_eq!(res.status, 200);
    let res = app
        .post(
            "/api/auth/refresh-token",
            &json!({ "refreshToken": new_refresh }),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(app.login("after@example.com", PASSWORD).await.status, 200);
    assert_problem!(
        app.login("before@example.com", PASSWORD).await,
        401,
        "INVALID_CREDENTIALS"
    );

    // The old address hears of it, and read models get the new state.
    let event: v1::UserEmailChanged = app.tap.first("user.email_changed").await.decode();
    assert_eq!(event.user_id, id);
    assert_eq!(event.previous_email, "before@example.com");
    assert_eq!(event.email, "after@example.com");
    assert_eq!(event.full_name, "Jamie Rivera");
    let updated: v1::UserProfileUpdated = app.tap.first("user.profile_updated").await.decode();
    assert_eq!(updated.changed_fields, ["email"]);
    assert_eq!(event.user.unwrap().version, updated.user.unwrap().version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_and_its_announcement_commit_together() {
    let app = TestApp::spawn().await;
    app.register("taken-later@example.com").await;
    let body = app.register("mover@example.com").await;
    let token = body["accessToken"].as_str().unwrap();
    // Refused for a taken address: no event, no ended sessions.
    let res = app
        .put(
            "/api/users/profile",
            &json!({ "email": "taken-later@example.com", "currentPassword": PASSWORD }),
            token,
        )
        .await;
    assert_problem!(res, 409, "EMAIL_TAKEN");
    let refresh = body["refreshToken"].as_str().unwrap();
    let res = app
        .post(
            "/api/auth/refresh-token",
            &json!({ "refreshToken": refresh }),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "the session survived the refused change");

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    let count: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS n FROM outbox WHERE routing_key = 'user.email_changed'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(count.n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_token_cannot_guess_the_password_through_an_email_change() {
    // Login allows five tries per 15 minutes; re-authentication must not be a faster oracle.
    let app = TestApp::spawn().await;
    let body = app.register("guessed@example.com").await;
    let token = body["accessToken"].as_str().unwrap();
    let change =
        |password: &str| json!({ "email": "thief@example.com", "currentPassword": password });
    for guess in 0..5 {
        let wrong = format!("Wr0ng!Pass{guess}");
        let res = app.put("/api/users/profile", &change(&wrong), token).await;
        assert_problem!(res, 401, "INVALID_CREDENTIALS");
    }
    // The sixth is refused before any check, even with the right password.
    let res = app
        .put("/api/users/profile", &change(PASSWORD), token)
        .await;
    let retry_after: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem!(res, 429, "RATE_LIMITED");
}
