//! The broker definitions of `deploy/rabbitmq`, loaded as they are into a vhost of the test's
//! own: each service's user may publish exactly the events the catalog names it the producer
//! of, may not pass for another user, nor touch another service's queues or bindings; and a
//! consumer refuses an event another service writes straight into its queue in a producer's
//! name (the default exchange, which topic permissions do not cover).

use crate::consumer::next_dead_letter;
use crate::support::{Bus, Recorder, product_deleted};
use events::contracts::{ALL, producers_of};
use events::{Broker, ConsumerConfig, DEFAULT_EXCHANGE};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use prost::Message;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const DEFINITIONS: &str = include_str!("../../../../deploy/rabbitmq/definitions.json");
const DEV_USERS: &str = include_str!("../../../../deploy/rabbitmq/dev-users.json");

/// The management API: `RABBITMQ_MANAGEMENT_URL` (with credentials), or port 15672 of the
/// tests' broker with the credentials of `AMQP_URL`.
struct Management {
    base: String,
    user: String,
    password: String,
    http: reqwest::Client,
}

impl Management {
    fn new() -> Self {
        let (base, user, password) = match std::env::var("RABBITMQ_MANAGEMENT_URL") {
            Ok(url) => {
                let url = reqwest::Url::parse(&url).expect("RABBITMQ_MANAGEMENT_URL is a URL");
                let base = format!(
                    "{}://{}:{}",
                    url.scheme(),
                    url.host_str().expect("a host"),
                    url.port_or_known_default().expect("a port")
                );
                (
                    base,
                    url.username().to_owned(),
                    url.password().unwrap_or_default().to_owned(),
                )
            }
            Err(_) => {
                let amqp: AMQPUri = testkit::amqp_url().parse().expect("AMQP_URL");
                (
                    format!("http://{}:15672", amqp.authority.host),
                    amqp.authority.userinfo.username,
                    amqp.authority.userinfo.password,
                )
            }
        };
        Self {
            base,
            user,
            password,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) {
        let response = request
            .basic_auth(&self.user, Some(&self.password))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "{what}: the RabbitMQ management API at {} (`make stack` enables the \
                     rabbitmq_management plugin; or set RABBITMQ_MANAGEMENT_URL): {err}",
                    self.base
                )
            });
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{what}: {status} {body}");
    }

    async fn import(&self, definitions: &Value) {
        self.send(
            self.http
                .post(format!("{}/api/definitions", self.base))
                .json(definitions),
            "import definitions",
        )
        .await;
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/api/{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn delete_vhost(&self, vhost: &str) {
        self.send(
            self.http
                .delete(format!("{}/api/vhosts/{vhost}", self.base)),
            "delete the vhost",
        )
        .await;
    }
}

/// `deploy/rabbitmq/definitions.json` with every `"/"` vhost renamed to `vhost`.
fn in_vhost(value: &Value, vhost: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("vhost", Value::String(name)) if name == "/" => Value::from(vhost),
                        ("vhosts", Value::Array(_)) => serde_json::json!([{ "name": vhost }]),
                        _ => in_vhost(value, vhost),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| in_vhost(v, vhost)).collect()),
        other => other.clone(),
    }
}

/// A vhost holding the definitions, deleted when dropped. The service users are global: they
/// are (re)created with their development passwords, as `make stack` does; guest and every
/// other user keep their rights.
pub struct DefinedVhost {
    pub name: String,
    host: String,
    port: u16,
    passwords: BTreeMap<String, String>,
}

impl DefinedVhost {
    pub async fn new() -> Self {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        let management = Management::new();
        let users: Value = serde_json::from_str(DEV_USERS).unwrap();
        let definitions: Value = serde_json::from_str(DEFINITIONS).unwrap();
        // Users first: the permissions name them.
        management.import(&users).await;
        management.import(&in_vhost(&definitions, &name)).await;
        let passwords = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| {
                (
                    user["name"].as_str().unwrap().to_owned(),
                    user["password"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let amqp: AMQPUri = testkit::amqp_url().parse().unwrap();
        Self {
            name,
            host: amqp.authority.host,
            port: amqp.authority.port,
            passwords,
        }
    }

    /// The service users the definitions give permissions to.
    pub fn users(&self) -> Vec<&str> {
        self.passwords.keys().map(String::as_str).collect()
    }

    /// The AMQP URL of this vhost as `user`, with its development password.
    pub fn url(&self, user: &str) -> String {
        format!(
            "amqp://{user}:{}@{}:{}/{}",
            self.passwords[user], self.host, self.port, self.name
        )
    }

    pub async fn connect(&self, user: &str) -> Connection {
        Connection::connect(&self.url(user), ConnectionProperties::default())
            .await
            .unwrap()
    }
}

impl Drop for DefinedVhost {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await, and may run inside a runtime: clean up on a thread of its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(Management::new().delete_vhost(&name));
        });
        if done.join().is_err() {
            eprintln!("could not delete the test vhost {}", self.name);
        }
    }
}

