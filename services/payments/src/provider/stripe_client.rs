//! The HTTP client the Stripe adapter sends async-stripe's requests with: reqwest, reading
//! every answer with a size cap (`platform::outbound`) and giving every attempt a timeout.
//!
//! async-stripe's own client (hyper) reads each answer whole (`collect()` on the body) and
//! has no setting to bound it or to replace its connector; but every request type it
//! generates is sent through the `StripeClient` trait, so this client takes its place and the
//! adapter keeps async-stripe's request builders, types, retry rules and errors.

use bytes::Bytes;
use platform::outbound::{self, ReadError};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use std::time::Duration;
use stripe::StripeError;
use stripe_client_core::{
    CustomizedStripeRequest, Outcome, RequestStrategy, StripeClient, StripeMethod, VERSION,
};

/// Stripe's public endpoint, used when no other base URL is given.
const STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// Stripe's answers are a few KiB (a list of one customer, a PaymentIntent).
pub const MAX_ANSWER_BYTES: usize = outbound::DEFAULT_MAX_ANSWER_BYTES;

/// Each attempt's limit, from connecting to the last byte of the answer (async-stripe's own
/// client has none by default).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT_VALUE: &str =
    concat!("Stripe/v1 faded-skies-payments/", env!("CARGO_PKG_VERSION"));

/// A Stripe API client whose answers are read with a cap.
#[derive(Clone)]
pub struct CappedClient {
    http: reqwest::Client,
    /// Ends with `/`; `v1/...` follows.
    api_base: String,
    authorization: HeaderValue,
    max_answer_bytes: usize,
}

impl std::fmt::Debug for CappedClient {
    // By hand: the secret key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CappedClient")
            .field("api_base", &self.api_base)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}

impl CappedClient {
    /// A client for `secret_key`, talking to `api_base` when given (a stub in tests).
    ///
    /// # Errors
    /// A key that cannot be a header, a base URL that does not parse, or an HTTP client that
    /// cannot be built.
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, String> {
        let base = api_base.unwrap_or(STRIPE_API_BASE);
        let parsed =
            reqwest::Url::parse(base).map_err(|e| format!("invalid Stripe URL `{base}`: {e}"))?;
        let mut api_base = parsed.to_string();
        if !api_base.ends_with('/') {
            api_base.push('/');
        }
        let mut authorization = HeaderValue::try_from(format!("Bearer {secret_key}"))
            .map_err(|_| "STRIPE_SECRET_KEY cannot be sent as a header".to_owned())?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the Stripe HTTP client: {e}"))?;
        Ok(Self {
            http,
            api_base,
            authorization,
            max_answer_bytes: MAX_ANSWER_BYTES,
        })
    }

    /// Replaces [`MAX_ANSWER_BYTES`] (tests).
    #[must_use]
    pub const fn with_max_answer_bytes(mut self, limit: usize) -> Self {
        self.max_answer_bytes = limit;
        self
    }

    /// One attempt: the status, Stripe's `Stripe-Should-Retry` and the body.
    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<bool>, Bytes), StripeError> {
        let response = request
            .send()
            .await
            .map_err(|e| StripeError::ClientError(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = outbound::read_capped(response, self.max_answer_bytes)
            .await
            .map_err(|err| match err {
                ReadError::TooLarge { limit } => {
                    StripeError::ClientError(format!("Stripe answered more than {limit} bytes"))
                }
                other => StripeError::ClientError(other.to_string()),
            })?;
        Ok((status, retry, body))
    }
}

/// Stripe's error answer as async-stripe reads it.
fn stripe_error(status: u16, body: &[u8]) -> StripeError {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| miniserde::json::from_str::<stripe_shared::Error>(text).ok())
        .map_or_else(
            || StripeError::JSONDeserialize("error deserializing Stripe error".into()),
            |error| StripeError::Stripe(error.error, status),
        )
}

impl StripeClient for CappedClient {
    type Err = StripeError;

    /// Sends the request as async-stripe's client does (headers, idempotency key, the
    /// strategy's retries), reading each answer with the cap.
    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, StripeError> {
        let (request, config) = request.into_pieces();
        let mut url = format!("{}v1{}", self.api_base, request.path);
        if let Some(query) = &request.query {
            url.push('?');
            url.push_str(query);
        }
        let method = match request.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let strategy = config.request_strategy.unwrap_or(RequestStrategy::Once);
        let timeout = config.timeout.unwrap_or(ATTEMPT_TIMEOUT);
        let mut builder = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header("stripe-version", VERSION.as_str())
            .timeout(timeout);
        if let Some(account) = &config.account_id {
            builder = builder.header("stripe-account", account.as_str());
        }
        // One key for every attempt, as Stripe's idempotency requires.
        if let Some(key) = strategy.get_key() {
            builder = builder.header("idempotency-key", key.as_str());
        }
        if let Some(body) = request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
        }

        let mut tries = 0;
        let mut last_status = None;
        let mut last_retry = None;
        let mut last_error = StripeError::ClientError("no attempt was made".into());
        loop {
            let delay = match strategy.test(last_status, last_retry, tries) {
                Outcome::Stop => return Err(last_error),
                Outcome::Continue(delay) => delay,
            };
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let Some(attempt) = builder.try_clone() else {
                return Err(StripeError::ClientError(
                    "the request cannot be resent".into(),
                ));
            };
            tries += 1;
            match self.attempt(attempt).await {
                Ok((status, _, body)) if (200..300).contains(&status) => return Ok(body),
                Ok((status, retry, body)) => {
                    last_error = stripe_error(status, &body);
                    last_status = Some(status);
                    last_retry = retry;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "Stripe request failed");
                    last_error = err;
                }
            }
        }
    }
}
