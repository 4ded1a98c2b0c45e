//! Geography shared by orders and tracking: points, great-circle distance and city-speed
//! ETAs, service areas (circles or polygons) and geocoding, which turns an address into a
//! point.
//!
//! Geocoding sits behind the [`Geocoder`] trait with two adapters, picked at start-up by
//! [`geocoder_from_config`]:
//! - [`ZipGeocoder`], the default: the centroid of the address's ZIP code from a table built
//!   into the binary ([`ZipCentroids`], the US Census Bureau's 2021 ZCTA Gazetteer, public
//!   domain). No network and no key, so development, tests and a Google outage all still
//!   get a point, if only to within a mile or two.
//! - [`GoogleGeocoder`]: Google's Geocoding API, to the rooftop where Google knows it.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod area;
mod geocoder;
mod point;

pub use area::{Area, ServiceArea};
pub use geocoder::google::{GOOGLE_GEOCODE_URL, GoogleGeocoder};
pub use geocoder::zip::{ZipCentroids, ZipGeocoder};
pub use geocoder::{
    AddressQuery, GeocodeError, Geocoded, Geocoder, Precision, geocoder_from_config,
};
pub use point::{CITY_SPEED_MPH, InvalidPoint, Point, distance_miles, eta_minutes};
