//! Track-and-trace (DESIGN §7): the state's seed-to-sale system (Metrc in Texas) must learn
//! of every sale. Each delivered order's receipt is queued in the delivery's transaction
//! ([`queue_receipt`]) and sent by the timer ([`send_due`]) through a [`TrackAndTrace`]
//! adapter until it is accepted, retrying with backoff. The adapters: [`table::TableOnly`]
//! (the default: the table is the record, admins list it) and [`metrc::Metrc`] (Metrc's
//! sales-receipt API).

pub mod metrc;
pub mod table;

use crate::config::OrdersConfig;
use crate::db;
use crate::db::orders::OrderRow;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use compliance::Rules;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use platform::db::DbPool;
use serde_json::{Value, json};
use std::sync::Arc;

/// Why an adapter did not accept a receipt (kept as the row's `lastError`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

/// A track-and-trace system that takes sales receipts.
#[async_trait]
pub trait TrackAndTrace: Send + Sync {
    /// The adapter's name, stored with each receipt it accepted.
    fn name(&self) -> &'static str;
    /// Reports one receipt under `license`; returns the system's id for it, if it gives one.
    async fn report(&self, license: &str, receipt: &Value) -> Result<Option<String>, ReportError>;
}

/// The adapter `TRACK_AND_TRACE` names (`table` or `metrc`).
pub fn adapter(config: &OrdersConfig) -> Result<Arc<dyn TrackAndTrace>, String> {
    match config.track_and_trace.as_str() {
        "metrc" => Ok(Arc::new(metrc::Metrc::new(
            &config.metrc_api_url,
            &config.metrc_vendor_key,
            &config.metrc_user_key,
        )?)),
        _ => Ok(Arc::new(table::TableOnly)),
    }
}

fn dollars(cents: i64) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "order amounts are far below 2^52 cents"
    )]
    let value = cents as f64 / 100.0;
    value
}

/// Queues the delivered order's receipt, shaped as Metrc's, in the delivery's transaction.
pub async fn queue_receipt(
    conn: &mut AsyncPgConnection,
    order: &OrderRow,
    rules: &Rules,
) -> diesel::QueryResult<()> {
    let items = db::orders::items(conn, order.id).await?;
    let license = rules
        .get(&order.jurisdiction)
        .map(|j| j.license.license_number.clone())
        .unwrap_or_default();
    let receipt = json!({
        "ExternalReceiptNumber": order.order_number,
        "SalesDateTime": order.delivered_at.unwrap_or_else(Utc::now).format("%Y-%m-%dT%H:%M:%S").to_string(),
        "SalesCustomerType": "Consumer",
        "IdentificationMethod": order.id_check.as_ref().and_then(|c| c.get("documentType")).cloned(),
        "LicenseNumber": license,
        "Transactions": items.iter().map(|item| json!({
            "PackageLabel": item.package_label,
            "ProductName": item.product_name,
            "Quantity": item.quantity,
            "UnitOfMeasure": "Each",
            "TotalAmount": dollars(item.line_total_cents),
        })).collect::<Vec<_>>(),
    });
    db::track_and_trace::insert(conn, order.id, &order.jurisdiction, &receipt).await
}

/// Waits longer after each failure: 30 s, 1 min, 2 min ... at most an hour.
pub fn next_attempt(attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    let seconds = (30_i64 << exponent).min(3600);
    now + Duration::seconds(seconds)
}

/// Sends the due receipts (20 at most); returns how many were accepted.
pub async fn send_due(
    pool: &DbPool,
    adapter: &dyn TrackAndTrace,
) -> Result<usize, diesel::result::Error> {
    let Ok(mut conn) = pool.get().await else {
        return Ok(0);
    };
    conn.transaction(async |conn| {
        let due = db::track_and_trace::lock_due(conn, Utc::now(), 20).await?;
        let mut accepted = 0;
        for report in due {
            let license = report
                .receipt
                .get("LicenseNumber")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            match adapter.report(&license, &report.receipt).await {
                Ok(external) => {
                    db::track_and_trace::accepted(
                        conn,
                        report.order_id,
                        adapter.name(),
                        external.as_deref(),
                    )
                    .await?;
                    metrics::counter!("orders_track_and_trace_reports_total", "outcome" => "accepted")
                        .increment(1);
                    accepted += 1;
                }
                Err(err) => {
                    tracing::warn!(order = %report.order_id, error = %err, "track-and-trace report refused; will retry");
                    metrics::counter!("orders_track_and_trace_reports_total", "outcome" => "failed")
                        .increment(1);
                    db::track_and_trace::failed(
                        conn,
                        report.order_id,
                        &err.to_string(),
                        next_attempt(report.attempts, Utc::now()),
                    )
                    .await?;
                }
            }
        }
        Ok(accepted)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let now = Utc::now();
        assert_eq!(next_attempt(0, now) - now, Duration::seconds(30));
        assert_eq!(next_attempt(1, now) - now, Duration::seconds(60));
        assert_eq!(next_attempt(6, now) - now, Duration::seconds(1920));
        assert_eq!(next_attempt(7, now) - now, Duration::seconds(3600));
        assert_eq!(next_attempt(40, now) - now, Duration::seconds(3600));
    }
}