fn is_error(err: &lapin::Error, expected: AMQPSoftError) -> bool {
    matches!(
        err.kind(),
        lapin::ErrorKind::ProtocolError(error) if *error.kind() == AMQPErrorKind::Soft(expected)
    )
}

/// What the relay sets: the `producer` header and the publisher's broker user as `user_id`.
fn as_producer(producer: &str, user_id: Option<&str>) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(LongString::from(producer)),
    );
    let props = BasicProperties::default()
        .with_message_id(ShortString::from(uuid::Uuid::now_v7().to_string()))
        .with_headers(headers);
    match user_id {
        Some(user) => props.with_user_id(ShortString::from(user)),
        None => props,
    }
}

/// Publishes on a fresh confirmed channel (a refusal closes the channel it happened on).
async fn publish(
    conn: &Connection,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    props: BasicProperties,
) -> Result<(), lapin::Error> {
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            payload,
            props,
        )
        .await?
        .await?;
    assert!(confirm.is_ack(), "{routing_key} on {exchange}: {confirm:?}");
    let _ = channel.close(200, "done".into()).await;
    Ok(())
}

#[tokio::test]
async fn each_service_user_publishes_exactly_the_events_the_catalog_names_it_producer_of() {
    let vhost = DefinedVhost::new().await;
    let users = vhost.users();
    for name in ALL {
        for producer in producers_of(name).unwrap() {
            assert!(users.contains(producer), "{producer} has a broker user");
        }
    }
    for user in users {
        let conn = vhost.connect(user).await;
        let mut published = Vec::new();
        for name in ALL {
            match publish(
                &conn,
                DEFAULT_EXCHANGE,
                name,
                b"",
                as_producer(user, Some(user)),
            )
            .await
            {
                Ok(()) => published.push(*name),
                Err(err) if is_error(&err, AMQPSoftError::ACCESSREFUSED) => {}
                Err(err) => panic!("{user} publishing {name}: {err}"),
            }
        }
        let own: Vec<&str> = ALL
            .iter()
            .copied()
            .filter(|name| producers_of(name).unwrap().contains(&user))
            .collect();
        assert_eq!(
            published, own,
            "{user} may publish its own events and is refused every other"
        );
        conn.close(200, "done".into()).await.unwrap();
    }
}

async fn declare(channel: &Channel, queue: &str) -> Result<(), lapin::Error> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .map(drop)
}

async fn bind(channel: &Channel, queue: &str, key: &str) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue.into(),
            DEFAULT_EXCHANGE.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

#[tokio::test]
async fn a_service_user_cannot_pass_for_another_nor_use_another_services_queues() {
    let vhost = DefinedVhost::new().await;
    let conn = vhost.connect("tracking").await;

    // Its own event, but claiming to be payments' broker user: the broker refuses.
    let claimed = publish(
        &conn,
        DEFAULT_EXCHANGE,
        "delivery.arriving",
        b"",
        as_producer("tracking", Some("payments")),
    )
    .await;
    assert!(
        claimed
            .as_ref()
            .is_err_and(|err| is_error(err, AMQPSoftError::PRECONDITIONFAILED)),
        "{claimed:?}"
    );
    publish(
        &conn,
        DEFAULT_EXCHANGE,
        "delivery.arriving",
        b"",
        as_producer("tracking", Some("tracking")),
    )
    .await
    .unwrap();

    // Its own queues, bound to what it consumes; nothing of another service's, and no event
    // the catalog does not name it a consumer of (the reset token's, say).
    let channel = conn.create_channel().await.unwrap();
    declare(&channel, "tracking.orders").await.unwrap();
    bind(&channel, "tracking.orders", "order.submitted")
        .await
        .unwrap();
    for key in ["payment.succeeded", "user.password_reset_requested"] {
        let channel = conn.create_channel().await.unwrap();
        let bound = bind(&channel, "tracking.orders", key).await;
        assert!(
            bound
                .as_ref()
                .is_err_and(|err| is_error(err, AMQPSoftError::ACCESSREFUSED)),
            "binding {key}: {bound:?}"
        );
    }
    let channel = conn.create_channel().await.unwrap();
    let theirs = declare(&channel, "orders.saga").await;
    assert!(
        theirs
            .as_ref()
            .is_err_and(|err| is_error(err, AMQPSoftError::ACCESSREFUSED)),
        "{theirs:?}"
    );
    conn.close(200, "done".into()).await.unwrap();
}

