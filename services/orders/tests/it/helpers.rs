//! `TestApp`: the orders service on port 0 with its own database, exchange and Redis prefix,
//! delivering around the clock unless a test gives other rules; tokens it trusts; publishers
//! for the catalog and auth events its read models need; and fixtures.

use chrono::Utc;
use domain::{Role, UserId};
use events::{Event, timestamp, v1};
use orders::config::{DEFAULT_PORT, OrdersConfig, SERVICE};
use orders::startup::{Application, MIGRATIONS};
use platform::{CommonConfig, Shutdown};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use testkit::{EventTap, MigrationSource, TestBroker, TestClient, TestDb, TestTokens};
use uuid::Uuid;

/// Downtown Austin (ZIP 78701): inside the Austin area, under 10 miles from its centre.
pub const AUSTIN_ZIP: &str = "78701";

pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub broker: TestBroker,
    pub tap: EventTap,
    pub tokens: TestTokens,
    pub admin: String,
    pub redis_prefix: String,
    rules_file: PathBuf,
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
        let _ = std::fs::remove_file(&self.rules_file);
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
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/orders"),
        },
    ]
}

/// The embedded Texas rules with other delivery hours (`"00:00"`/`"00:00"`: around the clock).
pub fn texas_rules(opens: &str, closes: &str) -> String {
    let tx = include_str!("../../../../crates/compliance/data/jurisdictions/tx.json");
    let mut rules: Value = serde_json::from_str(tx).unwrap();
    let tx = if rules.is_array() {
        &mut rules[0]
    } else {
        &mut rules
    };
    tx["deliveryHours"] = json!({ "opens": opens, "closes": closes });
    rules.to_string()
}

/// A customer's fixture: their id and token.
pub struct Customer {
    pub id: Uuid,
    pub token: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&texas_rules("00:00", "00:00"), &[]).await
    }

    pub async fn spawn_with(rules: &str, extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new("orders", &migrations()).await;
        let broker = TestBroker::new();
        let tap = EventTap::new(&broker.url, &broker.exchange).await;
        let tokens = TestTokens::new();
        let (_, admin) = tokens.token(Role::Admin);
        let id = Uuid::new_v4().simple().to_string();
        let rules_file = std::env::temp_dir().join(format!("fs-orders-rules-{id}.json"));
        std::fs::write(&rules_file, rules).unwrap();
        let mut app = Self {
            base: String::new(),
            db,
            broker,
            tap,
            tokens,
            admin,
            redis_prefix: format!("test:{id}:"),
            rules_file,
            shutdown: Shutdown::new(),
        };
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), app.db.url.clone()),
            ("DATABASE_POOL_SIZE".into(), "8".into()),
            ("REDIS_URL".into(), testkit::redis_url()),
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("EVENTS_EXCHANGE".into(), app.broker.exchange.clone()),
            ("APP_ENV".into(), "test".into()),
            ("SHUTDOWN_TIMEOUT_SECS".into(), "2".into()),
            ("ORDERS_REDIS_PREFIX".into(), app.redis_prefix.clone()),
            (
                "COMPLIANCE_RULES_FILE".into(),
                app.rules_file.display().to_string(),
            ),
            ("ORDERS_SWEEP_INTERVAL_SECS".into(), "1".into()),
        ];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let common = CommonConfig::from_vars(SERVICE, DEFAULT_PORT, vars.clone()).unwrap();
        let config: OrdersConfig = platform::config::load_from(vars).unwrap();
        let listener = platform::http::bind("127.0.0.1", 0).unwrap();
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
        for queue in [
            orders::events::SAGA_QUEUE,
            orders::events::READ_MODELS_QUEUE,
        ] {
            let queue = events::queue_name(&app.broker.exchange, queue);
            app.broker.track(&queue);
            testkit::wait_for_consumer(&app.broker.url, &queue).await;
        }
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

    /// Publishes `event` to the test exchange as another service would; returns its id.
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

    /// Waits until `sql` (a `SELECT count(*)`) counts at least one row.
    pub async fn wait_for_row(&self, what: &str, sql: String) {
        use diesel::sql_types::BigInt;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        testkit::wait_for(what, Duration::from_secs(10), || {
            let sql = sql.clone();
            async move {
                let mut conn = self.db.conn().await;
                diesel::sql_query(sql)
                    .get_result::<Count>(&mut conn)
                    .await
                    .is_ok_and(|c| c.n > 0)
            }
        })
        .await;
    }

    /// Announces a product as catalog would and waits for the read model to hold it.
    pub async fn product(&self, product: Product) -> Uuid {
        let id = product.id;
        let version = product.version;
        self.publish(&product.event(), None).await;
        self.wait_for_row(
            "the product read model",
            format!(
                "SELECT count(*) AS n FROM products WHERE id = '{id}' AND version >= {version}"
            ),
        )
        .await;
        id
    }

    /// Announces a user as auth would and waits for the read model.
    pub async fn user(&self, role: Role, id_status: v1::IdVerificationStatus, dob: &str) -> Uuid {
        let id = Uuid::new_v4();
        self.publish(
            &registered(id, 1, role, id_status, v1::AccountStatus::Active, dob),
            None,
        )
        .await;
        self.wait_for_row(
            "the user read model",
            format!("SELECT count(*) AS n FROM users WHERE id = '{id}'"),
        )
        .await;
        id
    }

    pub fn token(&self, id: Uuid, role: Role) -> String {
        self.tokens
            .sign(&self.tokens.claims(UserId::from(id), role, true))
    }

    /// A verified customer, 30 years old, with a primary address in downtown Austin.
    pub async fn customer(&self) -> (Customer, Uuid) {
        let id = self
            .user(
                Role::Customer,
                v1::IdVerificationStatus::Approved,
                "1996-03-14",
            )
            .await;
        let customer = Customer {
            id,
            token: self.token(id, Role::Customer),
        };
        let address = self.address(&customer.token, AUSTIN_ZIP).await;
        (customer, address)
    }

    /// Saves an address in `zip` (primary when it is the first); returns its id.
    pub async fn address(&self, token: &str, zip: &str) -> Uuid {
        let body = json!({
            "name": "Home", "addressLine1": "1100 Congress Ave", "city": "Austin", "state": "TX",
            "zipCode": zip, "addressType": "home", "deliveryInstructions": "Ring twice",
        });
        let saved = self
            .call(
                Method::POST,
                "/api/users/addresses",
                Some(&body),
                Some(token),
                201,
            )
            .await;
        saved["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn add_to_cart(&self, token: &str, product: Uuid, quantity: u32) -> Value {
        let body = json!({ "productId": product, "quantity": quantity });
        self.call(Method::POST, "/api/cart/add", Some(&body), Some(token), 200)
            .await
    }

    /// Checks out with a made-up payment method; returns the order.
    pub async fn checkout(&self, token: &str, address: Uuid) -> Value {
        let body = json!({ "deliveryAddressId": address, "paymentMethodId": Uuid::new_v4() });
        self.call(Method::POST, "/api/orders", Some(&body), Some(token), 201)
            .await
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
        let response = self.http(token).send(method.clone(), path, body).await;
        assert_eq!(
            response.status, status,
            "{method} {path}: {}",
            response.text
        );
        response.json()
    }

    /// A request whatever it answers: the status and the JSON body (or null).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let response = self.http(token).send(method, path, body).await;
        (response.status, response.json())
    }

    /// The order's status once it equals `status` (the saga runs asynchronously).
    pub async fn wait_for_status(&self, token: &str, order: &str, status: &str) -> Value {
        let path = format!("/api/orders/{order}");
        testkit::wait_for_value(
            &format!("order {order} to be {status}"),
            Duration::from_secs(15),
            || async {
                let (_, body) = self.send(Method::GET, &path, None, Some(token)).await;
                (body["status"] == status).then_some(body)
            },
        )
        .await
    }
}

