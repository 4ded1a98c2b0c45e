//! The broker drops our connection mid-stream. Runs in nextest's serial `broker-disruption`
//! group (see `.config/nextest.toml`); it closes only this test's own connection, found by
//! its name, so neighbours are not disturbed either way.

use crate::support::{Bus, Recorder};
use std::collections::BTreeSet;
use std::process::Command;

/// Closes every broker connection named `name` with `rabbitmqctl`; returns how many.
fn close_connections(name: &str) -> usize {
    let output = Command::new("rabbitmqctl")
        // `client_properties` carries the name the client gave (`connection_name`); RabbitMQ
        // 3.10 has no separate column for it.
        .args([
            "list_connections",
            "--quiet",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl is installed with RabbitMQ");
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut closed = 0;
    for line in listing.lines() {
        let Some((pid, properties)) = line.split_once('\t') else {
            continue;
        };
        if properties.contains(&format!("\"{name}\"")) {
            let status = Command::new("rabbitmqctl")
                .args([
                    "close_connection",
                    pid.trim(),
                    "test: broker drops the connection",
                ])
                .status()
                .unwrap();
            assert!(status.success());
            closed += 1;
        }
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_disruption_loses_no_event() {
    let mut bus = Bus::new().await;
    bus.start_consumer(bus.consumer_config("reader"), Recorder::default())
        .await;
    bus.start_relay();

    for version in 0..100 {
        bus.publish(version).await;
    }
    bus.wait_for_versions(20).await;
    // The relay and the consumer share one named connection; wait until it is listed.
    testkit::wait_for(
        "our connection to be closed",
        crate::support::TIMEOUT,
        || {
            let name = bus.connection_name.clone();
            async move { close_connections(&name) > 0 }
        },
    )
    .await;
    for version in 100..200 {
        bus.publish(version).await;
    }

    let versions = bus.wait_for_versions(200).await;
    let distinct: BTreeSet<i64> = versions.iter().copied().collect();
    assert_eq!(distinct.len(), 200, "every event arrived");
    assert_eq!(versions.len(), 200, "and each changed state once");
    assert_eq!(bus.unsent().await, 0);
    bus.stop().await;
}
