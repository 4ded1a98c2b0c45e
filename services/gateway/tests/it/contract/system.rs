//! The system the contract is tested against: auth, catalog, orders and payments running in
//! this process (each on its own database, all on one exchange, all verifying auth's real
//! tokens through its JWKS) behind the real gateway binary with the shipped routes file, its
//! rate limits raised for this run only (`GATEWAY_RATE_LIMIT_<NAME>`). Tracking, chat and
//! notification are not Rust services of this workspace yet: their clusters point at closed
//! ports, so their routes answer 503 and their documents are absent from the merged one.

use crate::helpers::{Gateway, GatewayEnv, free_port};
use platform::{CommonConfig, Shutdown};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use testkit::{MigrationSource, TestBroker, TestDb};
use uuid::Uuid;

/// The queues the four services consume (before the exchange's prefix), from the deployment's
/// topology: the services bind them at start, and events published before then would be lost.
fn queues() -> impl Iterator<Item = &'static str> {
    const RUNNING: [&str; 4] = ["auth", "catalog", "orders", "payments"];
    events::contracts::QUEUES
        .iter()
        .filter(|queue| RUNNING.contains(&queue.service()))
        .map(|queue| queue.name)
}

/// The admin auth creates at start (`FS_ADMIN_EMAIL`).
pub const ADMIN_EMAIL: &str = "contract-admin@fadedskies.test";
pub const ADMIN_PASSWORD: &str = "Contract!Admin1";

/// A service of the system: its name (the gateway's cluster) and where it listens.
pub struct Service {
    pub name: &'static str,
    pub port: u16,
}

/// The running system; dropping it stops everything and removes its databases and exchange.
pub struct System {
    pub services: Vec<Service>,
    pub gateway: Gateway,
    shutdown: Shutdown,
    scratch: PathBuf,
    _dbs: Vec<TestDb>,
    _broker: TestBroker,
}

