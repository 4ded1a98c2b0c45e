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

/// The user fields the guide's clients read, in every answer that carries the user: register,
/// login and `GET /api/users/profile` (the guide's requests as it writes them). `lastLoginAt`
/// is null until the first login and moves with each; `rewardsBalance` follows payments'
/// `rewards.changed`, never back to an older ledger entry's balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_carries_the_guides_fields_everywhere() {
    let app = TestApp::spawn().await;
    let email = format!("guide-{}@example.com", uuid::Uuid::new_v4().simple());
    // POST /api/auth/register {fullName, email, password, phone, dateOfBirth}
    let registered = app.register(&email).await;
    let user = &registered["user"];
    assert_eq!(user["idVerified"], false);
    assert_eq!(user["accountStatus"], "active");
    assert_eq!(user["status"], "active", "today's field stays");
    assert_eq!(user["rewardsBalance"], 0);
    assert!(user["lastLoginAt"].is_null(), "no login yet: {user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let token = registered["accessToken"].as_str().unwrap().to_owned();

    // GET /api/users/profile with Authorization: Bearer {token}
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["idVerified"], false);
    assert_eq!(profile["accountStatus"], "active");
    assert_eq!(profile["rewardsBalance"], 0);
    assert!(profile["lastLoginAt"].is_null());

    // POST /api/auth/login {email, password}
    let before = chrono::Utc::now();
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let login = login.json();
    let first: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(login["user"]["lastLoginAt"].clone()).unwrap();
    assert!(
        first >= before - chrono::TimeDelta::seconds(1),
        "{first} vs {before}"
    );
    assert_eq!(login["user"]["accountStatus"], "active");
    assert_eq!(login["user"]["idVerified"], false);
    assert_eq!(login["user"]["rewardsBalance"], 0);
    let token = login["accessToken"].as_str().unwrap().to_owned();
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["lastLoginAt"], login["user"]["lastLoginAt"]);
    assert_eq!(
        profile["updatedAt"], registered["user"]["updatedAt"],
        "a login is not a change of the account"
    );
    let again = app.login(&email, PASSWORD).await.json();
    let second: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(again["user"]["lastLoginAt"].clone()).unwrap();
    assert!(second > first);
    assert_eq!(app.login(&email, "Wr0ng!Password").await.status, 401);
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(
        profile["lastLoginAt"], again["user"]["lastLoginAt"],
        "a failed login is not one"
    );

    // Payments' ledger: entry 2 (145 coins) arrives before entry 1 (45 coins), as a retry or
    // a replay can have it; the balance stays 145.
    let changed = |sequence: i64, balance: i64| v1::RewardsChanged {
        user_id: id.clone(),
        transaction_id: uuid::Uuid::now_v7().to_string(),
        sequence,
        kind: v1::RewardsChangeKind::Earned as i32,
        points_delta: 45,
        balance_points: balance,
        order_id: uuid::Uuid::now_v7().to_string(),
        description: "Purchase reward".into(),
        actor_id: String::new(),
        occurred_at: Some(events::timestamp(chrono::Utc::now())),
    };
    let queue = auth::events::REWARDS_QUEUE;
    let newer = app.publish(queue, &changed(2, 145)).await;
    app.wait_processed(queue, newer).await;
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["rewardsBalance"], 145);
    let older = app.publish(queue, &changed(1, 45)).await;
    app.wait_processed(queue, older).await;
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["rewardsBalance"], 145, "the older entry is ignored");
    let login = app.login(&email, PASSWORD).await.json();
    assert_eq!(login["user"]["rewardsBalance"], 145);
    let next = app.publish(queue, &changed(3, 190)).await;
    app.wait_processed(queue, next).await;
    let profile = app.get("/api/users/profile", Some(&token)).await.json();
    assert_eq!(profile["rewardsBalance"], 190);
    assert_eq!(
        profile["updatedAt"], registered["user"]["updatedAt"],
        "nor is a balance"
    );

    // A suspension shows as `accountStatus` (admins read the same user).
    let admin = app.admin_token().await;
    let res = app
        .post(
            &format!("/api/admin/users/{id}/suspend"),
            &json!({ "reason": "checking accountStatus" }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let listed = app
        .get(&format!("/api/admin/users/{id}"), Some(&admin))
        .await
        .json();
    assert_eq!(listed["accountStatus"], "suspended");
    assert_eq!(listed["status"], "suspended");
    assert_eq!(listed["rewardsBalance"], 190);
}
