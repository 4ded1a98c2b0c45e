//! What orders does on its own, every sweep interval: cancel orders left `pending` past the
//! grace period (stock and points are released through `order.cancelled`), close orders whose
//! payment failed, send due track-and-trace receipts, and refresh the gauges on-call watches.
//! Rows are taken with `SKIP LOCKED`, so several replicas share the work.

use crate::config::OrdersConfig;
use crate::db;
use crate::lifecycle::{self, CancelReason, Change};
use crate::trace::{self, TrackAndTrace};
use chrono::Utc;
use diesel_async::AsyncConnection;
use domain::OrderStatus;
use platform::db::DbPool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Timers {
    pub pool: DbPool,
    pub config: OrdersConfig,
    pub trace: Arc<dyn TrackAndTrace>,
}

impl Timers {
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
        let expired = self
            .expire(
                OrderStatus::Pending,
                self.config.pending_timeout(),
                CancelReason::PendingTimeout,
            )
            .await;
        let closed = self
            .expire(
                OrderStatus::PaymentFailed,
                self.config.payment_failed_close(),
                CancelReason::PaymentFailed,
            )
            .await;
        for (what, result) in [("pending timeout", expired), ("payment failed", closed)] {
            if let Err(err) = result {
                tracing::warn!(error = %err, "order timer ({what}) failed");
            }
        }
        if let Err(err) = trace::send_due(&self.pool, self.trace.as_ref()).await {
            tracing::warn!(error = %err, "track-and-trace sending failed");
        }
        self.gauges().await;
    }

    async fn expire(
        &self,
        status: OrderStatus,
        after: Duration,
        reason: CancelReason,
    ) -> Result<usize, diesel::result::Error> {
        let Ok(mut conn) = self.pool.get().await else {
            return Ok(0);
        };
        let before = Utc::now() - chrono::Duration::from_std(after).unwrap_or_default();
        conn.transaction(async |conn| {
            let stale = db::orders::lock_stale(conn, status.as_str(), before, 100).await?;
            let count = stale.len();
            for mut order in stale {
                let note = match reason {
                    CancelReason::PendingTimeout => "The order was not confirmed in time.",
                    _ => "The payment failed; the order was closed.",
                };
                match lifecycle::apply(conn, &mut order, Change {
                    status: Some(OrderStatus::Cancelled),
                    cancel: Some(reason),
                    note: Some(note),
                    ..Change::default()
                })
                .await
                {
                    Ok(_) => {}
                    Err(lifecycle::ChangeError::Database(err)) => return Err(err),
                    Err(lifecycle::ChangeError::Transition(err)) => {
                        tracing::error!(order = %order.id, error = %err, "timer could not cancel an order");
                    }
                }
            }
            Ok(count)
        })
        .await
    }

    async fn gauges(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        if let Ok(counts) = db::orders::count_by_status(&mut conn).await {
            for status in [
                "pending",
                "confirmed",
                "preparing",
                "out_for_delivery",
                "delivered",
                "cancelled",
                "payment_failed",
            ] {
                let count = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                #[expect(clippy::cast_precision_loss, reason = "a gauge")]
                metrics::gauge!("orders_by_status", "status" => status).set(count as f64);
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
