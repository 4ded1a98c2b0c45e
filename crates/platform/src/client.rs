//! Who is on the other end of a request, for audit entries: the client's address and user
//! agent. Behind the gateway the address is the one the gateway resolved (it strips any
//! forwarding headers a client sent and sets its own).

use actix_web::dev::Payload;
use actix_web::http::header::USER_AGENT;
use actix_web::{FromRequest, HttpRequest};
use std::future::{Ready, ready};

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
        let ip = req
            .connection_info()
            .realip_remote_addr()
            .map(|addr| bounded(strip_port(addr), 64));
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| bounded(agent, 256));
        ready(Ok(Self { ip, user_agent }))
    }
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
