//! The Metrc adapter: `POST {METRC_API_URL}/sales/v2/receipts?licenseNumber=` with the
//! receipt in a one-element array, authenticated with the vendor key and the user key
//! (HTTP Basic, as Metrc's API asks).

use super::{ReportError, TrackAndTrace};
use async_trait::async_trait;
use serde_json::{Value, json};

/// How much of a refusal's body is read for the error message (500 characters of it kept).
const REFUSAL_BYTES: usize = 2048;

/// Metrc's sales-receipt API.
pub struct Metrc {
    client: reqwest::Client,
    base: String,
    vendor_key: String,
    user_key: String,
}

impl Metrc {
    /// An adapter posting to `base` (Metrc's API root) with the two keys; 10 s per request.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(base: &str, vendor_key: &str, user_key: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            vendor_key: vendor_key.to_owned(),
            user_key: user_key.to_owned(),
        })
    }
}

#[async_trait]
impl TrackAndTrace for Metrc {
    fn name(&self) -> &'static str {
        "metrc"
    }

    async fn report(&self, license: &str, receipt: &Value) -> Result<Option<String>, ReportError> {
        let mut url = reqwest::Url::parse(&format!("{}/sales/v2/receipts", self.base))
            .map_err(|e| ReportError(e.to_string()))?;
        url.query_pairs_mut().append_pair("licenseNumber", license);
        let response = self
            .client
            .post(url)
            .basic_auth(&self.vendor_key, Some(&self.user_key))
            .json(&json!([receipt]))
            .send()
            .await
            .map_err(|e| ReportError(format!("Metrc unreachable: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            // Its body (the receipt ids) is not used: dropped unread.
            Ok(None)
        } else {
            // Only the start of a refusal is read: it says why, and an answer that never
            // ends must not hold the sender (or fill memory).
            let body = platform::outbound::text_prefix(response, REFUSAL_BYTES).await;
            Err(ReportError(format!(
                "Metrc answered {status}: {}",
                body.chars().take(500).collect::<String>()
            )))
        }
    }
}
