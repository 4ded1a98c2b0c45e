//! The request path through the gateway:
//!
//! 1. request id, trace context, the path normalised as the services will read it (`request_path`;
//!    a path that cannot be is refused), CORS preflight, the gateway's own endpoints, route
//!    lookup on the normalised path, body size, edge authentication, roles, rate limits and
//!    revocation (a request the edge refuses counts against its address). Refusals are answered
//!    here as problem+json (this module);
//! 2. identity headers a client could forge are removed and the gateway's own
//!    (`X-Forwarded-For`, `X-Request-Id`, `traceparent`) are set; the normalised path is the one
//!    sent on, so the service reads what the route was chosen for (`headers`);
//! 3. an endpoint of the route's cluster (healthy, not ejected), tried again on another one
//!    where the route allows; upstream down → 503, too slow → 504, broken → 502 (`forward`);
//! 4. request id, CORS and `RateLimit-*` headers on the way back (`headers`); WebSocket
//!    upgrades become a tunnel (`forward`);
//! 5. one JSON access-log line and the request metrics (`access_log`).

mod access_log;
mod forward;
mod headers;

pub use access_log::Finished;

use crate::body::ResponseBody;
use crate::client_ip::TrustedProxies;
use crate::cluster::Cluster;
use crate::cors::{self, Cors};
use crate::edge_auth::{self, EdgeAuth};
use crate::ops::Ops;
use crate::own_endpoints::OwnEndpoints;
use crate::rate_limit::{Count, Limiter, PerPolicy, Policy, Verdict};
use crate::request_path;
use crate::respond::Local;
use crate::revocation::{Revocations, Verified};
use crate::route_table::{AuthMode, Route, RouteTable};
use crate::telemetry::{self, Meters};
use crate::upstream::PoolSettings;
use access_log::Exchange;
use auth_token::TokenError;
use bytes::Bytes;
use domain::{Code, Problem};
use forward::problem_for;
use headers::{REQUEST_ID, TRACEPARENT, X_FORWARDED_FOR, is_upgrade};
use http::header::{self, HeaderMap};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, Uri};
use hyper::body::Incoming;
use smallvec::SmallVec;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

pub struct Gateway {
    pub table: RouteTable,
    pub clusters: Vec<Cluster>,
    pub auth: EdgeAuth,
    pub limiter: Limiter,
    pub trusted: TrustedProxies,
    pub cors: Cors,
    pub own: OwnEndpoints,
    /// What the operations port answers (`ops`).
    pub ops: Ops,
    pub pool: PoolSettings,
    /// For `/health`; the limiter asks it about tokens.
    pub revocations: Arc<Revocations>,
    pub meters: Meters,
}

/// What one request carries from step to step, and what its log line says.
pub struct RequestCtx {
    started: Instant,
    method: Method,
    uri: Uri,
    user_agent: Option<HeaderValue>,
    request_id: HeaderValue,
    traceparent: HeaderValue,
    peer: IpAddr,
    client_ip: IpAddr,
    route: Option<Arc<Route>>,
    token: Option<Arc<Verified>>,
    rate: Option<Count>,
    cors_origin: Option<HeaderValue>,
    /// Endpoints already tried for this request, the last being the current one (inline: one
    /// or two for nearly every request).
    tried: SmallVec<[SocketAddr; 2]>,
    /// Label of the gateway's own endpoint that answered.
    own: Option<&'static str>,
    upstream_status: Option<u16>,
    error: Option<&'static str>,
    /// Set once the log line is written; a request dropped before (the client went away)
    /// is logged when its context is.
    logged: bool,
}

impl RequestCtx {
    fn endpoint(&self) -> Option<SocketAddr> {
        self.tried.last().copied()
    }
}

