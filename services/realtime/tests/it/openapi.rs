//! The contract: `/openapi.json` is the route table's own document (snapshotted), clean, and
//! served; a known path asked with another method is a 405.

use crate::helpers::TestApp;

#[test]
fn the_document_is_snapshotted_and_clean() {
    let api = realtime::routes::api();
    assert_eq!(api.lint(), Vec::<String>::new());
    let document = serde_json::to_value(api.openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    testkit::insta::assert_json_snapshot!("openapi", document);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_its_document_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let served = app.http().get("/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        serde_json::to_value(realtime::routes::api().openapi()).unwrap()
    );
    let refused = app
        .http()
        .send(reqwest::Method::PUT, "/socket.io/", None)
        .await;
    assert_eq!(refused.header("allow"), Some("GET, POST"));
    testkit::assert_problem!(refused, 405, "METHOD_NOT_ALLOWED", "method_not_allowed");
    // The engine's own refusals are problems too.
    let unknown = app
        .http()
        .get("/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    testkit::assert_problem!(unknown, 400, "BAD_REQUEST", "unknown_session");
}
