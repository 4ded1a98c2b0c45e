use crate::helpers::{Setup, problem};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn requests_reach_the_cluster_of_the_matching_prefix() {
    let setup = Setup::new().await;
    let response = setup
        .gateway
        .get("/public/things?page=2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["path"], "/public/things");
    assert_eq!(body["query"], "page=2");
    assert_eq!(body["method"], "GET");

    let body = problem(setup.gateway.get("/nowhere").send().await.unwrap(), 404).await;
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    // `/publicity` is not under the `/public` prefix.
    problem(setup.gateway.get("/publicity").send().await.unwrap(), 404).await;
    let body = problem(setup.gateway.get("/only-post").send().await.unwrap(), 405).await;
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_headers_from_outside_are_stripped_and_the_gateways_set() {
    let setup = Setup::new().await;
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = setup
        .gateway
        .get("/public/echo")
        // The test connects over loopback, a trusted proxy locally: this entry is believed.
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-user-id", "00000000-0000-0000-0000-000000000001")
        .header("x-user-role", "admin")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=1.2.3.4")
        .header("x-real-ip", "1.2.3.4")
        .header("x-request-id", "client-chosen-id")
        .header("traceparent", trace)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-id");
    let body: Value = response.json().await.unwrap();
    let headers = &body["headers"];
    for spoofed in ["x-user-id", "x-user-role", "forwarded", "x-real-ip"] {
        assert!(
            headers.get(spoofed).is_none(),
            "{spoofed} reached the service: {headers}"
        );
    }
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9");
    assert_ne!(headers["x-forwarded-host"], "evil.example");
    assert_eq!(headers["x-request-id"], "client-chosen-id");
    assert_eq!(headers["traceparent"], trace);

    // Without a trace, the gateway starts one so the services' logs share it.
    let body: Value = setup
        .gateway
        .get("/public/echo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["headers"]["traceparent"]
            .as_str()
            .unwrap()
            .starts_with("00-")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_answers_preflights_for_configured_origins_only() {
    let setup =
        Setup::with(|env| env.with("GATEWAY_CORS_ORIGINS", "https://app.fadedskies.test")).await;
    let preflight = |origin: &'static str| {
        setup
            .gateway
            .client
            .request(
                reqwest::Method::OPTIONS,
                setup.gateway.url("/private/orders"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.fadedskies.test").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.fadedskies.test"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert!(
        allowed.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        setup
            .stub
            .state
            .hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "preflights stay at the edge"
    );

    let response = setup
        .gateway
        .get("/public/x")
        .header("origin", "https://app.fadedskies.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.fadedskies.test"
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("RateLimit-Remaining")
    );
}
