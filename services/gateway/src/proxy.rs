//! The request path through the gateway (Pingora's `ProxyHttp` phases):
//!
//! 1. `request_filter`: request id, CORS preflight, the gateway's own endpoints, route lookup,
//!    body size, edge authentication, roles, rate limits and revocation. Refusals are answered
//!    here as problem+json.
//! 2. `upstream_peer`: an endpoint of the route's cluster (healthy, not ejected).
//! 3. `upstream_request_filter`: identity headers a client could forge are removed and the
//!    gateway's own (`X-Forwarded-For`, `X-Request-Id`, `traceparent`) are set.
//! 4. `response_filter`: request id, CORS and `RateLimit-*` headers on the way back.
//! 5. `fail_to_proxy`: upstream down → 503, upstream too slow → 504, as problem+json.
//! 6. `logging`: one JSON access-log line and the request metrics.

use crate::cluster::Cluster;
use crate::cors::{self, Cors};
use crate::edge_auth::{self, EdgeAuth};
use crate::own_endpoints::OwnEndpoints;
use crate::rate_limit::{Count, Limiter, Policy};
use crate::respond::{self, Local};
use crate::route_table::{AuthMode, Route, RouteTable};
use crate::{client_ip::TrustedProxies, telemetry};
use async_trait::async_trait;
use auth_token::{Claims, TokenError};
use bytes::Bytes;
use domain::{Code, Problem};
use http::{HeaderValue, Method};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Headers only the gateway may set: a client sending them could pose as someone else or
/// spoof its address. Any `x-forwarded-*` is dropped as well.
const STRIPPED: [&str; 8] = [
    "x-user-id",
    "x-user-role",
    "x-user-email",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
    "x-gateway-client-ip",
    "x-original-forwarded-for",
];

/// The error `upstream_peer` raises when a cluster has no endpoint to offer.
const NO_ENDPOINT: ErrorType = ErrorType::Custom("NoHealthyEndpoint");

pub struct Gateway {
    pub table: RouteTable,
    pub clusters: Vec<Cluster>,
    pub auth: EdgeAuth,
    pub limiter: Limiter,
    pub trusted: TrustedProxies,
    pub cors: Cors,
    pub own: OwnEndpoints,
}

/// What one request carries from phase to phase.
pub struct RequestCtx {
    started: Instant,
    request_id: String,
    traceparent: String,
    client_ip: IpAddr,
    route: Option<Arc<Route>>,
    claims: Option<Arc<Claims>>,
    rate: Option<Count>,
    cors_origin: Option<HeaderValue>,
    /// Endpoints already tried for this request, the last being the current one.
    tried: Vec<SocketAddr>,
    body_bytes: u64,
    /// Status the gateway answered itself, for the access log.
    local_status: Option<u16>,
    /// Label of the gateway's own endpoint that answered.
    own: Option<&'static str>,
    upstream_status: Option<u16>,
    tunnel_open: bool,
}

impl RequestCtx {
    fn endpoint(&self) -> Option<SocketAddr> {
        self.tried.last().copied()
    }
}

impl Gateway {
    fn cluster(&self, route: &Route) -> &Cluster {
        &self.clusters[route.cluster]
    }