impl Gateway {
    /// Answers one client request. Never fails: every refusal is an answer.
    pub async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: IpAddr,
    ) -> Response<ResponseBody> {
        let mut exchange = Exchange {
            ctx: self.start(&request, peer),
            gateway: &self,
        };
        let mut response = self.process(&mut exchange.ctx, request).await;
        self.decorate(response.headers_mut(), &exchange.ctx);
        exchange.finish(response.status().as_u16());
        response
    }

    fn start(&self, request: &Request<Incoming>, peer: IpAddr) -> RequestCtx {
        let headers = request.headers();
        let forwarded = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok());
        RequestCtx {
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            user_agent: headers.get(header::USER_AGENT).cloned(),
            request_id: telemetry::request_id(headers.get(REQUEST_ID)),
            traceparent: telemetry::traceparent(headers.get(TRACEPARENT)),
            peer,
            client_ip: self.trusted.client_ip(peer, forwarded),
            route: None,
            token: None,
            rate: None,
            cors_origin: self.cors.allow(headers.get(header::ORIGIN)),
            tried: SmallVec::new(),
            own: None,
            upstream_status: None,
            error: None,
            logged: false,
        }
    }

    async fn process(
        &self,
        ctx: &mut RequestCtx,
        request: Request<Incoming>,
    ) -> Response<ResponseBody> {
        let (mut parts, body) = request.into_parts();
        let normalised = match request_path::normalise(&parts.uri) {
            Ok(normalised) => normalised,
            Err(error) => return refusal(&Problem::bad_request(error.to_string())),
        };
        if let Some(uri) = normalised.forwarded {
            parts.uri = uri;
        }
        let path = normalised.matched.as_deref().unwrap_or(parts.uri.path());

        if parts.method == Method::OPTIONS
            && parts.headers.contains_key(header::ORIGIN)
            && parts
                .headers
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return preflight(&parts.headers);
        }

        if let Some((label, answer)) = self.own.answer(self, &parts.method, path).await {
            ctx.own = Some(label);
            return answer.into_response();
        }

        let Some(route) = self.table.find(&parts.method, path).cloned() else {
            let problem = if self.table.has_path(path) {
                Problem::new(Code::MethodNotAllowed)
                    .with_detail(format!("{} is not allowed on {path}.", parts.method))
            } else {
                Problem::new(Code::RouteNotFound).with_detail(format!("No route for {path}."))
            };
            return refusal(&problem);
        };
        ctx.route = Some(Arc::clone(&route));

        let upgrade = is_upgrade(&parts.headers);
        if upgrade && !route.websocket {
            return refusal(&Problem::bad_request(
                "This route does not take WebSocket upgrades.",
            ));
        }
        let declared_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > route.max_body_bytes) {
            return refusal(&too_large(route.max_body_bytes));
        }

        let token = match self.authenticate(&parts, &route).await {
            Ok(token) => token,
            Err(problem) => {
                // The refusal counts against the client's address (a refused token proves no
                // user; a role refusal is counted the same way), so that refusals (a flood of
                // forged tokens, guessing) cannot be had without limit.
                let verdict = self
                    .limiter
                    .check(&self.policies(&route), ctx.client_ip, None)
                    .await;
                if let Some(refused) = self.over_limit(ctx, &route, &verdict) {
                    return refused;
                }
                metrics::counter!(
                    "gateway_auth_rejected_total",
                    "route" => route.name.clone(),
                    "reason" => problem.code().as_str(),
                )
                .increment(1);
                return refusal(&problem);
            }
        };

        let verdict = self
            .limiter
            .check(&self.policies(&route), ctx.client_ip, token.as_deref())
            .await;
        if verdict.revoked == Some(true) {
            metrics::counter!(
                "gateway_auth_rejected_total",
                "route" => route.name.clone(),
                "reason" => "TOKEN_REVOKED",
            )
            .increment(1);
            return refusal(
                &Problem::new(Code::InvalidToken).with_detail("The token has been revoked."),
            );
        }
        ctx.token = token;
        if let Some(refused) = self.over_limit(ctx, &route, &verdict) {
            return refused;
        }

        match self.forward(ctx, &route, parts, body, upgrade).await {
            Ok(response) => response,
            Err(error) => {
                ctx.error = Some(error.label());
                refusal(&problem_for(&error, &route))
            }
        }
    }

    /// Notes the count to report in `RateLimit-*` headers; the 429 if a policy is over its
    /// limit.
    fn over_limit(
        &self,
        ctx: &mut RequestCtx,
        route: &Route,
        verdict: &Verdict,
    ) -> Option<Response<ResponseBody>> {
        ctx.rate = verdict.tightest();
        let (policy, count) = verdict.exceeded()?;
        ctx.rate = Some(count);
        metrics::counter!(
            "gateway_rate_limited_total",
            "route" => route.name.clone(),
            "policy" => self.table.policies[policy].name.clone(),
        )
        .increment(1);
        Some(refusal(&Problem::rate_limited(count.reset_secs())))
    }

    /// Edge authentication for `route`: the verified claims, if any, or the refusal.
    async fn authenticate(
        &self,
        request: &Parts,
        route: &Route,
    ) -> Result<Option<Arc<Verified>>, Problem> {
        if route.auth == AuthMode::None {
            return Ok(None);
        }
        let token = edge_auth::bearer(
            request
                .headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
        )
        .or_else(|| {
            route
                .websocket
                .then(|| edge_auth::query_token(request.uri.query()))
                .flatten()
        });
        let Some(token) = token else {
            return match route.auth {
                AuthMode::Required => Err(TokenError::Missing.into()),
                _ => Ok(None),
            };
        };
        let verified = self.auth.verify(token).await?;
        let role = verified.claims.role;
        if !edge_auth::role_allowed(&route.roles, role) {
            return Err(Problem::forbidden()
                .with_detail(format!("This route is not open to the {role} role.")));
        }
        Ok(Some(verified))
    }

    fn cluster(&self, route: &Route) -> &Cluster {
        &self.clusters[route.cluster]
    }

    fn policies<'a>(&'a self, route: &Route) -> PerPolicy<(usize, &'a Policy)> {
        route
            .rate_limits
            .iter()
            .map(|index| (*index, &self.table.policies[*index]))
            .collect()
    }
}

fn refusal(problem: &Problem) -> Response<ResponseBody> {
    Local::problem(problem).into_response()
}

/// The answer to a CORS preflight: the methods and headers a browser may use.
fn preflight(request: &HeaderMap) -> Response<ResponseBody> {
    let allow_headers = Cors::allow_headers(request.get(header::ACCESS_CONTROL_REQUEST_HEADERS));
    Local::bytes(204, "text/plain", Bytes::new())
        .with_header(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(cors::ALLOW_METHODS),
        )
        .with_header(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(cors::MAX_AGE_SECS),
        )
        .with_header(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers)
        .into_response()
}

fn too_large(limit: u64) -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail(format!(
        "The request body is larger than the {limit} bytes this route takes."
    ))
}
