//! What the gateway adds to the merged document of its own: its public endpoints, the
//! `bearer` scheme and problem schemas, and on each operation the answers the gateway itself
//! gives on that operation's route before (or instead of) the service — a path it cannot
//! read safely (400), a token (401) or role (403) its route refuses, a body over the route's
//! limit (413), a rate limit (429), and a service that is down, broken or slow (503, 502, 504).
//! A service documents its own answers; these are added where it has not.

use crate::rate_limit::Policy;
use crate::route_table::{AuthMode, Route};
use domain::ProblemBody;
use serde_json::{Map, Value, json};
use utoipa::{PartialSchema, ToSchema};

const PROBLEM_JSON: &str = "application/problem+json";

/// The gateway's own document: `/health`, `/health/live` and `/openapi.json`, the problem
/// schemas and the `bearer` scheme.
pub fn own_document() -> Value {
    let mut schemas = Map::new();
    let mut referred = vec![(ProblemBody::name().into_owned(), ProblemBody::schema())];
    ProblemBody::schemas(&mut referred);
    for (name, schema) in referred {
        schemas.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    let status = |values: &[&str], description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["status"],
                "properties": { "status": { "type": "string", "enum": values } },
            } } },
        })
    };
    let get = |id: &str, summary: &str, responses: Value| {
        json!({ "get": {
            "operationId": id,
            "summary": summary,
            "tags": ["gateway"],
            "security": [],
            "responses": responses,
        } })
    };
    json!({
        "tags": [{ "name": "gateway", "description": "The gateway's own endpoints." }],
        "paths": {
            "/health": get(
                "gateway_health",
                "Whether the gateway can serve: up while some service has an endpoint serving.",
                json!({
                    "200": status(&["up"], "Up."),
                    "503": status(&["down"], "No service has an endpoint serving."),
                }),
            ),
            "/health/live": get(
                "gateway_live",
                "Liveness of the gateway process.",
                json!({ "200": status(&["alive"], "The process is alive.") }),
            ),
            "/openapi.json": get(
                "gateway_openapi",
                "This document: every running service's operations as the gateway routes them.",
                json!({ "200": {
                    "description": "The merged OpenAPI document.",
                    "content": { "application/json": { "schema": { "type": "object" } } },
                } }),
            ),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
        },
    })
}

/// Adds to `operation` the answers the gateway gives on `route` that the service did not
/// document, and the route's token requirement where the service left it out.
pub fn add_edge_answers(operation: &mut Map<String, Value>, route: &Route, policies: &[Policy]) {
    let mut answers: Vec<(u16, String)> = vec![(
        400,
        "`BAD_REQUEST`: the gateway refuses a path it cannot read safely (an encoded `/` or `\\`, a control character, a malformed escape, `..` above the root).".into(),
    )];
    match route.auth {
        AuthMode::Required => {
            answers.push((401, "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`: no valid access token, or a revoked one (the gateway's check or the service's).".into()));
            let secured = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|requirements| !requirements.is_empty());
            if !secured {
                operation.insert("security".into(), json!([{ "bearer": [] }]));
            }
        }
        AuthMode::Optional => answers.push((401, "`INVALID_TOKEN` or `TOKEN_EXPIRED`: a bad, expired or revoked access token was sent (the gateway's check or the service's).".into())),
        AuthMode::None => {}
    }
    if !route.roles.is_empty() {
        let roles: Vec<String> = route.roles.iter().map(ToString::to_string).collect();
        answers.push((
            403,
            format!(
                "`FORBIDDEN`: the gateway lets only the {} role(s) use this route.",
                roles.join(", ")
            ),
        ));
    }
    if operation.contains_key("requestBody") {
        answers.push((
            413,
            format!(
                "`PAYLOAD_TOO_LARGE`: the body is over this route's limit of {} bytes.",
                route.max_body_bytes
            ),
        ));
    }
    let limits: Vec<String> = route
        .rate_limits
        .iter()
        .filter_map(|index| policies.get(*index))
        .map(|policy| {
            format!(
                "{} ({} per {} s)",
                policy.name,
                policy.requests,
                policy.window.as_secs()
            )
        })
        .collect();
    if !limits.is_empty() {
        answers.push((
            429,
            format!(
                "`RATE_LIMITED`: over the gateway's limit: {}; wait `Retry-After` seconds.",
                limits.join(", ")
            ),
        ));
    }
    answers.push((
        502,
        "`BAD_GATEWAY`: the service's answer was broken.".into(),
    ));
    answers.push((503, "`SERVICE_UNAVAILABLE`: the service (or one it depends on) is unavailable; retry after `Retry-After`.".into()));
    if let Some(timeout) = route.timeout {
        answers.push((
            504,
            format!(
                "`UPSTREAM_TIMEOUT`: the service did not answer within {} s.",
                timeout.as_secs()
            ),
        ));
    }

    let responses = operation
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(responses) = responses else {
        return;
    };
    for (status, description) in answers {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem_answer(status, &description));
    }
}