    /// Writes a response of the gateway's own, with the shared headers.
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        local: Local,
    ) -> pingora::Result<bool> {
        let mut header = local.header()?;
        self.decorate(&mut header, ctx)?;
        ctx.local_status = Some(local.status);
        if local.status >= 400 {
            // The request body may still be on the wire; do not read it to reuse the
            // connection.
            session.set_keepalive(None);
        }
        respond::write(session, header, local.body).await?;
        Ok(true)
    }

    async fn refuse(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        problem: &Problem,
    ) -> pingora::Result<bool> {
        self.answer(session, ctx, Local::problem(problem)).await
    }

    /// Request id, CORS and rate-limit headers, on proxied and local answers alike.
    fn decorate(&self, header: &mut ResponseHeader, ctx: &RequestCtx) -> pingora::Result<()> {
        header.insert_header("x-request-id", ctx.request_id.as_str())?;
        if let Some(origin) = &ctx.cors_origin {
            header.insert_header("access-control-allow-origin", origin.clone())?;
            header.insert_header("access-control-allow-credentials", "true")?;
            header.insert_header("access-control-expose-headers", cors::EXPOSE_HEADERS)?;
            header.append_header("vary", "Origin")?;
        }
        if let Some(count) = ctx.rate {
            header.insert_header("ratelimit-limit", count.limit.to_string())?;
            header.insert_header("ratelimit-remaining", count.remaining().to_string())?;
            header.insert_header("ratelimit-reset", count.reset_secs().to_string())?;
        }
        Ok(())
    }

    async fn preflight(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        let requested = session
            .req_header()
            .headers
            .get("access-control-request-headers")
            .cloned();
        let local = Local::bytes(204, "text/plain", Bytes::new())
            .with_header("access-control-allow-methods", cors::ALLOW_METHODS)
            .with_header("access-control-max-age", cors::MAX_AGE_SECS);
        let allow_headers = Cors::allow_headers(requested.as_ref());
        let mut header = local.header()?;
        header.insert_header("access-control-allow-headers", allow_headers)?;
        self.decorate(&mut header, ctx)?;
        ctx.local_status = Some(204);
        respond::write(session, header, Bytes::new()).await?;
        Ok(true)
    }

    /// Edge authentication for `route`: the verified claims, if any, or the refusal.
    async fn authenticate(
        &self,
        session: &Session,
        route: &Route,
    ) -> Result<Option<Arc<Claims>>, Problem> {
        if route.auth == AuthMode::None {
            return Ok(None);
        }
        let request = session.req_header();
        let token = edge_auth::bearer(
            request
                .headers
                .get("authorization")
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
        let claims = self.auth.verify(token).await?;
        if !edge_auth::role_allowed(&route.roles, claims.role) {
            return Err(Problem::forbidden().with_detail(format!(
                "This route is not open to the {} role.",
                claims.role
            )));
        }
        Ok(Some(claims))
    }

    fn client_ip(&self, session: &Session) -> IpAddr {
        let peer = session
            .client_addr()
            .and_then(|addr| addr.as_inet())
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), SocketAddr::ip);
        let forwarded = session
            .req_header()
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok());
        self.trusted.client_ip(peer, forwarded)
    }

    fn policies<'a>(&'a self, route: &Route) -> Vec<(usize, &'a Policy)> {
        route
            .rate_limits
            .iter()
            .map(|index| (*index, &self.table.policies[*index]))
            .collect()
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            request_id: String::new(),
            traceparent: String::new(),
            client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            route: None,
            claims: None,
            rate: None,
            cors_origin: None,
            tried: Vec::new(),
            body_bytes: 0,
            local_status: None,
            own: None,
            upstream_status: None,
            tunnel_open: false,
        }
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        let request = session.req_header();
        ctx.request_id = telemetry::request_id(request.headers.get("x-request-id"));
        ctx.traceparent = telemetry::traceparent(request.headers.get("traceparent"));
        ctx.cors_origin = self.cors.allow(request.headers.get("origin"));
        ctx.client_ip = self.client_ip(session);
        let request = session.req_header();
        let method = request.method.clone();
        let path = request.uri.path().to_owned();

        if method == Method::OPTIONS
            && request.headers.contains_key("origin")
            && request
                .headers
                .contains_key("access-control-request-method")
        {
            return self.preflight(session, ctx).await;
        }

        if let Some((label, answer)) = self.own.answer(self, &method, &path).await {
            ctx.own = Some(label);
            return self.answer(session, ctx, answer).await;
        }

        let Some(route) = self.table.find(&method, &path).cloned() else {
            let problem = if self.table.has_path(&path) {
                Problem::new(Code::MethodNotAllowed)
                    .with_detail(format!("{method} is not allowed on {path}."))
            } else {
                Problem::new(Code::RouteNotFound).with_detail(format!("No route for {path}."))
            };
            return self.refuse(session, ctx, &problem).await;
        };
        ctx.route = Some(Arc::clone(&route));

        if session.is_upgrade_req() && !route.websocket {
            let problem = Problem::bad_request("This route does not take WebSocket upgrades.");
            return self.refuse(session, ctx, &problem).await;
        }
        let declared_length = session
            .req_header()
            .headers
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > route.max_body_bytes) {
            return self
                .refuse(session, ctx, &too_large(route.max_body_bytes))
                .await;
        }

        let claims = match self.authenticate(session, &route).await {
            Ok(claims) => claims,
            Err(problem) => {
                metrics::counter!(
                    "gateway_auth_rejected_total",
                    "route" => route.name.clone(),
                    "reason" => problem.code().as_str(),
                )
                .increment(1);
                return self.refuse(session, ctx, &problem).await;
            }
        };

        let verdict = self
            .limiter
            .check(&self.policies(&route), ctx.client_ip, claims.as_deref())
            .await;
        if verdict.revoked == Some(true) {
            metrics::counter!(
                "gateway_auth_rejected_total",
                "route" => route.name.clone(),
                "reason" => "TOKEN_REVOKED",
            )
            .increment(1);
            let problem =
                Problem::new(Code::InvalidToken).with_detail("The token has been revoked.");
            return self.refuse(session, ctx, &problem).await;
        }
        ctx.claims = claims;
        ctx.rate = verdict.tightest();
        if let Some((policy, count)) = verdict.exceeded() {
            ctx.rate = Some(count);
            metrics::counter!(
                "gateway_rate_limited_total",
                "route" => route.name.clone(),
                "policy" => self.table.policies[policy].name.clone(),
            )
            .increment(1);
            return self
                .refuse(session, ctx, &Problem::rate_limited(count.reset_secs()))
                .await;
        }
        Ok(false)
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        // Chunked bodies declare no length: count them as they stream.
        if let (Some(chunk), Some(route)) = (body.as_ref(), ctx.route.as_ref()) {
            ctx.body_bytes += chunk.len() as u64;
            if ctx.body_bytes > route.max_body_bytes {
                return Error::e_explain(ErrorType::HTTPStatus(413), "request body too large");
            }
        }
        Ok(())
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        let Some(route) = ctx.route.clone() else {
            return Error::e_explain(ErrorType::InternalError, "no route chosen");
        };
        let cluster = self.cluster(&route);
        let Some((addr, _backend)) = cluster.select(ctx.request_id.as_bytes(), &ctx.tried) else {
            return Error::e_explain(NO_ENDPOINT, format!("cluster {}", cluster.spec.name));
        };
        ctx.tried.push(addr);
        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.connection_timeout = Some(cluster.spec.connect_timeout);
        peer.options.read_timeout = route.timeout;
        peer.options.write_timeout = route.timeout;
        peer.options.idle_timeout = Some(Duration::from_secs(60));
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        let forwarded: Vec<_> = upstream
            .headers
            .keys()
            .filter(|name| name.as_str().starts_with("x-forwarded-"))
            .cloned()
            .collect();
        for name in forwarded
            .iter()
            .map(http::HeaderName::as_str)
            .chain(STRIPPED)
        {
            upstream.remove_header(name);
        }
        upstream.insert_header("x-forwarded-for", ctx.client_ip.to_string())?;
        upstream.insert_header("x-forwarded-proto", forwarded_proto(session, &self.trusted))?;
        if let Some(host) = session.req_header().headers.get("host").cloned() {
            upstream.insert_header("x-forwarded-host", host)?;
        }
        upstream.insert_header("x-request-id", ctx.request_id.as_str())?;
        upstream.insert_header("traceparent", ctx.traceparent.as_str())?;
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        let status = upstream.status.as_u16();
        ctx.upstream_status = Some(status);
        if let (Some(route), Some(addr)) = (ctx.route.as_ref(), ctx.endpoint()) {
            let cluster = self.cluster(route);
            if matches!(status, 502..=504) {
                cluster.record_failure(addr);
            } else {
                cluster.record_success(addr);
            }
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        self.decorate(upstream, ctx)?;
        if upstream.status.as_u16() == 101 && !ctx.tunnel_open {
            ctx.tunnel_open = true;
            metrics::gauge!("gateway_websocket_tunnels_open").increment(1.0);
        }
        Ok(())
    }

    fn fail_to_connect(
        &self,
        session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let Some(route) = ctx.route.clone() else {
            return e;
        };
        if let Some(addr) = ctx.endpoint() {
            self.cluster(&route).record_failure(addr);
        }
        e.set_retry(retry_allowed(session, ctx, &route));
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        let Some(route) = ctx.route.clone() else {
            return e;
        };
        if e.esource() == &ErrorSource::Upstream
            && let Some(addr) = ctx.endpoint()
        {
            self.cluster(&route).record_failure(addr);
        }
        // A timed-out request may have been done; trying it again would double the wait.
        let timed_out = matches!(
            e.etype(),
            ErrorType::ReadTimedout | ErrorType::WriteTimedout
        );
        if !timed_out
            && retry_allowed(session, ctx, &route)
            && !session.as_ref().retry_buffer_truncated()
        {
            e.retry.decide_reuse(client_reused);
        } else {
            e.set_retry(false);
        }
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let problem = problem_for(e, ctx);
        let code = match &problem {
            Some(problem) => {
                if let Err(err) = self.refuse(session, ctx, problem).await {
                    tracing::debug!(error = %err, "could not send the error answer");
                }
                problem.status()
            }
            None => 0,
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, _error: &Error) -> bool {
        // Every failure is in the access log line with its status; Pingora's own line would
        // say it twice.
        true
    }

    async fn logging(&self, session: &mut Session, error: Option<&Error>, ctx: &mut RequestCtx) {
        if ctx.tunnel_open {
            metrics::gauge!("gateway_websocket_tunnels_open").decrement(1.0);
        }
        let status = session
            .response_written()
            .map(|response| response.status.as_u16())
            .or(ctx.local_status)
            .unwrap_or(0);
        let cluster = ctx
            .route
            .as_ref()
            .map(|route| self.cluster(route).spec.name.as_str());
        telemetry::record(session, error, &finished(ctx, status, cluster));
    }
}

