//! A private corner of RabbitMQ for one test: its own exchange and queue names, deleted when
//! the test ends.

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use std::sync::Mutex;

/// Unique names for one test's exchange and queues.
pub struct TestBroker {
    pub url: String,
    pub exchange: String,
    prefix: String,
    queues: Mutex<Vec<String>>,
}

impl Default for TestBroker {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBroker {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            url: crate::amqp_url(),
            exchange: format!("test.{id}.events"),
            prefix: format!("test.{id}"),
            queues: Mutex::new(Vec::new()),
        }
    }

    /// A queue name private to this test (its retry and dead-letter queues are cleaned up too).
    pub fn queue(&self, name: &str) -> String {
        let queue = format!("{}.{name}", self.prefix);
        self.track(&queue);
        queue
    }

    /// Deletes `queue` (and its retry and dead-letter queues) when the test ends: for the
    /// queues a service under test declares itself (`events::queue_name`).
    pub fn track(&self, queue: &str) {
        if let Ok(mut queues) = self.queues.lock() {
            queues.push(queue.to_owned());
        }
    }

    async fn cleanup(url: String, exchange: String, queues: Vec<String>) -> lapin::Result<()> {
        let conn = Connection::connect(&url, ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        for queue in &queues {
            for name in [
                queue.clone(),
                format!("{queue}.retry"),
                format!("{queue}.dlq"),
            ] {
                channel
                    .queue_delete(name.into(), QueueDeleteOptions::default())
                    .await?;
            }
        }
        channel
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await?;
        conn.close(200, "test done".into()).await
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let url = self.url.clone();
        let exchange = self.exchange.clone();
        let queues = self.queues.lock().map(|q| q.clone()).unwrap_or_default();
        // Drop cannot await, and may run inside a runtime: clean up on a thread of its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime
                && let Err(err) = runtime.block_on(Self::cleanup(url, exchange, queues))
            {
                eprintln!("could not clean up the test broker: {err}");
            }
        });
        let _ = done.join();
    }
}
