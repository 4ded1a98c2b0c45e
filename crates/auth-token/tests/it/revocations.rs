//! The extractors refuse tokens auth revoked, read from the real Redis; when Redis cannot be
//! read (stopped, or too slow), reads pass and requests that change something or reach staff
//! routes are refused with 503.

use crate::{claims, settings, signer};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, test, web};
use auth_token::revocation::{denylist_key, token_version_key};
use auth_token::{Admin, AuthUser, Authenticated, Claims, RevocationCheck, Signer, Verifier};
use deadpool_redis::redis::{self, AsyncCommands};
use domain::Role;
use std::time::Duration;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn app(
    key: &Signer,
    check: RevocationCheck,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    let verifier = Verifier::from_signers(&settings(), [key]).with_revocations(check);
    test::init_service(
        App::new()
            .app_data(web::Data::new(verifier))
            .route("/me", web::get().to(|_: AuthUser| async { "read" }))
            .route("/me", web::post().to(|_: AuthUser| async { "changed" }))
            .route(
                "/api/admin/users",
                web::get().to(|_: Authenticated<Admin>| async { "staff" }),
            ),
    )
    .await
}

async fn status(
    app: &impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    request: test::TestRequest,
    token: &str,
) -> (u16, Option<String>) {
    let request = request
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let response = test::call_service(app, request).await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_logged_out_token_is_refused_and_others_pass() {
    let key = signer("k1");
    let app = app(&key, RevocationCheck::new(&redis_url()).unwrap()).await;
    let (out, kept) = (claims(), claims());
    let _: () = redis()
        .await
        .set_ex(denylist_key(out.jti), 1, 60)
        .await
        .unwrap();
    let get = || test::TestRequest::get().uri("/me");
    assert_eq!(status(&app, get(), &key.sign(&out).unwrap()).await.0, 401);
    assert_eq!(status(&app, get(), &key.sign(&kept).unwrap()).await.0, 200);
}

#[actix_web::test]
async fn tokens_below_the_users_version_are_refused_and_a_new_one_passes() {
    let key = signer("k1");
    let app = app(&key, RevocationCheck::new(&redis_url()).unwrap()).await;
    let before = claims();
    let _: () = redis()
        .await
        .set_ex(token_version_key(before.sub), 1, 60)
        .await
        .unwrap();
    // Issued the same second, after the change: only the version tells them apart.
    let after = Claims {
        jti: uuid::Uuid::now_v7(),
        ..before.clone()
    }
    .with_version(1);
    let get = || test::TestRequest::get().uri("/me");
    assert_eq!(
        status(&app, get(), &key.sign(&before).unwrap()).await.0,
        401
    );
    assert_eq!(status(&app, get(), &key.sign(&after).unwrap()).await.0, 200);
}

#[actix_web::test]
async fn a_standing_answer_is_trusted_only_briefly() {
    let key = signer("k1");
    let check = RevocationCheck::new(&redis_url())
        .unwrap()
        .with_fresh_for(Duration::from_millis(200));
    let app = app(&key, check).await;
    let claims = claims();
    let token = key.sign(&claims).unwrap();
    let get = || test::TestRequest::get().uri("/me");
    assert_eq!(status(&app, get(), &token).await.0, 200);
    let _: () = redis()
        .await
        .set_ex(denylist_key(claims.jti), 1, 60)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(status(&app, get(), &token).await.0, 401);
}

/// Reads pass; changes, staff routes and staff tokens are refused until Redis answers.
async fn assert_fails_safe(check: RevocationCheck) {
    let key = signer("k1");
    let app = app(&key, check).await;
    let customer = key.sign(&claims()).unwrap();
    let mut admin = claims();
    admin.role = Role::Admin;
    let admin = key.sign(&admin).unwrap();

    let get = || test::TestRequest::get().uri("/me");
    assert_eq!(status(&app, get(), &customer).await, (200, None));
    let unavailable = (503, Some("5".to_owned()));
    let post = test::TestRequest::post().uri("/me");
    assert_eq!(status(&app, post, &customer).await, unavailable);
    let staff_route = test::TestRequest::get().uri("/api/admin/users");
    assert_eq!(status(&app, staff_route, &admin).await, unavailable);
    assert_eq!(status(&app, get(), &admin).await, unavailable);
}

#[actix_web::test]
async fn with_redis_stopped_reads_pass_and_the_rest_is_refused() {
    // Nothing listens on the port: what a stopped Redis looks like to a client.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let check = RevocationCheck::new(&format!("redis://127.0.0.1:{port}")).unwrap();
    assert_fails_safe(check).await;
}

#[actix_web::test]
async fn a_redis_that_does_not_answer_in_time_counts_as_unreadable() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let check = RevocationCheck::new(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    assert_fails_safe(check).await;
    held.abort();
}