impl Drop for System {
    fn drop(&mut self) {
        self.shutdown.trigger();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn migrations(
    embedded: &'static diesel_migrations::EmbeddedMigrations,
    dir: &'static str,
) -> [MigrationSource; 2] {
    [
        MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        },
        MigrationSource { embedded, dir },
    ]
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Builds one service's `Application` from `vars` on `listener`, spawns it and evaluates to
/// its port.
macro_rules! start {
    ($svc:ident, $config:ty, $vars:expr, $listener:expr, $shutdown:expr) => {{
        let vars = $vars;
        let common = CommonConfig::from_vars(
            $svc::config::SERVICE,
            $svc::config::DEFAULT_PORT,
            vars.clone(),
        )
        .unwrap();
        let config: $config = platform::config::load_from(vars).unwrap();
        let app = $svc::startup::Application::build(common, config, $listener, $shutdown.clone())
            .await
            .expect(concat!("start ", stringify!($svc)));
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        port
    }};
}

impl System {
    pub async fn spawn() -> Self {
        let broker = TestBroker::new();
        let id = Uuid::new_v4().simple().to_string();
        let scratch = std::env::temp_dir().join(format!("fs-contract-{id}"));
        std::fs::create_dir_all(&scratch).unwrap();
        let auth_migrations = migrations(
            &auth::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/auth"),
        );
        let catalog_migrations = migrations(
            &catalog::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/catalog"),
        );
        let orders_migrations = migrations(
            &orders::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/orders"),
        );
        let payments_migrations = migrations(
            &payments::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/payments"),
        );
        let (auth_db, catalog_db, orders_db, payments_db) = tokio::join!(
            TestDb::new("auth", &auth_migrations),
            TestDb::new("catalog", &catalog_migrations),
            TestDb::new("orders", &orders_migrations),
            TestDb::new("payments", &payments_migrations),
        );
        let shutdown = Shutdown::new();
        let common = |db: &TestDb| {
            vars(&[
                ("DATABASE_URL", &db.url),
                ("DATABASE_POOL_SIZE", "8"),
                ("REDIS_URL", &testkit::redis_url()),
                ("AMQP_URL", &broker.url),
                ("EVENTS_EXCHANGE", &broker.exchange),
                ("APP_ENV", "test"),
                ("SHUTDOWN_TIMEOUT_SECS", "2"),
            ])
        };

        // Auth first: the others verify tokens with its keys.
        let mut auth_vars = common(&auth_db);
        auth_vars.extend(vars(&[
            (
                "OBJECT_STORE_URL",
                &format!("file://{}", scratch.join("documents").display()),
            ),
            ("FS_ADMIN_EMAIL", ADMIN_EMAIL),
            ("FS_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ]));
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let auth_port = start!(
            auth,
            auth::config::AuthConfig,
            auth_vars,
            listener,
            shutdown
        );
        let jwks = format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json");

        let mut catalog_vars = common(&catalog_db);
        catalog_vars.extend(vars(&[
            ("JWKS_URL", &jwks),
            (
                "OBJECT_STORE_URL",
                &format!("file://{}", scratch.join("images").display()),
            ),
            ("CATALOG_PUBLIC_URL", "http://gateway.test"),
            ("CATALOG_CACHE_PREFIX", &format!("test:{id}:catalog:")),
            // Lists answer with real products, so their schemas are checked on real rows.
            ("CATALOG_SEED_DEMO", "true"),
        ]));
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let catalog_port = start!(
            catalog,
            catalog::config::CatalogConfig,
            catalog_vars,
            listener,
            shutdown
        );

        let rules = scratch.join("rules.json");
        std::fs::write(&rules, texas_around_the_clock()).unwrap();
        let mut orders_vars = common(&orders_db);
        orders_vars.extend(vars(&[
            ("JWKS_URL", &jwks),
            ("ORDERS_REDIS_PREFIX", &format!("test:{id}:orders:")),
            ("COMPLIANCE_RULES_FILE", &rules.display().to_string()),
        ]));
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let orders_port = start!(
            orders,
            orders::config::OrdersConfig,
            orders_vars,
            listener,
            shutdown
        );

        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let payments_own = listener.local_addr().unwrap().port();
        let mut payments_vars = common(&payments_db);
        payments_vars.extend(vars(&[
            ("JWKS_URL", &jwks),
            (
                "PAYMENTS_WEBHOOK_URL",
                &format!("http://127.0.0.1:{payments_own}/webhooks/stripe"),
            ),
            ("STRIPE_WEBHOOK_SECRET", "whsec_contract_secret"),
            ("PAYMENTS_REDIS_PREFIX", &format!("test:{id}:payments:")),
        ]));
        let payments_port = start!(
            payments,
            payments::config::PaymentsConfig,
            payments_vars,
            listener,
            shutdown
        );

        for queue in queues() {
            broker.track(&events::queue_name(&broker.exchange, queue));
        }
        for queue in queues() {
            testkit::wait_for_consumer(&broker.url, &events::queue_name(&broker.exchange, queue))
                .await;
        }

        let services = vec![
            Service {
                name: "auth",
                port: auth_port,
            },
            Service {
                name: "catalog",
                port: catalog_port,
            },
            Service {
                name: "orders",
                port: orders_port,
            },
            Service {
                name: "payments",
                port: payments_port,
            },
        ];
        let gateway = Gateway::spawn(&gateway_env(auth_port, &services)).await;
        for service in &services {
            gateway.wait_cluster(service.name, "up").await;
        }
        Self {
            services,
            gateway,
            shutdown,
            scratch,
            _dbs: vec![auth_db, catalog_db, orders_db, payments_db],
            _broker: broker,
        }
    }
}

/// The shipped routes file, the four services on their ports, the rest closed, and every rate
/// limit raised past what the run sends: the contract is what the services answer, and a 429
/// half-way would leave operations untested.
fn gateway_env(auth_port: u16, services: &[Service]) -> GatewayEnv {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway/routes.yaml"
    );
    let table = gateway::route_table::RouteTable::load(path, std::iter::empty()).unwrap();
    let mut env = GatewayEnv::new(std::fs::read_to_string(path).unwrap(), auth_port);
    for cluster in &table.clusters {
        let port = services
            .iter()
            .find(|service| service.name == cluster.name)
            .map_or_else(free_port, |service| service.port);
        env = env.with(
            &format!("GATEWAY_CLUSTER_{}", cluster.name.to_ascii_uppercase()),
            &format!("127.0.0.1:{port}"),
        );
    }
    for policy in &table.policies {
        env = env.with(
            &format!("GATEWAY_RATE_LIMIT_{}", policy.name.to_ascii_uppercase()),
            "1000000/60",
        );
    }
    env
}

/// The embedded Texas rules with deliveries around the clock, so checkout answers the same
/// whatever the hour.
fn texas_around_the_clock() -> String {
    let tx = include_str!("../../../../../crates/compliance/data/jurisdictions/tx.json");
    let mut rules: Value = serde_json::from_str(tx).unwrap();
    let tx = if rules.is_array() {
        &mut rules[0]
    } else {
        &mut rules
    };
    tx["deliveryHours"] = json!({ "opens": "00:00", "closes": "00:00" });
    rules.to_string()
}

/// How long a sign-in step may take (password hashing is deliberately slow).
const STEP: Duration = Duration::from_secs(30);

/// Tokens for the two runs.
pub struct Accounts {
    pub customer: String,
    pub admin: String,
}

impl System {
    /// Signs in the admin, and registers a customer whose ID the admin approves, signed in
    /// again afterwards so that the token says so (`idv`). Through the gateway, as a client
    /// would.
    pub async fn accounts(&self) -> Accounts {
        let admin = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let email = format!("contract-{}@fadedskies.test", Uuid::new_v4().simple());
        let password = "Contract!Customer1";
        let registered = self
            .expect(
                self.gateway.post("/api/auth/register").json(&json!({
                    "fullName": "Contract Customer",
                    "email": email,
                    "password": password,
                    "phone": "(512) 555-0134",
                    "dateOfBirth": "1990-04-20",
                })),
                201,
            )
            .await;
        let unverified = registered["accessToken"].as_str().unwrap().to_owned();
        let boundary = "contract-test-boundary";
        let mut form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\ndrivers_license\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"idDocument\"; filename=\"id.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        form.extend_from_slice(PNG);
        form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let submitted = self
            .expect(
                self.gateway
                    .post("/api/users/id-verification")
                    .bearer_auth(&unverified)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(form),
                201,
            )
            .await;
        let verification = submitted["id"].as_str().unwrap();
        self.expect(
            self.gateway
                .post(&format!(
                    "/api/admin/id-verifications/{verification}/approve"
                ))
                .bearer_auth(&admin),
            200,
        )
        .await;
        let customer = self.login(&email, password).await;
        Accounts { customer, admin }
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let session = self
            .expect(
                self.gateway
                    .post("/api/auth/login")
                    .json(&json!({ "email": email, "password": password })),
                200,
            )
            .await;
        session["accessToken"].as_str().unwrap().to_owned()
    }

    async fn expect(&self, request: reqwest::RequestBuilder, status: u16) -> Value {
        let response = tokio::time::timeout(STEP, request.send())
            .await
            .expect("a sign-in step timed out")
            .unwrap();
        let url = response.url().clone();
        let got = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "{url}: {body}");
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }
}

/// A 1×1 PNG: an ID document as far as auth's content sniffing goes.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
