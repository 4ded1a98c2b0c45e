//! One source for a service's route table and its OpenAPI document.
//!
//! Each handler carries `#[utoipa::path(..)]` naming its method and path; [`endpoint!`] pairs
//! the handler with that attribute, and [`Api`] mounts it at that method and path *and* puts
//! its operation (with the schemas it refers to) in the document. So a route cannot exist
//! without its documentation, nor the other way round:
//!
//! ```ignore
//! pub fn api() -> ApiRoutes {
//!     Api::new(ApiDoc::openapi())
//!         .endpoint(platform::endpoint!(methods::list_methods))
//!         .endpoint(platform::endpoint!(methods::add_method))
//!         .build()
//! }
//! // startup: `.configure(|cfg| api.configure(cfg))`; tests: `api().openapi()`.
//! ```
//!
//! Paths are mounted as actix resources in the order they are first registered, so a path
//! with a static segment (`/payments/search`) must come before the one it would otherwise be
//! shadowed by (`/payments/{id}`); [`ApiRoutes::lint`] reports it when it does not. A known
//! path asked with a method it does not serve answers `405 METHOD_NOT_ALLOWED` (problem+json,
//! with `Allow`).
//!
//! [`ApiRoutes::openapi`] is post-processed by [`problems::ProblemResponses`]: every operation
//! documents the problem answers the platform can give it (400, 401/403, 413/415, 429, 503).

mod lint;
pub mod problems;
mod responses;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{FromRequest, Handler, HttpResponse, Responder, ResponseError, Route, web};
use domain::{Code, Problem};
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

pub use responses::{Created, NoContent};

#[doc(hidden)]
pub use pastey;

/// Builds an actix route for one method; called once per worker thread.
type RouteFactory = Arc<dyn Fn() -> Route + Send + Sync>;

/// One handler and its documentation; made by [`endpoint!`].
pub struct Endpoint {
    path: String,
    methods: Vec<HttpMethod>,
    operation: Operation,
    schemas: Vec<(String, RefOr<Schema>)>,
    route: RouteFactory,
}

impl Endpoint {
    /// The handler `handler` documented by `P` (the `__path_<handler>` struct that
    /// `#[utoipa::path]` generates). Use [`endpoint!`], which names `P` for you, so the two
    /// cannot be mismatched.
    #[doc(hidden)]
    pub fn new<P, F, Args>(handler: F) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let mut operation = P::operation();
        let tags = <P as utoipa::__dev::Tags>::tags();
        if !tags.is_empty() {
            let known = operation.tags.get_or_insert_with(Vec::new);
            for tag in tags {
                if !known.iter().any(|t| t == tag) {
                    known.push(tag.to_owned());
                }
            }
        }
        let mut schemas = Vec::new();
        P::schemas(&mut schemas);
        Self {
            path: P::path(),
            methods: P::methods(),
            operation,
            schemas,
            route: Arc::new(move || web::route().to(handler.clone())),
        }
    }

    /// The path as documented and mounted (`/api/orders/{id}`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Pairs a `#[utoipa::path]` handler with its documentation: `endpoint!(methods::add_method)`.
#[macro_export]
macro_rules! endpoint {
    ($($segment:ident)::+) => {
        $crate::endpoint!(@split [] $($segment)+)
    };
    (@split [$($module:ident)*] $handler:ident) => {
        $crate::api::pastey::paste! {
            $crate::api::Endpoint::new::<$($module::)* [<__path_ $handler>], _, _>($($module::)* $handler)
        }
    };
    (@split [$($module:ident)*] $head:ident $($rest:ident)+) => {
        $crate::endpoint!(@split [$($module)* $head] $($rest)+)
    };
}

/// A route table under construction: the document's frame (info, tags, security schemes)
/// and the endpoints, in registration order.
pub struct Api {
    base: OpenApi,
    endpoints: Vec<Endpoint>,
}

impl Api {
    /// Starts from `base`, typically `#[derive(OpenApi)]` with `info`, `tags` and
    /// `modifiers(&auth_token::BearerAuth)` but no `paths`.
    #[must_use]
    pub fn new(base: OpenApi) -> Self {
        Self {
            base,
            endpoints: Vec::new(),
        }
    }

    /// Adds an endpoint (see [`endpoint!`]).
    #[must_use]
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// The finished table and its document, built once.
    #[must_use]
    pub fn build(self) -> ApiRoutes {
        let mut document = self.base;
        for endpoint in &self.endpoints {
            document.paths.add_path_operation(
                &endpoint.path,
                endpoint.methods.clone(),
                endpoint.operation.clone(),
            );
            let components = document.components.get_or_insert_with(Default::default);
            for (name, schema) in &endpoint.schemas {
                components
                    .schemas
                    .entry(name.clone())
                    .or_insert_with(|| schema.clone());
            }
        }
        utoipa::Modify::modify(&problems::ProblemResponses, &mut document);
        let mut resources: Vec<Resource> = Vec::new();
        for endpoint in self.endpoints {
            for method in &endpoint.methods {
                let route = Arc::clone(&endpoint.route);
                let method = actix_method(method);
                match resources.iter_mut().find(|r| r.path == endpoint.path) {
                    Some(resource) => resource.routes.push((method, route)),
                    None => resources.push(Resource {
                        path: endpoint.path.clone(),
                        routes: vec![(method, route)],
                    }),
                }
            }
        }
        ApiRoutes {
            resources: resources.into(),
            document: Arc::new(document),
        }
    }
}

struct Resource {
    path: String,
    routes: Vec<(Method, RouteFactory)>,
}

/// A service's routes and their OpenAPI document; cheap to clone (one per worker).
#[derive(Clone)]
pub struct ApiRoutes {
    resources: Arc<[Resource]>,
    document: Arc<OpenApi>,
}

impl ApiRoutes {
    /// Mounts every route, and `GET /openapi.json` serving the document.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let document = Arc::clone(&self.document);
        cfg.route(
            "/openapi.json",
            web::get().to(move || {
                let document = Arc::clone(&document);
                async move { HttpResponse::Ok().json(&*document) }
            }),
        );
        for resource in self.resources.iter() {
            let mut mounted = web::resource(resource.path.as_str());
            let mut allowed: Vec<&str> = Vec::new();
            for (method, route) in &resource.routes {
                mounted = mounted.route(route().method(method.clone()));
                allowed.push(method.as_str());
            }
            let allow = allowed.join(", ");
            mounted = mounted.default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            }));
            cfg.service(mounted);
        }
    }

    /// The OpenAPI document (3.1) of these routes.
    #[must_use]
    pub fn openapi(&self) -> &OpenApi {
        &self.document
    }

    /// What is wrong with the document or the table: path parameters not declared in the
    /// path (or declared but absent), query parameters documented as path ones, responses
    /// without a description, a route shadowed by an earlier `{param}` route. Each service's
    /// tests assert this is empty.
    #[must_use]
    pub fn lint(&self) -> Vec<String> {
        let paths: Vec<&str> = self.resources.iter().map(|r| r.path.as_str()).collect();
        let mut problems = lint::document(&self.document);
        problems.extend(lint::shadowed(&paths));
        problems
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// `405 METHOD_NOT_ALLOWED` with the `Allow` header RFC 9110 §15.5.6 asks for.
fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut response = Problem::new(Code::MethodNotAllowed)
        .with_detail("This path does not accept this method.")
        .error_response();
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}
