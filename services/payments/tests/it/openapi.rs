//! The contract: `/openapi.json` is the route table's own document (snapshotted, so every
//! change to the API shows in review), free of what validators refuse, and every operation
//! documents the platform's problem answers; a known path asked with another method is a 405.

use crate::helpers::TestApp;
use platform::api::problems::statuses;
use serde_json::Value;

#[test]
fn the_document_is_snapshotted_and_clean() {
    let api = payments::routes::api();
    assert_eq!(api.lint(), Vec::<String>::new());
    let document = serde_json::to_value(api.openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    testkit::insta::assert_json_snapshot!("openapi", document);
}

#[test]
fn every_operation_documents_the_platforms_problems() {
    let api = payments::routes::api();
    let document = api.openapi();
    for (path, item) in &document.paths.paths {
        for operation in [&item.get, &item.post, &item.delete].into_iter().flatten() {
            let statuses = statuses(operation);
            let id = operation.operation_id.clone().unwrap_or_default();
            for status in ["400", "429", "503"] {
                assert!(statuses.contains_key(status), "{id} {path}: no {status}");
            }
            if operation.security.is_some() {
                assert!(
                    statuses.contains_key("401") && statuses.contains_key("403"),
                    "{id}"
                );
            }
        }
    }
    let json = serde_json::to_value(document).unwrap();
    let list = &json["paths"]["/api/admin/payments"]["get"];
    let params: Vec<(&str, &str)> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(
        params,
        [
            ("status", "query"),
            ("customerId", "query"),
            ("orderId", "query"),
            ("limit", "query"),
            ("offset", "query")
        ]
    );
    let refund = &json["paths"]["/api/admin/payments/{id}/refunds"]["post"]["parameters"][0];
    assert_eq!(
        (&refund["in"], &refund["schema"]["$ref"]),
        (
            &Value::from("path"),
            &Value::from("#/components/schemas/PaymentId")
        )
    );
    assert_eq!(json["components"]["schemas"]["PaymentId"]["format"], "uuid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_its_document_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let served = app.http(None).get("/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        serde_json::to_value(payments::routes::api().openapi()).unwrap()
    );

    let refused = app
        .http(None)
        .send(reqwest::Method::PUT, "/api/payments/methods", None)
        .await;
    assert_eq!(refused.header("allow"), Some("GET, POST"));
    testkit::assert_problem!(refused, 405, "METHOD_NOT_ALLOWED", "method_not_allowed");
    let unknown = app.http(None).get("/api/payments/nothing-here").await;
    testkit::assert_problem!(unknown, 404, "ROUTE_NOT_FOUND", "route_not_found");
}
