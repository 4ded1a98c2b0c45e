//! [`ProblemResponses`]: the one post-processing step of every service's OpenAPI document.
//!
//! A handler documents what it answers itself (its 2xx and its own 404/409/422, with the
//! codes in the description); the answers every route can get from the platform are added
//! here, so no service forgets them and a contract test can hold the API to its document:
//! - 400 malformed input (bad JSON, query or path; the gateway's unsafe paths);
//! - 401 and 403 on operations with bearer security (the gateway's and the service's own
//!   token checks);
//! - 413 and 415 on operations with a JSON body (`domain::problem::json_config`);
//! - 429 (the gateway's rate limits) and 503 (the database, Redis or a provider is down).
//!
//! Every error answer is `application/problem+json` with the `ProblemBody` schema (one
//! documented as `application/json` is moved), and every answer has a one-line description.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use domain::ProblemBody;
use domain::problem::PROBLEM_JSON;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{Modify, PartialSchema, ToSchema};

/// See the module documentation. Applied by `Api::build`; services do not list it.
pub struct ProblemResponses;

/// The description of an answer that the handler left undescribed.
#[must_use]
pub fn default_description(status: u16) -> String {
    let text = match status {
        400 => {
            "Malformed or invalid input: `VALIDATION_FAILED` (see `errors`), `BAD_REQUEST` or `MALFORMED_JSON`."
        }
        401 => {
            "No, bad, expired or revoked access token: `UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED` (the gateway's or the service's check)."
        }
        403 => "The caller's role may not do this: `FORBIDDEN`.",
        404 => "`NOT_FOUND`: no such resource, or not the caller's.",
        405 => "`METHOD_NOT_ALLOWED`: the path does not take this method.",
        409 => "`CONFLICT`: the resource's current state does not allow this.",
        413 => "`PAYLOAD_TOO_LARGE`: the body is over the endpoint's limit.",
        415 => "`UNSUPPORTED_MEDIA_TYPE`: send the body as `application/json`.",
        422 => "`BUSINESS_RULE`: a business rule refused it.",
        429 => "`RATE_LIMITED`: too many requests; wait `Retry-After` seconds.",
        500 => "`INTERNAL`: our fault, logged with the request id.",
        503 => {
            "`SERVICE_UNAVAILABLE`: a dependency (database, Redis, a provider) is down; retry shortly."
        }
        504 => "`UPSTREAM_TIMEOUT`: the service did not answer the gateway in time.",
        _ => {
            return StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Answer")
                .to_owned();
        }
    };
    text.to_owned()
}

fn problem_ref() -> RefOr<utoipa::openapi::schema::Schema> {
    RefOr::Ref(Ref::from_schema_name(ProblemBody::name()))
}

fn problem_response(status: u16) -> Response {
    let mut response = ResponseBuilder::new()
        .description(default_description(status))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new().schema(Some(problem_ref())).build(),
        )
        .build();
    retry_after(status, &mut response);
    response
}

/// 429 always carries `Retry-After`; a 503 may.
fn retry_after(status: u16, response: &mut Response) {
    if matches!(status, 429 | 503) && !response.headers.contains_key("Retry-After") {
        response.headers.insert(
            "Retry-After".to_owned(),
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
}

/// Whether the operation requires the `bearer` scheme.
fn secured(operation: &Operation) -> bool {
    operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|requirement| {
            serde_json::to_value(requirement)
                .ok()
                .and_then(|value| value.as_object().map(|o| o.contains_key("bearer")))
                .unwrap_or(false)
        })
    })
}

/// Whether the operation takes a JSON body (read by `web::Json`, which answers 413 and 415).
fn takes_json(operation: &Operation) -> bool {
    operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"))
}

fn fix_operation(operation: &mut Operation) {
    let mut wanted = vec![400, 429, 503];
    if secured(operation) {
        wanted.extend([401, 403]);
    }
    if takes_json(operation) {
        wanted.extend([413, 415]);
    }
    let responses = &mut operation.responses.responses;
    for status in wanted {
        responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(problem_response(status)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let code: u16 = status.parse().unwrap_or(0);
        if response.description.trim().is_empty() {
            response.description = default_description(code);
        }
        if code >= 400 {
            let json = response.content.shift_remove("application/json");
            if !response.content.contains_key(PROBLEM_JSON) {
                let mut content = json
                    .unwrap_or_else(|| ContentBuilder::new().schema(Some(problem_ref())).build());
                if content.schema.is_none() {
                    content.schema = Some(problem_ref());
                }
                response.content.insert(PROBLEM_JSON.to_owned(), content);
            }
            retry_after(code, response);
        }
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                fix_operation(operation);
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas = vec![(ProblemBody::name().into_owned(), ProblemBody::schema())];
        ProblemBody::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
    }
}

/// The statuses an operation documents, for tests.
#[must_use]
pub fn statuses(operation: &Operation) -> BTreeMap<String, String> {
    operation
        .responses
        .responses
        .iter()
        .map(|(status, response)| {
            let description = match response {
                RefOr::T(response) => response.description.clone(),
                RefOr::Ref(reference) => reference.ref_location.clone(),
            };
            (status.clone(), description)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{OpenApiBuilder, Paths};

    fn document(operation: Operation) -> OpenApi {
        let mut paths = Paths::new();
        paths.add_path_operation("/x", vec![HttpMethod::Post], operation);
        let mut openapi = OpenApiBuilder::new().paths(paths).build();
        ProblemResponses.modify(&mut openapi);
        openapi
    }

    fn operation_of(openapi: &OpenApi) -> &Operation {
        openapi.paths.paths["/x"].post.as_ref().unwrap()
    }

    #[test]
    fn secured_operations_with_a_body_get_every_platform_answer() {
        let operation = OperationBuilder::new()
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", ContentBuilder::new().build())
                    .build(),
            ))
            .response("201", ResponseBuilder::new().description(""))
            .response(
                "422",
                ResponseBuilder::new()
                    .description("`BUSINESS_RULE`: too many")
                    .content("application/json", ContentBuilder::new().build()),
            )
            .build();
        let openapi = document(operation);
        let operation = operation_of(&openapi);
        let statuses = statuses(operation);
        assert_eq!(
            statuses.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "201", "400", "401", "403", "413", "415", "422", "429", "503"
            ]
        );
        assert_eq!(statuses["201"], "Created");
        assert_eq!(statuses["422"], "`BUSINESS_RULE`: too many");
        assert!(statuses.values().all(|d| !d.is_empty()));
        let json = serde_json::to_value(operation).unwrap();
        let refused = &json["responses"]["422"]["content"];
        assert!(refused.get("application/json").is_none(), "{refused}");
        assert_eq!(
            refused[PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/ProblemBody"
        );
        assert!(json["responses"]["429"]["headers"]["Retry-After"].is_object());
        let schemas = &openapi.components.as_ref().unwrap().schemas;
        assert!(schemas.contains_key("ProblemBody") && schemas.contains_key("Code"));
    }

    #[test]
    fn public_operations_without_a_body_get_no_auth_answers() {
        let operation = OperationBuilder::new()
            .response("200", ResponseBuilder::new().description("The list"))
            .build();
        let openapi = document(operation);
        let statuses = statuses(operation_of(&openapi));
        assert_eq!(
            statuses.keys().map(String::as_str).collect::<Vec<_>>(),
            ["200", "400", "429", "503"]
        );
    }
}
