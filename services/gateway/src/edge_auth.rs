//! Token verification at the edge, with `crates/auth-token` and auth's JWKS. A verified token
//! is remembered (bounded, keyed by the token itself), so a client's every request does not
//! pay for an Ed25519 check; once expired it is refused from there. Whether it has been
//! revoked since is told by `revocation`.

use crate::revocation::Verified;
use auth_token::{TokenError, Verifier};
use domain::Role;
use quick_cache::sync::Cache;
use std::sync::Arc;

pub struct EdgeAuth {
    verifier: Verifier,
    verified: Cache<String, Arc<Verified>>,
}

impl EdgeAuth {
    pub fn new(verifier: Verifier, cache_size: usize) -> Self {
        Self {
            verifier,
            verified: Cache::new(cache_size.max(1)),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Arc<Verified>, TokenError> {
        let now = chrono::Utc::now().timestamp();
        if let Some(verified) = self.verified.get(token) {
            // An expired token stays in the cache (it is bounded, and evicts what goes unused)
            // so that a client retrying with a stale token is refused without another Ed25519
            // check on every attempt.
            return if verified.claims.exp > now {
                Ok(verified)
            } else {
                Err(TokenError::Expired)
            };
        }
        // Boxed: the verification may fetch the JWKS, a large future that every request's would
        // otherwise carry (and copy) though nearly all are answered from the cache.
        let verified = Arc::new(Verified::new(Box::pin(self.verifier.verify(token)).await?));
        self.verified
            .insert(token.to_owned(), Arc::clone(&verified));
        Ok(verified)
    }
}

/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let value = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `access_token` query parameter (WebSocket handshakes from browsers, which cannot set
/// headers). A JWT is URL-safe, so no decoding is needed; anything else is not a token.
pub fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token="))
        .filter(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

/// Whether `role` may use a route that allows `allowed` (empty: everyone).
pub fn role_allowed(allowed: &[Role], role: Role) -> bool {
    allowed.is_empty() || allowed.contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::UserId;
    use testkit::TestTokens;

    #[tokio::test]
    async fn a_token_that_expires_while_cached_stays_refused_from_the_cache() {
        let tokens = TestTokens::new();
        let auth = EdgeAuth::new(tokens.verifier(), 16);
        let mut claims = tokens.claims(UserId::new(), Role::Customer, true);
        // Past its expiry but within the verifier's leeway: accepted once, then cached.
        claims.exp = chrono::Utc::now().timestamp() - 2;
        let token = tokens.sign(&claims);

        assert!(auth.verify(&token).await.is_ok());
        for _ in 0..3 {
            assert!(matches!(
                auth.verify(&token).await,
                Err(TokenError::Expired)
            ));
        }
        assert_eq!(
            auth.verified.len(),
            1,
            "the expired token is still remembered"
        );
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        assert_eq!(bearer(Some(b"Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer(Some(b"bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some(b"Basic abc")), None);
        assert_eq!(bearer(Some(b"Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn query_tokens_must_look_like_a_jwt() {
        assert_eq!(query_token(Some("a=1&access_token=x.y-z_")), Some("x.y-z_"));
        assert_eq!(query_token(Some("access_token=")), None);
        assert_eq!(query_token(Some("access_token=%3Cscript")), None);
        assert_eq!(query_token(None), None);
    }

    #[test]
    fn empty_role_lists_allow_everyone() {
        assert!(role_allowed(&[], Role::Customer));
        assert!(role_allowed(&[Role::Admin, Role::Agent], Role::Agent));
        assert!(!role_allowed(&[Role::Admin], Role::Customer));
    }
}
