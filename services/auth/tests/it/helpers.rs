//! `TestApp`: the auth service on port 0 with its own database, exchange, object directory
//! and bootstrapped admin; request helpers on `testkit::TestClient`.

use auth::config::{AuthConfig, DEFAULT_PORT, SERVICE};
use auth::startup::{Application, MIGRATIONS, Running};
use chrono::{Datelike, NaiveDate};
use platform::{CommonConfig, Shutdown};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use testkit::{EventTap, MigrationSource, TestBroker, TestClient, TestDb, TestResponse};

pub const ADMIN_PASSWORD: &str = "Adm1n!Passw0rd";
pub const PASSWORD: &str = "Gr33n!Leaf";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub broker: TestBroker,
    pub tap: EventTap,
    pub admin_email: String,
    pub objects: PathBuf,
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
        let _ = std::fs::remove_dir_all(&self.objects);
        if let Err(panic) = checked {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Migration sources for the test database template.
pub fn migrations() -> [MigrationSource; 2] {
    [
        MigrationSource {
            embedded: &events::MIGRATIONS,
            dir: events::MIGRATIONS_DIR,
        },
        MigrationSource {
            embedded: &MIGRATIONS,
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/auth"),
        },
    ]
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With extra environment variables (e.g. a configured signing key).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new("auth", &migrations()).await;
        let broker = TestBroker::new();
        Self::spawn_on(db, broker, extra).await
    }

    /// Another instance on the same database and exchange as `self` (a second replica).
    pub async fn replica(&self, extra: &[(&str, &str)]) -> Running {
        let (common, config) = self.configs(&self.db.url, &self.broker.exchange, extra);
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        Application::build(common, config, listener, self.shutdown.clone())
            .await
            .unwrap()
    }

    async fn spawn_on(db: TestDb, broker: TestBroker, extra: &[(&str, &str)]) -> Self {
        for queue in [auth::events::AUDIT_QUEUE, auth::events::REWARDS_QUEUE] {
            broker.track(&events::queue_name(&broker.exchange, queue));
        }
        let tap = EventTap::new(&broker.url, &broker.exchange).await;
        let objects =
            std::env::temp_dir().join(format!("fs-auth-test-{}", uuid::Uuid::new_v4().simple()));
        let admin_email = format!("admin-{}@fadedskies.test", uuid::Uuid::new_v4().simple());
        let shutdown = Shutdown::new();
        let mut app = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            db,
            broker,
            tap,
            admin_email,
            objects,
            shutdown,
        };
        let (common, config) = app.configs(&app.db.url, &app.broker.exchange, extra);
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        let application = Application::build(common, config, listener, app.shutdown.clone())
            .await
            .unwrap();
        app.base = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        app
    }

    fn configs(
        &self,
        db_url: &str,
        exchange: &str,
        extra: &[(&str, &str)],
    ) -> (CommonConfig, AuthConfig) {
        let objects = format!("file://{}", self.objects.display());
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), db_url.into()),
            ("DATABASE_POOL_SIZE".into(), "4".into()),
            ("REDIS_URL".into(), testkit::redis_url()),
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("EVENTS_EXCHANGE".into(), exchange.into()),
            ("APP_ENV".into(), "test".into()),
            ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
            ("FS_ADMIN_EMAIL".into(), self.admin_email.clone()),
            ("FS_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("OBJECT_STORE_URL".into(), objects),
            (
                "ID_VERIFICATION_WEBHOOK_SECRET".into(),
                WEBHOOK_SECRET.into(),
            ),
            ("AUTH_PUBLIC_URL".into(), "http://auth.test".into()),
        ];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: AuthConfig = platform::config::load_from(vars).unwrap();
        (common, config)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client of this service, signed in as the holder of `token` (or not, with `None`).
    pub fn http(&self, token: Option<&str>) -> TestClient {
        let client = TestClient::new(&self.base);
        match token {
            Some(token) => client.with_token(token),
            None => client,
        }
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> TestResponse {
        self.http(token).post(path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> TestResponse {
        self.http(Some(token))
            .send(Method::PUT, path, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.http(token).get(path).await
    }

    /// Registers a 30-year-old customer with `email`; returns the response body.
    pub async fn register(&self, email: &str) -> Value {
        let res = self
            .post("/api/auth/register", &registration(email), None)
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        res.json()
    }

    /// A new customer; returns (user id, access token, refresh token).
    pub async fn customer(&self) -> (String, String, String) {
        let email = format!("c-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = self.register(&email).await;
        (
            body["user"]["id"].as_str().unwrap().to_owned(),
            body["accessToken"].as_str().unwrap().to_owned(),
            body["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post(
            "/api/auth/login",
            &json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    /// Publishes `event` to the test exchange as its producer would, once the consumer of
    /// `queue` (auth's, e.g. `REWARDS_QUEUE`) listens; returns the event id.
    pub async fn publish<E: events::Event>(&self, queue: &str, event: &E) -> uuid::Uuid {
        let queue = events::queue_name(&self.broker.exchange, queue);
        testkit::wait_for_consumer(&self.broker.url, &queue).await;
        testkit::publish_event(
            &self.broker.url,
            &self.broker.exchange,
            E::NAME,
            E::TYPE,
            event,
            None,
        )
        .await
    }

    /// Waits until auth's consumer of `queue` has handled the event `id` (its inbox row).
    pub async fn wait_processed(&self, queue: &str, id: uuid::Uuid) {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let consumer = events::queue_name(&self.broker.exchange, queue);
        testkit::wait_for("the event to be handled", Duration::from_secs(15), || {
            let consumer = consumer.clone();
            async move {
                let mut conn = self.db.conn().await;
                diesel::sql_query(
                    "SELECT count(*) AS n FROM processed_events WHERE event_id = $1 AND consumer = $2",
                )
                .bind::<diesel::sql_types::Uuid, _>(id)
                .bind::<diesel::sql_types::Text, _>(consumer)
                .get_result::<Count>(&mut conn)
                .await
                .unwrap()
                .n
                    == 1
            }
        })
        .await;
    }

    /// The bootstrapped admin's access token.
    pub async fn admin_token(&self) -> String {
        let res = self.login(&self.admin_email, ADMIN_PASSWORD).await;
        assert_eq!(res.status, 200, "{}", res.text);
        res.json()["accessToken"].as_str().unwrap().to_owned()
    }
}

/// A valid registration body for someone who turned 30 this year.
pub fn registration(email: &str) -> Value {
    json!({
        "fullName": "Jamie Rivera",
        "email": email,
        "password": PASSWORD,
        "phone": "(512) 555-0134",
        "dateOfBirth": years_ago(30).to_string(),
    })
}

/// The date `years` years before today (business time), on the same day of the year.
pub fn years_ago(years: i32) -> NaiveDate {
    let today = auth::age_gate::today();
    NaiveDate::from_ymd_opt(today.year() - years, today.month(), today.day())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year() - years, 3, 1).unwrap())
}

/// The field names of a validation problem's errors.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads an answer sent with `reqwest` directly (a raw body, a multipart form, another
/// base URL) as `testkit`'s client would.
pub async fn read(response: reqwest::Response) -> TestResponse {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    TestResponse {
        status,
        headers,
        text,
    }
}
