//! Token verification: algorithm, key, signature, time, issuer and audience.

use crate::jwks::JwksClient;
use crate::{Claims, RevocationCheck, Signer, TokenError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;

/// Who tokens must come from and be meant for.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

impl VerifierSettings {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: 5,
        }
    }
}

enum Keys {
    Static(HashMap<String, DecodingKey>),
    Remote(JwksClient),
}

/// Verifies access tokens; shared by every handler through `web::Data<Verifier>`.
pub struct Verifier {
    validation: Validation,
    keys: Keys,
    revocations: Option<RevocationCheck>,
}

impl Verifier {
    /// Keys from auth's JWKS endpoint.
    pub fn from_jwks(settings: &VerifierSettings, client: JwksClient) -> Self {
        Self {
            validation: validation(settings),
            keys: Keys::Remote(client),
            revocations: None,
        }
    }

    /// Fixed keys (tests, or a deployment that pins its keys).
    pub fn from_signers<'a>(
        settings: &VerifierSettings,
        signers: impl IntoIterator<Item = &'a Signer>,
    ) -> Self {
        let keys = signers
            .into_iter()
            .map(|signer| {
                let x = URL_SAFE_NO_PAD.encode(signer.public_key_bytes());
                (signer.kid().to_owned(), DecodingKey::from_ed_components(&x))
            })
            .filter_map(|(kid, key)| key.ok().map(|key| (kid, key)))
            .collect();
        Self {
            validation: validation(settings),
            keys: Keys::Static(keys),
            revocations: None,
        }
    }

    /// The keys of a JWKS document held in memory (auth verifies its own tokens this way).
    /// Keys that are not usable Ed25519 keys are skipped.
    pub fn from_jwk_set(settings: &VerifierSettings, set: &jsonwebtoken::jwk::JwkSet) -> Self {
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        Self {
            validation: validation(settings),
            keys: Keys::Static(keys),
            revocations: None,
        }
    }

    /// Also refuse tokens auth has revoked (every service in production; see `check`).
    pub fn with_revocations(mut self, check: RevocationCheck) -> Self {
        self.revocations = Some(check);
        self
    }

    /// The revocation check the extractors run after verifying a token, if there is one.
    pub fn revocations(&self) -> Option<&RevocationCheck> {
        self.revocations.as_ref()
    }

    /// The claims of `token` if it is valid now. (Signature and time only: whether auth has
    /// revoked it is [`Verifier::revocations`]' question.)
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        // Decide on the algorithm from the raw header before anything else, so `none` and
        // HMAC tokens never reach key selection.
        if header_alg(token)?.as_str() != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let key = match &self.keys {
            Keys::Static(keys) => keys.get(&kid).cloned().ok_or(TokenError::UnknownKey)?,
            Keys::Remote(client) => client.key(&kid).await?,
        };
        jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::Issuer,
                ErrorKind::InvalidAudience => TokenError::Audience,
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                    TokenError::Claims
                }
                ErrorKind::Json(_) => TokenError::Claims,
                _ => TokenError::Malformed,
            })
    }
}

fn validation(settings: &VerifierSettings) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = settings.leeway_secs;
    validation
}

/// The `alg` of a compact JWS, read without trusting anything else in it.
fn header_alg(token: &str) -> Result<String, TokenError> {
    let header = token.split('.').next().ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    value
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(TokenError::Malformed)
}
