//! The broker's `/health` check.

use events::{Broker, BrokerCheck};
use platform::health::HealthCheck;

#[tokio::test]
async fn the_broker_check_reports_a_reachable_and_an_unreachable_broker() {
    let up = BrokerCheck(Broker::new(testkit::amqp_url(), "health-test"));
    assert_eq!(up.name(), "rabbitmq");
    assert_eq!(up.check().await, Ok(()));

    let down = BrokerCheck(Broker::new(
        "amqp://guest:guest@127.0.0.1:9/%2f",
        "health-test",
    ));
    assert!(down.check().await.is_err());
}
