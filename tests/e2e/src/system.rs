//! Starting the three services together and talking to them: [`System::spawn`] gives each
//! service a fresh database (`TestDb`, dropped with the system), one shared exchange
//! (`TestBroker`, deleted with the system) and one token key; orders delivers around the clock
//! and runs its timers every second, so no test depends on the time of day or waits minutes.

use domain::Role;
use platform::{CommonConfig, Shutdown};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use testkit::{EventTap, MigrationSource, TestBroker, TestDb, TestTokens};
use uuid::Uuid;

/// The sandbox's webhook signing secret (payments signs and checks its own webhooks).
const WEBHOOK_SECRET: &str = "whsec_e2e_secret";

/// The queues the three services consume (before the exchange's prefix).
const QUEUES: [&str; 4] = [
    catalog::events::ORDERS_QUEUE,
    payments::events::ORDERS_QUEUE,
    orders::events::SAGA_QUEUE,
    orders::events::READ_MODELS_QUEUE,
];

/// One running service: where it listens and its database.
pub struct Service {
    pub base: String,
    pub db: TestDb,
}

impl Service {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A connection to the service's database, in its schema.
    pub async fn conn(&self) -> diesel_async::AsyncPgConnection {
        self.db.conn().await
    }

    /// Runs `sql` (a `SELECT count(*) AS n ...`) on the service's database.
    pub async fn count(&self, sql: &str) -> i64 {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn().await;
        diesel::sql_query(sql)
            .get_result::<Count>(&mut conn)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .n
    }

