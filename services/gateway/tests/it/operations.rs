//! The operations port: metrics and the detailed health report are served there and nowhere
//! else; the public port says up or down, and no spelling of a path takes a client to a
//! service's own operations endpoints.

use crate::helpers::{Setup, problem, send_raw};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_the_detailed_health_report_are_on_the_operations_port_only() {
    let setup = Setup::new().await;
    let gateway = &setup.gateway;
    assert_eq!(gateway.get("/public/x").send().await.unwrap().status(), 200);

    let body = problem(gateway.get("/metrics").send().await.unwrap(), 404).await;
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    let public = gateway.get("/health").send().await.unwrap();
    assert_eq!(public.status(), 200);
    let text = public.text().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"status": "up"})
    );
    let live = gateway.get("/health/live").send().await.unwrap();
    assert_eq!(
        live.json::<Value>().await.unwrap(),
        json!({"status": "alive"})
    );

    let metrics = gateway.metrics().await;
    assert!(metrics.contains("gateway_requests_total"), "{metrics}");
    assert!(metrics.contains("gateway_upstream_healthy"), "{metrics}");
    let health = gateway.health().await;
    assert_eq!(health["clusters"]["down"]["status"], "down", "{health}");
    assert_eq!(
        health["clusters"]["stub"]["endpoints"][0]["address"],
        format!("127.0.0.1:{}", setup.stub.port)
    );
    let live = gateway.ops_get("/health/live").send().await.unwrap();
    assert_eq!(live.status(), 200);

    // Nothing else: the operations port routes nowhere.
    let body = problem(gateway.ops_get("/public/x").send().await.unwrap(), 404).await;
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    let body = problem(
        gateway
            .client
            .post(format!("{}/metrics", gateway.ops))
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(setup.stub.state.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_spelling_reaches_a_services_operations_endpoints() {
    let setup = Setup::new().await;
    let get = |target: &'static str| send_raw(&setup.gateway.base, "GET", target, &[], "");
    for target in [
        "/metrics",
        "/%6detrics",
        "//metrics",
        "/public/../metrics",
        "/public/%2e%2e/metrics",
        "/api/auth/x/../../../metrics",
    ] {
        let body = get(target).await.problem(404);
        assert_eq!(body["code"], "ROUTE_NOT_FOUND", "{target}");
    }
    for target in [
        "/public/../health",
        "/api/auth/%2E%2E/%2e%2e/health",
        "//health",
    ] {
        let answer = get(target).await;
        assert_eq!(answer.status, 200, "{target}");
        assert_eq!(answer.json(), json!({"status": "up"}), "{target}");
    }
    assert_eq!(
        setup.stub.state.hits.load(Ordering::SeqCst),
        0,
        "nothing was sent to the service"
    );
}
