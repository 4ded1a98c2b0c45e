//! Issue 34's scenario: customers order while payments is killed and restarted, while orders is
//! killed, and across a broker restart; every order reaches a final state with exactly one
//! payment and one reservation, and every service then stops within 2 s of SIGTERM. It starts
//! on a fresh broker, loaded from the definitions, with the producers (auth, catalog and its
//! demo products) started before their consumers: nothing is lost.

use crate::broker::PrivateBroker;
use crate::services::{Endpoint, Service, free_port};
use crate::shop::{self, Customer, STEP};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::join_all;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::TestDb;
use uuid::Uuid;

/// Issue 34: every service stops within 2 s of SIGTERM.
const PROMPT: Duration = Duration::from_secs(2);

/// Customers per wave; one order each (30 in all, as when on-call tried it).
const WAVE: usize = 10;

const ADMIN_EMAIL: &str = "admin@fault.test";
const ADMIN_PASSWORD: &str = "Fault-Admin-1!";

/// The demo product every order buys (57 on hand).
const PRODUCT_SLUG: &str = "sour-diesel-3-5g";

/// Prints how far the scenario got (shown with `--no-capture`, and with a failure).
struct Timeline(Instant);

impl Timeline {
    fn mark(&self, what: &str) {
        eprintln!("fault: {:>6.1}s {what}", self.0.elapsed().as_secs_f64());
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The test's database, where every service has its schema (as under `make run`).
struct Db(String);

impl Db {
    async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.0).await.unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        diesel::sql_query(sql)
            .get_result::<Count>(&mut self.conn().await)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .n
    }

    async fn ids(&self, sql: &str) -> Vec<String> {
        let mut ids: Vec<String> = diesel::sql_query(sql)
            .load::<Id>(&mut self.conn().await)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .into_iter()
            .map(|row| row.id)
            .collect();
        ids.sort();
        ids
    }

    /// Unsent outbox rows of every service (0 when a schema has no outbox yet).
    async fn unsent(&self) -> i64 {
        let mut unsent = 0;
        for schema in ["auth", "catalog", "orders", "payments"] {
            unsent += self
                .count(&format!(
                    "SELECT count(*) AS n FROM {schema}.outbox WHERE sent_at IS NULL"
                ))
                .await;
        }
        unsent
    }
}

/// `tx.json` with deliveries around the clock, so the test passes at any hour.
fn rules_around_the_clock(dir: &Path) -> String {
    let tx = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/compliance/data/jurisdictions/tx.json"
    ))
    .unwrap();
    let mut rules: Value = serde_json::from_str(&tx).unwrap();
    rules["deliveryHours"] = serde_json::json!({ "opens": "00:00", "closes": "00:00" });
    let path = dir.join("rules.json");
    std::fs::write(&path, rules.to_string()).unwrap();
    path.display().to_string()
}

/// The four services with `make run`'s settings, each its own broker user.
struct Stack {
    auth: Service,
    catalog: Service,
    orders: Service,
    payments: Service,
}

