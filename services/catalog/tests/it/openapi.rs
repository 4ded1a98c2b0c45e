//! The contract: `/openapi.json` is the route table's own document (snapshotted, so every
//! change to the API shows in review), free of what validators refuse, and every operation
//! documents the platform's problem answers; a known path asked with another method is a 405.

use crate::helpers::TestApp;
use platform::api::problems::statuses;
use serde_json::Value;

#[test]
fn the_document_is_snapshotted_and_clean() {
    let api = catalog::routes::api();
    assert_eq!(api.lint(), Vec::<String>::new());
    let document = serde_json::to_value(api.openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    testkit::insta::assert_json_snapshot!("openapi", document);
}

#[test]
fn every_reference_resolves() {
    let document = serde_json::to_value(catalog::routes::api().openapi()).unwrap();
    testkit::openapi::assert_references_resolve(&document);
}

fn parameters(operation: &Value) -> Vec<(&str, &str)> {
    operation["parameters"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_operation_documents_its_parameters_and_the_platforms_problems() {
    let api = catalog::routes::api();
    let document = api.openapi();
    for (path, item) in &document.paths.paths {
        for operation in [&item.get, &item.put, &item.post, &item.delete]
            .into_iter()
            .flatten()
        {
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
    let paths = &json["paths"];
    // Query parameters are in the query, with the list's page after its filters.
    let list: Vec<_> = parameters(&paths["/api/products"]["get"]);
    assert!(list.iter().all(|(_, place)| *place == "query"), "{list:?}");
    assert_eq!(
        list.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        [
            "category",
            "search",
            "featured",
            "strainType",
            "productType",
            "minPrice",
            "maxPrice",
            "minThc",
            "inStock",
            "sort",
            "limit",
            "offset"
        ]
    );
    assert_eq!(
        parameters(&paths["/api/admin/products/low-stock"]["get"]),
        [("threshold", "query")]
    );
    assert_eq!(
        parameters(&paths["/api/admin/products/{id}"]["delete"]),
        [("id", "path"), ("permanent", "query")]
    );
    assert_eq!(
        parameters(&paths["/api/admin/products/{id}/stock/history"]["get"]),
        [("id", "path"), ("limit", "query"), ("offset", "query")]
    );
    // Every path parameter is its typed id, a UUID.
    for (path, method, expected) in [
        (
            "/api/products/{id}/images/{image_id}",
            "get",
            [("id", "ProductId"), ("image_id", "ImageId")],
        ),
        (
            "/api/products/{id}/reviews/{review_id}",
            "put",
            [("id", "ProductId"), ("review_id", "ReviewId")],
        ),
        (
            "/api/admin/products/{id}/reviews/{review_id}/visibility",
            "put",
            [("id", "ProductId"), ("review_id", "ReviewId")],
        ),
    ] {
        let declared = paths[path][method]["parameters"].as_array().unwrap();
        for ((name, schema), parameter) in expected.iter().zip(declared) {
            assert_eq!(parameter["name"], *name, "{path}");
            assert_eq!(parameter["in"], "path", "{path}");
            assert_eq!(
                parameter["schema"]["$ref"],
                format!("#/components/schemas/{schema}"),
                "{path}"
            );
            assert_eq!(
                json["components"]["schemas"][schema]["format"], "uuid",
                "{schema}"
            );
        }
    }
    let category = &paths["/api/admin/categories/{id}"]["put"]["parameters"][0];
    assert_eq!(
        category["schema"]["$ref"],
        "#/components/schemas/CategoryId"
    );
    // Lists answer under their own key.
    let page = &json["components"]["schemas"]["Page_ProductView"];
    assert_eq!(
        page["required"],
        serde_json::json!(["products", "total", "hasMore"])
    );
    // The two product reads have ids of their own (a client generator needs them unique).
    assert_ne!(
        paths["/api/products/{id}"]["get"]["operationId"],
        paths["/api/admin/products/{id}"]["get"]["operationId"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_serves_its_document_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let served = app.http(None).get("/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.json(),
        serde_json::to_value(catalog::routes::api().openapi()).unwrap()
    );

    let refused = app
        .http(None)
        .send(reqwest::Method::DELETE, "/api/products", None)
        .await;
    assert_eq!(refused.header("allow"), Some("GET"));
    testkit::assert_problem!(refused, 405, "METHOD_NOT_ALLOWED", "method_not_allowed");
    let unknown = app.http(None).get("/api/products/everything/else").await;
    testkit::assert_problem!(unknown, 404, "ROUTE_NOT_FOUND", "route_not_found");
    // A static segment is not taken for an id: the report is not product `low-stock`.
    let report = app
        .http(Some(&app.admin))
        .get("/api/admin/products/low-stock")
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
}
