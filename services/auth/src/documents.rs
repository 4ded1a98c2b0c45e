//! ID documents: recognised by their content (never the declared type), size-limited,
//! stored through object_store (a local directory by default, S3 when configured) and never
//! public — admins view them through short-lived links signed with HMAC.

use domain::{IdVerificationId, UserId};
use hmac::{Hmac, Mac};
use platform::objects::Objects;
use sha2::Sha256;

/// Largest accepted document (DESIGN §6).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The formats an ID document may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Jpeg,
    Png,
    Pdf,
}

impl DocumentFormat {
    /// Recognises the format from the file's first bytes; `None` for anything else, whatever
    /// its name or declared type says.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match infer::get(bytes)?.mime_type() {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }
}

pub use platform::objects::ObjectsError as StoreError;

/// Where documents live (`OBJECT_STORE_URL`).
#[derive(Clone)]
pub struct DocumentStore {
    store: Objects,
}

impl DocumentStore {
    /// `file://./var/objects` or `s3://bucket` (credentials from the `AWS_*` variables).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            store: Objects::from_url(url)?,
        })
    }

    /// The key of a verification's document; nothing a client sent is part of it.
    pub fn key(user_id: UserId, verification_id: IdVerificationId) -> String {
        format!("id-documents/{user_id}/{verification_id}")
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.store.put(key, bytes).await
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.store.get(key).await
    }
}

/// Signs and checks document links: `(verification id, expiry)` under a secret.
pub struct LinkSigner {
    keyed: Hmac<Sha256>,
}

impl LinkSigner {
    /// HMAC takes keys of any length, so this fails only in theory.
    pub fn new(secret: &str) -> Result<Self, hmac::digest::InvalidLength> {
        Ok(Self {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())?,
        })
    }

    fn mac(&self, id: IdVerificationId, expires: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(format!("{id}:{expires}").as_bytes());
        mac
    }

    pub fn sign(&self, id: IdVerificationId, expires: i64) -> String {
        hex::encode(self.mac(id, expires).finalize().into_bytes())
    }

    /// Whether `signature` is ours for `id` and `expires`, and `expires` (Unix seconds) has
    /// not passed. The comparison is constant-time.
    pub fn verify(&self, id: IdVerificationId, expires: i64, signature: &str, now: i64) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        expires > now && self.mac(id, expires).verify_slice(&signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
    const PDF: &[u8] = b"%PDF-1.7\n%";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff";

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(DocumentFormat::sniff(PNG), Some(DocumentFormat::Png));
        assert_eq!(DocumentFormat::sniff(JPEG), Some(DocumentFormat::Jpeg));
        assert_eq!(DocumentFormat::sniff(PDF), Some(DocumentFormat::Pdf));
        assert_eq!(DocumentFormat::sniff(EXE), None, "a Windows executable");
        assert_eq!(
            DocumentFormat::sniff(b"GIF89a......"),
            None,
            "an image, but not accepted"
        );
        assert_eq!(DocumentFormat::sniff(b""), None);
    }

    #[test]
    fn links_expire_and_cannot_be_forged() {
        let signer = LinkSigner::new("secret").unwrap();
        let id = IdVerificationId::new();
        let signature = signer.sign(id, 1_000);
        assert!(signer.verify(id, 1_000, &signature, 999));
        assert!(!signer.verify(id, 1_000, &signature, 1_000), "expired");
        assert!(!signer.verify(id, 2_000, &signature, 999), "expiry changed");
        assert!(
            !signer.verify(IdVerificationId::new(), 1_000, &signature, 999),
            "other document"
        );
        assert!(
            !LinkSigner::new("other")
                .unwrap()
                .verify(id, 1_000, &signature, 999),
            "other secret"
        );
        assert!(!signer.verify(id, 1_000, "zz", 999));
    }
}