pub fn registered(
    id: Uuid,
    version: i64,
    role: Role,
    id_status: v1::IdVerificationStatus,
    account: v1::AccountStatus,
    dob: &str,
) -> v1::UserRegistered {
    v1::UserRegistered {
        user_id: id.to_string(),
        user: Some(state(version, role, id_status, account, dob)),
        registered_at: Some(timestamp(Utc::now())),
    }
}

pub fn state(
    version: i64,
    role: Role,
    id_status: v1::IdVerificationStatus,
    account: v1::AccountStatus,
    dob: &str,
) -> v1::UserState {
    v1::UserState {
        version,
        email: format!("{}@example.com", Uuid::new_v4().simple()),
        full_name: "Jamie Rivera".into(),
        phone: String::new(),
        date_of_birth: dob.into(),
        role: events::audit::proto_role(role) as i32,
        id_verification_status: id_status as i32,
        account_status: account as i32,
    }
}

/// A product as catalog announces it.
#[derive(Clone)]
pub struct Product {
    pub id: Uuid,
    pub version: i64,
    pub name: String,
    pub product_type: v1::ProductType,
    pub price_cents: i64,
    pub net_weight_mg: i64,
    pub thc_mg: i64,
    pub active: bool,
    pub available: i32,
}

impl Product {
    /// Flower, 3.5 g, $40.00, 50 available.
    pub fn flower() -> Self {
        Self {
            id: Uuid::new_v4(),
            version: 1,
            name: "Blue Dream 3.5g".into(),
            product_type: v1::ProductType::Flower,
            price_cents: 4000,
            net_weight_mg: 3500,
            thc_mg: 0,
            active: true,
            available: 50,
        }
    }

    pub fn event(&self) -> v1::ProductUpserted {
        v1::ProductUpserted {
            product_id: self.id.to_string(),
            version: self.version,
            name: self.name.clone(),
            category_id: Uuid::new_v4().to_string(),
            category_slug: "flower".into(),
            category_name: "Flower".into(),
            product_type: self.product_type as i32,
            price_cents: self.price_cents,
            original_price_cents: 0,
            net_weight_mg: self.net_weight_mg,
            thc_mg: self.thc_mg,
            cbd_mg: 0,
            active: self.active,
            available_quantity: self.available,
            primary_image_url: String::new(),
            package_label: "1A4000000000000000001234".into(),
            updated_at: Some(timestamp(Utc::now())),
        }
    }
}
