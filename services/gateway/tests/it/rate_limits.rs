use crate::helpers::{Gateway, Setup, Stub, problem, shipped_around};
use auth_token::Signer;
use deadpool_redis::redis;
use domain::{Role, UserId};
use std::time::Duration;

async fn login(gateway: &Gateway, ip: &str) -> reqwest::Response {
    gateway
        .post("/api/auth/login")
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({"email": "someone@example.com", "password": "wrong"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sixth_login_from_one_address_within_the_window_is_refused() {
    let setup = Setup::new().await;
    for attempt in 1..=5u64 {
        let response = login(&setup.gateway, "203.0.113.10").await;
        assert_eq!(response.status(), 200, "attempt {attempt}");
        let headers = response.headers();
        assert_eq!(headers["ratelimit-limit"], "5");
        assert_eq!(headers["ratelimit-remaining"], (5 - attempt).to_string());
        let reset: u64 = headers["ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&reset));
    }
    let refused = login(&setup.gateway, "203.0.113.10").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after));
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body = problem(refused, 429).await;
    assert_eq!(body["code"], "RATE_LIMITED");

    // Another client address has its own count.
    assert_eq!(login(&setup.gateway, "203.0.113.11").await.status(), 200);
    // Refresh is not under the auth policy.
    let refresh = setup
        .gateway
        .post("/api/auth/refresh-token")
        .header("x-forwarded-for", "203.0.113.10")
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_refused_at_the_edge_count_against_their_address() {
    let setup = Setup::new().await;
    let forger = Signer::generate("test-key").unwrap();
    let forged = forger
        .sign(&setup.tokens.claims(UserId::new(), Role::Admin, true))
        .unwrap();
    let tight = |ip: &'static str, token: Option<&str>| {
        let request = setup.gateway.get("/tight/x").header("x-forwarded-for", ip);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };

    for remaining in ["2", "1", "0"] {
        let refused = tight("203.0.113.20", Some(&forged)).await;
        assert_eq!(refused.headers()["ratelimit-remaining"], remaining);
        assert_eq!(problem(refused, 401).await["code"], "INVALID_TOKEN");
    }
    let limited = tight("203.0.113.20", Some(&forged)).await;
    assert_eq!(problem(limited, 429).await["code"], "RATE_LIMITED");
    // The address's count, whoever claims to be calling from it without a valid token.
    problem(tight("203.0.113.20", None).await, 429).await;

    // A verified user there has a count of their own, and another address too.
    let (_, valid) = setup.tokens.token(Role::Customer);
    assert_eq!(tight("203.0.113.20", Some(&valid)).await.status(), 200);
    problem(tight("203.0.113.21", Some(&forged)).await, 401).await;
}

/// How many of `n` requests to `path` as `token` pass before the first 429.
async fn passed(gateway: &Gateway, path: &str, token: &str, n: usize) -> usize {
    let mut passed = 0;
    for _ in 0..n {
        let response = gateway.get(path).bearer_auth(token).send().await.unwrap();
        match response.status().as_u16() {
            200 => passed += 1,
            429 => break,
            other => panic!("{path}: {other}"),
        }
    }
    passed
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_get_their_roles_limits_and_customers_keep_theirs() {
    let setup = Setup::new().await;
    let (_, customer) = setup.tokens.token(Role::Customer);
    let (_, admin) = setup.tokens.token(Role::Admin);
    let (_, driver) = setup.tokens.token(Role::Driver);
    // Counted exactly (in Redis before passing): 3 for everyone, 6 for an admin.
    assert_eq!(passed(&setup.gateway, "/tight/x", &customer, 10).await, 3);
    assert_eq!(passed(&setup.gateway, "/tight/x", &admin, 10).await, 6);
    // Counted in batches: 10 for everyone, 15 for a driver.
    assert_eq!(passed(&setup.gateway, "/shared/x", &customer, 20).await, 10);
    assert_eq!(passed(&setup.gateway, "/shared/x", &driver, 20).await, 15);
    // The refusal names the caller's own limit.
    let refused = setup
        .gateway
        .get("/tight/x")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["ratelimit-limit"], "6");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_counted_apart_and_replicas_share_one_count() {
    let setup = Setup::new().await;
    // A second replica on the same Redis namespace.
    let replica = Gateway::spawn(&setup.env).await;
    replica.wait_cluster("stub", "up").await;
    let (_, alice) = setup.tokens.token(Role::Customer);
    let (_, bob) = setup.tokens.token(Role::Customer);

    for gateway in [&setup.gateway, &replica, &setup.gateway] {
        let response = gateway
            .get("/tight/x")
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    problem(
        replica
            .get("/tight/x")
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
        429,
    )
    .await;
    problem(
        setup
            .gateway
            .get("/tight/x")
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
        429,
    )
    .await;
    assert_eq!(
        replica
            .get("/tight/x")
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_unreachable_requests_flow_and_limits_hold_per_replica() {
    let dead_redis = format!("redis://127.0.0.1:{}", crate::helpers::free_port());
    let setup = Setup::with(|env| env.with("REDIS_URL", &dead_redis)).await;
    let (_, token) = setup.tokens.token(Role::Customer);
    for _ in 0..3 {
        let response = setup
            .gateway
            .get("/tight/x")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("ratelimit-remaining"));
    }
    problem(
        setup
            .gateway
            .get("/tight/x")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        429,
    )
    .await;
    assert_eq!(
        setup
            .gateway
            .get("/public/x")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let health = setup.gateway.health().await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["checks"]["redis"]["status"], "unhealthy");
    let metrics = setup.gateway.metrics().await;
    assert!(
        metrics.contains("gateway_rate_limit_fallback_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_across_replicas_is_counted_exactly() {
    let setup = Setup::new().await;
    let replica = Gateway::spawn(&setup.env).await;
    replica.wait_cluster("stub", "up").await;
    let (_, token) = setup.tokens.token(Role::Customer);

    // 60 requests at once, half on each replica: each replica counts those that arrive together
    // in one script call, and the limit of 20 still holds to the request.
    let requests = (0..60).map(|i| {
        let gateway = if i % 2 == 0 { &setup.gateway } else { &replica };
        gateway.get("/burst/x").bearer_auth(&token).send()
    });
    let (remaining, refused) = outcomes(futures_util::future::join_all(requests).await).await;
    assert_eq!(remaining, (0..20).collect::<Vec<u64>>(), "one count each");
    assert_eq!(refused, 40);
}

/// Statuses and `RateLimit-Remaining` values of `responses`.
async fn outcomes(responses: Vec<reqwest::Result<reqwest::Response>>) -> (Vec<u64>, usize) {
    let mut remaining = Vec::new();
    let mut refused = 0;
    for response in responses {
        let response = response.unwrap();
        match response.status().as_u16() {
            200 => remaining.push(
                response.headers()["ratelimit-remaining"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            ),
            429 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    remaining.sort_unstable();
    (remaining, refused)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batched_limit_holds_on_a_replica_and_its_counts_reach_redis() {
    let setup = Setup::new().await;
    let (user, token) = setup.tokens.token(Role::Customer);
    let first = setup
        .gateway
        .get("/shared/x")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ratelimit-remaining"], "9");

    // Counted on the replica's view, which holds its own counts: the limit holds exactly.
    let burst = (0..30).map(|_| setup.gateway.get("/shared/x").bearer_auth(&token).send());
    let (remaining, refused) = outcomes(futures_util::future::join_all(burst).await).await;
    assert_eq!(remaining, (0..9).collect::<Vec<u64>>());
    assert_eq!(refused, 21);

    // Every request, refused ones too, reaches the shared count in the background.
    let key = format!("{}rl:shared:user:{user}", setup.env.redis_prefix);
    let redis = platform::redis::pool(&testkit::redis_url(), 1).unwrap();
    testkit::wait_for("the counts to reach Redis", Duration::from_secs(3), || {
        let redis = redis.clone();
        let key = key.clone();
        async move {
            let mut conn = redis.get().await.unwrap();
            let count: Option<u64> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            count == Some(31)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batched_limit_is_shared_by_replicas() {
    let setup = Setup::new().await;
    let replica = Gateway::spawn(&setup.env).await;
    replica.wait_cluster("stub", "up").await;
    let (_, token) = setup.tokens.token(Role::Customer);
    let gateways = [&setup.gateway, &replica];

    // A request now and then (not a steady stream) is counted in Redis: each replica sees the
    // other's counts.
    for (i, expected) in (0..10u64).rev().enumerate() {
        let response = gateways[i % 2]
            .get("/shared/x")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["ratelimit-remaining"],
            expected.to_string()
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for gateway in gateways {
        problem(
            gateway
                .get("/shared/x")
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
            429,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_from_a_peer_not_trusted_is_ignored_for_rate_limits() {
    // The test connects over loopback, which this gateway does not trust (empty: no one).
    let setup = Setup::with(|env| env.with("GATEWAY_TRUSTED_PROXIES", "")).await;
    for attempt in 1..=5u8 {
        // Each claims another client; all are the peer's address.
        let response = login(&setup.gateway, &format!("203.0.113.{attempt}")).await;
        assert_eq!(response.status(), 200, "attempt {attempt}");
        let echoed: serde_json::Value = response.json().await.unwrap();
        assert_eq!(echoed["headers"]["x-forwarded-for"], "127.0.0.1");
    }
    let refused = login(&setup.gateway, "203.0.113.99").await;
    assert_eq!(problem(refused, 429).await["code"], "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_webhooks_are_limited_per_address() {
    let tokens = testkit::TestTokens::new();
    let stub = Stub::spawn("webhooks", &tokens).await;
    let env = shipped_around(&stub).with("GATEWAY_RATE_LIMIT_WEBHOOKS", "4/60");
    let gateway = Gateway::spawn(&env).await;
    gateway.wait_cluster("payments", "up").await;
    gateway.wait_cluster("auth", "up").await;
    let webhook = |path: &'static str, ip: &'static str| {
        gateway
            .post(path)
            .header("x-forwarded-for", ip)
            .header("stripe-signature", "t=1,v1=00")
            .body("{}")
            .send()
    };

    for path in ["/webhooks/stripe", "/webhooks/id-verification"] {
        for _ in 0..2 {
            let response = webhook(path, "198.51.100.40").await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["ratelimit-limit"], "4");
        }
    }
    for path in ["/webhooks/stripe", "/webhooks/id-verification"] {
        let refused = webhook(path, "198.51.100.40").await.unwrap();
        assert_eq!(
            problem(refused, 429).await["code"],
            "RATE_LIMITED",
            "{path}"
        );
    }
    // A provider's other address has its own count.
    let response = webhook("/webhooks/stripe", "198.51.100.41").await.unwrap();
    assert_eq!(response.status(), 200);
}
