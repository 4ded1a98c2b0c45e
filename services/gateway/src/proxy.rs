//! The request path through the gateway:
//!
//! 1. request id, trace context, the path normalised as the services will read it (`request_path`;
//!    a path that cannot be is refused), CORS preflight, the gateway's own endpoints, route
//!    lookup on the normalised path, body size, edge authentication, roles, rate limits and revocation (a request the edge
//!    refuses counts against its address). Refusals are answered here as problem+json;
//! 2. identity headers a client could forge are removed and the gateway's own
//!    (`X-Forwarded-For`, `X-Request-Id`, `traceparent`) are set; the normalised path is the one
//!    sent on, so the service reads what the route was chosen for;
//! 3. an endpoint of the route's cluster (healthy, not ejected), tried again on another one
//!    where the route allows; upstream down → 503, too slow → 504, broken → 502;
//! 4. request id, CORS and `RateLimit-*` headers on the way back; WebSocket upgrades become a
//!    tunnel;
//! 5. one JSON access-log line and the request metrics.

use crate::body::{self, RequestBody, RequestBodyError, ResponseBody, UpstreamBody};
use crate::client_ip::{self, TrustedProxies};
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
use crate::tunnel;
use crate::upstream::{ConnectError, Connection, PoolSettings, Release};
use auth_token::TokenError;
use bytes::Bytes;
use domain::{Code, Problem};
use futures_util::FutureExt;
use futures_util::future::Either;
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use smallvec::SmallVec;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::time::error::Elapsed;

/// Headers only the gateway may set: a client sending them could pose as someone else or
/// spoof its address. Any `x-forwarded-*` is dropped as well. A `static`, as is `HOP_BY_HOP`:
/// each use of a `const` array builds and drops its eight names, for every header looked at.
static STRIPPED: [HeaderName; 8] = [
    HeaderName::from_static("x-user-id"),
    HeaderName::from_static("x-user-role"),
    HeaderName::from_static("x-user-email"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-client-ip"),
    header::FORWARDED,
    HeaderName::from_static("x-gateway-client-ip"),
    HeaderName::from_static("x-original-forwarded-for"),
];

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
// Names looked up or set on every request, as constants: a name given as text is parsed each
// time.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message, so a
/// proxy does not pass them on. `expect` is answered here (hyper sends the `100 Continue`).
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::EXPECT,
];

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

/// Why a request could not be proxied.
#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error("no endpoint of the cluster is available")]
    NoEndpoint,
    #[error(transparent)]
    Connect(ConnectError),
    #[error("the service did not answer within the route's timeout")]
    TimedOut,
    #[error("the request body is over the route's limit")]
    TooLarge,
    #[error("the client's body could not be read")]
    ClientBody,
    #[error("the service's answer was broken: {0}")]
    Upstream(hyper::Error),
}

impl ProxyError {
    /// The access log's `error` field.
    fn label(&self) -> &'static str {
        match self {
            Self::NoEndpoint => "NoHealthyEndpoint",
            Self::Connect(ConnectError::TimedOut(_)) => "ConnectTimedout",
            Self::Connect(_) => "ConnectError",
            Self::TimedOut => "ReadTimedout",
            Self::TooLarge => "BodyTooLarge",
            Self::ClientBody => "ClientBodyError",
            Self::Upstream(_) => "UpstreamError",
        }
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

