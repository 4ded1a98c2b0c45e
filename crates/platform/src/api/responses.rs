//! Typed success answers, so a handler's signature says what it answers: `Json<T>` for 200,
//! [`Created<T>`] for 201 (with `Location` when the new resource has an address),
//! [`NoContent`] for 204.

use actix_web::body::BoxBody;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;

/// `201 Created` with `body` as JSON, and `Location` when given.
#[derive(Debug, Clone)]
pub struct Created<T> {
    body: T,
    location: Option<String>,
}

impl<T> Created<T> {
    /// A 201 without a `Location` (the new thing has no address of its own).
    #[must_use]
    pub const fn new(body: T) -> Self {
        Self {
            body,
            location: None,
        }
    }

    /// A 201 whose `Location` is `location` (a path such as `/api/payments/methods/{id}`).
    #[must_use]
    pub fn at(location: impl Into<String>, body: T) -> Self {
        Self {
            body,
            location: Some(location.into()),
        }
    }

    /// The body (tests).
    #[must_use]
    pub const fn body(&self) -> &T {
        &self.body
    }
}

impl<T: Serialize> Responder for Created<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::Created();
        if let Some(location) = &self.location {
            response.insert_header((LOCATION, location.as_str()));
        }
        response.json(&self.body)
    }
}

/// `204 No Content`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContent;

impl Responder for NoContent {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[actix_web::test]
    async fn created_answers_201_with_its_location() {
        let request = TestRequest::default().to_http_request();
        let response = Created::at("/things/1", serde_json::json!({"id": 1})).respond_to(&request);
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers().get(LOCATION).unwrap(), "/things/1");
        let response = Created::new(1).respond_to(&request);
        assert!(response.headers().get(LOCATION).is_none());
        assert_eq!(NoContent.respond_to(&request).status(), 204);
    }
}
