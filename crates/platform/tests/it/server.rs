use actix_web::{HttpResponse, web};
use platform::Shutdown;
use platform::health::{DatabaseCheck, Health, RedisCheck};
use platform::http::{RunningServer, ServerSettings, bind, serve};
use std::time::Duration;

fn settings() -> ServerSettings {
    ServerSettings {
        service: "platform-test",
        workers: Some(1),
        shutdown_timeout: Duration::from_secs(5),
    }
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/faded_skies".into())
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn start(
    health: Health,
    shutdown: &Shutdown,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let RunningServer { addr, server, .. } = serve(
        bind("127.0.0.1", 0).unwrap(),
        settings(),
        health,
        shutdown,
        |cfg| {
            cfg.route(
                "/api/things/{id}",
                web::get().to(|id: web::Path<u32>| async move {
                    HttpResponse::Ok().json(serde_json::json!({ "id": *id }))
                }),
            )
            .route(
                "/api/slow",
                web::get().to(|| async {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    HttpResponse::Ok().body("finished")
                }),
            );
        },
    )
    .unwrap();
    (format!("http://{addr}"), tokio::spawn(server))
}

/// The server's `/metrics` page.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let res = client.get(format!("{base}/metrics")).send().await.unwrap();
    res.text().await.unwrap()
}

fn healthy_checks() -> Health {
    let db = platform::db::pool(&database_url(), "public", 2).unwrap();
    let redis = platform::redis::pool(&redis_url(), 2).unwrap();
    Health::new("1.2.3", "test")
        .with(DatabaseCheck(db))
        .with(RedisCheck(redis))
}

#[tokio::test]
async fn health_reports_each_dependency_in_the_guides_shape() {
    let shutdown = Shutdown::new();
    let (base, _server) = start(healthy_checks(), &shutdown);
    let res = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["version"], "1.2.3");
    assert_eq!(body["environment"], "test");
    assert!(body["timestamp"].is_string());
    assert_eq!(body["checks"]["database"]["status"], "healthy");
    assert_eq!(body["checks"]["redis"]["status"], "healthy");
    assert!(
        body["checks"]["database"]["responseTime"]
            .as_str()
            .unwrap()
            .ends_with("ms")
    );

    let live = reqwest::get(format!("{base}/health/live")).await.unwrap();
    assert_eq!(live.status(), 200);
    shutdown.trigger();
}

#[tokio::test]
async fn health_is_503_when_a_dependency_is_down() {
    // Nothing listens on port 9: a refused connection, like a stopped server.
    let db = platform::db::pool("postgres://postgres@127.0.0.1:9/none", "public", 1).unwrap();
    let redis = platform::redis::pool(&redis_url(), 2).unwrap();
    let health = Health::new("1", "test")
        .with(DatabaseCheck(db))
        .with(RedisCheck(redis));
    let shutdown = Shutdown::new();
    let (base, _server) = start(health, &shutdown);
    let res = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["database"]["status"], "unhealthy");
    assert!(body["checks"]["database"]["error"].is_string());
    assert_eq!(body["checks"]["redis"]["status"], "healthy");
    // Liveness does not depend on the database: the pod must not be restarted for it.
    assert_eq!(
        reqwest::get(format!("{base}/health/live"))
            .await
            .unwrap()
            .status(),
        200
    );
    shutdown.trigger();
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_carry_a_request_id() {
    let shutdown = Shutdown::new();
    let (base, _server) = start(Health::new("1", "test"), &shutdown);
    let client = reqwest::Client::new();

    let res = client
        .get(format!("{base}/api/things/42"))
        .header("x-request-id", "req-from-gateway")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "req-from-gateway");
    let res = client
        .get(format!("{base}/api/things/43"))
        .send()
        .await
        .unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok());

    let metrics = scrape(&client, &base).await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total")
                && l.contains("route=\"/api/things/{id}\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for the route template in:\n{metrics}"));
    assert!(line.contains("service=\"platform-test\""), "{line}");
    assert!(line.ends_with(" 2"), "{line}");
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "latency is a histogram"
    );
    assert!(
        !metrics.contains("/api/things/42"),
        "raw paths never become labels"
    );
    shutdown.trigger();
}

#[tokio::test]
async fn invented_methods_are_counted_under_one_label() {
    let shutdown = Shutdown::new();
    let (base, _server) = start(Health::new("1", "test"), &shutdown);
    let client = reqwest::Client::new();
    for method in ["BREW", "SPAM1", "SPAM2"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method, format!("{base}/api/things/42"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }

    let metrics = scrape(&client, &base).await;
    let counted: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("http_requests_total") && l.contains("method=\"OTHER\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, 3, "{metrics}");
    for invented in ["BREW", "SPAM"] {
        assert!(
            !metrics.contains(invented),
            "{invented} became a label:\n{metrics}"
        );
    }
    shutdown.trigger();
}

#[tokio::test]
async fn bad_input_and_unknown_routes_answer_problem_json() {
    let shutdown = Shutdown::new();
    let (base, _server) = start(Health::new("1", "test"), &shutdown);
    for (path, status) in [("/api/things/not-a-number", 400), ("/api/nowhere", 404)] {
        let res = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], status, "{path}");
        assert!(body["code"].is_string(), "{path}");
    }
    shutdown.trigger();
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let shutdown = Shutdown::new();
    let (base, server) = start(Health::new("1", "test"), &shutdown);
    let in_flight = tokio::spawn({
        let base = base.clone();
        async move {
            reqwest::get(format!("{base}/api/slow"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.trigger();

    assert_eq!(
        in_flight.await.unwrap(),
        "finished",
        "the request in flight completed"
    );
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(format!("{base}/health/live")).await.is_err(),
        "no longer accepting"
    );
}
