//! CORS for browser clients from the configured origins. Preflights are answered at the edge;
//! services never see them.

use http::HeaderValue;

/// Methods and request headers a browser may use.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str =
    "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent";
/// Response headers scripts may read.
pub const EXPOSE_HEADERS: &str =
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-Id, Location";
pub const MAX_AGE_SECS: &str = "600";

#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
    any: bool,
}

impl Cors {
    /// From a comma-separated list of origins (`https://app.example.com`); `*` allows any.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut cors = Self::default();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if origin == "*" {
                cors.any = true;
            } else if origin.starts_with("http://") || origin.starts_with("https://") {
                cors.origins.push(origin.trim_end_matches('/').to_owned());
            } else {
                return Err(format!(
                    "CORS origin `{origin}` must start with http:// or https://"
                ));
            }
        }
        Ok(cors)
    }

    /// The value of `Access-Control-Allow-Origin` for a request from `origin`, if allowed.
    pub fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        let text = origin.to_str().ok()?;
        (self.any || self.origins.iter().any(|allowed| allowed == text)).then(|| origin.clone())
    }

    /// Request headers a preflight may ask for: what the browser asked, if it is a plain
    /// header list, else the fixed list.
    pub fn allow_headers(requested: Option<&HeaderValue>) -> HeaderValue {
        requested
            .filter(|value| {
                value
                    .as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b',' | b' '))
            })
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(ALLOW_HEADERS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed() {
        let cors = Cors::parse("https://app.example.com/, http://localhost:3000").unwrap();
        let allowed = HeaderValue::from_static("https://app.example.com");
        assert_eq!(cors.allow(Some(&allowed)), Some(allowed));
        assert_eq!(
            cors.allow(Some(&HeaderValue::from_static("https://evil.example"))),
            None
        );
        assert_eq!(cors.allow(None), None);
        assert!(Cors::parse("app.example.com").is_err());
    }

    #[test]
    fn a_star_allows_any_origin() {
        let cors = Cors::parse("*").unwrap();
        assert!(
            cors.allow(Some(&HeaderValue::from_static("https://x.example")))
                .is_some()
        );
    }

    #[test]
    fn odd_requested_headers_fall_back_to_the_fixed_list() {
        let asked = HeaderValue::from_static("authorization, content-type");
        assert_eq!(Cors::allow_headers(Some(&asked)), asked);
        let odd = HeaderValue::from_static("x;y");
        assert_eq!(
            Cors::allow_headers(Some(&odd)),
            HeaderValue::from_static(ALLOW_HEADERS)
        );
    }
}
