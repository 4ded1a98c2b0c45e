//! Step 3 of the request path: an endpoint of the route's cluster, tried again on another
//! where the route allows, and the service's answer as the client gets it (a `101` opens the
//! WebSocket tunnel). A request that cannot be proxied becomes its problem: upstream down →
//! 503, too slow → 504, broken → 502.

use super::headers::{HOP_BY_HOP, remove_where};
use super::{Gateway, RequestCtx, too_large};
use crate::body::{self, RequestBody, RequestBodyError, ResponseBody, UpstreamBody};
use crate::route_table::Route;
use crate::tunnel;
use crate::upstream::{ConnectError, Connection, Release};
use bytes::Bytes;
use domain::{Code, Problem};
use futures_util::FutureExt;
use futures_util::future::Either;
use http::header::HeaderMap;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tokio::time::error::Elapsed;

/// Why a request could not be proxied.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProxyError {
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
    pub(super) fn label(&self) -> &'static str {
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
    /// Sends the request to an endpoint of the route's cluster, trying others where allowed:
    /// after a failed connection whatever the method (nothing was sent), and after a failure
    /// once sent only for an idempotent request without a body (it can be sent again as is).
    pub(super) async fn forward(
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

/// The answer for a request that could not be proxied.
pub(super) fn problem_for(error: &ProxyError, route: &Route) -> Problem {
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
