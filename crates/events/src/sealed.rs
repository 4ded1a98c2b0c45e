//! Sealed boxes: an event field encrypted for the one service meant to read it, so that
//! whoever reads the producer's outbox or the broker learns nothing from it.
//!
//! This is libsodium's `crypto_box_seal` (X25519 with a fresh key per message, then
//! XSalsa20-Poly1305): anyone holding the recipient's public key can seal, only the holder of
//! its secret key can open, and the producer cannot open what it sealed. Keys travel as
//! standard base64 of their 32 bytes. First use: auth seals the password-reset token to
//! notification's key (`UserPasswordResetRequested.sealed_reset_token`).
//!
//! Development uses a fixed pair, [`DEV_PUBLIC_KEY`] and [`DEV_SECRET_KEY`], which are public
//! knowledge: producers refuse [`DEV_PUBLIC_KEY`] outside development.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_box::{KEY_SIZE, PublicKey, SecretKey};
use std::fmt;
use std::str::FromStr;

/// The development key pair's public half: auth's default `NOTIFICATION_SEAL_PUBLIC_KEY`.
pub const DEV_PUBLIC_KEY: &str = "YNdfSajSIu/JW48UHHVQrzeBdQrLC36xvBtPMde39hM=";

/// The development key pair's secret half: notification's default
/// `NOTIFICATION_SEAL_SECRET_KEY`. Published here on purpose, so it protects nothing: only
/// for development and tests.
pub const DEV_SECRET_KEY: &str = "0GxgzhcMBE3BXIZLlIXGaQvMmZInf99kr0r3uHhFY1E=";

/// Why a key could not be read or a box not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The text is not standard base64 of 32 bytes.
    #[error("not an X25519 key (standard base64 of 32 bytes)")]
    InvalidKey,
    /// The box was sealed to another key, or altered.
    #[error("the sealed box does not open with this key")]
    Open,
    /// The cipher refused to seal (does not happen with in-memory buffers).
    #[error("could not seal")]
    Seal,
}

fn key_bytes(text: &str) -> Result<[u8; KEY_SIZE], SealError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| SealError::InvalidKey)?;
    <[u8; KEY_SIZE]>::try_from(bytes.as_slice()).map_err(|_| SealError::InvalidKey)
}

/// A recipient's public key: what a producer seals to.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey(PublicKey);

impl SealingKey {
    /// Reads standard base64 of the key's 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        key_bytes(text).map(|bytes| Self(PublicKey::from(bytes)))
    }

    /// `plaintext` sealed to this key: 48 bytes longer than the plaintext (the ephemeral
    /// public key and the authentication tag), different every time.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        self.0
            .seal(&mut rand::rngs::OsRng, plaintext)
            .map_err(|_| SealError::Seal)
    }

    /// Whether this is the published development key, which must not be used in production.
    pub fn is_development(&self) -> bool {
        Self::parse(DEV_PUBLIC_KEY).is_ok_and(|dev| dev == *self)
    }

    /// Standard base64 of the key's bytes (what [`SealingKey::parse`] reads).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }
}

impl FromStr for SealingKey {
    type Err = SealError;

    fn from_str(text: &str) -> Result<Self, SealError> {
        Self::parse(text)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SealingKey")
            .field(&self.to_base64())
            .finish()
    }
}

/// A recipient's secret key: what opens boxes sealed to its [`SealingKey`]. Its `Debug` does
/// not print the key, and the key is zeroed when dropped.
#[derive(Clone)]
pub struct OpeningKey(SecretKey);

impl OpeningKey {
    /// Reads standard base64 of the key's 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        key_bytes(text).map(|bytes| Self(SecretKey::from(bytes)))
    }

    /// A new random key pair (for tests and for making a deployment's keys).
    pub fn generate() -> Self {
        Self(SecretKey::generate(&mut rand::rngs::OsRng))
    }

    /// The public half, to give to producers.
    pub fn sealing_key(&self) -> SealingKey {
        SealingKey(self.0.public_key())
    }

    /// The plaintext of a box sealed to [`OpeningKey::sealing_key`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.0.unseal(sealed).map_err(|_| SealError::Open)
    }

    /// Standard base64 of the secret key's bytes (to store it as configuration).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }
}

