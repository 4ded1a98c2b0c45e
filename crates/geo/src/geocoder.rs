//! The geocoding port: what is asked ([`AddressQuery`]), what comes back ([`Geocoded`]), how
//! it fails ([`GeocodeError`]), and the choice of adapter from configuration.

pub mod google;
pub mod zip;

use crate::point::Point;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A US delivery address, borrowed from whatever the caller already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressQuery<'a> {
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub city: &'a str,
    /// Two-letter state code, e.g. `TX`.
    pub state: &'a str,
    /// `78701` or ZIP+4 `78701-1234`.
    pub zip: &'a str,
}

impl AddressQuery<'_> {
    /// The address on one line as a person would write it, `line1, line2, city, state zip`,
    /// leaving out an empty second line.
    #[must_use]
    pub fn one_line(&self) -> String {
        let mut parts = vec![self.line1.trim()];
        if let Some(line2) = self.line2.map(str::trim).filter(|l| !l.is_empty()) {
            parts.push(line2);
        }
        parts.push(self.city.trim());
        format!(
            "{}, {} {}",
            parts.join(", "),
            self.state.trim(),
            self.zip.trim()
        )
    }
}

/// How closely a [`Geocoded`] point matches the address, best first. Callers decide what is
/// good enough: a ZIP centroid can say which service area an address is in, but not where
/// a driver should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The building itself.
    Rooftop,
    /// Interpolated along the street, or the middle of a street or block.
    Street,
    /// A wider area the provider matched, such as a neighbourhood.
    Approximate,
    /// The centre of the address's ZIP code.
    ZipCentroid,
}

impl Precision {
    /// The serialised name, e.g. `zip_centroid`, for columns and log fields.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rooftop => "rooftop",
            Self::Street => "street",
            Self::Approximate => "approximate",
            Self::ZipCentroid => "zip_centroid",
        }
    }
}

/// An address found on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Geocoded {
    pub point: Point,
    pub precision: Precision,
    /// The provider's normalised spelling of the address, when it gives one.
    pub formatted_address: Option<String>,
}

/// Why a geocoder gave no answer. An address that simply does not exist is not an error:
/// that is `Ok(None)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeocodeError {
    /// The provider could not be reached or asked us to slow down (network, timeout, 5xx,
    /// quota); the same request may succeed later.
    #[error("geocoder unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (bad or missing key, API not enabled, malformed
    /// request); retrying will not help until someone changes the configuration.
    #[error("geocoder rejected the request: {0}")]
    Rejected(String),
}

/// Turns an address into a point.
#[async_trait]
pub trait Geocoder: Send + Sync {
    /// Short stable name for logs and metrics, e.g. `google`.
    fn name(&self) -> &'static str;

    /// `Ok(None)` when the provider answered but knows no such address.
    ///
    /// # Errors
    /// [`GeocodeError::Unavailable`] when the provider could not answer now,
    /// [`GeocodeError::Rejected`] when it refused the request.
    async fn geocode(&self, address: &AddressQuery<'_>) -> Result<Option<Geocoded>, GeocodeError>;
}

/// Builds the geocoder a service's configuration names:
/// - `zip` (also an empty string, the default): [`zip::ZipGeocoder`], the bundled
///   ZIP-centroid table; `google_key` is ignored.
/// - `google`: [`google::GoogleGeocoder`] against Google's public endpoint; `google_key`
///   must not be empty.
///
/// Names are case-insensitive. Meant to be called once at start-up, so a typo stops the
/// service instead of silently falling back to coarser points.
///
/// # Errors
/// An unknown provider name, a missing Google key, or an HTTP client that cannot be built.
pub fn geocoder_from_config(provider: &str, google_key: &str) -> Result<Arc<dyn Geocoder>, String> {
    let provider = provider.trim();
    if provider.is_empty() || provider.eq_ignore_ascii_case("zip") {
        Ok(Arc::new(zip::ZipGeocoder))
    } else if provider.eq_ignore_ascii_case("google") {
        Ok(Arc::new(google::GoogleGeocoder::new(google_key, None)?))
    } else {
        Err(format!(
            "unknown geocoding provider `{provider}`; expected `zip` or `google`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(line2: Option<&str>) -> AddressQuery<'_> {
        AddressQuery {
            line1: "301 W 2nd St ",
            line2,
            city: "Austin",
            state: "TX",
            zip: "78701-1234",
        }
    }

    #[test]
    fn one_line_skips_an_empty_second_line() {
        assert_eq!(
            address(None).one_line(),
            "301 W 2nd St, Austin, TX 78701-1234"
        );
        assert_eq!(
            address(Some(" ")).one_line(),
            "301 W 2nd St, Austin, TX 78701-1234"
        );
        assert_eq!(
            address(Some("Suite 100")).one_line(),
            "301 W 2nd St, Suite 100, Austin, TX 78701-1234"
        );
    }

    #[test]
    fn precision_serialises_as_its_name() {
        for precision in [
            Precision::Rooftop,
            Precision::Street,
            Precision::Approximate,
            Precision::ZipCentroid,
        ] {
            let json = serde_json::to_string(&precision).unwrap();
            assert_eq!(json, format!("\"{}\"", precision.as_str()));
            assert_eq!(serde_json::from_str::<Precision>(&json).unwrap(), precision);
        }
    }

    #[test]
    fn config_picks_the_named_provider() {
        assert_eq!(geocoder_from_config("", "").unwrap().name(), "zip_centroid");
        assert_eq!(
            geocoder_from_config("ZIP", "ignored").unwrap().name(),
            "zip_centroid"
        );
        assert_eq!(
            geocoder_from_config("google", "key").unwrap().name(),
            "google"
        );
    }

    #[test]
    fn config_refuses_unknown_providers_and_google_without_a_key() {
        let err = geocoder_from_config("mapbox", "").err().unwrap();
        assert!(err.contains("mapbox"), "{err}");
        let err = geocoder_from_config("google", " ").err().unwrap();
        assert!(err.contains("key"), "{err}");
    }
}
