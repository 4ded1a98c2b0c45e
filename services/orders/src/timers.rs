//! What orders does on its own, every sweep interval: the timeouts that cancel orders
//! (`status_changes::timeouts`), sending due track-and-trace receipts, and refreshing the
//! gauges on-call watches.

use crate::config::OrdersConfig;
use crate::db;
use crate::status_changes::timeouts::{self, Timeout};
use crate::track_and_trace::{self, TrackAndTrace};
use chrono::Utc;
use domain::OrderStatus;
use platform::db::DbPool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The background sweep (one per replica; the work is shared through `SKIP LOCKED`).
pub struct Timers {
    pub pool: DbPool,
    pub config: OrdersConfig,
    pub track_and_trace: Arc<dyn TrackAndTrace>,
}

impl Timers {
    /// Sweeps every `ORDERS_SWEEP_INTERVAL_SECS` until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.sweep_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => self.sweep().await,
            }
        }
    }

    /// One pass of every timer; errors are logged and the next pass tries again.
    pub async fn sweep(&self) {
        let expired =
            timeouts::expire(&self.pool, Timeout::Pending, self.config.pending_timeout()).await;
        let closed = timeouts::expire(
            &self.pool,
            Timeout::PaymentFailed,
            self.config.payment_failed_close(),
        )
        .await;
        for (what, result) in [("pending timeout", expired), ("payment failed", closed)] {
            if let Err(err) = result {
                tracing::warn!(error = %err, "order timer ({what}) failed");
            }
        }
        if let Err(err) = track_and_trace::send_due(&self.pool, self.track_and_trace.as_ref()).await
        {
            tracing::warn!(error = %err, "track-and-trace sending failed");
        }
        self.gauges().await;
    }

    async fn gauges(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        if let Ok(counts) = db::orders::count_by_status(&mut conn).await {
            for status in OrderStatus::ALL {
                let count = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                #[expect(clippy::cast_precision_loss, reason = "a gauge")]
                metrics::gauge!("orders_by_status", "status" => status.as_str()).set(count as f64);
            }
        }
        if let Ok(oldest) = db::orders::oldest_pending(&mut conn).await {
            let age = oldest.map_or(0.0, |at| {
                (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("orders_pending_oldest_age_seconds").set(age);
        }
    }
}
