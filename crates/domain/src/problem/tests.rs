//! Tests of [`Problem`]: body shape, HTTP answer, conversions, and the extractor configs end
//! to end through an in-process actix app.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpResponse, test as actix_test, web};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Deserialize;

use super::*;
use crate::{Email, OrderId, Password};

fn database_error(kind: DatabaseErrorKind) -> DieselError {
    DieselError::DatabaseError(
        kind,
        Box::new("duplicate key value violates \"users_email_key\"".to_owned()),
    )
}

#[test]
fn minimal_body_has_type_title_status_detail_code() {
    insta::assert_json_snapshot!(Problem::not_found("Order not found."), @r###"
    {
      "type": "https://docs.fadedskies.com/problems/not-found",
      "title": "Not found",
      "status": 404,
      "detail": "Order not found.",
      "code": "NOT_FOUND",
      "error": "Not found",
      "message": "Order not found."
    }
    "###);
}

#[test]
fn the_guides_error_and_message_cannot_be_overwritten_by_an_extension() {
    let problem = Problem::conflict("Taken.")
        .with_extension("error", "spoofed")
        .with_extension("message", "spoofed");
    let body = serde_json::to_value(&problem).unwrap();
    assert_eq!(body["error"], "Conflict");
    assert_eq!(body["message"], "Taken.");
    assert_eq!(problem.message(), "Taken.");
}

#[test]
fn detail_and_errors_are_left_out_when_absent() {
    insta::assert_json_snapshot!(Problem::new(Code::CartEmpty), @r###"
    {
      "type": "https://docs.fadedskies.com/problems/cart-empty",
      "title": "Cart is empty",
      "status": 422,
      "code": "CART_EMPTY",
      "error": "Cart is empty",
      "message": "Cart is empty"
    }
    "###);
}

#[test]
fn validation_body_lists_field_errors_and_extensions() {
    let problem = Problem::validation(vec![
        FieldError::new("email", "must contain exactly one `@`"),
        FieldError::new("password", "must contain a digit"),
    ])
    .with_extension("requestId", "r-1");
    insta::assert_json_snapshot!(problem, @r###"
    {
      "type": "https://docs.fadedskies.com/problems/validation-failed",
      "title": "Invalid request",
      "status": 400,
      "detail": "2 fields are invalid.",
      "code": "VALIDATION_FAILED",
      "errors": [
        {
          "field": "email",
          "message": "must contain exactly one `@`"
        },
        {
          "field": "password",
          "message": "must contain a digit"
        }
      ],
      "error": "Invalid request",
      "message": "2 fields are invalid.",
      "requestId": "r-1"
    }
    "###);
}

#[test]
fn extensions_cannot_overwrite_standard_members() {
    let problem = Problem::new(Code::PurchaseLimitExceeded)
        .with_extension("code", "OK")
        .with_extension("status", 200)
        .with_extension("limitGrams", 28.5);
    let body = serde_json::to_value(&problem).unwrap();
    assert_eq!(body["code"], "PURCHASE_LIMIT_EXCEEDED");
    assert_eq!(body["status"], 422);
    assert_eq!(body["limitGrams"], 28.5);
    let body = ProblemBody::from(&problem);
    assert_eq!(body.extensions.len(), 1);
}

#[test]
fn accessors_return_what_was_built() {
    let problem = Problem::rate_limited(30).with_extension("limit", 5);
    assert_eq!(problem.code(), Code::RateLimited);
    assert_eq!(problem.status(), 429);
    assert_eq!(problem.retry_after(), Some(30));
    assert!(problem.detail().is_some());
    assert!(problem.errors().is_empty());
    assert_eq!(problem.extensions()["limit"], 5);
}

#[test]
fn display_shows_status_code_detail_and_fields() {
    let problem = Problem::from(ParseError::new("email", "must not be empty"));
    assert_eq!(
        problem.to_string(),
        "400 VALIDATION_FAILED: One field is invalid. [email: must not be empty]"
    );
    assert_eq!(Problem::new(Code::Forbidden).to_string(), "403 FORBIDDEN");
}

#[test]
fn response_has_status_problem_content_type_and_body() {
    let response = Problem::forbidden().error_response();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE),
        Some(&HeaderValue::from_static("application/problem+json"))
    );
    assert!(response.headers().get(header::RETRY_AFTER).is_none());
}

#[test]
fn response_sends_retry_after_when_set() {
    let response = Problem::rate_limited(42).error_response();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers().get(header::RETRY_AFTER),
        Some(&HeaderValue::from_static("42"))
    );
}

