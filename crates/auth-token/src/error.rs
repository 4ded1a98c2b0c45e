//! Why a token was refused.

use domain::{Code, Problem};

/// A refused token. Every variant answers 401; the detail says why, without echoing the
/// token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token names no key id")]
    MissingKeyId,
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    Issuer,
    #[error("the token is meant for someone else")]
    Audience,
    #[error("the token's claims are invalid")]
    Claims,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
}

impl From<TokenError> for Problem {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Missing => Problem::unauthenticated(),
            // Auth is down: a client cannot fix that, and must not be logged out for it.
            TokenError::KeysUnavailable => {
                Problem::new(Code::ServiceUnavailable).with_detail(err.to_string())
            }
            TokenError::Expired => Problem::new(Code::TokenExpired).with_detail(err.to_string()),
            _ => Problem::new(Code::InvalidToken).with_detail(err.to_string()),
        }
    }
}
