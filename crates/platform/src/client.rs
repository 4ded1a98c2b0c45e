//! Who is on the other end of a request, for audit entries: [`Actor`] (who did it and from
//! where), taken by a handler as [`Acting<P>`] (the verified caller whose role `P` allows, and
//! the request's [`ClientInfo`]: the client's address and user agent). Behind the gateway the
//! address is the one the gateway resolved (it strips any forwarding headers a client sent
//! and sets its own).

use actix_web::dev::Payload;
use actix_web::http::header::USER_AGENT;
use actix_web::{FromRequest, HttpRequest};
use auth_token::{AnyRole, Authenticated, Policy};
use domain::{Problem, Role, UserId};
use futures_util::future::LocalBoxFuture;
use std::future::{Ready, ready};
use uuid::Uuid;

/// Who did something, for the audit log (`events::audit::record`): a user and their role,
/// and for a request, the client's address and agent. Built by [`Acting`] for requests, or
/// with [`Actor::new`] for a change that arrives by event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// A user acting without a request of theirs (a change that arrived by event).
    #[must_use]
    pub const fn new(id: UserId, role: Role) -> Self {
        Self {
            id: id.into_inner(),
            role,
            ip: None,
            user_agent: None,
        }
    }

    /// The user's typed id.
    #[must_use]
    pub const fn user_id(&self) -> UserId {
        UserId::from_uuid(self.id)
    }
}

/// Extractor: the caller whose role `P` allows (401 without a valid token, 403 for another
/// role, exactly as `Authenticated<P>`) as the [`Actor`] of what the handler does, with the
/// request's address and user agent. Derefs to the [`Actor`], so use cases take `&Actor`
/// while the handler's signature says who may call it: `admin: Acting<Admin>`.
pub struct Acting<P: Policy = AnyRole> {
    actor: Actor,
    caller: Authenticated<P>,
}

impl<P: Policy> Acting<P> {
    /// The verified caller (claims, typed id).
    pub const fn caller(&self) -> &Authenticated<P> {
        &self.caller
    }

    /// The actor, owned.
    #[must_use]
    pub fn into_actor(self) -> Actor {
        self.actor
    }
}

impl<P: Policy> std::ops::Deref for Acting<P> {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl<P: Policy + 'static> FromRequest for Acting<P> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let client = client_info(req);
        let caller = Authenticated::<P>::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            let actor = Actor {
                id: caller.user_id().into_inner(),
                role: caller.role(),
                ip: client.ip,
                user_agent: client.user_agent,
            };
            Ok(Self { actor, caller })
        })
    }
}

/// The caller's address and user agent, each bounded in length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequest for ClientInfo {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(client_info(req)))
    }
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    let ip = req
        .connection_info()
        .realip_remote_addr()
        .map(|addr| bounded(strip_port(addr), 64));
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| bounded(agent, 256));
    ClientInfo { ip, user_agent }
}

/// `203.0.113.9:51234` → `203.0.113.9`; `[2001:db8::1]:443` → `2001:db8::1`.
fn strip_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

fn bounded(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_v4_and_v6() {
        assert_eq!(strip_port("203.0.113.9:51234"), "203.0.113.9");
        assert_eq!(strip_port("203.0.113.9"), "203.0.113.9");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    }

    #[actix_web::test]
    async fn reads_address_and_agent() {
        let req = actix_web::test::TestRequest::default()
            .peer_addr("198.51.100.7:4000".parse().unwrap())
            .insert_header((USER_AGENT, "FadedSkies/1.0 (iOS)"))
            .to_http_request();
        let info = ClientInfo::extract(&req).await.unwrap();
        assert_eq!(info.ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(info.user_agent.as_deref(), Some("FadedSkies/1.0 (iOS)"));
    }
}
