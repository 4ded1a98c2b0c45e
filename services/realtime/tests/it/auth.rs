//! Authentication at CONNECT, the rooms a socket joins, and sockets closed when their token
//! stops being valid.

use crate::helpers::{Client, TestApp};
use auth_token::revocation::{CHANNEL, Notice};
use domain::{Role, UserId};
use serde_json::{Value, json};
use std::time::Duration;

async fn refused(app: &TestApp, auth: Value) -> Value {
    match Client::connect(&app.ws_url(), auth).await {
        Ok(_) => panic!("connected"),
        Err(refusal) => refusal,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_connects_and_bad_ones_are_refused_with_a_showable_message() {
    let app = TestApp::spawn().await;
    let (_, token) = app.token(Role::Customer);
    app.connect(&token).await;

    let missing = refused(&app, json!({})).await;
    assert_eq!(missing["data"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        missing["message"],
        "Sign in first: send your access token as auth.token."
    );
    let garbage = refused(&app, json!({"token": "not.a.token"})).await;
    assert_eq!(garbage["data"]["code"], "INVALID_TOKEN");
    assert_eq!(
        garbage["message"],
        "Your session is not valid; sign in again."
    );
    // Signed by another key.
    let (_, foreign) = testkit::TestTokens::new().token(Role::Customer);
    assert_eq!(
        refused(&app, json!({"token": foreign})).await["data"]["code"],
        "INVALID_TOKEN"
    );
    // Expired (past the verifier's 5 s of leeway).
    let mut claims = app.tokens.claims(UserId::new(), Role::Customer, true);
    claims.iat -= 3600;
    claims.nbf = Some(claims.iat);
    claims.exp = chrono::Utc::now().timestamp() - 60;
    let expired = refused(&app, json!({"token": app.tokens.sign(&claims)})).await;
    assert_eq!(expired["data"]["code"], "TOKEN_EXPIRED");
    assert_eq!(
        expired["message"],
        "Your session has expired; sign in again."
    );

    let metrics = app.metrics().await;
    for code in ["UNAUTHENTICATED", "INVALID_TOKEN", "TOKEN_EXPIRED"] {
        assert!(
            crate::helpers::counted(
                &metrics,
                "realtime_connect_refused_total",
                &format!("code=\"{code}\"")
            ),
            "{code} counted:\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused() {
    let app = TestApp::spawn().await;
    let claims = app.tokens.claims(UserId::new(), Role::Customer, true);
    let token = app.tokens.sign(&claims);
    testkit::deny(&claims).await;
    let refusal = refused(&app, json!({ "token": token })).await;
    assert_eq!(refusal["data"]["code"], "INVALID_TOKEN");
    assert_eq!(refusal["message"], "This session has ended; sign in again.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_their_users_room_and_agents_the_agents_room() {
    let app = TestApp::spawn().await;
    let (customer, customer_token) = app.token(Role::Customer);
    let (_, agent_token) = app.token(Role::Agent);
    let mut as_customer = app.connect(&customer_token).await;
    let mut as_agent = app.connect(&agent_token).await;
    // A location for the agents' room reaches the agent only; one for the customer's room,
    // the customer only.
    app.publish_ephemeral(&json!({"rooms": ["agents"], "event": "eta-update", "data": {"n": 1}}))
        .await;
    assert_eq!(
        as_agent.event().await,
        Some(("eta-update".into(), vec![json!({"n": 1})]))
    );
    app.publish_ephemeral(
        &json!({"room": format!("user:{customer}"), "event": "eta-update", "data": {"n": 2}}),
    )
    .await;
    assert_eq!(
        as_customer.event().await,
        Some(("eta-update".into(), vec![json!({"n": 2})]))
    );
    assert!(as_agent.quiet_for(Duration::from_millis(300)).await);
}

/// Publishes `notice` as auth does when it revokes.
async fn announce(notice: Notice) {
    let client = redis::Client::open(testkit::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(CHANNEL)
        .arg(notice.to_message())
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_closes_the_live_sockets_it_voids() {
    let app = TestApp::spawn().await;
    let user = UserId::new();
    let logged_out = app.tokens.claims(user, Role::Customer, true);
    let mut closed = app.connect(&app.tokens.sign(&logged_out)).await;
    let other_device = app.tokens.claims(user, Role::Customer, true);
    let mut kept = app.connect(&app.tokens.sign(&other_device)).await;
    let until = chrono::Utc::now().timestamp() + 900;

    // A logout voids one token: its socket goes, the user's other one stays.
    announce(Notice::Token {
        jti: logged_out.jti,
        until,
    })
    .await;
    assert!(closed.closed_within(Duration::from_secs(3)).await);
    assert!(!kept.closed_within(Duration::from_millis(500)).await);

    // A password reset voids every token below version 1.
    announce(Notice::User {
        user: user.into_inner(),
        version: 1,
        until,
    })
    .await;
    assert!(kept.closed_within(Duration::from_secs(3)).await);
    assert!(crate::helpers::counted(
        &app.metrics().await,
        "realtime_sockets_closed_total",
        "reason=\"revoked\""
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_closed_when_its_token_expires() {
    let app = TestApp::spawn().await;
    let mut claims = app.tokens.claims(UserId::new(), Role::Driver, true);
    // Valid for the connect (with the verifier's leeway), expired a moment later.
    claims.exp = chrono::Utc::now().timestamp() + 1;
    let mut client = app.connect(&app.tokens.sign(&claims)).await;
    assert!(client.closed_within(Duration::from_secs(10)).await);
}