    /// Runs a statement on the service's database behind its back (no event is published).
    pub async fn execute(&self, sql: &str) -> usize {
        use diesel_async::RunQueryDsl;
        let mut conn = self.conn().await;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}

/// Catalog, payments and orders on one exchange, with an [`EventTap`] on everything published.
pub struct System {
    pub catalog: Service,
    pub payments: Service,
    pub orders: Service,
    pub broker: TestBroker,
    /// Every event on the exchange since before the services started.
    pub tap: EventTap,
    /// The key every service trusts.
    pub tokens: TestTokens,
    /// An admin's token (valid at every service).
    pub admin: String,
    pub client: reqwest::Client,
    shutdown: Shutdown,
    /// The compliance rules file and catalog's image store.
    scratch: PathBuf,
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

/// The embedded Texas rules with deliveries around the clock (`"00:00"`/`"00:00"`).
pub fn texas_around_the_clock() -> String {
    let tx = include_str!("../../../crates/compliance/data/jurisdictions/tx.json");
    let mut rules: Value = serde_json::from_str(tx).unwrap();
    let tx = if rules.is_array() {
        &mut rules[0]
    } else {
        &mut rules
    };
    tx["deliveryHours"] = json!({ "opens": "00:00", "closes": "00:00" });
    rules.to_string()
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Builds one service's `Application` from `vars` on `listener`, trusting the system's
/// tokens, spawns it and evaluates to its base URL.
macro_rules! start {
    ($self:ident, $svc:ident, $config:ty, $vars:expr, $listener:expr) => {{
        let vars = $vars;
        let common = CommonConfig::from_vars(
            $svc::config::SERVICE,
            $svc::config::DEFAULT_PORT,
            vars.clone(),
        )
        .unwrap();
        let config: $config = platform::config::load_from(vars).unwrap();
        let app = $svc::startup::Application::build_with_verifier(
            common,
            config,
            $listener,
            $self.shutdown.clone(),
            $self.tokens.verifier(),
        )
        .await
        .expect(concat!("start ", stringify!($svc)));
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        base
    }};
}

impl System {
    /// The three services with orders' defaults (but timers every second).
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With more settings for orders, e.g. `ORDERS_PENDING_TIMEOUT_SECS`.
    pub async fn spawn_with(orders_settings: &[(&str, &str)]) -> Self {
        let broker = TestBroker::new();
        let tap = EventTap::new(&broker.url, &broker.exchange).await;
        let tokens = TestTokens::new();
        let (_, admin) = tokens.token(Role::Admin);
        let id = Uuid::new_v4().simple().to_string();
        let scratch = std::env::temp_dir().join(format!("fs-e2e-{id}"));
        std::fs::create_dir_all(&scratch).unwrap();
        let catalog_migrations = migrations(
            &catalog::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/catalog"),
        );
        let payments_migrations = migrations(
            &payments::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/payments"),
        );
        let orders_migrations = migrations(
            &orders::startup::MIGRATIONS,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/orders"),
        );
        let (catalog_db, payments_db, orders_db) = tokio::join!(
            TestDb::new("catalog", &catalog_migrations),
            TestDb::new("payments", &payments_migrations),
            TestDb::new("orders", &orders_migrations),
        );
        let mut system = Self {
            catalog: Service {
                base: String::new(),
                db: catalog_db,
            },
            payments: Service {
                base: String::new(),
                db: payments_db,
            },
            orders: Service {
                base: String::new(),
                db: orders_db,
            },
            broker,
            tap,
            tokens,
            admin,
            client: reqwest::Client::new(),
            shutdown: Shutdown::new(),
            scratch,
        };
        system.catalog.base = system.start_catalog(&id).await;
        system.payments.base = system.start_payments().await;
        system.orders.base = system.start_orders(&id, orders_settings).await;
        for queue in QUEUES {
            let queue = events::queue_name(&system.broker.exchange, queue);
            system.broker.track(&queue);
        }
        // Events published before a queue is bound would be lost.
        for queue in QUEUES {
            let queue = events::queue_name(&system.broker.exchange, queue);
            testkit::wait_for_consumer(&system.broker.url, &queue).await;
        }
        system
    }

    /// Settings every service needs: its database, Redis, RabbitMQ and the shared exchange.
    fn common(&self, db: &TestDb) -> Vec<(String, String)> {
        vars(&[
            ("DATABASE_URL", &db.url),
            ("REDIS_URL", &testkit::redis_url()),
            ("AMQP_URL", &self.broker.url),
            ("EVENTS_EXCHANGE", &self.broker.exchange),
            ("APP_ENV", "test"),
            ("SHUTDOWN_TIMEOUT_SECS", "2"),
        ])
    }

    async fn start_catalog(&self, id: &str) -> String {
        let mut vars = self.common(&self.catalog.db);
        let images = self.scratch.join("images");
        vars.extend(self::vars(&[
            ("OBJECT_STORE_URL", &format!("file://{}", images.display())),
            ("CATALOG_PUBLIC_URL", "http://gateway.test"),
            ("CATALOG_CACHE_PREFIX", &format!("test:{id}:catalog:")),
        ]));
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        start!(
            self,
            catalog,
            catalog::config::CatalogConfig,
            vars,
            listener
        )
    }

    async fn start_payments(&self) -> String {
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut vars = self.common(&self.payments.db);
        vars.extend(self::vars(&[
            (
                "PAYMENTS_WEBHOOK_URL",
                &format!("http://127.0.0.1:{port}/webhooks/stripe"),
            ),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ]));
        start!(
            self,
            payments,
            payments::config::PaymentsConfig,
            vars,
            listener
        )
    }

    async fn start_orders(&self, id: &str, settings: &[(&str, &str)]) -> String {
        let rules_file = self.scratch.join("rules.json");
        std::fs::write(&rules_file, texas_around_the_clock()).unwrap();
        let mut vars = self.common(&self.orders.db);
        vars.extend(self::vars(&[
            ("ORDERS_REDIS_PREFIX", &format!("test:{id}:orders:")),
            ("COMPLIANCE_RULES_FILE", &rules_file.display().to_string()),
            ("ORDERS_SWEEP_INTERVAL_SECS", "1"),
        ]));
        vars.extend(self::vars(settings));
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        start!(self, orders, orders::config::OrdersConfig, vars, listener)
    }

    /// Sends a request; returns the status and the JSON body (null when there is none).
    pub async fn send(
        &self,
        service: &Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, service.url(path));
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let code = res.status().as_u16();
        let text = res.text().await.unwrap();
        (code, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request that must answer `status`; returns the JSON body.
    pub async fn call(
        &self,
        service: &Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
        status: u16,
    ) -> Value {
        let (code, value) = self.send(service, method.clone(), path, body, token).await;
        assert_eq!(code, status, "{method} {}: {value}", service.url(path));
        value
    }

    /// Publishes `event` on the shared exchange as its producer would; returns its id.
    pub async fn publish<E: events::Event>(&self, event: &E, id: Option<Uuid>) -> Uuid {
        testkit::publish_event(
            &self.broker.url,
            &self.broker.exchange,
            E::NAME,
            E::TYPE,
            event,
            id,
        )
        .await
    }

    /// Ends a test: every service's outbox has been relayed (waited for) and no consumer
    /// dead-lettered anything, so no step failed unseen behind the assertions.
    pub async fn settled(&self) {
        for service in [&self.catalog, &self.payments, &self.orders] {
            testkit::wait_for(
                &format!("{}'s outbox to be relayed", service.base),
                crate::DEADLINE,
                || async {
                    service
                        .count("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
                        .await
                        == 0
                },
            )
            .await;
        }
        let conn = lapin::Connection::connect(&self.broker.url, Default::default())
            .await
            .unwrap();
        for queue in QUEUES {
            let dead = format!("{}.dlq", events::queue_name(&self.broker.exchange, queue));
            let channel = conn.create_channel().await.unwrap();
            let options = lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let declared = channel
                .queue_declare(dead.as_str().into(), options, Default::default())
                .await;
            // A queue never declared held nothing.
            if let Ok(declared) = declared {
                assert_eq!(declared.message_count(), 0, "dead letters in {dead}");
            }
        }
    }
}