impl Stack {
    fn new(db: &TestDb, broker: &PrivateBroker, dir: &Path, run: &str) -> Self {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let jwks = format!("http://127.0.0.1:{}/.well-known/jwks.json", ports[0]);
        let common = |name: &str| -> Vec<(String, String)> {
            [
                ("APP_ENV", "development".to_owned()),
                ("LOG_FORMAT", "json".to_owned()),
                ("DATABASE_URL", db.url.clone()),
                ("DATABASE_POOL_SIZE", "5".to_owned()),
                ("REDIS_URL", testkit::redis_url()),
                ("AMQP_URL", broker.url(name, &format!("{name}-dev"))),
                ("EVENTS_EXCHANGE", events::DEFAULT_EXCHANGE.to_owned()),
                ("JWKS_URL", jwks.clone()),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
        };
        let with = |name: &str, own: &[(&str, String)]| {
            let mut env = common(name);
            env.extend(own.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            env
        };
        let files = |what: &str| format!("file://{}", dir.join(what).display());
        Self {
            auth: Service::new(
                "auth",
                ports[0],
                with(
                    "auth",
                    &[
                        ("FS_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
                        ("FS_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
                        ("OBJECT_STORE_URL", files("documents")),
                    ],
                ),
                dir,
            ),
            catalog: Service::new(
                "catalog",
                ports[1],
                with(
                    "catalog",
                    &[
                        ("CATALOG_SEED_DEMO", "true".to_owned()),
                        ("OBJECT_STORE_URL", files("images")),
                        (
                            "CATALOG_PUBLIC_URL",
                            format!("http://127.0.0.1:{}", ports[1]),
                        ),
                        ("CATALOG_CACHE_PREFIX", format!("fault:{run}:catalog:")),
                    ],
                ),
                dir,
            ),
            orders: Service::new(
                "orders",
                ports[2],
                with(
                    "orders",
                    &[
                        ("ORDERS_REDIS_PREFIX", format!("fault:{run}:orders:")),
                        ("COMPLIANCE_RULES_FILE", rules_around_the_clock(dir)),
                    ],
                ),
                dir,
            ),
            payments: Service::new(
                "payments",
                ports[3],
                with(
                    "payments",
                    &[
                        ("PAYMENTS_REDIS_PREFIX", format!("fault:{run}:payments:")),
                        (
                            "PAYMENTS_WEBHOOK_URL",
                            format!("http://127.0.0.1:{}/webhooks/stripe", ports[3]),
                        ),
                    ],
                ),
                dir,
            ),
        }
    }

    fn all(&self) -> [&Service; 4] {
        [&self.auth, &self.catalog, &self.orders, &self.payments]
    }
}

/// Waits until `order` is final (confirmed, cancelled or payment_failed) and returns it.
async fn settled(
    client: &reqwest::Client,
    orders: &Endpoint,
    customer: &Customer,
    order: Uuid,
) -> Value {
    testkit::wait_for_value(
        &format!("order {order} to reach a final state"),
        Duration::from_secs(90),
        || async {
            let view = shop::order_view(client, orders, customer, order).await?;
            matches!(
                view["status"].as_str(),
                Some("confirmed" | "cancelled" | "payment_failed")
            )
            .then_some(view)
        },
    )
    .await
}

/// Checks out the carts of the customers in `range`, one after the other.
async fn place(
    client: &reqwest::Client,
    orders: &Endpoint,
    customers: &[Customer],
    range: std::ops::Range<usize>,
) -> Vec<(usize, Uuid)> {
    let mut placed = Vec::new();
    for (n, customer) in customers
        .iter()
        .enumerate()
        .take(range.end)
        .skip(range.start)
    {
        placed.push((
            n,
            shop::checkout(client, orders, customer, Uuid::new_v4()).await,
        ));
    }
    placed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_survive_crashes_and_a_broker_restart_and_every_service_stops_within_2s() {
    let timeline = Timeline(Instant::now());
    let run = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let dir = std::env::temp_dir().join(format!("fs-fault-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("fault: service logs in {}", dir.display());

    // A fresh broker of the test's own, loaded from the definitions as a deploy does.
    let booting = tokio::task::spawn_blocking(PrivateBroker::start);
    let test_db = TestDb::new("fault", &[]).await;
    let db = Db(test_db.url.clone());
    let broker = booting.await.unwrap();
    timeline.mark(&format!("private broker up ({})", broker.dir().display()));
    broker.load_definitions().await;
    timeline.mark("definitions loaded");
    let mut stack = Stack::new(&test_db, &broker, &dir, &run);
    // Idle connections are dropped before actix's 5 s keep-alive closes them: a request sent
    // on a connection the service is closing fails to send ("error sending request" while
    // saving a card, once in a CI run), and a POST cannot be retried blindly.
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();

    // Producers first: auth, and catalog with its demo products, before any consumer of theirs.
    stack.auth.start();
    stack.catalog.start();
    stack.auth.wait_ready(&client, STEP).await;
    stack.catalog.wait_ready(&client, STEP).await;
    let products = db.ids("SELECT id::text AS id FROM catalog.products").await;
    assert!(products.len() >= 40, "the demo catalog: {}", products.len());
    testkit::wait_for("catalog's outbox to be sent", STEP, || async {
        db.count("SELECT count(*) AS n FROM catalog.outbox WHERE sent_at IS NULL")
            .await
            == 0
    })
    .await;
    let waiting = broker.messages(&["orders.read_models".to_owned()]).await[0].1;
    assert!(
        waiting as usize >= products.len(),
        "every product announced before orders existed waits in its queue: {waiting}"
    );
    timeline.mark("auth and catalog ready; their events wait for orders");
    stack.orders.start();
    stack.payments.start();
    stack.orders.wait_ready(&client, STEP).await;
    stack.payments.wait_ready(&client, STEP).await;
    testkit::wait_for("orders to know every demo product", STEP, || async {
        db.ids("SELECT id::text AS id FROM orders.products").await == products
    })
    .await;
    timeline.mark("orders knows every product catalog published before it started");

    // Customers: registered, ID approved, a card and an address each.
    let admin = shop::login(&client, &stack.auth, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut customers = Vec::new();
    for chunk in (0..3 * WAVE).collect::<Vec<_>>().chunks(WAVE) {
        customers.extend(
            join_all(chunk.iter().map(|n| {
                shop::customer(
                    &client,
                    &stack.auth,
                    &stack.orders,
                    &stack.payments,
                    &admin,
                    &run,
                    *n,
                )
            }))
            .await,
        );
    }
    let ids: Vec<String> = customers.iter().map(|c| format!("'{}'", c.id)).collect();
    let approved = format!(
        "SELECT count(*) AS n FROM orders.users WHERE id_verification = 'approved' AND id IN ({})",
        ids.join(",")
    );
    testkit::wait_for(
        "orders to know every customer's ID approved",
        STEP,
        || async { db.count(&approved).await == customers.len() as i64 },
    )
    .await;
    let product: Uuid = db
        .ids(&format!(
            "SELECT id::text AS id FROM catalog.products WHERE slug = '{PRODUCT_SLUG}'"
        ))
        .await[0]
        .parse()
        .unwrap();
    for customer in &customers {
        shop::fill_cart(&client, &stack.orders, customer, product).await;
    }
    timeline.mark("customers ready");
    let mut placed: Vec<(usize, Uuid)> = Vec::new();

    // Wave 1: payments is killed mid-wave; its orders wait, then go through once it is back.
    placed.extend(place(&client, &stack.orders, &customers, 0..WAVE / 2).await);
    stack.payments.kill();
    timeline.mark("payments killed");
    placed.extend(place(&client, &stack.orders, &customers, WAVE / 2..WAVE).await);
    testkit::wait_for("the orders to wait in payments' queue", STEP, || async {
        broker.messages(&["payments.orders".to_owned()]).await[0].1 as usize >= WAVE / 2
    })
    .await;
    stack.payments.start();
    stack.payments.wait_ready(&client, STEP).await;
    timeline.mark("payments back");
    for &(n, order) in &placed {
        settled(&client, &stack.orders, &customers[n], order).await;
    }
    timeline.mark("wave 1 settled");

    // Wave 2: orders is killed while its checkouts are in flight; clients retry with their
    // idempotency keys until it is back.
    let checkouts: Vec<_> = (WAVE..2 * WAVE)
        .map(|n| {
            let client = client.clone();
            let orders = stack.orders.endpoint();
            let customer = customers[n].clone();
            tokio::spawn(async move {
                (
                    n,
                    shop::checkout(&client, &orders, &customer, Uuid::new_v4()).await,
                )
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    stack.orders.kill();
    timeline.mark("orders killed");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack.orders.start();
    stack.orders.wait_ready(&client, STEP).await;
    timeline.mark("orders back");
    for checkout in checkouts {
        placed.push(checkout.await.unwrap());
    }
    for &(n, order) in &placed[WAVE..] {
        settled(&client, &stack.orders, &customers[n], order).await;
    }
    timeline.mark("wave 2 settled");

    // Wave 3: the broker restarts mid-wave, while readiness probes keep asking /health.
    placed.extend(
        place(
            &client,
            &stack.orders,
            &customers,
            2 * WAVE..2 * WAVE + WAVE / 2,
        )
        .await,
    );
    let probing = tokio::sync::watch::channel(true);
    let probes = {
        let client = client.clone();
        let urls: Vec<String> = stack.all().iter().map(|s| s.url("/health")).collect();
        let running = probing.1.clone();
        tokio::spawn(async move {
            let mut answers = 0;
            while *running.borrow() {
                for url in &urls {
                    if client
                        .get(url)
                        .timeout(Duration::from_secs(3))
                        .send()
                        .await
                        .is_ok()
                    {
                        answers += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            answers
        })
    };
    let restart = Instant::now();
    {
        let broker = &broker;
        tokio::task::block_in_place(|| broker.stop_app());
    }
    timeline.mark("broker stopped (stop_app)");
    let degraded = testkit::wait_for_value("orders to report its consumers", STEP, || async {
        let (status, body) = stack.orders.health(&client).await?;
        (status == 503 && body["status"] == "degraded").then_some(body)
    })
    .await;
    let error = degraded["checks"]["rabbitmq"]["error"].as_str().unwrap();
    assert!(error.contains("orders.saga"), "{error}");
    assert!(error.contains("orders.read_models"), "{error}");
    placed.extend(
        place(
            &client,
            &stack.orders,
            &customers,
            2 * WAVE + WAVE / 2..3 * WAVE,
        )
        .await,
    );
    {
        let broker = &broker;
        tokio::task::block_in_place(|| broker.start_app());
    }
    let back = restart.elapsed();
    timeline.mark("broker started (start_app)");
    let mut reattached = Vec::new();
    for service in stack.all() {
        reattached.push((service.name, service.wait_ready(&client, STEP).await));
    }
    timeline.mark(&format!(
        "every service ready again, {:.1}s after the broker was back: {reattached:?}",
        (restart.elapsed() - back).as_secs_f64()
    ));
    let _ = probing.0.send(false);
    assert!(probes.await.unwrap() > 0, "the probes reached the services");
    for &(n, order) in &placed[2 * WAVE..] {
        settled(&client, &stack.orders, &customers[n], order).await;
    }
    timeline.mark("wave 3 settled");

    // Every order: confirmed, with one payment, one charge and one reservation; one order per
    // customer; nothing dead-lettered, nothing left in a queue or an outbox.
    assert_eq!(placed.len(), 3 * WAVE);
    for &(n, order) in &placed {
        let view = settled(&client, &stack.orders, &customers[n], order).await;
        assert_eq!(view["status"], "confirmed", "{view}");
        assert_eq!(view["stockStatus"], "reserved", "{view}");
        assert_eq!(view["paymentStatus"], "succeeded", "{view}");
        for (what, sql) in [
            (
                "payments",
                format!(
                    "SELECT count(*) AS n FROM payments.payments WHERE order_id = '{order}' AND status = 'succeeded'"
                ),
            ),
            (
                "all payments",
                format!("SELECT count(*) AS n FROM payments.payments WHERE order_id = '{order}'"),
            ),
            (
                "charges at the provider",
                format!(
                    "SELECT count(*) AS n FROM payments.sandbox_payment_intents WHERE idempotency_key LIKE '{order}:%'"
                ),
            ),
            (
                "reservations",
                format!(
                    "SELECT count(*) AS n FROM catalog.stock_reservations WHERE order_id = '{order}' AND status = 'reserved'"
                ),
            ),
        ] {
            assert_eq!(db.count(&sql).await, 1, "{what} of order {order}");
        }
    }
    for customer in &customers {
        let sql = format!(
            "SELECT count(*) AS n FROM orders.orders WHERE customer_id = '{}'",
            customer.id
        );
        assert_eq!(
            db.count(&sql).await,
            1,
            "orders of customer {}",
            customer.id
        );
    }
    testkit::wait_for("every outbox to be sent", STEP, || async {
        db.unsent().await == 0
    })
    .await;
    // The queues of the services this scenario runs (the definitions declare realtime's too,
    // where order.status_changed waits for a realtime that is not started here).
    let queues: Vec<String> = events::contracts::QUEUES
        .iter()
        .filter(|q| ["auth", "catalog", "orders", "payments"].contains(&q.service()))
        .flat_map(|q| {
            [
                q.name.to_owned(),
                format!("{}.retry", q.name),
                format!("{}.dlq", q.name),
            ]
        })
        .collect();
    testkit::wait_for("every queue to be empty", STEP, || async {
        broker.messages(&queues).await.iter().all(|(_, n)| *n == 0)
    })
    .await;
    // What on-call sees: every consumer attached again, after a reattachment.
    for (service, queue) in [
        (&stack.auth, "auth.audit"),
        (&stack.auth, "auth.rewards"),
        (&stack.catalog, "catalog.orders"),
        (&stack.orders, "orders.saga"),
        (&stack.orders, "orders.read_models"),
        (&stack.payments, "payments.orders"),
    ] {
        let labels = format!("queue=\"{queue}\"");
        assert_eq!(
            service
                .sample(&client, "events_consumer_attached", &labels)
                .await,
            1.0
        );
        assert_eq!(
            service
                .sample(&client, "events_consumer_detached_seconds", &labels)
                .await,
            0.0
        );
        assert!(
            service
                .sample(&client, "events_consumer_attachments_total", &labels)
                .await
                >= 2.0,
            "{queue} reattached after the broker restart"
        );
    }
    timeline.mark("every order checked");

    // SIGTERM, as Kubernetes sends it, after the broker restart.
    let mut stopped = Vec::new();
    for service in [
        &mut stack.auth,
        &mut stack.catalog,
        &mut stack.orders,
        &mut stack.payments,
    ] {
        let name = service.name;
        let took = tokio::task::block_in_place(|| service.terminate());
        stopped.push((name, took));
    }
    timeline.mark(&format!("stopped: {stopped:?}"));
    for (name, took) in stopped {
        assert!(took < PROMPT, "{name} took {took:?} to stop after SIGTERM");
    }
    drop(stack);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
