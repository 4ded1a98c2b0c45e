//! `TestApp`: the catalog service on port 0 with its own database, exchange, cache prefix
//! and image directory; tokens it trusts; a publisher for the order events it consumes; a
//! `testkit::TestClient` per caller (`http`); and typed helpers for fixtures. A test that
//! leaves events in the outbox fails when its `TestApp` drops.

use catalog::config::{CatalogConfig, DEFAULT_PORT, SERVICE};
use catalog::startup::{Application, MIGRATIONS, Running};
use domain::Role;
use events::Event;
use platform::{CommonConfig, Shutdown};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use testkit::{
    EventTap, MigrationSource, TestBroker, TestClient, TestDb, TestResponse, TestTokens,
};
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub broker: TestBroker,
    pub tap: EventTap,
    pub tokens: TestTokens,
    pub admin: String,
    pub images: PathBuf,
    pub cache_prefix: String,
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
        let _ = std::fs::remove_dir_all(&self.images);
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
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/catalog"),
        },
    ]
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new("catalog", &migrations()).await;
        let broker = TestBroker::new();
        let queue = events::queue_name(&broker.exchange, catalog::events::ORDERS_QUEUE);
        broker.track(&queue);
        let tap = EventTap::new(&broker.url, &broker.exchange).await;
        let tokens = TestTokens::new();
        let (_, admin) = tokens.token(Role::Admin);
        let id = Uuid::new_v4().simple().to_string();
        let mut app = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            db,
            broker,
            tap,
            tokens,
            admin,
            images: std::env::temp_dir().join(format!("fs-catalog-test-{id}")),
            cache_prefix: format!("test:{id}:"),
            shutdown: Shutdown::new(),
        };
        let application = app.build(extra).await;
        app.base = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        app.wait_for_consumer(&queue).await;
        app
    }

    /// Another instance on the same database, exchange and cache (a restart or replica).
    pub async fn build(&self, extra: &[(&str, &str)]) -> Running {
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), self.db.url.clone()),
            ("DATABASE_POOL_SIZE".into(), "8".into()),
            ("REDIS_URL".into(), testkit::redis_url()),
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("EVENTS_EXCHANGE".into(), self.broker.exchange.clone()),
            ("APP_ENV".into(), "test".into()),
            ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
            (
                "OBJECT_STORE_URL".into(),
                format!("file://{}", self.images.display()),
            ),
            ("CATALOG_PUBLIC_URL".into(), "http://gateway.test".into()),
            ("CATALOG_CACHE_PREFIX".into(), self.cache_prefix.clone()),
        ];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: CatalogConfig = platform::config::load_from(vars).unwrap();
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
        Application::build_with_verifier(
            common,
            config,
            listener,
            self.shutdown.clone(),
            self.tokens.verifier(),
        )
        .await
        .unwrap()
    }

    async fn wait_for_consumer(&self, queue: &str) {
        testkit::wait_for_consumer(&self.broker.url, queue).await;
    }

    /// Publishes `event` to the test exchange as another service would; returns the event
    /// id so a test can send the same message again.
    pub async fn publish<E: Event>(&self, event: &E, id: Option<Uuid>) -> Uuid {
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.http(token).get(path).await
    }

    /// Uploads `bytes` as a product image (multipart `image`, with an `altText`) as the admin.
    pub async fn upload_image(
        &self,
        product: Uuid,
        bytes: Vec<u8>,
        name: &str,
        mime: &str,
    ) -> TestResponse {
        use reqwest::multipart::{Form, Part};
        let part = Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = Form::new()
            .part("image", part)
            .text("altText", "Buds in a jar");
        let res = self
            .client
            .post(self.url(&format!("/api/admin/products/{product}/images")))
            .bearer_auth(&self.admin)
            .multipart(form)
            .send()
            .await
            .unwrap();
        TestResponse {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            text: res.text().await.unwrap(),
        }
    }

    /// GET of raw bytes (images): status, headers and body.
    pub async fn get_bytes(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.bytes().await.unwrap().to_vec())
    }

    /// GET returning the JSON body after checking the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let res = self.get(path, None).await;
        assert_eq!(res.status, status, "GET {path}: {}", res.text);
        res.json()
    }

    /// A request with `body` as JSON (none for `null`).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> TestResponse {
        let body = (!body.is_null()).then_some(body);
        self.http(token).send(method, path, body).await
    }

    /// An admin request that must answer `status`; returns the JSON body (or null).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        status: u16,
    ) -> Value {
        let res = self
            .send(method.clone(), path, body, Some(&self.admin))
            .await;
        assert_eq!(res.status, status, "{method} {path}: {}", res.text);
        res.json()
    }

    pub async fn category(&self, slug: &str) -> Uuid {
        let body = self
            .admin(
                reqwest::Method::POST,
                "/api/admin/categories",
                &json!({ "name": slug.to_uppercase(), "slug": slug }),
                201,
            )
            .await;
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// A product from `overrides` on top of a valid flower product; returns its id.
    pub async fn product(&self, category: Uuid, overrides: Value) -> Uuid {
        let mut body = json!({
            "categoryId": category,
            "name": "Test Flower",
            "description": "A test product.",
            "price": "40.00",
            "productType": "flower",
            "netWeightGrams": 3.5,
            "thc": "20%",
            "strainType": "hybrid",
            "effects": ["relaxed"],
            "labTested": true,
            "stockQuantity": 10,
        });
        for (key, value) in overrides.as_object().unwrap() {
            body[key] = value.clone();
        }
        let created = self
            .admin(reqwest::Method::POST, "/api/admin/products", &body, 201)
            .await;
        created["product"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// Names of the products `GET /api/products?{query}` answers, in order.
    pub async fn names(&self, query: &str) -> Vec<String> {
        let body = self.get_json(&format!("/api/products?{query}"), 200).await;
        body["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// An `order.submitted` for `customer` with these (product, quantity) lines.
pub fn order_submitted(
    order: Uuid,
    customer: Uuid,
    lines: &[(Uuid, i32)],
) -> events::v1::OrderSubmitted {
    events::v1::OrderSubmitted {
        order_id: order.to_string(),
        order_number: format!("FS-{}", &order.simple().to_string()[..8]),
        customer_id: customer.to_string(),
        lines: order_lines(lines),
        ..Default::default()
    }
}

pub fn order_lines(lines: &[(Uuid, i32)]) -> Vec<events::v1::OrderLine> {
    lines
        .iter()
        .map(|(product, quantity)| events::v1::OrderLine {
            product_id: product.to_string(),
            product_name: "Test".into(),
            quantity: *quantity,
            ..Default::default()
        })
        .collect()
}
