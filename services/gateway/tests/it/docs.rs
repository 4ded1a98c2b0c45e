//! Through the real auth service: its login behind the guide's limit, logout taking effect at
//! the edge, and its operations in the merged document and in the docs page as a real browser
//! renders it.

use crate::helpers::{Gateway, GatewayEnv, Stub, free_port, problem};
use auth::config::{AuthConfig, DEFAULT_PORT, SERVICE};
use auth::startup::{Application, MIGRATIONS};
use platform::{CommonConfig, Shutdown};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{MigrationSource, TestBroker, TestDb};

/// The auth service on a free port with its own database and exchange.
struct Auth {
    port: u16,
    shutdown: Shutdown,
    _db: TestDb,
    _broker: TestBroker,
}

impl Drop for Auth {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

async fn spawn_auth() -> Auth {
    let migrations = [
        MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        },
        MigrationSource {
            embedded: &MIGRATIONS,
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/auth"),
        },
    ];
    let db = TestDb::new("auth", &migrations).await;
    let broker = TestBroker::new();
    broker.track(&events::queue_name(
        &broker.exchange,
        auth::events::AUDIT_QUEUE,
    ));
    let objects =
        std::env::temp_dir().join(format!("fs-gw-auth-{}", uuid::Uuid::new_v4().simple()));
    let vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("DATABASE_POOL_SIZE".into(), "4".into()),
        ("REDIS_URL".into(), testkit::redis_url()),
        ("AMQP_URL".into(), testkit::amqp_url()),
        ("EVENTS_EXCHANGE".into(), broker.exchange.clone()),
        ("APP_ENV".into(), "test".into()),
        ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
        (
            "OBJECT_STORE_URL".into(),
            format!("file://{}", objects.display()),
        ),
    ];
    let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
    let config: AuthConfig = platform::config::load_from(vars).unwrap();
    let shutdown = Shutdown::new();
    let listener = platform::http::bind("127.0.0.1", 0).unwrap();
    let app = Application::build(common, config, listener, shutdown.clone())
        .await
        .unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    Auth {
        port,
        shutdown,
        _db: db,
        _broker: broker,
    }
}

