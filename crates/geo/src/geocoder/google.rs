//! The Google Geocoding API adapter.

use super::{AddressQuery, GeocodeError, Geocoded, Geocoder, Precision};
use crate::point::Point;
use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Google's public endpoint, used when no other base URL is given.
pub const GOOGLE_GEOCODE_URL: &str = "https://maps.googleapis.com/maps/api/geocode/json";

/// Long enough for Google on a bad day, short enough that checkout does not hang on it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Google's answers for one address are a few KiB; a bigger one is refused unread rather
/// than held in memory.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Geocodes through Google's Geocoding API, restricted to US addresses.
#[derive(Clone)]
pub struct GoogleGeocoder {
    client: reqwest::Client,
    base_url: Url,
    api_key: String,
    timeout: Duration,
}

// By hand, so the key never reaches a log through `{:?}`.
impl fmt::Debug for GoogleGeocoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleGeocoder")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl GoogleGeocoder {
    /// A geocoder using `api_key`, sending to `base_url` (wiremock in tests) or else to
    /// [`GOOGLE_GEOCODE_URL`], with a 5-second timeout.
    ///
    /// # Errors
    /// An empty key, a base URL that does not parse, or an HTTP client that cannot be built.
    pub fn new(api_key: impl Into<String>, base_url: Option<&str>) -> Result<Self, String> {
        let api_key = api_key.into().trim().to_owned();
        if api_key.is_empty() {
            return Err("the Google geocoding provider needs an API key".to_owned());
        }
        let url = base_url.unwrap_or(GOOGLE_GEOCODE_URL);
        let base_url =
            Url::parse(url).map_err(|e| format!("invalid Google geocoding URL `{url}`: {e}"))?;
        let client = reqwest::Client::builder()
            .connect_timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the Google geocoding HTTP client: {e}"))?;
        Ok(Self {
            client,
            base_url,
            api_key,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Replaces the 5-second limit on a whole request (connect, send, read).
    #[must_use]
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn request_url(&self, address: &AddressQuery<'_>) -> Url {
        let mut url = self.base_url.clone();
        url.query_pairs_mut()
            .append_pair("address", &address.one_line())
            // Without it Google happily matches a US-looking address abroad.
            .append_pair("components", "country:US")
            .append_pair("key", &self.api_key);
        url
    }
}

#[async_trait]
impl Geocoder for GoogleGeocoder {
    fn name(&self) -> &'static str {
        "google"
    }

    async fn geocode(&self, address: &AddressQuery<'_>) -> Result<Option<Geocoded>, GeocodeError> {
        let response = self
            .client
            .get(self.request_url(address))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("Google geocoding answered HTTP {status}");
            return Err(
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    GeocodeError::Unavailable(message)
                } else {
                    GeocodeError::Rejected(message)
                },
            );
        }
        let body = read_capped(response).await?;
        let body: GeocodeResponse = serde_json::from_slice(&body).map_err(|e| {
            GeocodeError::Unavailable(format!("Google geocoding answered unreadable JSON: {e}"))
        })?;
        body.into_result()
    }
}