/// What the access log and metrics need from a finished request.
pub struct Finished<'a> {
    pub started: Instant,
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
}

fn finished<'a>(ctx: &'a RequestCtx, status: u16, cluster: Option<&'a str>) -> Finished<'a> {
    Finished {
        started: ctx.started,
        status,
        request_id: &ctx.request_id,
        client_ip: ctx.client_ip,
        route: ctx.route.as_ref().map(|route| route.name.as_str()),
        own: ctx.own,
        cluster,
        endpoint: ctx.endpoint(),
        upstream_status: ctx.upstream_status,
        user: ctx.claims.as_ref().map(|claims| claims.sub),
        attempts: ctx.tried.len(),
    }
}

/// Whether the route lets this request go to another attempt: idempotent methods only, and
/// no more than its `retries`.
fn retry_allowed(session: &Session, ctx: &RequestCtx, route: &Route) -> bool {
    session.req_header().method.is_idempotent() && ctx.tried.len() <= usize::from(route.retries)
}

fn too_large(limit: u64) -> Problem {
    Problem::new(Code::PayloadTooLarge).with_detail(format!(
        "The request body is larger than the {limit} bytes this route takes."
    ))
}

/// `X-Forwarded-Proto` as a trusted proxy (the TLS-terminating ingress) said, else `http`.
fn forwarded_proto(session: &Session, trusted: &TrustedProxies) -> &'static str {
    let peer_trusted = session
        .client_addr()
        .and_then(|addr| addr.as_inet())
        .is_some_and(|addr| trusted.trusts(addr.ip()));
    let said_https = session
        .req_header()
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"https"));
    if peer_trusted && said_https {
        "https"
    } else {
        "http"
    }
}

