//! The contract: `/openapi.json` is the route table's own document (snapshotted, so every
//! change to the API shows in review), free of what validators refuse, and every operation
//! documents the platform's problem answers and its own; a known path asked with another
//! method is a 405.

use crate::helpers::TestApp;
use platform::api::problems::statuses;
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn the_document_is_snapshotted_and_clean() {
    let api = auth::routes::api();
    assert_eq!(api.lint(), Vec::<String>::new());
    let document = serde_json::to_value(api.openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    testkit::insta::assert_json_snapshot!("openapi", document);
}

#[test]
fn every_reference_resolves() {
    let json = serde_json::to_value(auth::routes::api().openapi()).unwrap();
    testkit::openapi::assert_references_resolve(&json);
}

#[test]
fn every_operation_documents_the_platforms_problems_and_has_its_own_id() {
    let api = auth::routes::api();
    let document = api.openapi();
    let mut ids = BTreeSet::new();
    for (path, item) in &document.paths.paths {
        for operation in [&item.get, &item.post, &item.put, &item.delete]
            .into_iter()
            .flatten()
        {
            let statuses = statuses(operation);
            let id = operation.operation_id.clone().unwrap_or_default();
            assert!(ids.insert(id.clone()), "{id} is not unique");
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
    // The customer's status and the admin's view of one submission were both
    // `get_id_verification`, which a client generator cannot tell apart.
    assert!(ids.contains("get_own_id_verification") && ids.contains("get_id_verification"));
}

/// `(name, in)` of each parameter of `method path`.
fn parameters<'a>(json: &'a Value, path: &str, method: &str) -> Vec<(&'a str, &'a str)> {
    json["paths"][path][method]["parameters"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn parameters_are_where_the_handlers_read_them_with_their_types() {
    let json = serde_json::to_value(auth::routes::api().openapi()).unwrap();
    assert_eq!(
        parameters(&json, "/api/admin/audit", "get"),
        [
            ("actor", "query"),
            ("action", "query"),
            ("subjectType", "query"),
            ("subjectId", "query"),
            ("from", "query"),
            ("to", "query"),
            ("limit", "query"),
            ("offset", "query"),
        ]
    );
    assert_eq!(
        parameters(&json, "/api/admin/users", "get"),
        [
            ("search", "query"),
            ("role", "query"),
            ("status", "query"),
            ("limit", "query"),
            ("offset", "query"),
        ]
    );
    assert_eq!(
        parameters(&json, "/api/admin/id-verifications", "get"),
        [
            ("status", "query"),
            ("search", "query"),
            ("limit", "query"),
            ("offset", "query"),
        ]
    );
    assert_eq!(
        parameters(&json, "/api/id-documents/{id}", "get"),
        [("id", "path"), ("expires", "query"), ("signature", "query")]
    );
    let typed = |path: &str, method: &str| {
        json["paths"][path][method]["parameters"][0]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (path, method) in [
        ("/api/admin/users/{id}", "get"),
        ("/api/admin/users/{id}/role", "put"),
        ("/api/admin/users/{id}/suspend", "post"),
        ("/api/admin/users/{id}/reactivate", "post"),
    ] {
        assert_eq!(typed(path, method), "#/components/schemas/UserId", "{path}");
    }
    for (path, method) in [
        ("/api/admin/id-verifications/{id}", "get"),
        ("/api/admin/id-verifications/{id}/document-link", "post"),
        ("/api/admin/id-verifications/{id}/approve", "post"),
        ("/api/admin/id-verifications/{id}/reject", "post"),
        ("/api/id-documents/{id}", "get"),
    ] {
        assert_eq!(
            typed(path, method),
            "#/components/schemas/IdVerificationId",
            "{path}"
        );
    }
    assert_eq!(json["components"]["schemas"]["UserId"]["format"], "uuid");
    // Rejecting an unknown submission answers 404, as approving one does.
    let reject = &json["paths"]["/api/admin/id-verifications/{id}/reject"]["post"]["responses"];
    assert!(reject["404"].is_object(), "{reject}");
    // The lists answer under their own keys.
    let users = &json["components"]["schemas"]["Page_UserView"]["properties"];
    assert!(
        users["users"].is_object() && users["hasMore"].is_object(),
        "{users}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_its_document_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let served = app.http(None).get("/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        serde_json::to_value(auth::routes::api().openapi()).unwrap()
    );

    let refused = app
        .http(None)
        .send(reqwest::Method::DELETE, "/api/users/profile", None)
        .await;
    assert_eq!(refused.header("allow"), Some("GET, PUT"));
    testkit::assert_problem!(refused, 405, "METHOD_NOT_ALLOWED", "method_not_allowed");
    let unknown = app.http(None).get("/api/auth/nothing-here").await;
    testkit::assert_problem!(unknown, 404, "ROUTE_NOT_FOUND", "route_not_found");
}