/// The answer's body, at most [`MAX_ANSWER_BYTES`]: refused from its `Content-Length`, or as
/// soon as more arrives. (Services use `platform::outbound` for the same; this crate stays
/// free of the services' plumbing.)
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, GeocodeError> {
    let too_large = || {
        GeocodeError::Unavailable(format!(
            "Google geocoding answered more than {MAX_ANSWER_BYTES} bytes"
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The part of Google's answer we read.
#[derive(Deserialize)]
struct GeocodeResponse {
    status: String,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    results: Vec<GeocodeResult>,
}

#[derive(Deserialize)]
struct GeocodeResult {
    formatted_address: Option<String>,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Geometry {
    location: LatLng,
    location_type: Option<String>,
}

#[derive(Deserialize)]
struct LatLng {
    lat: f64,
    lng: f64,
}

impl GeocodeResponse {
    fn into_result(self) -> Result<Option<Geocoded>, GeocodeError> {
        let message = || match &self.error_message {
            Some(detail) => format!("Google geocoding status {}: {detail}", self.status),
            None => format!("Google geocoding status {}", self.status),
        };
        match self.status.as_str() {
            "OK" => {}
            "ZERO_RESULTS" => return Ok(None),
            // OVER_DAILY_LIMIT is Google's word for a missing key or billing that is not set
            // up, which waiting will not fix, unlike OVER_QUERY_LIMIT.
            "REQUEST_DENIED" | "INVALID_REQUEST" | "OVER_DAILY_LIMIT" => {
                return Err(GeocodeError::Rejected(message()));
            }
            // OVER_QUERY_LIMIT, UNKNOWN_ERROR and any status added later: worth a retry.
            _ => return Err(GeocodeError::Unavailable(message())),
        }
        let Some(first) = self.results.into_iter().next() else {
            return Ok(None);
        };
        let LatLng { lat, lng } = first.geometry.location;
        let point = Point::new(lat, lng).map_err(|e| {
            GeocodeError::Unavailable(format!("Google geocoding returned a bad point: {e}"))
        })?;
        Ok(Some(Geocoded {
            point,
            precision: precision(first.geometry.location_type.as_deref()),
            formatted_address: first.formatted_address,
        }))
    }
}

/// Anything Google does not call exact or street-level is treated as approximate, so a new
/// location type can only make us more cautious.
fn precision(location_type: Option<&str>) -> Precision {
    match location_type {
        Some("ROOFTOP") => Precision::Rooftop,
        Some("RANGE_INTERPOLATED" | "GEOMETRIC_CENTER") => Precision::Street,
        _ => Precision::Approximate,
    }
}

/// reqwest's message names the URL, whose query holds the API key, so it is dropped; the
/// causes (refused, timed out, TLS) are kept because the top-level message alone says
/// only "error sending request".
fn unavailable(err: reqwest::Error) -> GeocodeError {
    let err = err.without_url();
    let mut text = format!("Google geocoding: {err}");
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    GeocodeError::Unavailable(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "test-key-123";
    const PATH: &str = "/maps/api/geocode/json";

    /// Google's endpoint played by wiremock: every geocoding request is answered with
    /// `status` and `body`.
    async fn google(status: u16, body: &'static str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        server
    }

    fn url(server: &MockServer) -> String {
        format!("{}{PATH}", server.uri())
    }

    fn address() -> AddressQuery<'static> {
        AddressQuery {
            line1: "301 W 2nd St",
            line2: Some("Suite 100"),
            city: "Austin",
            state: "TX",
            zip: "78701",
        }
    }

    async fn geocode(server: &MockServer) -> Result<Option<Geocoded>, GeocodeError> {
        let geocoder = GoogleGeocoder::new(KEY, Some(&url(server))).unwrap();
        geocoder.geocode(&address()).await
    }

    #[tokio::test]
    async fn ok_returns_the_first_result_and_sends_address_country_and_key() {
        let server = google(
            200,
            r#"{"status":"OK","results":[
                {"formatted_address":"301 W 2nd St #100, Austin, TX 78701, USA",
                 "geometry":{"location":{"lat":30.2652,"lng":-97.7470},"location_type":"ROOFTOP"}},
                {"formatted_address":"elsewhere",
                 "geometry":{"location":{"lat":1.0,"lng":1.0},"location_type":"APPROXIMATE"}}]}"#,
        )
        .await;

        let found = geocode(&server).await.unwrap().unwrap();
        assert_eq!(found.point, Point::new(30.2652, -97.7470).unwrap());
        assert_eq!(found.precision, Precision::Rooftop);
        assert_eq!(
            found.formatted_address.as_deref(),
            Some("301 W 2nd St #100, Austin, TX 78701, USA")
        );

        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        let query: HashMap<String, String> = requests[0].url.query_pairs().into_owned().collect();
        assert_eq!(requests[0].url.path(), PATH);
        assert_eq!(
            query["address"],
            "301 W 2nd St, Suite 100, Austin, TX 78701"
        );
        assert_eq!(query["components"], "country:US");
        assert_eq!(query["key"], KEY);
        assert_eq!(query.len(), 3);
    }

    #[tokio::test]
    async fn zero_results_is_not_found() {
        let server = google(200, r#"{"status":"ZERO_RESULTS","results":[]}"#).await;
        assert_eq!(geocode(&server).await.unwrap(), None);
    }

    #[tokio::test]
    async fn request_denied_is_rejected_with_googles_reason() {
        let server = google(
            200,
            r#"{"status":"REQUEST_DENIED","error_message":"The provided API key is invalid.","results":[]}"#,
        )
        .await;
        let err = geocode(&server).await.unwrap_err();
        assert_eq!(
            err,
            GeocodeError::Rejected(
                "Google geocoding status REQUEST_DENIED: The provided API key is invalid."
                    .to_owned()
            )
        );
    }

    #[tokio::test]
    async fn quota_and_server_errors_are_unavailable() {
        let quota = google(200, r#"{"status":"OVER_QUERY_LIMIT","results":[]}"#).await;
        assert!(matches!(
            geocode(&quota).await,
            Err(GeocodeError::Unavailable(_))
        ));
        let down = google(503, "{}").await;
        assert!(matches!(
            geocode(&down).await,
            Err(GeocodeError::Unavailable(m)) if m.contains("503")
        ));
        let forbidden = google(403, "{}").await;
        assert!(matches!(
            geocode(&forbidden).await,
            Err(GeocodeError::Rejected(_))
        ));
    }

    #[test]
    fn location_types_map_to_precision() {
        assert_eq!(precision(Some("ROOFTOP")), Precision::Rooftop);
        assert_eq!(precision(Some("RANGE_INTERPOLATED")), Precision::Street);
        assert_eq!(precision(Some("GEOMETRIC_CENTER")), Precision::Street);
        assert_eq!(precision(Some("APPROXIMATE")), Precision::Approximate);
        assert_eq!(precision(None), Precision::Approximate);
    }

    #[tokio::test]
    async fn a_silent_server_times_out_as_unavailable_without_leaking_the_key() {
        // Google taking far longer than the geocoder waits.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(query_param("key", KEY))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(
                        r#"{"status":"ZERO_RESULTS","results":[]}"#,
                        "application/json",
                    )
                    .set_delay(Duration::from_secs(10)),
            )
            .mount(&server)
            .await;
        let geocoder = GoogleGeocoder::new(KEY, Some(&url(&server)))
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let err = geocoder.geocode(&address()).await.unwrap_err();
        let GeocodeError::Unavailable(message) = err else {
            panic!("{err:?}");
        };
        assert!(!message.contains(KEY), "{message}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable() {
        // A port nothing listens on (wiremock pools its servers: a dropped one still answers).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let err = GoogleGeocoder::new(KEY, Some(&url))
            .unwrap()
            .geocode(&address())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, GeocodeError::Unavailable(m) if !m.contains(KEY)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_past_the_cap_is_refused_unread() {
        // A valid answer padded past the cap (JSON allows trailing whitespace).
        let answer = format!(
            r#"{{"status":"OK","results":[{{"formatted_address":"Austin",
                "geometry":{{"location":{{"lat":30.2652,"lng":-97.7470}},"location_type":"ROOFTOP"}}}}]}}{}"#,
            " ".repeat(MAX_ANSWER_BYTES)
        );
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200).set_body_raw(answer, "application/json"))
            .mount(&server)
            .await;
        let err = GoogleGeocoder::new(KEY, Some(&url(&server)))
            .unwrap()
            .geocode(&address())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            GeocodeError::Unavailable(format!(
                "Google geocoding answered more than {MAX_ANSWER_BYTES} bytes"
            ))
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let geocoder = GoogleGeocoder::new(KEY, None).unwrap();
        let debug = format!("{geocoder:?}");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(debug.contains(GOOGLE_GEOCODE_URL), "{debug}");
    }
}
