use crate::helpers::{Setup, Stub, problem};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_upstream_answers_504_and_a_missing_one_503() {
    let setup = Setup::new().await;
    let started = Instant::now();
    let body = problem(setup.gateway.get("/slow").send().await.unwrap(), 504).await;
    assert_eq!(body["code"], "UPSTREAM_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "the route's 1 s timeout applied"
    );

    let response = setup.gateway.get("/down/anything").send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, 503).await;
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_the_routes_limit_are_refused_with_413() {
    let setup = Setup::new().await;
    let ok = setup
        .gateway
        .post("/small/upload")
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body = problem(
        setup
            .gateway
            .post("/small/upload")
            .body(vec![b'x'; 1025])
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");

    // Chunked: no length declared, counted as it streams.
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'y'; 512]))),
    );
    let response = setup
        .gateway
        .post("/small/upload")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    problem(response, 413).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_keeps_failing_is_ejected_and_comes_back() {
    let tokens = testkit::TestTokens::new();
    let a = Stub::spawn("a", &tokens).await;
    let b = Stub::spawn("b", &tokens).await;
    let routes = format!(
        r#"
clusters:
  pair:
    endpoints: ["127.0.0.1:{}", "127.0.0.1:{}"]
    health_check: /health/live
    health_interval_secs: 1
    ejection: {{ consecutive_failures: 3, base_secs: 2, max_secs: 2 }}
routes:
  - prefix: /flaky
    cluster: pair
    retries: 0
"#,
        a.port, b.port
    );
    let env = crate::helpers::GatewayEnv::new(routes, a.port);
    let gateway = crate::helpers::Gateway::spawn(&env).await;
    gateway.wait_cluster("pair", "up").await;
    let server_of = |gateway: &crate::helpers::Gateway| {
        let request = gateway.get("/flaky");
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["server"].as_str().unwrap().to_owned())
        }
    };

    a.state.flaky_status.store(503, Ordering::SeqCst);
    let mut failures = 0;
    for _ in 0..12 {
        let (status, server) = server_of(&gateway).await;
        if server == "a" {
            assert_eq!(status, 503);
            failures += 1;
        }
    }
    assert_eq!(failures, 3, "a is left out after three failures in a row");
    let health = gateway.health().await;
    let endpoints = health["clusters"]["pair"]["endpoints"].as_array().unwrap();
    assert!(endpoints.iter().any(|e| e["ejected"] == true), "{health}");

    // Fixed, and after the ejection time it takes requests again.
    a.state.flaky_status.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut servers = Vec::new();
    for _ in 0..4 {
        let (status, server) = server_of(&gateway).await;
        assert_eq!(status, 200);
        servers.push(server);
    }
    assert!(servers.contains(&"a".to_owned()), "{servers:?}");
    drop(b);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_request_in_flight_finish_then_the_gateway_exits() {
    let mut setup = Setup::new().await;
    let in_flight = tokio::spawn(setup.gateway.get("/linger").send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    setup.gateway.signal("TERM");
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A client that connects during the drain is answered once, and told to go elsewhere.
    let newcomer = reqwest::Client::new()
        .get(setup.gateway.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(newcomer.status(), 200);
    assert_eq!(newcomer.headers()["connection"], "close");

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "lingered");
    let status = setup.gateway.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    assert!(
        setup.gateway.get("/health/live").send().await.is_err(),
        "no longer listening"
    );
}
