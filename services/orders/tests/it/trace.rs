//! Track-and-trace: the Metrc adapter's request, and receipts retried until accepted.

use crate::helpers::TestApp;
use async_trait::async_trait;
use orders::trace::{MetrcTrace, TraceError, TrackAndTrace};
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-shot HTTP server answering `status`; returns its base URL and the raw request.
async fn stub(status: u16) -> (String, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head) = text.find("\r\n\r\n") {
                let length = text[..head]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= head + 4 + length {
                    break;
                }
            }
        }
        let body = if status == 200 {
            ""
        } else {
            "{\"Message\":\"No license\"}"
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (base, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrc_adapter_posts_the_receipt_with_the_licence_and_both_keys() {
    let (base, request) = stub(200).await;
    let metrc = MetrcTrace::new(&base, "vendor", "user").unwrap();
    let receipt = json!({ "ExternalReceiptNumber": "FS-1", "Transactions": [] });
    metrc.report("TX-RET-2024-001", &receipt).await.unwrap();
    let request = request.await.unwrap();
    assert!(
        request.starts_with("POST /sales/v2/receipts?licenseNumber=TX-RET-2024-001 "),
        "{request}"
    );
    // Basic base64("vendor:user").
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: basic dmvuzg9yonvzzxi="),
        "{request}"
    );
    let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body, json!([receipt]));

    let (base, _) = stub(401).await;
    let refused = MetrcTrace::new(&base, "vendor", "user")
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

/// Refuses the first receipt it sees, then accepts.
struct Flaky {
    calls: Mutex<u32>,
}

#[async_trait]
impl TrackAndTrace for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn report(&self, _: &str, _: &Value) -> Result<Option<String>, TraceError> {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            Err(TraceError("unavailable".into()))
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
    assert_eq!(orders::trace::send_due(&pool, &flaky).await.unwrap(), 0);
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
    assert_eq!(orders::trace::send_due(&pool, &flaky).await.unwrap(), 0);
    diesel::sql_query(format!(
        "UPDATE track_and_trace_reports SET next_attempt_at = now() WHERE order_id = '{order}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(orders::trace::send_due(&pool, &flaky).await.unwrap(), 1);
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
    // Metrc answering 500 with a body that streams without end.
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
    let metrc = MetrcTrace::new(&base, "vendor", "user").unwrap();
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
