//! Track-and-trace (DESIGN §7): every delivered sale is queued in the delivery's transaction
//! as a Metrc-shaped sales receipt and sent by the timer until the adapter accepts it. The
//! embedded adapter keeps the receipts in the table for admins to list; the Metrc adapter
//! posts them to Metrc's sales-receipt API.

use crate::db;
use crate::db::orders::OrderRow;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use compliance::Rules;
use diesel_async::AsyncPgConnection;
use platform::db::DbPool;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(pub String);

#[async_trait]
pub trait TrackAndTrace: Send + Sync {
    fn name(&self) -> &'static str;
    /// Reports one receipt; returns the system's id for it, if it gives one.
    async fn report(&self, license: &str, receipt: &Value) -> Result<Option<String>, TraceError>;
}

/// The embedded default: the table is the record (admins list it).
pub struct TableTrace;

#[async_trait]
impl TrackAndTrace for TableTrace {
    fn name(&self) -> &'static str {
        "table"
    }

    async fn report(&self, _: &str, _: &Value) -> Result<Option<String>, TraceError> {
        Ok(None)
    }
}

/// How much of a refusal's body is read for the error message (500 characters of it kept).
const REFUSAL_BYTES: usize = 2048;

/// Metrc's `POST /sales/v2/receipts?licenseNumber=` with the vendor and user API keys.
pub struct MetrcTrace {
    client: reqwest::Client,
    base: String,
    vendor_key: String,
    user_key: String,
}

impl MetrcTrace {
    pub fn new(base: &str, vendor_key: &str, user_key: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            vendor_key: vendor_key.to_owned(),
            user_key: user_key.to_owned(),
        })
    }
}

#[async_trait]
impl TrackAndTrace for MetrcTrace {
    fn name(&self) -> &'static str {
        "metrc"
    }

    async fn report(&self, license: &str, receipt: &Value) -> Result<Option<String>, TraceError> {
        let mut url = reqwest::Url::parse(&format!("{}/sales/v2/receipts", self.base))
            .map_err(|e| TraceError(e.to_string()))?;
        url.query_pairs_mut().append_pair("licenseNumber", license);
        let response = self
            .client
            .post(url)
            .basic_auth(&self.vendor_key, Some(&self.user_key))
            .json(&json!([receipt]))
            .send()
            .await
            .map_err(|e| TraceError(format!("Metrc unreachable: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            // Its body (the receipt ids) is not used: dropped unread.
            Ok(None)
        } else {
            // Only the start of a refusal is read: it says why, and an answer that never
            // ends must not hold the sender (or fill memory).
            let body = platform::outbound::text_prefix(response, REFUSAL_BYTES).await;
            Err(TraceError(format!(
                "Metrc answered {status}: {}",
                body.chars().take(500).collect::<String>()
            )))
        }
    }
}

pub fn adapter(config: &crate::config::OrdersConfig) -> Result<Arc<dyn TrackAndTrace>, String> {
    match config.track_and_trace.as_str() {
        "metrc" => Ok(Arc::new(MetrcTrace::new(
            &config.metrc_api_url,
            &config.metrc_vendor_key,
            &config.metrc_user_key,
        )?)),
        _ => Ok(Arc::new(TableTrace)),
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

/// Queues the delivered order's receipt (in the delivery's transaction).
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
    db::trace::insert(conn, order.id, &order.jurisdiction, &receipt).await
}

/// Waits longer after each failure: 30 s, 1 min, 2 min ... at most an hour.
pub fn next_attempt(attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    let seconds = (30_i64 << exponent).min(3600);
    now + Duration::seconds(seconds)
}

/// Sends the due receipts; returns how many were accepted.
pub async fn send_due(
    pool: &DbPool,
    adapter: &dyn TrackAndTrace,
) -> Result<usize, diesel::result::Error> {
    use diesel_async::AsyncConnection;
    let Ok(mut conn) = pool.get().await else {
        return Ok(0);
    };
    conn.transaction(async |conn| {
        let due = db::trace::lock_due(conn, Utc::now(), 20).await?;
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
                    db::trace::accepted(conn, report.order_id, adapter.name(), external.as_deref())
                        .await?;
                    metrics::counter!("orders_track_and_trace_reports_total", "outcome" => "accepted")
                        .increment(1);
                    accepted += 1;
                }
                Err(err) => {
                    tracing::warn!(order = %report.order_id, error = %err, "track-and-trace report refused; will retry");
                    metrics::counter!("orders_track_and_trace_reports_total", "outcome" => "failed")
                        .increment(1);
                    db::trace::failed(
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
