//! Minting access tokens in tests, signed by a key whose verifier the service under test
//! is given.

use auth_token::{Claims, Signer, Verifier, VerifierSettings};
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
