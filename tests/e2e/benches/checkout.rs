//! Checkout → confirmed through catalog, payments and orders: the three services in this
//! process (`e2e::System`, default settings), customers each with a saved Visa, an Austin
//! address and one product in the cart; checkouts fired on an open-loop schedule (each
//! `POST /api/orders` starts at its planned time whatever the earlier ones are doing) at each
//! rate in turn; for each order, the time from sending the request until orders announces it
//! `confirmed` (`order.status_changed`, seen on the exchange). Run with `make bench`; results
//! go in docs/benchmarks.md.
//!
//! `BENCH_SECONDS` (default 15) sets how long each rate runs, `BENCH_RATES` (default `20,50`)
//! the rates.

#![expect(clippy::unwrap_used, reason = "a bench fails loudly on broken set-up")]

use domain::Role;
use e2e::{CUSTOMER_DOB, Shopper, System, User};
use events::v1;
use futures_util::{StreamExt, stream};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use prost::Message;
use reqwest::Method;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Orders per second, in the order they run, unless `BENCH_RATES` says otherwise.
const RATES: &str = "20,50";
/// Checkouts before the measured ones (pools, caches and the JIT-free but cold code paths).
const WARM_UP: usize = 20;
/// Set-up requests in flight at once.
const SETUP_CONCURRENCY: usize = 8;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Test runners list every target's tests with `--list`; this bench has none.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let seconds: u32 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let rates: Vec<u32> = std::env::var("BENCH_RATES")
        .unwrap_or_else(|_| RATES.into())
        .split(',')
        .map(|rate| rate.trim().parse().unwrap())
        .collect();
    let planned: Vec<usize> = rates.iter().map(|rate| (rate * seconds) as usize).collect();
    let customers = WARM_UP + planned.iter().sum::<usize>();

    let system = Arc::new(System::spawn().await);
    let product = system.product(customers as i64 + 100).await;
    let started = Instant::now();
    let mut shoppers = prepare(&system, product, customers).await;
    println!(
        "{customers} customers with a card, an address and a cart in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let outcomes = Outcomes::listen(&system).await;

    let warm_up: Vec<Shopper> = shoppers.drain(..WARM_UP).collect();
    let _ = run(&system, &outcomes, warm_up, 10).await;
    let mut rows = Vec::new();
    for (rate, count) in rates.iter().zip(planned) {
        let batch: Vec<Shopper> = shoppers.drain(..count).collect();
        rows.push((*rate, run(&system, &outcomes, batch, *rate).await));
    }

    println!();
    println!(
        "| offered | orders | sent/s | confirmed/s | p50 ms | p90 ms | p99 ms | max ms | POST p50 ms | POST p99 ms | not confirmed | CPU busy |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (rate, level) in rows {
        println!(
            "| {rate}/s | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
            level.orders,
            level.sent_rate,
            level.confirmed_rate,
            percentile(&level.confirm_ms, 0.50),
            percentile(&level.confirm_ms, 0.90),
            percentile(&level.confirm_ms, 0.99),
            percentile(&level.confirm_ms, 1.0),
            percentile(&level.post_ms, 0.50),
            percentile(&level.post_ms, 0.99),
            level.failed,
            level
                .cpu_busy
                .map_or_else(|| "n/a".to_owned(), |busy| format!("{:.0} %", busy * 100.0)),
        );
    }
}

/// `customers` customers orders knows, each with a card, an address and `product` in the cart.
async fn prepare(system: &Arc<System>, product: uuid::Uuid, customers: usize) -> Vec<Shopper> {
    let users: Vec<User> = stream::iter(0..customers)
        .map(|_| system.announce_user(Role::Customer, CUSTOMER_DOB))
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    let sql = "SELECT count(*) AS n FROM users WHERE role = 'customer'";
    testkit::wait_for(
        "every customer in orders' read model",
        Duration::from_secs(300),
        || async { system.orders.count(sql).await >= customers as i64 },
    )
    .await;
    stream::iter(users)
        .map(|user| async move {
            let shopper = system.equip(user, "pm_card_visa").await;
            system.add_to_cart(&shopper.token, product, 1).await;
            shopper
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await
}

/// When each order reached `confirmed` (or failed), as orders announced it on the exchange.
#[derive(Clone)]
struct Outcomes {
    seen: Arc<Mutex<HashMap<String, (Instant, bool)>>>,
    _connection: Arc<Connection>,
}

impl Outcomes {
    /// A private queue bound to `order.status_changed`, timestamped on arrival.
    async fn listen(system: &System) -> Self {
        let connection = Connection::connect(&system.broker.url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.name().clone(),
                system.broker.exchange.as_str().into(),
                "order.status_changed".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                let at = Instant::now();
                let Ok(changed) = v1::OrderStatusChanged::decode(delivery.data.as_slice()) else {
                    continue;
                };
                let confirmed = changed.status == v1::OrderStatus::Confirmed as i32;
                let failed = matches!(
                    v1::OrderStatus::try_from(changed.status),
                    Ok(v1::OrderStatus::Cancelled | v1::OrderStatus::PaymentFailed)
                );
                if confirmed || failed {
                    sink.lock()
                        .unwrap()
                        .entry(changed.order_id)
                        .or_insert((at, confirmed));
                }
            }
        });
        Self {
            seen,
            _connection: Arc::new(connection),
        }
    }

    fn get(&self, order: &str) -> Option<(Instant, bool)> {
        self.seen.lock().unwrap().get(order).copied()
    }
}

