use crate::helpers::{ADMIN_PASSWORD, PASSWORD, TestApp, fields};
use events::v1;
use serde_json::{Value, json};
use testkit::assert_problem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_bootstrapped_once() {
    let app = TestApp::spawn().await;
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(res.status, 200);
    let body: Value = res.json();
    assert_eq!(body["user"]["role"], "admin");
    // A second replica starting with the same settings finds the admin and adds none.
    let _replica = app.replica(&[]).await;
    let admin = app.admin_token().await;
    let admins: Value = app
        .get("/api/admin/users?role=admin", Some(&admin))
        .await
        .json();
    assert_eq!(admins["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_and_search_users() {
    let app = TestApp::spawn().await;
    app.register("alice.search@example.com").await;
    app.register("bob.search@example.com").await;
    let admin = app.admin_token().await;
    let found: Value = app
        .get("/api/admin/users?search=ALICE&limit=10", Some(&admin))
        .await
        .json();
    assert_eq!(found["total"], 1);
    assert_eq!(found["users"][0]["email"], "alice.search@example.com");
    let page: Value = app
        .get("/api/admin/users?role=customer&limit=1", Some(&admin))
        .await
        .json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["hasMore"], true);

    for bad in [
        "limit=-1",
        "limit=100000",
        "offset=abc",
        "role=wizard",
        "status=asleep",
    ] {
        let res = app
            .get(&format!("/api/admin/users?{bad}"), Some(&admin))
            .await;
        assert_problem!(res, 400, "VALIDATION_FAILED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_are_refused_on_every_admin_route() {
    let app = TestApp::spawn().await;
    let (id, customer, _) = app.customer().await;
    for path in [
        "/api/admin/users",
        &format!("/api/admin/users/{id}"),
        "/api/admin/audit",
        "/api/admin/id-verifications",
    ] {
        assert_problem!(app.get(path, Some(&customer)).await, 403, "FORBIDDEN");
        assert_problem!(app.get(path, None).await, 401, "UNAUTHENTICATED");
    }
    let res = app
        .put(
            &format!("/api/admin/users/{id}/role"),
            &json!({ "role": "admin" }),
            &customer,
        )
        .await;
    assert_problem!(res, 403, "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_is_published_and_shows_in_new_tokens() {
    let app = TestApp::spawn().await;
    let body = app.register("driver@example.com").await;
    let id = body["user"]["id"].as_str().unwrap();
    let admin = app.admin_token().await;

    let problem = assert_problem!(
        app.put(
            &format!("/api/admin/users/{id}/role"),
            &json!({ "role": "pilot" }),
            &admin,
        )
        .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["role"]);
    let res = app
        .put(
            &format!("/api/admin/users/{id}/role"),
            &json!({ "role": "driver" }),
            &admin,
        )
        .await;
    assert_eq!(res.status, 200);
    let event: v1::UserRoleChanged = app.tap.first("user.role_changed").await.decode();
    assert_eq!(event.user_id, id);
    assert_eq!(
        (event.previous_role, event.role),
        (v1::Role::Customer as i32, v1::Role::Driver as i32)
    );
    // Tokens issued before the change stop working at once, here and at the gateway (which
    // reads the same version); logging in again right away (the same second, as a new driver
    // would) gives a token that works.
    let redis = platform::redis::pool(&testkit::redis_url(), 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    let key = auth::revocation::token_version_key(uuid::Uuid::parse_str(id).unwrap());
    let standing: Option<u64> = deadpool_redis::redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(standing, Some(1));
    let old = body["accessToken"].as_str().unwrap();
    let refused = app.get("/api/users/profile", Some(old)).await;
    assert_problem!(refused, 401, "INVALID_TOKEN");
    let login: Value = app.login("driver@example.com", PASSWORD).await.json();
    assert_eq!(login["user"]["role"], "driver");
    let fresh = login["accessToken"].as_str().unwrap();
    let profile = app.get("/api/users/profile", Some(fresh)).await;
    assert_eq!(
        profile.status, 200,
        "a token issued just after the change stands"
    );

    let me: Value = app.get("/api/users/profile", Some(&admin)).await.json();
    let own = app
        .put(
            &format!("/api/admin/users/{}/role", me["id"].as_str().unwrap()),
            &json!({ "role": "customer" }),
            &admin,
        )
        .await;
    assert_problem!(own, 409, "CONFLICT");
    assert_eq!(
        app.put(
            "/api/admin/users/00000000-0000-0000-0000-000000000000/role",
            &json!({ "role": "agent" }),
            &admin
        )
        .await
        .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_ends_sessions_and_reactivation_restores_access() {
    let app = TestApp::spawn().await;
    let body = app.register("paused@example.com").await;
    let id = body["user"]["id"].as_str().unwrap();
    let refresh = body["refreshToken"].as_str().unwrap();
    let admin = app.admin_token().await;

    let problem = assert_problem!(
        app.post(
            &format!("/api/admin/users/{id}/suspend"),
            &json!({}),
            Some(&admin),
        )
        .await,
        400,
        "VALIDATION_FAILED"
    );
    assert_eq!(fields(&problem), ["reason"]);
    let res = app
        .post(
            &format!("/api/admin/users/{id}/suspend"),
            &json!({ "reason": "chargeback" }),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200);
    let event: v1::UserStatusChanged = app.tap.first("user.status_changed").await.decode();
    assert_eq!(event.status, v1::AccountStatus::Suspended as i32);
    assert_eq!(event.reason, "chargeback");
    let res = app
        .post(
            "/api/auth/refresh-token",
            &json!({ "refreshToken": refresh }),
            None,
        )
        .await;
    assert_eq!(res.status, 401, "sessions ended");

    let res = app
        .post(
            &format!("/api/admin/users/{id}/reactivate"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(app.login("paused@example.com", PASSWORD).await.status, 200);
    let event: v1::UserStatusChanged = app.tap.nth("user.status_changed", 2).await.decode();
    assert_eq!(event.status, v1::AccountStatus::Active as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_read_one_user_and_the_service_reports_its_health() {
    let app = TestApp::spawn().await;
    let (id, _, _) = app.customer().await;
    let admin = app.admin_token().await;
    let user: Value = app
        .get(&format!("/api/admin/users/{id}"), Some(&admin))
        .await
        .json();
    assert_eq!(user["id"], id.as_str());
    assert_eq!(user["role"], "customer");
    let missing = app
        .get(
            &format!("/api/admin/users/{}", uuid::Uuid::now_v7()),
            Some(&admin),
        )
        .await;
    assert_problem!(missing, 404, "NOT_FOUND");
    let bad = app.get("/api/admin/users/not-a-uuid", Some(&admin)).await;
    assert_eq!(bad.status, 400);

    let health: Value = app.get("/health", None).await.json();
    assert_eq!(health["status"], "healthy");
    for check in ["database", "redis", "rabbitmq"] {
        assert_eq!(health["checks"][check]["status"], "healthy", "{check}");
    }
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains("route=\"/api/admin/users/{id}\""),
        "{metrics}"
    );
}