    /// Sends the request to an endpoint of the route's cluster, trying others where allowed:
    /// after a failed connection whatever the method (nothing was sent), and after a failure
    /// once sent only for an idempotent request without a body (it can be sent again as is).
    async fn forward(
        &self,
        ctx: &mut RequestCtx,
        route: &Route,
        mut parts: Parts,
        body: Incoming,
        upgrade: bool,
    ) -> Result<Response<ResponseBody>, ProxyError> {
        let cluster = self.cluster(route);
        let client_upgrade = if upgrade {
            parts.extensions.remove::<OnUpgrade>()
        } else {
            None
        };
        self.upstream_headers(ctx, &mut parts.headers, upgrade);
        let body = RequestBody::new(body, route.max_body_bytes);
        // A request is sent again only to another endpoint: with one, no copy is kept.
        let replay = (parts.method.is_idempotent()
            && body.is_empty()
            && route.retries > 0
            && cluster.endpoint_count() > 1)
            .then(|| Replay::of(&parts));
        let mut request = Some(Request::from_parts(parts, body));

        loop {
            let Some(addr) = cluster.select(&ctx.tried) else {
                return Err(ProxyError::NoEndpoint);
            };
            ctx.tried.push(addr);
            let may_retry = ctx.tried.len() <= usize::from(route.retries);
            let connection = if upgrade {
                Connection::for_upgrade(addr, cluster.spec.connect_timeout).await
            } else {
                Connection::get(addr, cluster.spec.connect_timeout).await
            };
            let connection = match connection {
                Ok(connection) => connection,
                Err(error) => {
                    cluster.record_failure(addr);
                    if may_retry {
                        continue;
                    }
                    return Err(ProxyError::Connect(error));
                }
            };
            // The request goes out once; it is taken again only from `replay`, and without one
            // a failure once sent has already returned.
            let Some(attempt) = request
                .take()
                .or_else(|| replay.as_ref().map(Replay::request))
            else {
                return Err(ProxyError::ClientBody);
            };
            // One future either way, built in place: a request's future is moved whole (hyper
            // moves it into place), so each future it may hold adds to every request's copy.
            let sent = match route.timeout {
                Some(limit) => Either::Left(tokio::time::timeout(
                    limit,
                    connection.send(attempt, self.pool),
                )),
                None => Either::Right(connection.send(attempt, self.pool).map(Ok::<_, Elapsed>)),
            };
            let Ok(sent) = sent.await else {
                // The request may have been done: it is not sent again.
                cluster.record_failure(addr);
                return Err(ProxyError::TimedOut);
            };
            match sent {
                Ok((response, release)) => {
                    return Ok(self.answer(ctx, route, response, release, client_upgrade));
                }
                Err(failed) => {
                    if body::over_limit(&failed.error) {
                        return Err(ProxyError::TooLarge);
                    }
                    if client_body_failed(&failed.error) {
                        return Err(ProxyError::ClientBody);
                    }
                    cluster.record_failure(addr);
                    if may_retry && replay.is_some() {
                        continue;
                    }
                    return Err(ProxyError::Upstream(failed.error));
                }
            }
        }
    }

    /// The service's answer as the client gets it; a `101` opens the WebSocket tunnel.
    fn answer(
        &self,
        ctx: &mut RequestCtx,
        route: &Route,
        response: Response<Incoming>,
        release: Option<Release>,
        client_upgrade: Option<OnUpgrade>,
    ) -> Response<ResponseBody> {
        let (mut parts, body) = response.into_parts();
        let status = parts.status.as_u16();
        ctx.upstream_status = Some(status);
        if let Some(addr) = ctx.endpoint() {
            let cluster = self.cluster(route);
            if matches!(status, 502..=504) {
                cluster.record_failure(addr);
            } else {
                cluster.record_success(addr);
            }
        }
        if parts.status == StatusCode::SWITCHING_PROTOCOLS {
            let service_upgrade = parts.extensions.remove::<OnUpgrade>();
            if let (Some(client), Some(service)) = (client_upgrade, service_upgrade) {
                tunnel::open(client, service, ctx.endpoint());
            }
            let mut response = Response::from_parts(parts, ResponseBody::local(Bytes::new()));
            *response.version_mut() = Version::HTTP_11;
            return response;
        }
        remove_where(&mut parts.headers, |name| HOP_BY_HOP.contains(name));
        Response::from_parts(
            parts,
            ResponseBody::Upstream(UpstreamBody::new(body, route.timeout, release)),
        )
    }

