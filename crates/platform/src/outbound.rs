//! Reading what outside services (providers) answer, with a size cap: an answer is data from
//! a system we do not control, and reading one whole (`reqwest`'s `.json()`, `.text()`)
//! lets a broken or hostile provider fill our memory. [`read_capped`] refuses an answer past
//! its cap from its `Content-Length`, or as soon as the bytes received pass it.

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

/// A cap that fits the JSON providers answer with (Google, Metrc, Stripe: a few KiB).
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why a provider's answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the answer could not be read: {0}")]
    Read(String),
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
}

/// The body of `response`, at most `limit` bytes.
///
/// # Errors
/// [`ReadError::TooLarge`] past the cap (announced or received), [`ReadError::Read`] when
/// the connection fails.
pub async fn read_capped(response: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadError::TooLarge { limit });
    }
    let body = http::Response::<reqwest::Body>::from(response).into_body();
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ReadError::TooLarge { limit })
        }
        Err(err) => Err(ReadError::Read(err.to_string())),
    }
}

/// The JSON of `response` as `T`, read with [`read_capped`].
///
/// # Errors
/// As [`read_capped`], and [`ReadError::Json`] when the body is not a `T`.
pub async fn json_capped<T: DeserializeOwned>(
    response: reqwest::Response,
    limit: usize,
) -> Result<T, ReadError> {
    let body = read_capped(response, limit).await?;
    Ok(serde_json::from_slice(&body)?)
}

/// At most the first `limit` bytes of `response` as text, for an error message: a refusal's
/// body says why, but only its start is worth a log line.
pub async fn text_prefix(response: reqwest::Response, limit: usize) -> String {
    let mut response = response;
    let mut kept = Vec::new();
    while kept.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                kept.extend_from_slice(&chunk[..chunk.len().min(limit - kept.len())])
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
