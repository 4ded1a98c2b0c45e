use crate::{AUDIENCE, ISSUER, claims, settings, signer};
use auth_token::{TokenError, Verifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn b64(json: serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap())
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let claims = claims();
    let verified = verifier.verify(&key.sign(&claims).unwrap()).await.unwrap();
    assert_eq!(verified, claims);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let header = b64(serde_json::json!({"alg": "none", "typ": "JWT", "kid": "k1"}));
    let body = b64(serde_json::to_value(claims()).unwrap());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_eq!(verifier.verify(&token).await, Err(TokenError::Algorithm));
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let forged = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(&key.public_key_bytes()),
    )
    .unwrap();
    assert_eq!(verifier.verify(&forged).await, Err(TokenError::Algorithm));
}

#[tokio::test]
async fn other_algorithms_are_rejected() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let genuine = key.sign(&claims()).unwrap();
    let mut parts = genuine.split('.');
    let (_, body, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    for alg in ["RS256", "ES256", "PS256", "HS512", "EdDSA2"] {
        let header = b64(serde_json::json!({"alg": alg, "kid": "k1"}));
        let token = format!("{header}.{body}.{signature}");
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::Algorithm),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let now = Utc::now().timestamp();

    let mut expired = claims();
    expired.iat = now - 3600;
    expired.nbf = Some(now - 3600);
    expired.exp = now - 60;
    assert_eq!(
        verifier.verify(&key.sign(&expired).unwrap()).await,
        Err(TokenError::Expired)
    );

    let mut early = claims();
    early.nbf = Some(now + 3600);
    early.exp = now + 7200;
    assert_eq!(
        verifier.verify(&key.sign(&early).unwrap()).await,
        Err(TokenError::NotYetValid)
    );

    // Within the tolerated clock skew, still fine.
    let mut skewed = claims();
    skewed.nbf = Some(now + 2);
    assert!(verifier.verify(&key.sign(&skewed).unwrap()).await.is_ok());
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_rejected() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    let mut wrong_issuer = claims();
    wrong_issuer.iss = "someone-else".into();
    assert_eq!(
        verifier.verify(&key.sign(&wrong_issuer).unwrap()).await,
        Err(TokenError::Issuer)
    );
    let mut wrong_audience = claims();
    wrong_audience.aud = "another-app".into();
    assert_eq!(
        verifier.verify(&key.sign(&wrong_audience).unwrap()).await,
        Err(TokenError::Audience)
    );
    assert_eq!((ISSUER, AUDIENCE), ("faded-skies-auth", "faded-skies"));
}

#[tokio::test]
async fn unknown_or_missing_kid_is_rejected() {
    let trusted = signer("k1");
    let stranger = signer("k2");
    let verifier = Verifier::from_signers(&settings(), [&trusted]);
    assert_eq!(
        verifier.verify(&stranger.sign(&claims()).unwrap()).await,
        Err(TokenError::UnknownKey)
    );

    let genuine = trusted.sign(&claims()).unwrap();
    let (_, rest) = genuine.split_once('.').unwrap();
    let no_kid = format!(
        "{}.{rest}",
        b64(serde_json::json!({"alg": "EdDSA", "typ": "JWT"}))
    );
    assert_eq!(
        verifier.verify(&no_kid).await,
        Err(TokenError::MissingKeyId)
    );
}

#[tokio::test]
async fn a_forged_signature_is_rejected() {
    // Same kid, different key: the signature does not match the trusted key.
    let trusted = signer("k1");
    let impostor = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&trusted]);
    assert_eq!(
        verifier.verify(&impostor.sign(&claims()).unwrap()).await,
        Err(TokenError::Signature)
    );

    // A tampered body under a genuine signature.
    let genuine = trusted.sign(&claims()).unwrap();
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut elevated = serde_json::to_value(claims()).unwrap();
    elevated["role"] = "admin".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(elevated), parts[2]);
    assert_eq!(verifier.verify(&tampered).await, Err(TokenError::Signature));
}

#[tokio::test]
async fn garbage_is_malformed_not_a_panic() {
    let key = signer("k1");
    let verifier = Verifier::from_signers(&settings(), [&key]);
    for token in ["", "abc", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.!!!.???"] {
        let result = verifier.verify(token).await;
        assert!(
            matches!(
                result,
                Err(TokenError::Malformed | TokenError::Claims | TokenError::MissingKeyId)
            ),
            "{token}: {result:?}"
        );
    }
}

#[tokio::test]
async fn keys_survive_a_pem_round_trip() {
    let key = signer("k1");
    let reloaded = auth_token::Signer::from_pem("k1", &key.to_pem().unwrap()).unwrap();
    let verifier = Verifier::from_signers(&settings(), [&key]);
    assert!(
        verifier
            .verify(&reloaded.sign(&claims()).unwrap())
            .await
            .is_ok()
    );
    assert!(auth_token::Signer::from_pem("k1", "not a key").is_err());
}
