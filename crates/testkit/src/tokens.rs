//! Minting access tokens in tests, signed by a key whose verifier the service under test
//! is given.

use auth_token::{Claims, Signer, Verifier, VerifierSettings, revocation};
use deadpool_redis::redis;
use domain::{Role, UserId};
use std::time::Duration;

pub const ISSUER: &str = "faded-skies-auth";
pub const AUDIENCE: &str = "faded-skies";

/// A signing key and everything needed to check its tokens.
pub struct TestTokens {
    pub signer: Signer,
    pub settings: VerifierSettings,
}

impl Default for TestTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl TestTokens {
    #[expect(clippy::expect_used, reason = "test set-up")]
    pub fn new() -> Self {
        Self {
            signer: Signer::generate("test-key").expect("generate an Ed25519 key"),
            settings: VerifierSettings::new(ISSUER, AUDIENCE),
        }
    }

    /// A verifier trusting only this key.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_signers(&self.settings, [&self.signer])
    }

    /// Claims for `user` valid for 15 minutes.
    pub fn claims(&self, user: UserId, role: Role, idv: bool) -> Claims {
        Claims::new(user, role, idv, Duration::from_secs(900), ISSUER, AUDIENCE)
    }

    /// A signed token carrying `claims`.
    #[expect(clippy::expect_used, reason = "test set-up")]
    pub fn sign(&self, claims: &Claims) -> String {
        self.signer.sign(claims).expect("sign a token")
    }

    /// A token for a new user with `role`, ID verified.
    pub fn token(&self, role: Role) -> (UserId, String) {
        let user = UserId::new();
        (user, self.sign(&self.claims(user, role, true)))
    }
}

/// Puts the token of `claims` on auth's deny-list in the real Redis, as logout does: every
/// service must refuse it from then on (after its brief cache of "stands" answers).
#[expect(clippy::expect_used, reason = "test set-up")]
pub async fn deny(claims: &Claims) {
    let client = redis::Client::open(crate::redis_url()).expect("a Redis URL");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    redis::cmd("SET")
        .arg(revocation::denylist_key(claims.jti))
        .arg(1)
        .arg("EX")
        .arg(claims.remaining_secs().max(1))
        .query_async::<()>(&mut redis)
        .await
        .expect("deny the token");
}
