//! Password hashing: argon2id with OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1,
//! argon2's defaults). Hashing takes tens of milliseconds of CPU, so it runs on the blocking
//! pool, never on an async worker.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use domain::{Password, Problem};
use std::sync::OnceLock;

/// Hashes `password` as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub async fn hash(password: &Password) -> Result<String, Problem> {
    let plain = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(plain.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| Problem::internal(&err))
    })
    .await
    .map_err(|err| Problem::internal(&err))?
}

/// Whether `plain` matches `stored`. With no stored hash (unknown email) a dummy hash is
/// checked instead, so the answer takes as long either way and timing does not reveal which
/// emails have accounts.
pub async fn verify(plain: &str, stored: Option<String>) -> Result<bool, Problem> {
    let plain = plain.to_owned();
    tokio::task::spawn_blocking(move || {
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(plain.as_bytes(), &parsed)
            .is_ok();
        matches && stored != dummy_hash()
    })
    .await
    .map_err(|err| Problem::internal(&err))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not anybody's password")
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let password = Password::parse("Sup3r$ecret").unwrap();
        let stored = hash(&password).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("Sup3r$ecret", Some(stored.clone())).await.unwrap());
        assert!(!verify("Sup3r$ecreT", Some(stored)).await.unwrap());
    }

    #[tokio::test]
    async fn no_account_never_matches_even_the_dummy_password() {
        assert!(!verify("not anybody's password", None).await.unwrap());
        assert!(!verify("anything", None).await.unwrap());
    }
}
