//! Step 5 of the request path: one access-log line and the request metrics per request,
//! written when its answer is ready or, if the client left first, when it is dropped.

use super::{Gateway, RequestCtx};
use crate::telemetry;
use http::Method;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// A request and the gateway that answers it: the log line is written when the answer is
/// ready, or, if the client goes away first, when the request is dropped.
pub(super) struct Exchange<'a> {
    pub(super) ctx: RequestCtx,
    pub(super) gateway: &'a Gateway,
}

/// nginx's status for a request the client gave up on before it was answered.
const CLIENT_CLOSED: u16 = 499;

impl Exchange<'_> {
    pub(super) fn finish(&mut self, status: u16) {
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
