//! Signing with Ed25519 keys, for auth. Each key has a `kid`; tokens name it in their header
//! so verifiers pick the right public key while keys rotate.

use crate::Claims;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Why a key could not be loaded or a token signed.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("not an Ed25519 PKCS#8 PEM private key: {0}")]
    Key(String),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// An Ed25519 private key with its key id.
pub struct Signer {
    kid: String,
    signing: SigningKey,
    encoding: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A fresh random key.
    pub fn generate(kid: impl Into<String>) -> Result<Self, SignerError> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_signing_key(kid.into(), signing)
    }

    /// Loads a PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(kid: impl Into<String>, pem: &str) -> Result<Self, SignerError> {
        let signing =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| SignerError::Key(e.to_string()))?;
        Self::from_signing_key(kid.into(), signing)
    }

    fn from_signing_key(kid: String, signing: SigningKey) -> Result<Self, SignerError> {
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| SignerError::Key(e.to_string()))?;
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes())?;
        Ok(Self {
            kid,
            signing,
            encoding,
        })
    }

    /// The private key as PKCS#8 PEM, to keep it across restarts.
    pub fn to_pem(&self) -> Result<String, SignerError> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| SignerError::Key(e.to_string()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as an EdDSA JWT naming this key.
    pub fn sign(&self, claims: &Claims) -> Result<String, SignerError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// The public half as a JWK (`kty: OKP`, `crv: Ed25519`).
    pub fn jwk(&self) -> Jwk {
        ed25519_jwk(&self.kid, &self.public_x())
    }

    /// The public key base64url-encoded, as in a JWK's `x`.
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_bytes())
    }

    /// The raw 32-byte public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }
}

/// The JWK of an Ed25519 public key `x` (base64url) named `kid`.
pub fn ed25519_jwk(kid: &str, x: &str) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(kid.to_owned()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: x.to_owned(),
        }),
    }
}

/// The JWKS document for a set of keys (the current one and those still verifying).
pub fn jwk_set<'a>(signers: impl IntoIterator<Item = &'a Signer>) -> JwkSet {
    JwkSet {
        keys: signers.into_iter().map(Signer::jwk).collect(),
    }
}
