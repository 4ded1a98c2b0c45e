//! Track-and-trace: the Metrc adapter against wiremock answering as Metrc's sales-receipt API
//! would, and receipts retried until accepted.

use crate::helpers::TestApp;
use async_trait::async_trait;
use orders::track_and_trace::metrc::Metrc;
use orders::track_and_trace::{ReportError, TrackAndTrace};
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrc_adapter_posts_the_receipt_with_the_licence_and_both_keys() {
    let receipt = json!({ "ExternalReceiptNumber": "FS-1", "Transactions": [] });
    let metrc = MockServer::start().await;
    // Only the request Metrc documents is accepted: anything else gets wiremock's 404, which
    // the adapter reports as a refusal.
    Mock::given(method("POST"))
        .and(path("/sales/v2/receipts"))
        .and(query_param("licenseNumber", "TX-RET-2024-001"))
        .and(basic_auth("vendor", "user"))
        .and(body_json(json!([receipt])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([1001])))
        .expect(1)
        .mount(&metrc)
        .await;
    let adapter = Metrc::new(&metrc.uri(), "vendor", "user").unwrap();
    assert_eq!(
        adapter.report("TX-RET-2024-001", &receipt).await.unwrap(),
        None
    );
    metrc.verify().await;

    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(r#"{"Message":"No license"}"#, "application/json"),
        )
        .mount(&refusing)
        .await;
    let refused = Metrc::new(&refusing.uri(), "vendor", "user")
        .unwrap()
        .report("X", &receipt)
        .await
        .unwrap_err();
    assert!(
        refused.0.contains("401") && refused.0.contains("No license"),
        "{}",
        refused.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_metrc_is_a_refusal_to_retry() {
    // A port nothing listens on (wiremock keeps its servers pooled, so a dropped one still
    // answers).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let refused = Metrc::new(&base, "vendor", "user")
        .unwrap()
        .report("X", &json!({}))
        .await
        .unwrap_err();
    assert!(refused.0.starts_with("Metrc unreachable"), "{}", refused.0);
}

/// Refuses the first receipt it sees, then accepts.
struct Flaky {
    calls: Mutex<u32>,
}

#[async_trait]
impl TrackAndTrace for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn report(&self, _: &str, _: &Value) -> Result<Option<String>, ReportError> {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            Err(ReportError("unavailable".into()))
        } else {
            Ok(Some("receipt-7".into()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_receipt_is_retried_until_accepted() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let (token, order) = crate::fulfilment::delivered(&app).await;
    drop(token);
    // The service's own timer sends with the table adapter; put the receipt back to pending
    // and let a flaky adapter try.
    app.wait_for_row("accepted", format!("SELECT count(*) AS n FROM track_and_trace_reports WHERE order_id = '{order}' AND status = 'accepted'")).await;
    let mut conn = app.db.conn().await;
    diesel::sql_query(format!("UPDATE track_and_trace_reports SET status = 'pending', attempts = 0 WHERE order_id = '{order}'"))
        .execute(&mut conn).await.unwrap();
    let flaky = Flaky {
        calls: Mutex::new(0),
    };
    let pool = app.db.pool();
    let send_due = orders::track_and_trace::send_due;
    assert_eq!(send_due(&pool, &flaky).await.unwrap(), 0);
    let receipts = app
        .call(
            reqwest::Method::GET,
            "/api/admin/track-and-trace?status=pending",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(receipts["receipts"][0]["attempts"], 1);
    assert_eq!(receipts["receipts"][0]["lastError"], "unavailable");
    // Not due again for 30 s.
    assert_eq!(send_due(&pool, &flaky).await.unwrap(), 0);
    diesel::sql_query(format!(
        "UPDATE track_and_trace_reports SET next_attempt_at = now() WHERE order_id = '{order}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(send_due(&pool, &flaky).await.unwrap(), 1);
    let accepted = app
        .call(
            reqwest::Method::GET,
            "/api/admin/track-and-trace?status=accepted",
            None,
            Some(&app.admin),
            200,
        )
        .await;
    assert_eq!(accepted["receipts"][0]["adapter"], "flaky");
    assert_eq!(accepted["receipts"][0]["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_that_never_ends_is_reported_from_its_start_at_once() {
    // Metrc answering 500 with a body that streams without end. Not wiremock: it answers with
    // whole bodies, and this needs one that never finishes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 65536];
        let _ = socket.read(&mut request).await.unwrap();
        let head =
            "HTTP/1.1 500 X\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 1200, "No license. ".repeat(100));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let metrc = Metrc::new(&base, "vendor", "user").unwrap();
    let receipt = json!({ "ExternalReceiptNumber": "FS-2", "Transactions": [] });
    // The adapter's own timeout is 10 s; reading the whole answer would wait for it.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        metrc.report("X", &receipt),
    )
    .await
    .expect("the refusal is reported without reading it all")
    .unwrap_err();
    assert!(
        refused.0.starts_with("Metrc answered 500") && refused.0.contains("No license."),
        "{}",
        refused.0
    );
    assert!(refused.0.len() < 600, "{}", refused.0.len());
}
