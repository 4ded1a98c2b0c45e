//! `TestApp`: the payments service on port 0 with its own database and exchange, tokens it
//! trusts and request helpers.

use domain::Role;
use payments::config::{DEFAULT_PORT, PaymentsConfig, SERVICE};
use payments::startup::{Application, MIGRATIONS};
use platform::{CommonConfig, Shutdown};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use testkit::{EventTap, MigrationSource, TestBroker, TestClient, TestDb, TestTokens};

pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub broker: TestBroker,
    pub tap: EventTap,
    pub tokens: TestTokens,
    pub admin: String,
    shutdown: Shutdown,
}

/// How long a test's last events may take to leave the outbox (the relay sweeps every second).
const OUTBOX_GRACE: Duration = Duration::from_secs(5);

impl Drop for TestApp {
    fn drop(&mut self) {
        // Before the relay stops: a test that leaves events unsent fails.
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.db.assert_outbox_sent(OUTBOX_GRACE);
        }));
        self.shutdown.trigger();
        if let Err(panic) = checked {
            std::panic::resume_unwind(panic);
        }
    }
}

pub fn migrations() -> [MigrationSource; 2] {
    [
        MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        },
        MigrationSource {
            embedded: &MIGRATIONS,
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/payments"),
        },
    ]
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Like [`TestApp::spawn`], with `settings` added to (or replacing) the environment.
    pub async fn spawn_with(settings: &[(&str, &str)]) -> Self {
        let db = TestDb::new("payments", &migrations()).await;
        let broker = TestBroker::new();
        let tap = EventTap::new(&broker.url, &broker.exchange).await;
        let tokens = TestTokens::new();
        let (_, admin) = tokens.token(Role::Admin);
        let mut app = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            db,
            broker,
            tap,
            tokens,
            admin,
            shutdown: Shutdown::new(),
        };
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let port = listener.local_addr().unwrap().port();
        let queue = events::queue_name(&app.broker.exchange, payments::events::ORDERS_QUEUE);
        app.broker.track(&queue);
        let vars: Vec<(String, String)> = vec![
            (
                "PAYMENTS_WEBHOOK_URL".into(),
                format!("http://127.0.0.1:{port}/webhooks/stripe"),
            ),
            ("STRIPE_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into()),
            ("DATABASE_URL".into(), app.db.url.clone()),
            ("DATABASE_POOL_SIZE".into(), "8".into()),
            ("REDIS_URL".into(), testkit::redis_url()),
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("EVENTS_EXCHANGE".into(), app.broker.exchange.clone()),
            ("APP_ENV".into(), "test".into()),
            ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
        ];
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| settings.iter().all(|(set, _)| set != name))
            .chain(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: PaymentsConfig = platform::config::load_from(vars).unwrap();
        let application = Application::build_with_verifier(
            common,
            config,
            listener,
            app.shutdown.clone(),
            app.tokens.verifier(),
        )
        .await
        .unwrap();
        app.base = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        testkit::wait_for_consumer(&app.broker.url, &queue).await;
        app
    }

    /// A client of this service, signed in as the holder of `token` (or not, with `None`).
    pub fn http(&self, token: Option<&str>) -> TestClient {
        let client = TestClient::new(&self.base);
        match token {
            Some(token) => client.with_token(token),
            None => client,
        }
    }

    /// Publishes `event` to the test exchange as orders would; returns the event id.
    pub async fn publish<E: events::Event>(&self, event: &E, id: Option<uuid::Uuid>) -> uuid::Uuid {
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

    /// Saves `payment_method` (a Stripe test method) for the holder of `token`; returns its id.
    pub async fn save_card(&self, token: &str, payment_method: &str) -> String {
        let body = serde_json::json!({ "type": "card", "stripePaymentMethodId": payment_method });
        let saved = self
            .call(
                Method::POST,
                "/api/payments/methods",
                Some(&body),
                Some(token),
                201,
            )
            .await;
        saved["id"].as_str().unwrap().to_owned()
    }

    /// Gives `user` points through an admin adjustment.
    pub async fn give_points(&self, user: uuid::Uuid, points: i64) {
        let body = serde_json::json!({ "points": points, "reason": "Test points" });
        let path = format!("/api/admin/rewards/{user}/adjustments");
        self.call(Method::POST, &path, Some(&body), Some(&self.admin), 201)
            .await;
    }

    pub async fn balance(&self, token: &str) -> i64 {
        let rewards = self
            .call(Method::GET, "/api/users/rewards", None, Some(token), 200)
            .await;
        rewards["balance"].as_i64().unwrap()
    }

    /// A request that must answer `status`; returns the JSON body (or null).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
        status: u16,
    ) -> Value {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let code = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(code, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}
