//! Calls to the services that own inbound events, as the user: the socket's own token goes in
//! `Authorization`, so each service applies its own rules, once, for REST and sockets alike.
//! The answer becomes the ack: the service's JSON, or `{error: {code, message}}` with the
//! service's problem code.

use domain::Code;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Largest answer read from a service.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// A service inbound events are proxied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Tracking,
    Chat,
}

impl Upstream {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tracking => "tracking",
            Self::Chat => "chat",
        }
    }

    /// What a client is told while the service is not deployed.
    const fn unavailable(self) -> &'static str {
        match self {
            Self::Tracking => "Live tracking is not available yet.",
            Self::Chat => "Live chat is not available yet.",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// An error ack: `{error: {code, message}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    pub code: String,
    pub message: String,
}

impl AckError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// The ack's payload.
    pub fn to_value(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message } })
    }
}

/// Who a proxied call is made for, besides the token.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// A fresh id for this call (`X-Request-Id`), to find it in both services' logs.
    pub request_id: &'a str,
    /// The client's address at the handshake.
    pub ip: Option<IpAddr>,
}

/// The HTTP client and where each service is.
pub struct Proxy {
    client: reqwest::Client,
    tracking: Option<String>,
    chat: Option<String>,
}

impl Proxy {
    /// `tracking` and `chat` are base URLs, empty while the service is not deployed.
    pub fn new(tracking: &str, chat: &str, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|err| err.to_string())?;
        let base = |url: &str| (!url.is_empty()).then(|| url.trim_end_matches('/').to_owned());
        Ok(Self {
            client,
            tracking: base(tracking),
            chat: base(chat),
        })
    }

    fn base(&self, upstream: Upstream) -> Option<&str> {
        match upstream {
            Upstream::Tracking => self.tracking.as_deref(),
            Upstream::Chat => self.chat.as_deref(),
        }
    }

    /// `verb path` on `upstream` as the holder of `token`; the answer's JSON, or the error ack.
    pub async fn call(
        &self,
        upstream: Upstream,
        verb: Verb,
        path: &str,
        body: Option<&Value>,
        token: &str,
        caller: &Caller<'_>,
    ) -> Result<Value, AckError> {
        let Some(base) = self.base(upstream) else {
            return Err(AckError::new(
                Code::ServiceUnavailable,
                upstream.unavailable(),
            ));
        };
        let url = format!("{base}{path}");
        let mut request = match verb {
            Verb::Get => self.client.get(url),
            Verb::Post => self.client.post(url),
        }
        .bearer_auth(token)
        .header("x-request-id", caller.request_id);
        // The client's address as the gateway saw it, for the service's limits and audit log
        // (the call itself comes from realtime's address).
        if let Some(ip) = caller.ip {
            request = request.header("x-forwarded-for", ip.to_string());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let answer = request.send().await;
        let outcome = match &answer {
            Ok(answer) => answer.status().as_u16().to_string(),
            Err(err) if err.is_timeout() => "timeout".to_owned(),
            Err(_) => "unreachable".to_owned(),
        };
        metrics::histogram!(
            "realtime_proxy_seconds",
            "upstream" => upstream.as_str(),
            "outcome" => outcome,
        )
        .record(started.elapsed().as_secs_f64());
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) if err.is_timeout() => {
                return Err(AckError::new(
                    Code::UpstreamTimeout,
                    "The service took too long to answer; try again.",
                ));
            }
            Err(err) => {
                tracing::warn!(service = upstream.as_str(), %err, "proxied call failed");
                return Err(AckError::new(
                    Code::ServiceUnavailable,
                    "The service is unavailable; try again shortly.",
                ));
            }
        };
        let status = answer.status();
        let body = platform::outbound::read_capped(answer, MAX_ANSWER_BYTES)
            .await
            .map_err(|err| {
                tracing::warn!(service = upstream.as_str(), %err, "unreadable answer");
                AckError::new(Code::BadGateway, "The service's answer could not be read.")
            })?;
        let json: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(json);
        }
        // The service's problem: its stable code and what it says.
        let code = json["code"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| Code::BadGateway.as_str().to_owned());
        let message = json["detail"]
            .as_str()
            .or_else(|| json["title"].as_str())
            .unwrap_or("The service refused the event.")
            .to_owned();
        Err(AckError { code, message })
    }
}