    /// Identity headers a client could forge are removed; the gateway's own are set.
    fn upstream_headers(&self, ctx: &RequestCtx, headers: &mut HeaderMap, upgrade: bool) {
        let proto = forwarded_proto(ctx.peer, headers, &self.trusted);
        let connection_listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| !upgrade || name != header::UPGRADE)
            .collect();
        remove_where(headers, |name| {
            connection_listed.contains(name) || stripped_upstream(name, upgrade)
        });
        if upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
        headers.insert(X_FORWARDED_FOR, client_ip::header_value(ctx.client_ip));
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
        if let Some(host) = headers.get(header::HOST).cloned() {
            headers.insert(X_FORWARDED_HOST, host);
        }
        headers.insert(REQUEST_ID, ctx.request_id.clone());
        headers.insert(TRACEPARENT, ctx.traceparent.clone());
    }

    /// Request id, CORS and rate-limit headers, on proxied and local answers alike.
    fn decorate(&self, headers: &mut HeaderMap, ctx: &RequestCtx) {
        headers.insert(REQUEST_ID, ctx.request_id.clone());
        if let Some(origin) = &ctx.cors_origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(cors::EXPOSE_HEADERS),
            );
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        if let Some(count) = ctx.rate {
            headers.insert(RATELIMIT_LIMIT, HeaderValue::from(count.limit));
            headers.insert(RATELIMIT_REMAINING, HeaderValue::from(count.remaining()));
            headers.insert(RATELIMIT_RESET, HeaderValue::from(count.reset_secs()));
        }
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

/// A request and the gateway that answers it: the log line is written when the answer is
/// ready, or, if the client goes away first, when the request is dropped.
struct Exchange<'a> {
    ctx: RequestCtx,
    gateway: &'a Gateway,
}

/// nginx's status for a request the client gave up on before it was answered.
const CLIENT_CLOSED: u16 = 499;

impl Exchange<'_> {
    fn finish(&mut self, status: u16) {
        self.ctx.logged = true;
        let ctx = &self.ctx;
        let cluster = ctx
            .route
            .as_ref()
            .map(|route| self.gateway.cluster(route).spec.name.as_str());
        telemetry::record(
            &self.gateway.meters,
            &Finished {
                started: ctx.started,
                method: &ctx.method,
                path: ctx.uri.path(),
                user_agent: ctx
                    .user_agent
                    .as_ref()
                    .and_then(|value| value.to_str().ok()),
                status,
                request_id: ctx.request_id.to_str().unwrap_or_default(),
                client_ip: ctx.client_ip,
                route: ctx.route.as_ref().map(|route| route.name.as_str()),
                own: ctx.own,
                cluster,
                endpoint: ctx.endpoint(),
                upstream_status: ctx.upstream_status,
                user: ctx.token.as_ref().map(|token| token.claims.sub),
                attempts: ctx.tried.len(),
                error: ctx.error,
            },
        );
    }
}

impl Drop for Exchange<'_> {
    fn drop(&mut self) {
        if !self.ctx.logged {
            self.ctx.error.get_or_insert("ClientClosed");
            self.finish(CLIENT_CLOSED);
        }
    }
}

/// What the access log and metrics need from a finished request.
pub struct Finished<'a> {
    pub started: Instant,
    pub method: &'a Method,
    pub path: &'a str,
    pub user_agent: Option<&'a str>,
    pub status: u16,
    pub request_id: &'a str,
    pub client_ip: IpAddr,
    pub route: Option<&'a str>,
    pub own: Option<&'static str>,
    pub cluster: Option<&'a str>,
    pub endpoint: Option<SocketAddr>,
    pub upstream_status: Option<u16>,
    pub user: Option<uuid::Uuid>,
    pub attempts: usize,
    pub error: Option<&'static str>,
}

/// The head of a request without a body, to send it again after a failed attempt.
struct Replay {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

impl Replay {
    fn of(parts: &Parts) -> Self {
        Self {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts.headers.clone(),
        }
    }