/// One rate's results.
struct Level {
    orders: usize,
    /// Requests started per second (the schedule kept).
    sent_rate: f64,
    /// Orders confirmed per second, from the first request to the last confirmation.
    confirmed_rate: f64,
    /// Request sent → `confirmed` announced, per confirmed order.
    confirm_ms: Vec<f64>,
    /// Request sent → `201 Created` read.
    post_ms: Vec<f64>,
    /// Orders refused, cancelled or not confirmed within the deadline.
    failed: usize,
    /// The machine's CPU busy (all cores, every process: the services, PostgreSQL, RabbitMQ,
    /// Redis) while the requests were sent.
    cpu_busy: Option<f64>,
}

/// Busy and total CPU time of the machine so far (Linux `/proc/stat`, in ticks).
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// Checkouts for `shoppers` at `rate` per second, each started at its planned time.
async fn run(
    system: &Arc<System>,
    outcomes: &Outcomes,
    shoppers: Vec<Shopper>,
    rate: u32,
) -> Level {
    let orders = shoppers.len();
    let interval = Duration::from_secs(1) / rate;
    let start = Instant::now() + Duration::from_millis(100);
    let cpu_before = cpu_ticks();
    let mut requests = Vec::with_capacity(orders);
    for (i, shopper) in shoppers.into_iter().enumerate() {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let system = system.clone();
        requests.push(tokio::spawn(async move {
            let sent = Instant::now();
            let body = System::checkout_body(&shopper, 0);
            let (status, order) = system
                .send(
                    &system.orders,
                    Method::POST,
                    "/api/orders",
                    Some(&body),
                    Some(&shopper.token),
                )
                .await;
            let answered = sent.elapsed();
            let id = (status == 201).then(|| e2e::id_of(&order));
            (sent, answered, id)
        }));
    }
    let mut sent = Vec::with_capacity(orders);
    for request in requests {
        sent.push(request.await.unwrap());
    }
    let cpu_busy = cpu_before
        .zip(cpu_ticks())
        .map(|((busy0, total0), (busy1, total1))| {
            (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64
        });
    let last_sent = sent.iter().map(|(at, _, _)| *at).max().unwrap();
    let first_sent = sent.iter().map(|(at, _, _)| *at).min().unwrap();
    let ids: Vec<String> = sent.iter().filter_map(|(_, _, id)| id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline && ids.iter().any(|id| outcomes.get(id).is_none()) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut confirm_ms = Vec::new();
    let mut last_confirmed = first_sent;
    for (at, _, id) in &sent {
        if let Some((done, true)) = id.as_deref().and_then(|id| outcomes.get(id)) {
            confirm_ms.push((done - *at).as_secs_f64() * 1000.0);
            last_confirmed = last_confirmed.max(done);
        }
    }
    let post_ms = sent
        .iter()
        .map(|(_, answered, _)| answered.as_secs_f64() * 1000.0)
        .collect();
    let span = |from: Instant, to: Instant| (to - from).as_secs_f64().max(f64::EPSILON);
    Level {
        orders,
        sent_rate: (orders.saturating_sub(1)) as f64 / span(first_sent, last_sent),
        confirmed_rate: confirm_ms.len() as f64 / span(first_sent, last_confirmed),
        failed: orders - confirm_ms.len(),
        confirm_ms,
        post_ms,
        cpu_busy,
    }
}

/// The `q` quantile (nearest rank) of `values`; 0 when there are none.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