impl FromStr for OpeningKey {
    type Err = SealError;

    fn from_str(text: &str) -> Result<Self, SealError> {
        Self::parse(text)
    }
}

impl fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OpeningKey")
            .field(&self.sealing_key().to_base64())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_box::SEALBYTES;

    #[test]
    fn a_sealed_box_opens_with_the_secret_key_only() {
        let recipient = OpeningKey::generate();
        let sealed = recipient.sealing_key().seal(b"reset-token").unwrap();
        assert_eq!(sealed.len(), b"reset-token".len() + SEALBYTES);
        assert_eq!(recipient.open(&sealed).unwrap(), b"reset-token");
        assert!(
            !sealed.windows(5).any(|w| w == b"reset"),
            "no plaintext in the box"
        );

        let someone_else = OpeningKey::generate();
        assert!(matches!(someone_else.open(&sealed), Err(SealError::Open)));
    }

    #[test]
    fn each_seal_differs_and_an_altered_box_does_not_open() {
        let recipient = OpeningKey::generate();
        let key = recipient.sealing_key();
        let (a, b) = (key.seal(b"same").unwrap(), key.seal(b"same").unwrap());
        assert_ne!(a, b, "a fresh ephemeral key per box");
        for i in [0, 40, a.len() - 1] {
            let mut altered = a.clone();
            altered[i] ^= 1;
            assert!(recipient.open(&altered).is_err(), "byte {i} altered");
        }
        assert!(recipient.open(&a[..32]).is_err(), "too short");
        assert!(recipient.open(b"").is_err());
    }

    #[test]
    fn the_development_pair_matches_and_is_recognised() {
        let secret = OpeningKey::parse(DEV_SECRET_KEY).unwrap();
        let public = SealingKey::parse(DEV_PUBLIC_KEY).unwrap();
        assert_eq!(secret.sealing_key(), public);
        assert!(public.is_development());
        assert!(!OpeningKey::generate().sealing_key().is_development());
        assert_eq!(secret.to_base64(), DEV_SECRET_KEY);
        assert_eq!(public.to_base64(), DEV_PUBLIC_KEY);
    }

    #[test]
    fn a_pair_made_with_openssl_is_read_as_deploy_k8s_says() {
        // `openssl genpkey -algorithm X25519`, each half's last 32 DER bytes in base64
        // (deploy/k8s/secrets.example.env): the secret half derives the public half.
        let secret = OpeningKey::parse("oMCVUrziuyIShMTTLrA7CBwywmD41fJyaVOzC31vFGY=").unwrap();
        let public = SealingKey::parse("OdzGOAz6ln3Xlrx6GrmckeUy3gHQb/Awe9SeZnYaQxo=").unwrap();
        assert_eq!(secret.sealing_key(), public);
        assert_eq!(secret.open(&public.seal(b"t").unwrap()).unwrap(), b"t");
    }

    #[test]
    fn keys_are_32_bytes_of_standard_base64() {
        assert!(SealingKey::parse(&format!(" {DEV_PUBLIC_KEY}\n")).is_ok());
        for bad in ["", "not base64!", "AAAA", &STANDARD.encode([0u8; 33])] {
            assert!(
                matches!(SealingKey::parse(bad), Err(SealError::InvalidKey)),
                "{bad:?}"
            );
            assert!(OpeningKey::parse(bad).is_err(), "{bad:?}");
        }
        let debug = format!("{:?}", OpeningKey::parse(DEV_SECRET_KEY).unwrap());
        assert!(!debug.contains(DEV_SECRET_KEY), "{debug}");
    }
}
