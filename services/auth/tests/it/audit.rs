use crate::helpers::TestApp;
use events::v1;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use prost::Message;
use serde_json::Value;
use std::time::Duration;
use testkit::assert_problem;

async fn publish_audit(app: &TestApp, id: uuid::Uuid, event: &v1::AuditRecorded) {
    publish_audit_as(app, "orders", id, event).await;
}

async fn publish_audit_as(
    app: &TestApp,
    producer: &str,
    id: uuid::Uuid,
    event: &v1::AuditRecorded,
) {
    let conn = Connection::connect(&app.broker.url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("producer"),
        AMQPValue::LongString(producer.into()),
    );
    // The broker user: consumers take an event only from the producer's user or their own
    // (the tests connect every service as one user).
    let user = events::Broker::new(app.broker.url.clone(), "audit-test")
        .user()
        .to_owned();
    let payload = event.encode_to_vec();
    // The app's consumer declares and binds its queue once it runs, a moment after the app is
    // up: until then the exchange routes the event nowhere. Published as mandatory, an
    // unroutable event comes back, and is sent again until the queue takes it.
    testkit::wait_for(
        "the audit queue to take the event",
        Duration::from_secs(15),
        || {
            let publish = channel.basic_publish(
                app.broker.exchange.as_str().into(),
                "audit.recorded".into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &payload,
                BasicProperties::default()
                    .with_message_id(ShortString::from(id.to_string()))
                    .with_type(ShortString::from("faded_skies.events.v1.AuditRecorded"))
                    .with_headers(headers.clone())
                    .with_user_id(ShortString::from(user.as_str())),
            );
            async move {
                let confirmation = publish.await.unwrap().await.unwrap();
                confirmation.is_ack() && confirmation.take_message().is_none()
            }
        },
    )
    .await;
    conn.close(200, "done".into()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_services_audit_events_land_once_in_the_log_and_can_be_filtered() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let order = uuid::Uuid::now_v7();
    let actor = uuid::Uuid::now_v7();
    let recorded = v1::AuditRecorded {
        actor_id: actor.to_string(),
        actor_role: v1::Role::Driver as i32,
        action: "order.delivered".into(),
        subject_type: "order".into(),
        subject_id: order.to_string(),
        details_json: r#"{"idChecked":true}"#.into(),
        ip: "203.0.113.9".into(),
        user_agent: "driver-app".into(),
        service: "orders".into(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
    };
    let event_id = uuid::Uuid::now_v7();
    publish_audit(&app, event_id, &recorded).await;
    publish_audit(&app, event_id, &recorded).await; // redelivered

    let path = format!("/api/admin/audit?subjectType=order&subjectId={order}");
    let list: Value =
        testkit::wait_for_value("the audit entry", Duration::from_secs(15), || async {
            let list: Value = app.get(&path, Some(&admin)).await.json();
            (list["total"] == 1).then_some(list)
        })
        .await;
    let entry = &list["entries"][0];
    assert_eq!(entry["service"], "orders");
    assert_eq!(entry["actorRole"], "driver");
    assert_eq!(entry["details"]["idChecked"], true);
    assert_eq!(entry["occurredAt"], "2026-09-21T14:13:20Z");

    let by_actor: Value = app
        .get(
            &format!("/api/admin/audit?actor={actor}&action=order.delivered"),
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(by_actor["total"], 1);
    let window: Value = app
        .get(
            "/api/admin/audit?action=order.delivered&from=2026-09-22T00:00:00Z",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(window["total"], 0, "outside the time range");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again: Value = app.get(&path, Some(&admin)).await.json();
    assert_eq!(again["total"], 1, "the redelivery changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for bad in [
        "actor=someone",
        "from=yesterday",
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "limit=0",
    ] {
        assert_problem!(
            app.get(&format!("/api/admin/audit?{bad}"), Some(&admin))
                .await,
            400,
            "VALIDATION_FAILED"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;
    app.customer().await; // writes a `user.registered` entry
    let mut conn = app.db.conn().await;
    for statement in [
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_entry_cannot_name_another_service_than_its_producer() {
    // Payments may record its own actions, not put words in orders' mouth: the log names the
    // producer the consumer verified, and a body claiming another is refused.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let subject = uuid::Uuid::now_v7();
    let entry = |service: &str, action: &str| v1::AuditRecorded {
        action: action.into(),
        subject_type: "order".into(),
        subject_id: subject.to_string(),
        service: service.into(),
        ..Default::default()
    };
    let claims_orders = entry("orders", "order.cancelled");
    publish_audit_as(&app, "payments", uuid::Uuid::now_v7(), &claims_orders).await;
    let own = entry("", "payment.refunded");
    publish_audit_as(&app, "payments", uuid::Uuid::now_v7(), &own).await;

    let path = format!("/api/admin/audit?subjectType=order&subjectId={subject}");
    let list: Value =
        testkit::wait_for_value("the payments entry", Duration::from_secs(15), || async {
            let list: Value = app.get(&path, Some(&admin)).await.json();
            (list["total"] == 1).then_some(list)
        })
        .await;
    assert_eq!(list["entries"][0]["action"], "payment.refunded");
    assert_eq!(list["entries"][0]["service"], "payments");
}