#[tokio::test]
async fn a_consumer_refuses_an_event_another_service_writes_into_its_queue_in_a_producers_name() {
    let vhost = DefinedVhost::new().await;
    let mut bus = Bus::new().await;
    bus.exchange = DEFAULT_EXCHANGE.into();
    let queue = "orders.forgeries";
    let mut config = ConsumerConfig::new(queue, DEFAULT_EXCHANGE, &["product.deleted"]);
    config.retry_delay = Duration::from_millis(50);
    // Every event fails once: its retry goes round through the default exchange and comes
    // back carrying the consumer's own user_id, which it takes.
    let recorder = Recorder {
        fail_first: 1,
        ..Recorder::default()
    };
    let orders = Broker::new(vhost.url("orders"), "orders-under-test");
    bus.start_consumer_as(orders, config, recorder.clone())
        .await;
    // The real path: catalog's outbox, its relay connected as catalog.
    bus.start_relay_as(Broker::new(vhost.url("catalog"), "catalog-under-test"));
    bus.publish(1).await;
    assert_eq!(bus.wait_for_versions(1).await, vec![1]);

    // Tracking may not publish product.deleted on the exchange, but it may write into any
    // queue through the default exchange: as catalog by the header, with its own user_id
    // (the broker allows no other) or with none.
    let tracking = vhost.connect("tracking").await;
    let mut forged = as_producer("catalog", Some("tracking"));
    let mut unsigned = as_producer("catalog", None);
    for props in [&mut forged, &mut unsigned] {
        let mut headers = props.headers().clone().unwrap();
        headers.insert(
            ShortString::from("x-routing-key"),
            AMQPValue::LongString(LongString::from("product.deleted")),
        );
        *props = props.clone().with_headers(headers);
    }
    let payload = |version| product_deleted(version).encode_to_vec();
    publish(&tracking, "", queue, &payload(2), forged)
        .await
        .unwrap();
    publish(&tracking, "", queue, &payload(3), unsigned)
        .await
        .unwrap();
    // Catalog publishing its own event under another producer's name.
    let catalog = vhost.connect("catalog").await;
    publish(
        &catalog,
        DEFAULT_EXCHANGE,
        "product.deleted",
        &payload(4),
        as_producer("orders", Some("catalog")),
    )
    .await
    .unwrap();
    bus.publish(5).await;

    // One consumer handles its queue in order: the forgeries were settled before 5.
    assert_eq!(bus.wait_for_versions(2).await, vec![1, 5]);
    assert_eq!(
        recorder.calls.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "1 and 5 twice (a failure, then their retry), no forgery"
    );
    let reader = vhost.connect("orders").await;
    let channel = reader.create_channel().await.unwrap();
    let mut refused = Vec::new();
    for _ in 0..3 {
        let dead = next_dead_letter(&channel, queue).await;
        let version = events::v1::ProductDeleted::decode(dead.delivery.data.as_slice())
            .unwrap()
            .version;
        let headers = dead.delivery.properties.headers().clone().unwrap();
        let Some(AMQPValue::LongString(error)) =
            headers.inner().get(&ShortString::from("x-last-error"))
        else {
            panic!("no x-last-error in {headers:?}");
        };
        assert_eq!(
            *dead.delivery.properties.user_id(),
            None,
            "a refused event is dead-lettered without our user_id, so a replay is refused again"
        );
        refused.push((
            version,
            String::from_utf8_lossy(error.as_bytes()).into_owned(),
        ));
    }
    refused.sort();
    assert_eq!(
        refused,
        vec![
            (
                2,
                "product.deleted claims producer catalog, but broker user tracking published it"
                    .to_owned()
            ),
            (
                3,
                "product.deleted claims producer catalog, but carries no user_id".to_owned()
            ),
            (
                4,
                "product.deleted claims producer orders, but the catalog names catalog".to_owned()
            ),
        ]
    );
    for conn in [tracking, catalog, reader] {
        conn.close(200, "done".into()).await.unwrap();
    }
    bus.stop().await;
}

/// Every consumer, connected as its service's user, declares its queues and bindings on a
/// broker the definitions were loaded into, and finds them as they are: the same arguments
/// (else PRECONDITION_FAILED) and no binding the definitions lack.
#[tokio::test]
async fn each_consumer_declares_its_queues_on_the_defined_broker_and_changes_nothing() {
    let vhost = DefinedVhost::new().await;
    let bus = Bus::new().await;
    let management = Management::new();
    let bindings_of = async |queue: &str| {
        let mut keys: Vec<String> = management
            .get(&format!("queues/{}/{queue}/bindings", vhost.name))
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|binding| binding["source"] == DEFAULT_EXCHANGE)
            .map(|binding| binding["routing_key"].as_str().unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    };
    for queue in events::contracts::QUEUES {
        let mut expected: Vec<String> = queue.bindings.iter().map(|k| (*k).to_owned()).collect();
        expected.sort();
        assert_eq!(
            bindings_of(queue.name).await,
            expected,
            "{} as loaded",
            queue.name
        );
        let broker = Broker::new(vhost.url(queue.service()), "definitions-test");
        let config = ConsumerConfig::new(queue.name, DEFAULT_EXCHANGE, queue.bindings);
        let consumer = events::Consumer::new(bus.pool.clone(), broker, config, Recorder::default());
        consumer
            .declare()
            .await
            .unwrap_or_else(|err| panic!("{} declares {}: {err}", queue.service(), queue.name));
        assert_eq!(
            bindings_of(queue.name).await,
            expected,
            "{} after",
            queue.name
        );
    }
}