    fn request(&self) -> Request<RequestBody> {
        let mut request = Request::new(RequestBody::Empty);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        request
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

/// Whether the client asks to switch protocols (`Connection: upgrade` with `Upgrade`).
fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// Whether sending failed because the client's own body broke off.
fn client_body_failed(error: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(error) = source {
        if let Some(RequestBodyError::Read(_)) = error.downcast_ref() {
            return true;
        }
        source = error.source();
    }
    false
}

fn too_large(limit: u64) -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail(format!(
        "The request body is larger than the {limit} bytes this route takes."
    ))
}

/// Whether a header of the client's request is dropped before the request goes upstream:
/// identity and address headers only the gateway may set, and hop-by-hop ones (but those of a
/// WebSocket upgrade).
fn stripped_upstream(name: &HeaderName, upgrade: bool) -> bool {
    if upgrade && (name == header::UPGRADE || name == header::CONNECTION) {
        return false;
    }
    name.as_str().starts_with("x-forwarded-")
        || STRIPPED.contains(name)
        || HOP_BY_HOP.contains(name)
}

/// Removes the headers `doomed` picks, in one pass over the names present: nearly every message
/// carries none of them, and a lookup per name that might be there hashes each of those names.
fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&HeaderName) -> bool) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| doomed(name))
        .cloned()
        .collect();
    for name in &names {
        headers.remove(name);
    }
}

/// `X-Forwarded-Proto` as a trusted proxy (the TLS-terminating ingress) said, else `http`.
fn forwarded_proto(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> &'static str {
    let said_https = headers
        .get(X_FORWARDED_PROTO)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"https"));
    if said_https && trusted.trusts(peer) {
        "https"
    } else {
        "http"
    }
}

/// The answer for a request that could not be proxied.
fn problem_for(error: &ProxyError, route: &Route) -> Problem {
    match error {
        ProxyError::NoEndpoint | ProxyError::Connect(_) => Problem::new(Code::ServiceUnavailable)
            .with_detail(format!(
                "No upstream is available for {}; please try again shortly.",
                route.name
            ))
            .with_retry_after(1),
        ProxyError::TimedOut => {
            Problem::new(Code::UpstreamTimeout).with_detail("The service did not answer in time.")
        }
        ProxyError::TooLarge => too_large(route.max_body_bytes),
        ProxyError::ClientBody => Problem::bad_request("The request body could not be read."),
        ProxyError::Upstream(_) => Problem::new(Code::BadGateway)
            .with_detail("The service gave an invalid answer or closed the connection."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn upgrades_need_both_headers() {
        assert!(is_upgrade(&headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ])));
        assert!(!is_upgrade(&headers(&[("upgrade", "websocket")])));
        assert!(!is_upgrade(&headers(&[("connection", "upgrade")])));
    }

    #[test]
    fn https_is_believed_from_trusted_proxies_only() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let said = headers(&[("x-forwarded-proto", "HTTPS")]);
        assert_eq!(
            forwarded_proto("10.1.2.3".parse().unwrap(), &said, &trusted),
            "https"
        );
        assert_eq!(
            forwarded_proto("203.0.113.9".parse().unwrap(), &said, &trusted),
            "http"
        );
        assert_eq!(
            forwarded_proto("10.1.2.3".parse().unwrap(), &HeaderMap::new(), &trusted),
            "http"
        );
    }

    #[test]
    fn identity_and_hop_by_hop_headers_are_stripped_and_the_rest_kept() {
        let mut sent = headers(&[
            ("x-user-id", "someone-else"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-anything", "x"),
            ("forwarded", "for=1.2.3.4"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("content-type", "application/json"),
            ("authorization", "Bearer t"),
        ]);
        let mut upgrade = sent.clone();
        remove_where(&mut sent, |name| stripped_upstream(name, false));
        let mut kept: Vec<&str> = sent.keys().map(HeaderName::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["authorization", "content-type"]);

        remove_where(&mut upgrade, |name| stripped_upstream(name, true));
        let mut kept: Vec<&str> = upgrade.keys().map(HeaderName::as_str).collect();
        kept.sort_unstable();
        assert_eq!(
            kept,
            ["authorization", "connection", "content-type", "upgrade"]
        );
    }
}