#[test]
fn unauthorized_responses_carry_www_authenticate() {
    let header_of = |problem: Problem| {
        problem
            .error_response()
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header_of(Problem::unauthenticated()).as_deref(),
        Some("Bearer")
    );
    assert_eq!(
        header_of(Problem::new(Code::TokenExpired)).as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(header_of(Problem::forbidden()), None);
}

#[test]
fn every_code_maps_to_a_valid_http_status() {
    for code in Code::ALL {
        assert_eq!(
            Problem::new(*code).status_code().as_u16(),
            code.status(),
            "{code}"
        );
    }
}

#[test]
fn internal_and_unavailable_never_reveal_the_cause() {
    let secret = "password=hunter2 at db.internal:5432";
    for problem in [Problem::internal(&secret), Problem::unavailable(&secret)] {
        let body = serde_json::to_string(&problem).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
    }
    assert_eq!(Problem::internal(&secret).status(), 500);
    assert_eq!(Problem::unavailable(&secret).status(), 503);
}

#[test]
fn diesel_not_found_is_404() {
    assert_eq!(Problem::from(DieselError::NotFound).code(), Code::NotFound);
}

#[test]
fn diesel_constraint_violations_are_conflicts_without_database_text() {
    for kind in [
        DatabaseErrorKind::UniqueViolation,
        DatabaseErrorKind::ForeignKeyViolation,
        DatabaseErrorKind::CheckViolation,
    ] {
        let problem = Problem::from(database_error(kind));
        assert_eq!(problem.code(), Code::Conflict, "{kind:?}");
        assert!(
            !problem
                .detail()
                .unwrap_or_default()
                .contains("users_email_key")
        );
    }
}

#[test]
fn diesel_transient_failures_are_503() {
    let problem = Problem::from(database_error(DatabaseErrorKind::ClosedConnection));
    assert_eq!(problem.code(), Code::ServiceUnavailable);
    let problem = Problem::from(database_error(DatabaseErrorKind::SerializationFailure));
    assert_eq!(
        (problem.code(), problem.retry_after()),
        (Code::ServiceUnavailable, Some(1))
    );
}

#[test]
fn other_diesel_errors_are_500() {
    assert_eq!(
        Problem::from(DieselError::RollbackTransaction).code(),
        Code::Internal
    );
    assert_eq!(
        Problem::from(database_error(DatabaseErrorKind::NotNullViolation)).code(),
        Code::Internal
    );
}

#[test]
fn parse_errors_and_field_error_lists_become_validation_problems() {
    let problem = Problem::from(ParseError::with_messages(
        "password",
        vec!["a".into(), "b".into()],
    ));
    assert_eq!(problem.code(), Code::ValidationFailed);
    assert_eq!(problem.errors().len(), 2);
    assert_eq!(problem.detail(), Some("2 fields are invalid."));
    let problem = Problem::from(vec![FieldError::new("x", "y")]);
    assert_eq!(problem.errors(), [FieldError::new("x", "y")]);
}

#[test]
fn problem_body_reads_back_what_problem_writes() {
    let problem = Problem::validation(vec![FieldError::new("limit", "must be between 1 and 100")])
        .with_extension("hint", "use offset");
    let text = serde_json::to_string(&problem).unwrap();
    let body: ProblemBody = serde_json::from_str(&text).unwrap();
    assert_eq!(body, ProblemBody::from(&problem));
    assert_eq!(serde_json::to_string(&body).unwrap(), text);
}

#[test]
fn problem_body_schema_describes_the_members() {
    let schema = serde_json::to_value(<ProblemBody as utoipa::PartialSchema>::schema()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for member in [
        "type", "title", "status", "detail", "code", "errors", "error", "message",
    ] {
        assert!(properties.contains_key(member), "{member}");
    }
    assert!(!properties.contains_key("extensions"));
    let required = schema["required"].as_array().unwrap();
    for member in ["code", "error", "message"] {
        assert!(required.contains(&serde_json::json!(member)), "{member}");
    }
    assert!(!required.contains(&serde_json::json!("detail")));
}

// ---- the extractor configs, end to end ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Signup {
    email: Email,
    password: Password,
    #[serde(default)]
    age: u8,
}

async fn signup(body: web::Json<Signup>) -> HttpResponse {
    let _ = (body.password.expose(), body.age);
    HttpResponse::Ok().body(body.email.to_string())
}

#[derive(Deserialize)]
struct Search {
    #[expect(dead_code, reason = "only its parsing is under test")]
    count: u32,
}

async fn search(_query: web::Query<Search>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn order(id: web::Path<OrderId>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

async fn send(request: actix_test::TestRequest) -> (StatusCode, Option<String>, ProblemBody) {
    let app = actix_test::init_service(
        App::new()
            .app_data(json_config().limit(256))
            .app_data(query_config())
            .app_data(path_config())
            .route("/signup", web::post().to(signup))
            .route("/search", web::get().to(search))
            .route("/orders/{id}", web::get().to(order))
            .service(
                web::resource("/only-get")
                    .route(web::get().to(HttpResponse::Ok))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(route_not_found)),
    )
    .await;
    let response = actix_test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = actix_test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "not a problem body ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, content_type, body)
}

fn post_json(body: &str) -> actix_test::TestRequest {
    actix_test::TestRequest::post()
        .uri("/signup")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let (status, content_type, body) = send(post_json(r#"{"email": "#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(body.code, Code::MalformedJson);
    assert!(
        body.detail
            .unwrap()
            .starts_with("The request body is not valid JSON")
    );
}

#[actix_web::test]
async fn invalid_field_value_is_named_in_the_errors() {
    let (status, _, body) = send(post_json(r#"{"email": "nope", "password": "Sunny#Day7"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, Code::ValidationFailed);
    assert_eq!(
        body.errors,
        [FieldError::new("email", "must contain exactly one `@`")]
    );
}

#[actix_web::test]
async fn every_broken_password_rule_is_listed() {
    let (_, _, body) = send(post_json(r#"{"email": "a@b.co", "password": "short"}"#)).await;
    let messages: Vec<&str> = body.errors.iter().map(|e| e.message.as_str()).collect();
    assert!(body.errors.iter().all(|e| e.field == "password"));
    assert_eq!(
        messages,
        [
            "must be at least 8 characters",
            "must contain an uppercase letter",
            "must contain a digit",
            "must contain one of the symbols !@#$%^&*",
        ]
    );
}

#[actix_web::test]
async fn missing_and_unknown_fields_are_named() {
    let (_, _, body) = send(post_json(r#"{"email": "a@b.co"}"#)).await;
    assert_eq!(body.errors, [FieldError::new("password", "is required")]);
    let (_, _, body) = send(post_json(
        r#"{"email": "a@b.co", "password": "Sunny#Day7", "admin": true}"#,
    ))
    .await;
    assert_eq!(
        body.errors,
        [FieldError::new("admin", "is not a known field")]
    );
}

#[actix_web::test]
async fn wrong_json_type_is_reported_under_body_without_position() {
    let (status, _, body) = send(post_json(
        r#"{"email": "a@b.co", "password": "Sunny#Day7", "age": "old"}"#,
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.errors.len(), 1);
    assert_eq!(body.errors[0].field, "body");
    assert!(
        body.errors[0]
            .message
            .starts_with("invalid type: string \"old\""),
        "{:?}",
        body.errors
    );
    assert!(!body.errors[0].message.contains(" at line "));
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let request = actix_test::TestRequest::post()
        .uri("/signup")
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload(r#"{"email": "a@b.co", "password": "Sunny#Day7"}"#);
    let (status, content_type, body) = send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(body.code, Code::UnsupportedMediaType);
}

#[actix_web::test]
async fn body_over_the_limit_is_413() {
    let huge = format!(
        r#"{{"email": "{}@b.co", "password": "Sunny#Day7"}}"#,
        "a".repeat(300)
    );
    let (status, _, body) = send(post_json(&huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.code, Code::PayloadTooLarge);
    assert_eq!(
        body.detail.as_deref(),
        Some("The request body is larger than the limit of 256 bytes.")
    );
}

#[actix_web::test]
async fn valid_json_reaches_the_handler() {
    let app = actix_test::init_service(
        App::new()
            .app_data(json_config())
            .route("/signup", web::post().to(signup)),
    )
    .await;
    let request =
        post_json(r#"{"email": "Ada@Example.com", "password": "Sunny#Day7"}"#).to_request();
    let response = actix_test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(actix_test::read_body(response).await, "ada@example.com");
}

#[actix_web::test]
async fn bad_query_string_is_a_validation_problem() {
    let (status, content_type, body) =
        send(actix_test::TestRequest::get().uri("/search?count=abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(body.code, Code::ValidationFailed);
    assert_eq!(body.errors[0].field, "query");
    let (_, _, body) = send(actix_test::TestRequest::get().uri("/search")).await;
    assert_eq!(body.errors, [FieldError::new("count", "is required")]);
}

#[actix_web::test]
async fn malformed_path_id_is_a_validation_problem() {
    let (status, _, body) = send(actix_test::TestRequest::get().uri("/orders/doggo")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body.errors,
        [FieldError::new("path", "could not parse `doggo` as a UUID")]
    );
}

#[actix_web::test]
async fn unknown_route_and_wrong_method_are_problems() {
    let (status, content_type, body) = send(actix_test::TestRequest::get().uri("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(body.code, Code::RouteNotFound);
    let (status, _, body) = send(actix_test::TestRequest::delete().uri("/only-get")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body.code, Code::MethodNotAllowed);
}
