//! Token verification: every way a token is refused, keys fetched from a JWKS served over
//! real HTTP, and revocations read from the real Redis.

#![expect(
    clippy::unwrap_used,
    reason = "a test or bench fails loudly on broken set-up"
)]

mod jwks;
mod rejections;
mod revocations;

use auth_token::{Claims, Signer, VerifierSettings};
use domain::{Role, UserId};
use std::time::Duration;

pub const ISSUER: &str = "faded-skies-auth";
pub const AUDIENCE: &str = "faded-skies";

pub fn settings() -> VerifierSettings {
    VerifierSettings::new(ISSUER, AUDIENCE)
}

pub fn claims() -> Claims {
    Claims::new(
        UserId::new(),
        Role::Customer,
        true,
        Duration::from_secs(900),
        ISSUER,
        AUDIENCE,
    )
}

pub fn signer(kid: &str) -> Signer {
    Signer::generate(kid).unwrap()
}
