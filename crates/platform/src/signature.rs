//! Webhook signatures in the scheme Stripe uses (and the ID-verification provider copies):
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, checked on the raw body in
//! constant time with a timestamp tolerance against replays. Providers sign with it; so do
//! our embedded stand-ins, so the same path runs locally and in production.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signed call may be (Stripe's default).
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature is too old or from the future")]
    OutsideTolerance,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length; an empty secret signs nothing (anyone could forge it).
    if secret.is_empty() {
        return None;
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The header value for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = mac(secret, timestamp, body)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={signature}")
}

/// Checks `header` against `body` at `now` (Unix seconds). Any one `v1` may match (Stripe
/// sends several while a secret rolls).
pub fn verify(secret: &str, body: &[u8], header: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matches = signatures.iter().any(|signature| {
        mac(secret, timestamp, body).is_some_and(|mac| mac.verify_slice(signature).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_within_the_tolerance_only() {
        let header = sign("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(verify("whsec_test", b"{}", &header, 1_700_000_100), Ok(()));
        assert_eq!(
            verify("whsec_other", b"{}", &header, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_test", b"{ }", &header, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_test", b"{}", &header, 1_700_000_301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify("whsec_test", b"{}", "v1=abc", 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("whsec_test", b"{}", "t=1,v1=zz", 1),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("", b"{}", &sign("", 1, b"{}"), 1),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign("whsec_test", 10, b"x");
        let header = format!(
            "t=10,v1={},{}",
            "00".repeat(32),
            good.split_once(',').unwrap().1
        );
        assert_eq!(verify("whsec_test", b"x", &header, 10), Ok(()));
    }
}
