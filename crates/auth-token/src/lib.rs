//! Access tokens: the claims auth puts in them, Ed25519 (EdDSA) signing for auth, and
//! verification for every service and the gateway from auth's JWKS (or a static key in
//! tests), plus actix extractors that make "who is calling" part of a handler's signature.
//!
//! Only EdDSA is accepted: `alg: none`, HMAC (including the classic trick of an HS256 token
//! signed with the public key's bytes) and every other algorithm are rejected before any key
//! is looked at.

mod check;
mod claims;
mod error;
pub mod extract;
mod jwks;
mod openapi;
pub mod revocation;
mod signer;
mod verifier;

pub use check::{CheckConfigError, RevocationCheck, Unreadable};
pub use claims::Claims;
pub use error::TokenError;
pub use extract::{
    Admin, AnyRole, AuthUser, Authenticated, Customer, Driver, MaybeUser, Policy, Staff,
};
pub use jsonwebtoken::jwk;
pub use jwks::JwksClient;
pub use openapi::BearerAuth;
pub use signer::{Signer, ed25519_jwk, jwk_set};
pub use verifier::{Verifier, VerifierSettings};
