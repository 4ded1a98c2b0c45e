//! `TestApp`: the auth service on port 0 with its own database, exchange, object directory
//! and bootstrapped admin; typed request helpers.

use auth::config::{AuthConfig, DEFAULT_PORT, SERVICE};
use auth::startup::{Application, MIGRATIONS, Running};
use chrono::{Datelike, NaiveDate};
use platform::{CommonConfig, Shutdown};
use serde_json::{Value, json};
use std::path::PathBuf;
use testkit::{EventTap, MigrationSource, TestBroker, TestDb};

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

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
        let _ = std::fs::remove_dir_all(&self.objects);
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
        broker.track(&events::queue_name(
            &broker.exchange,
            auth::events::AUDIT_QUEUE,
        ));
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

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(body)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// Registers a 30-year-old customer with `email`; returns the response body.
    pub async fn register(&self, email: &str) -> Value {
        let res = self
            .post("/api/auth/register", &registration(email), None)
            .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
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

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/auth/login",
            &json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    /// The bootstrapped admin's access token.
    pub async fn admin_token(&self) -> String {
        let res = self.login(&self.admin_email, ADMIN_PASSWORD).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["accessToken"].as_str().unwrap().to_owned()
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
    let today = auth::accounts::today();
    NaiveDate::from_ymd_opt(today.year() - years, today.month(), today.day())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year() - years, 3, 1).unwrap())
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    body
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
