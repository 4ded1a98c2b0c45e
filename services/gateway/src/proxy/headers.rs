//! Steps 2 and 4 of the request path: the headers a request carries to the service (identity
//! and hop-by-hop headers a client sent removed, the gateway's own set) and those its answer
//! carries back (request id, CORS, `RateLimit-*`).

use super::{Gateway, RequestCtx};
use crate::client_ip::{self, TrustedProxies};
use crate::cors;
use http::HeaderValue;
use http::header::{self, HeaderMap, HeaderName};
use std::net::IpAddr;

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

pub(super) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub(super) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
// Names looked up or set on every request, as constants: a name given as text is parsed each
// time.
pub(super) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message, so a
/// proxy does not pass them on. `expect` is answered here (hyper sends the `100 Continue`).
pub(super) static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::EXPECT,
];

impl Gateway {
    /// Identity headers a client could forge are removed; the gateway's own are set.
    pub(super) fn upstream_headers(
        &self,
        ctx: &RequestCtx,
        headers: &mut HeaderMap,
        upgrade: bool,
    ) {
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
    pub(super) fn decorate(&self, headers: &mut HeaderMap, ctx: &RequestCtx) {
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
}

/// Whether the client asks to switch protocols (`Connection: upgrade` with `Upgrade`).
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
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
pub(super) fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&HeaderName) -> bool) {
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