fn problem_answer(status: u16, description: &str) -> Value {
    let mut answer = json!({
        "description": description,
        "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/ProblemBody" } } },
    });
    if matches!(status, 429 | 503) {
        answer["headers"] = json!({ "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": { "type": "integer" },
        } });
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_table::RouteTable;

    fn route(text: &str) -> (RouteTable, std::sync::Arc<Route>) {
        let table = RouteTable::parse(
            "routes.yaml",
            &format!(
                "clusters:\n  c: {{ endpoints: [\"127.0.0.1:1\"] }}\nrate_limits:\n  api: {{ requests: 100, window_secs: 900, per: user_or_ip }}\nroutes:\n{text}"
            ),
            std::iter::empty(),
        )
        .unwrap();
        let route = std::sync::Arc::clone(&table.routes[0]);
        (table, route)
    }

    #[test]
    fn a_staff_route_documents_the_gateways_refusals() {
        let (table, route) = route(
            "  - prefix: /api/admin\n    cluster: c\n    auth: required\n    roles: [admin]\n    rate_limits: [api]\n",
        );
        let mut operation = json!({
            "requestBody": { "content": { "application/json": {} } },
            "responses": { "200": { "description": "Done" }, "400": { "description": "The service's own" } },
        });
        let Value::Object(operation) = &mut operation else {
            unreachable!()
        };
        add_edge_answers(operation, &route, &table.policies);
        let responses = operation["responses"].as_object().unwrap();
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        for status in [
            "200", "400", "401", "403", "413", "429", "502", "503", "504",
        ] {
            assert!(statuses.contains(&status), "{status} in {statuses:?}");
        }
        assert_eq!(responses["400"]["description"], "The service's own", "kept");
        assert_eq!(
            responses["403"]["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/ProblemBody"
        );
        assert!(
            responses["429"]["description"]
                .as_str()
                .unwrap()
                .contains("api (100 per 900 s)")
        );
        assert!(responses["429"]["headers"]["Retry-After"].is_object());
        assert_eq!(operation["security"], json!([{ "bearer": [] }]));
    }

    #[test]
    fn a_public_route_documents_no_token_refusals() {
        let (table, route) =
            route("  - prefix: /api/auth\n    cluster: c\n    auth: none\n    rate_limits: []\n");
        let mut operation = json!({ "responses": { "200": { "description": "Done" } } });
        let Value::Object(operation) = &mut operation else {
            unreachable!()
        };
        add_edge_answers(operation, &route, &table.policies);
        let responses = operation["responses"].as_object().unwrap();
        for status in ["401", "403", "413", "429"] {
            assert!(!responses.contains_key(status), "{status}");
        }
        assert!(!operation.contains_key("security"));
    }

    #[test]
    fn the_own_document_defines_what_its_answers_refer_to() {
        let own = own_document();
        assert!(own["components"]["schemas"]["ProblemBody"].is_object());
        assert!(own["components"]["schemas"]["Code"].is_object());
        assert_eq!(
            own["paths"]["/health"]["get"]["operationId"],
            "gateway_health"
        );
    }
}
