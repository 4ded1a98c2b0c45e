use crate::helpers::{Gateway, PrivateRedis, Setup, problem};
use auth_token::revocation::{self, Notice};
use auth_token::{Claims, Signer};
use deadpool_redis::redis;
use domain::{Role, UserId};
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn required_optional_and_none_routes_treat_tokens_accordingly() {
    let setup = Setup::new().await;
    let gateway = &setup.gateway;
    let (_, token) = setup.tokens.token(Role::Customer);

    let body = problem(gateway.get("/private/x").send().await.unwrap(), 401).await;
    assert_eq!(body["code"], "UNAUTHENTICATED");
    let response = gateway
        .get("/private/x")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(
        echoed["headers"]["authorization"],
        format!("Bearer {token}"),
        "the original header is passed on for the service to verify again"
    );

    assert_eq!(
        gateway.get("/optional/x").send().await.unwrap().status(),
        200
    );
    assert_eq!(
        gateway
            .get("/optional/x")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let body = problem(
        gateway
            .get("/optional/x")
            .bearer_auth("not.a.token")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(body["code"], "INVALID_TOKEN");

    // `none` routes do not look at the token at all.
    let response = gateway
        .get("/public/x")
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_are_enforced_at_the_edge() {
    let setup = Setup::new().await;
    let (_, customer) = setup.tokens.token(Role::Customer);
    let (_, admin) = setup.tokens.token(Role::Admin);
    let body = problem(
        setup
            .gateway
            .get("/admin/users")
            .bearer_auth(&customer)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(body["code"], "FORBIDDEN");
    let response = setup
        .gateway
        .get("/admin/users")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_expired_tokens_are_refused_at_the_edge() {
    let setup = Setup::new().await;
    let gateway = &setup.gateway;
    // Same key id, another key: the signature does not verify.
    let forger = Signer::generate("test-key").unwrap();
    let forged = forger
        .sign(&setup.tokens.claims(UserId::new(), Role::Admin, true))
        .unwrap();
    let body = problem(
        gateway
            .get("/private/x")
            .bearer_auth(&forged)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(body["code"], "INVALID_TOKEN");

    let mut claims = setup.tokens.claims(UserId::new(), Role::Customer, true);
    claims.iat -= 3600;
    claims.nbf = Some(claims.iat);
    claims.exp = chrono::Utc::now().timestamp() - 120;
    let expired = setup.tokens.sign(&claims);
    let body = problem(
        gateway
            .get("/private/x")
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(body["code"], "TOKEN_EXPIRED");

    // Tampered payload with the original signature.
    let (_, token) = setup.tokens.token(Role::Customer);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let admin_claims = setup.tokens.claims(UserId::new(), Role::Admin, true);
    let admin_token = setup.tokens.sign(&admin_claims);
    parts[1] = admin_token.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    problem(
        gateway
            .get("/admin/x")
            .bearer_auth(&tampered)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        setup
            .stub
            .state
            .hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the service"
    );
}

/// Records a revocation as auth does: the key and its notice, in one transaction.
async fn revoke(key: &str, value: i64, notice: Notice) {
    let redis = platform::redis::pool(&testkit::redis_url(), 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(key)
        .arg(value)
        .arg("EX")
        .arg(60)
        .ignore()
        .cmd("PUBLISH")
        .arg(revocation::CHANNEL)
        .arg(notice.to_message())
        .ignore()
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
}

/// Waits until `path` with `token` is refused as revoked (a notice takes moments to arrive).
async fn wait_refused(gateway: &Gateway, path: &str, token: &str) {
    let what = format!("{path} to refuse a revoked token");
    testkit::wait_for(&what, Duration::from_secs(3), || async {
        let response = gateway.get(path).bearer_auth(token).send().await.unwrap();
        if response.status() != 401 {
            return false;
        }
        let body = problem(response, 401).await;
        assert_eq!(body["code"], "INVALID_TOKEN");
        body["detail"] == "The token has been revoked."
    })
    .await;
}

async fn status(gateway: &Gateway, path: &str, token: &str) -> u16 {
    let response = gateway.get(path).bearer_auth(token).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_is_refused_even_after_it_was_accepted() {
    let setup = Setup::new().await;
    let gateway = &setup.gateway;
    gateway.wait_revocation_notices("subscribed").await;

    // Logout: one token on the deny-list. Accepted twice first, so that the gateway knows it
    // stands and no longer asks Redis about it.
    let claims: Claims = setup.tokens.claims(UserId::new(), Role::Customer, true);
    let token = setup.tokens.sign(&claims);
    for _ in 0..2 {
        assert_eq!(status(gateway, "/private/x", &token).await, 200);
    }
    let notice = Notice::Token {
        jti: claims.jti,
        until: claims.exp,
    };
    revoke(&revocation::denylist_key(claims.jti), 1, notice).await;
    wait_refused(gateway, "/private/x", &token).await;

    // Password reset or suspension: the user's version goes up and every token below it is
    // void; one issued afterwards, in the same second, stands.
    let other = setup.tokens.claims(UserId::new(), Role::Customer, true);
    let other_token = setup.tokens.sign(&other);
    for _ in 0..2 {
        assert_eq!(status(gateway, "/optional/x", &other_token).await, 200);
    }
    let notice = Notice::User {
        user: other.sub,
        version: 1,
        until: other.exp,
    };
    revoke(&revocation::token_version_key(other.sub), 1, notice).await;
    wait_refused(gateway, "/optional/x", &other_token).await;
    let renewed = Claims {
        jti: uuid::Uuid::now_v7(),
        ..other.clone()
    }
    .with_version(1);
    assert_eq!(
        status(gateway, "/optional/x", &setup.tokens.sign(&renewed)).await,
        200
    );

    // A token the gateway sees for the first time is asked about in Redis.
    let late = setup.tokens.sign(&claims);
    wait_refused(gateway, "/private/x", &late).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_alone_revokes_a_token_the_gateway_knows_stands() {
    let setup = Setup::new().await;
    let gateway = &setup.gateway;
    gateway.wait_revocation_notices("subscribed").await;
    let claims: Claims = setup.tokens.claims(UserId::new(), Role::Customer, true);
    let token = setup.tokens.sign(&claims);
    for _ in 0..2 {
        assert_eq!(status(gateway, "/private/x", &token).await, 200);
    }
    // Only the notice, no deny-list key: what refuses the token is the notice.
    let redis = platform::redis::pool(&testkit::redis_url(), 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    let notice = Notice::Token {
        jti: claims.jti,
        until: claims.exp,
    };
    redis::cmd("PUBLISH")
        .arg(revocation::CHANNEL)
        .arg(notice.to_message())
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    wait_refused(gateway, "/private/x", &token).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_revocation_notices_every_token_is_asked_about_in_redis() {
    // A Redis of this test's own, so that closing its connections disturbs no other test.
    let redis_server = PrivateRedis::start().await;
    let setup = Setup::with(|env| env.with("REDIS_URL", &redis_server.url)).await;
    let gateway = &setup.gateway;
    gateway.wait_revocation_notices("subscribed").await;
    let claims: Claims = setup.tokens.claims(UserId::new(), Role::Customer, true);
    let token = setup.tokens.sign(&claims);
    for _ in 0..2 {
        assert_eq!(status(gateway, "/private/x", &token).await, 200);
    }

    let redis = platform::redis::pool(&redis_server.url, 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    // A deny-list key with no notice (one sent while the gateway was not listening would be
    // lost): the confirmation from the ended subscription no longer counts, so Redis is asked.
    redis::cmd("SET")
        .arg(revocation::denylist_key(claims.jti))
        .arg(1)
        .arg("EX")
        .arg(60)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    wait_refused(gateway, "/private/x", &token).await;
    // And the gateway listens again.
    gateway.wait_revocation_notices("subscribed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_routes_that_need_a_token_take_it_from_the_query() {
    // None is shipped (`/socket.io/` takes no token; realtime checks it at CONNECT), but the
    // edge still serves a route that needs one: browsers cannot set headers on a WebSocket.
    let setup = Setup::new().await;
    let (_, token) = setup.tokens.token(Role::Customer);
    let response = setup
        .gateway
        .get(&format!("/tunnel/x?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "authenticated by the query parameter"
    );
    problem(
        setup
            .gateway
            .get("/tunnel/x?access_token=garbage")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    problem(setup.gateway.get("/tunnel/x").send().await.unwrap(), 401).await;
    // Only WebSocket routes read the query.
    problem(
        setup
            .gateway
            .get(&format!("/private/x?access_token={token}"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_socketio_route_never_asks_for_a_token() {
    let setup = Setup::new().await;
    let (_, token) = setup.tokens.token(Role::Customer);
    // No token, a garbage one, a valid one: the gateway lets each through to realtime, which
    // checks the token of the CONNECT packet and answers a showable CONNECT_ERROR.
    for query in [
        String::new(),
        "&access_token=garbage".to_owned(),
        format!("&access_token={token}"),
    ] {
        let response = setup
            .gateway
            .get(&format!("/socket.io/?EIO=4&transport=polling{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
    }
}
