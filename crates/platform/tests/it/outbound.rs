//! `platform::outbound`: provider answers past their cap are refused, whether the provider
//! announces the size or streams it.

use platform::outbound::{ReadError, json_capped, read_capped, text_prefix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

#[tokio::test]
async fn an_answer_within_the_cap_is_read_whole() {
    let server = answering(br#"{"status":"OK"}"#.to_vec()).await;
    let body = read_capped(get(&server.uri()).await, 15).await.unwrap();
    assert_eq!(body.as_ref(), br#"{"status":"OK"}"#);
    let value: serde_json::Value = json_capped(get(&server.uri()).await, 1024).await.unwrap();
    assert_eq!(value["status"], "OK");
}

#[tokio::test]
async fn an_announced_answer_past_the_cap_is_refused() {
    let server = answering(vec![b' '; 64 * 1024]).await;
    let err = read_capped(get(&server.uri()).await, 1024)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReadError::TooLarge { limit: 1024 }),
        "{err:?}"
    );
    let err = json_capped::<serde_json::Value>(get(&server.uri()).await, 1024)
        .await
        .unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
}

/// An answer without `Content-Length`: `chunks` chunks of 1 KiB.
async fn streaming(chunks: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
        for _ in 0..chunks {
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    url
}

#[tokio::test]
async fn a_streamed_answer_is_refused_once_it_passes_the_cap() {
    let url = streaming(64).await;
    let err = read_capped(get(&url).await, 8 * 1024).await.unwrap_err();
    assert!(
        matches!(err, ReadError::TooLarge { limit: 8192 }),
        "{err:?}"
    );
    // Within the cap, the same kind of answer reads whole.
    let url = streaming(4).await;
    assert_eq!(
        read_capped(get(&url).await, 8 * 1024).await.unwrap().len(),
        4096
    );
}

#[tokio::test]
async fn an_error_message_reads_only_the_start_of_the_answer() {
    let server = answering(b"No license. ".repeat(10_000)).await;
    let text = text_prefix(get(&server.uri()).await, 20).await;
    assert_eq!(text, "No license. No licen");
}
