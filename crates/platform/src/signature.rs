//! Webhook signatures in the scheme Stripe uses (and the ID-verification provider copies):
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, checked on the raw body in
//! constant time with a timestamp tolerance against replays. Providers sign with it; so do
//! our embedded stand-ins, so the same path runs locally and in production.
//!
//! The routes that check it are open to anyone, so the work a request can cause is bounded:
//! the header is refused past [`MAX_HEADER_BYTES`] or [`MAX_ENTRIES`] entries before anything
//! is hashed, and the body is hashed once however many `v1` entries the header carries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signed call may be (Stripe's default).
pub const TOLERANCE_SECS: i64 = 300;

/// The longest signature header accepted. Stripe's carries a timestamp, one `v1` per live
/// secret (two while a secret rolls) and, in test mode, a `v0`: about 220 bytes.
pub const MAX_HEADER_BYTES: usize = 1024;

/// The most comma-separated entries (`t`, `v1`, `v0`, ...) a signature header may have.
pub const MAX_ENTRIES: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error(
        "the signature header is too large (at most {MAX_HEADER_BYTES} bytes and {MAX_ENTRIES} entries)"
    )]
    TooLarge,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature is too old or from the future")]
    OutsideTolerance,
}

#[cfg(test)]
thread_local! {
    /// How many times this thread hashed a body (tests count the work a header causes).
    static BODY_PASSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length; an empty secret signs nothing (anyone could forge it).
    if secret.is_empty() {
        return None;
    }
    #[cfg(test)]
    BODY_PASSES.with(|passes| passes.set(passes.get() + 1));
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
///
/// # Errors
/// [`SignatureError::TooLarge`] for a header past the bounds above, `Malformed` without a
/// timestamp or a `v1`, `Mismatch` when no `v1` matches, `OutsideTolerance` for a stale one.
pub fn verify(secret: &str, body: &[u8], header: &str, now: i64) -> Result<(), SignatureError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLarge);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (index, part) in header.split(',').enumerate() {
        if index == MAX_ENTRIES {
            return Err(SignatureError::TooLarge);
        }
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
    // The body is hashed once; each candidate then costs only the finalisation of a copy
    // (two SHA-256 blocks), compared in constant time by `verify_slice`.
    let mac = mac(secret, timestamp, body).ok_or(SignatureError::Mismatch)?;
    let matches = signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok());
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

    #[test]
    fn the_body_is_hashed_once_whatever_the_number_of_signatures() {
        let good = sign("whsec_test", 10, b"x");
        let wrong = format!("v1={}", "00".repeat(32));
        let header = format!(
            "t=10,{wrong},{wrong},{wrong},{wrong},{wrong},{}",
            good.split_once(',').unwrap().1
        );
        BODY_PASSES.with(|passes| passes.set(0));
        assert_eq!(verify("whsec_test", b"x", &header, 10), Ok(()));
        assert_eq!(BODY_PASSES.with(std::cell::Cell::get), 1);
        let all_wrong = format!("t=10,{wrong},{wrong},{wrong},{wrong},{wrong},{wrong},{wrong}");
        BODY_PASSES.with(|passes| passes.set(0));
        assert_eq!(
            verify("whsec_test", b"x", &all_wrong, 10),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(BODY_PASSES.with(std::cell::Cell::get), 1);
    }

    #[test]
    fn a_header_past_its_bounds_is_refused_before_any_hashing() {
        let good = sign("whsec_test", 10, b"x");
        let (_, v1) = good.split_once(',').unwrap();
        // The most entries allowed still verify.
        let padding = ["v0=ab"; MAX_ENTRIES - 2].join(",");
        let at_limit = format!("t=10,{padding},{v1}");
        assert_eq!(verify("whsec_test", b"x", &at_limit, 10), Ok(()));
        // One more is refused, even with the right signature among them.
        let padding = ["v0=ab"; MAX_ENTRIES - 1].join(",");
        let over = format!("t=10,{padding},{v1}");
        BODY_PASSES.with(|passes| passes.set(0));
        assert_eq!(
            verify("whsec_test", b"x", &over, 10),
            Err(SignatureError::TooLarge)
        );
        let many = format!("t=10,{}", vec![v1; 1000].join(","));
        assert_eq!(
            verify("whsec_test", b"x", &many, 10),
            Err(SignatureError::TooLarge)
        );
        // A long header is refused by its length alone.
        let long = format!("t=10,{v1},x={}", "a".repeat(MAX_HEADER_BYTES));
        assert_eq!(
            verify("whsec_test", b"x", &long, 10),
            Err(SignatureError::TooLarge)
        );
        assert_eq!(BODY_PASSES.with(std::cell::Cell::get), 0);
    }
}