/// The answer for a request that could not be proxied; `None` when the client is gone.
fn problem_for(e: &Error, ctx: &RequestCtx) -> Option<Problem> {
    let cluster = ctx
        .route
        .as_ref()
        .map_or("the service", |route| route.name.as_str());
    let unavailable = || {
        Problem::new(Code::ServiceUnavailable)
            .with_detail(format!(
                "No upstream is available for {cluster}; please try again shortly."
            ))
            .with_retry_after(1)
    };
    if e.etype() == &NO_ENDPOINT {
        return Some(unavailable());
    }
    let problem = match e.etype() {
        ErrorType::HTTPStatus(413) => {
            too_large(ctx.route.as_ref().map_or(0, |route| route.max_body_bytes))
        }
        ErrorType::ConnectTimedout
        | ErrorType::ConnectRefused
        | ErrorType::ConnectNoRoute
        | ErrorType::ConnectError
        | ErrorType::SocketError => unavailable(),
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            Problem::new(Code::UpstreamTimeout).with_detail("The service did not answer in time.")
        }
        _ => match e.esource() {
            ErrorSource::Downstream => match e.etype() {
                ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed => {
                    return None;
                }
                _ => Problem::bad_request("The request could not be read."),
            },
            ErrorSource::Upstream => Problem::new(Code::BadGateway)
                .with_detail("The service gave an invalid answer or closed the connection."),
            _ => Problem::internal(e),
        },
    };
    Some(problem)
}
