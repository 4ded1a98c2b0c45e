//! The contract: `/openapi.json` is the route table's own document (snapshotted, so every
//! change to the API shows in review), free of what validators refuse, and every operation
//! documents the platform's problem answers; a known path asked with another method is a 405.

use crate::helpers::TestApp;
use platform::api::problems::statuses;
use serde_json::Value;

#[test]
fn the_document_is_snapshotted_and_clean() {
    let api = orders::routes::api();
    assert_eq!(api.lint(), Vec::<String>::new());
    let document = serde_json::to_value(api.openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    testkit::insta::assert_json_snapshot!("openapi", document);
}

#[test]
fn every_operation_documents_the_platforms_problems() {
    let api = orders::routes::api();
    let document = api.openapi();
    let mut operations = 0;
    for (path, item) in &document.paths.paths {
        for operation in [&item.get, &item.post, &item.put, &item.delete]
            .into_iter()
            .flatten()
        {
            operations += 1;
            let statuses = statuses(operation);
            let id = operation.operation_id.clone().unwrap_or_default();
            for status in ["400", "429", "503"] {
                assert!(statuses.contains_key(status), "{id} {path}: no {status}");
            }
            if path.starts_with("/api/compliance") || path == "/api/analytics/events" {
                assert!(operation.security.is_none(), "{id} is public");
            } else {
                // Every other operation needs a token: 401 and 403 are documented with it.
                assert!(operation.security.is_some(), "{id} {path}: no security");
                assert!(
                    statuses.contains_key("401") && statuses.contains_key("403"),
                    "{id}"
                );
            }
        }
    }
    assert_eq!(operations, 27);
    let json = serde_json::to_value(document).unwrap();
    let params = |path: &str, method: &str| -> Vec<(String, String)> {
        json["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["in"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let query = |names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), "query".to_owned()))
            .collect()
    };
    assert_eq!(
        params("/api/admin/orders", "get"),
        query(&["status", "from", "to", "zone", "limit", "offset"])
    );
    assert_eq!(
        params("/api/admin/track-and-trace", "get"),
        query(&["status", "limit", "offset"])
    );
    for (path, method, name, schema) in [
        ("/api/orders/{id}", "get", "id", "OrderId"),
        (
            "/api/admin/orders/{id}/assign-driver",
            "post",
            "id",
            "OrderId",
        ),
        (
            "/api/driver/orders/{id}/fail-delivery",
            "post",
            "id",
            "OrderId",
        ),
        ("/api/users/addresses/{id}", "put", "id", "AddressId"),
        (
            "/api/cart/remove/{product_id}",
            "delete",
            "product_id",
            "ProductId",
        ),
    ] {
        let param = &json["paths"][path][method]["parameters"][0];
        assert_eq!(
            (&param["name"], &param["in"], &param["schema"]["$ref"]),
            (
                &Value::from(name),
                &Value::from("path"),
                &Value::from(format!("#/components/schemas/{schema}"))
            ),
            "{method} {path}"
        );
        assert_eq!(json["components"]["schemas"][schema]["format"], "uuid");
    }
    let limit = &json["paths"]["/api/orders"]["get"]["parameters"][1];
    assert_eq!(
        (&limit["name"], &limit["schema"]["maximum"]),
        (&Value::from("limit"), &Value::from(100))
    );
    // Lists answer a page under their own key.
    let page = &json["components"]["schemas"]["Page_OrderView"];
    assert_eq!(
        page["required"],
        serde_json::json!(["orders", "total", "hasMore"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_its_document_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let served = app.http(None).get("/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        serde_json::to_value(orders::routes::api().openapi()).unwrap()
    );

    let refused = app
        .http(Some(&app.admin))
        .send(reqwest::Method::PATCH, "/api/orders", None)
        .await;
    assert_eq!(refused.header("allow"), Some("GET, POST"));
    testkit::assert_problem!(refused, 405, "METHOD_NOT_ALLOWED", "method_not_allowed");
    let unknown = app.http(None).get("/api/orders/nothing/here").await;
    testkit::assert_problem!(unknown, 404, "ROUTE_NOT_FOUND", "route_not_found");
}