/// The shipped routes file with auth and the stub (as catalog) on their test ports, and
/// every other service not running.
fn shipped_env(auth: u16, stub: u16) -> GatewayEnv {
    let routes = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    ))
    .unwrap();
    let mut env = GatewayEnv::new(routes, auth)
        .with("GATEWAY_CLUSTER_AUTH", &format!("127.0.0.1:{auth}"))
        .with("GATEWAY_CLUSTER_CATALOG", &format!("127.0.0.1:{stub}"));
    for service in ["ORDERS", "PAYMENTS", "TRACKING", "CHAT", "NOTIFICATION"] {
        env = env.with(
            &format!("GATEWAY_CLUSTER_{service}"),
            &format!("127.0.0.1:{}", free_port()),
        );
    }
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_through_the_gateway_reach_auth_until_the_guides_limit() {
    let auth = spawn_auth().await;
    let gateway = Gateway::spawn(&shipped_env(auth.port, free_port())).await;
    gateway.wait_cluster("auth", "up").await;
    let attempt = |ip: &'static str| {
        gateway
            .post("/api/auth/login")
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "nobody@fadedskies.test", "password": "Wr0ng!Password"}))
            .send()
    };
    for _ in 0..5 {
        let body = problem(attempt("198.51.100.20").await.unwrap(), 401).await;
        assert_eq!(body["code"], "INVALID_CREDENTIALS", "auth answered");
    }
    let body = problem(attempt("198.51.100.20").await.unwrap(), 429).await;
    assert_eq!(body["code"], "RATE_LIMITED");
    problem(attempt("198.51.100.21").await.unwrap(), 401).await;

    // A service that is not running answers 503 problem+json.
    let body = problem(
        gateway
            .get("/api/support/tickets")
            .bearer_auth("x")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(body["code"], "INVALID_TOKEN");
    let jwks = gateway.get("/.well-known/jwks.json").send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    gateway.wait_cluster("orders", "down").await;
    let body = problem(
        gateway.get("/api/analytics/events").send().await.unwrap(),
        503,
    )
    .await;
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logout_through_the_gateway_voids_the_access_token_at_the_edge() {
    let auth = spawn_auth().await;
    let gateway = Gateway::spawn(&shipped_env(auth.port, free_port())).await;
    gateway.wait_cluster("auth", "up").await;
    gateway.wait_revocation_notices("subscribed").await;
    let registered: Value = gateway
        .post("/api/auth/register")
        .header("x-forwarded-for", "198.51.100.30")
        .json(&json!({
            "fullName": "Edge Case",
            "email": format!("edge-{}@fadedskies.test", uuid::Uuid::new_v4().simple()),
            "password": "Str0ng!Password",
            "phone": "(512) 555-0134",
            "dateOfBirth": "1990-04-20",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = registered["accessToken"].as_str().unwrap().to_owned();
    let refresh = registered["refreshToken"].as_str().unwrap().to_owned();
    let profile = || {
        gateway
            .get("/api/users/profile")
            .bearer_auth(&access)
            .send()
    };
    // Twice: the second time the gateway already knows the token stands.
    for _ in 0..2 {
        assert_eq!(profile().await.unwrap().status(), 200);
    }

    let logout = gateway
        .post("/api/auth/logout")
        .bearer_auth(&access)
        .json(&json!({ "refreshToken": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    // Auth does not look at the deny-list for its own routes: only the edge refuses the token.
    testkit::wait_for(
        "the logged-out token to be refused",
        Duration::from_secs(3),
        || async {
            let response = profile().await.unwrap();
            if response.status() != 401 {
                return false;
            }
            problem(response, 401).await["detail"] == "The token has been revoked."
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_page_lists_the_operations_of_every_running_service_in_a_browser() {
    let auth = spawn_auth().await;
    let tokens = testkit::TestTokens::new();
    let stub = Stub::spawn("catalog", &tokens).await;
    let gateway = Gateway::spawn(&shipped_env(auth.port, stub.port)).await;
    gateway.wait_cluster("auth", "up").await;
    gateway.wait_cluster("catalog", "up").await;

    let spec: Value = gateway
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/auth/login",
        "/api/users/profile",
        "/api/admin/users",
        "/api/products/stub-things",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the merged document"
        );
    }
    // The gateway's own endpoints, and on each operation the answers its route gives.
    assert_eq!(spec["paths"]["/health"]["get"]["tags"], json!(["gateway"]));
    let users = &spec["paths"]["/api/admin/users"]["get"];
    assert!(
        users["operationId"].as_str().unwrap().starts_with("auth_"),
        "operation ids are named after their service: {}",
        users["operationId"]
    );
    assert_eq!(
        users["responses"]["502"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/ProblemBody"
    );
    assert!(spec["components"]["schemas"]["ProblemBody"].is_object());
    assert!(spec["paths"]["/api/products/stub-things"]["get"]["responses"]["429"].is_object());

    let redirect = gateway.get("/docs").send().await.unwrap();
    assert_eq!(redirect.status(), 301);
    let page = gateway.get("/docs/").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let dom = render_in_chromium(&gateway.url("/docs/")).await;
    for operation in [
        "/api/auth/login",
        "/api/auth/register",
        "/api/users/profile",
        "/api/products/stub-things",
    ] {
        assert!(
            dom.contains(operation),
            "{operation} is not on the rendered page"
        );
    }
    assert!(dom.contains("Faded Skies API"));
}

/// The page's DOM after its scripts ran, from Debian's headless Chromium (installed by
/// `scripts/ensure-stack.sh`).
async fn render_in_chromium(url: &str) -> String {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("Chromium is not installed: run `make stack` (scripts/ensure-stack.sh)");
    let profile =
        std::env::temp_dir().join(format!("fs-chromium-{}", uuid::Uuid::new_v4().simple()));
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=20000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium did not finish within 90 s")
    .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
