//! A WGS 84 point and the haversine distance between two of them.

use serde::{Deserialize, Serialize};

/// Mean Earth radius in miles (IUGG), the figure the haversine formula is usually given with.
const EARTH_RADIUS_MILES: f64 = 3958.8;

/// The guide's average city driving speed, used for ETAs when no routing provider is set.
pub const CITY_SPEED_MPH: f64 = 25.0;

/// A latitude or longitude out of range (or not a number).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "latitude must be within -90..=90 and longitude within -180..=180 (got {latitude}, {longitude})"
)]
pub struct InvalidPoint {
    pub latitude: f64,
    pub longitude: f64,
}

/// A point on Earth in decimal degrees. Only [`Point::new`] builds one, so every `Point`
/// is in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint", into = "RawPoint")]
pub struct Point {
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize, Deserialize)]
struct RawPoint {
    latitude: f64,
    longitude: f64,
}

impl TryFrom<RawPoint> for Point {
    type Error = InvalidPoint;

    fn try_from(raw: RawPoint) -> Result<Self, Self::Error> {
        Self::new(raw.latitude, raw.longitude)
    }
}

impl From<Point> for RawPoint {
    fn from(point: Point) -> Self {
        Self {
            latitude: point.latitude,
            longitude: point.longitude,
        }
    }
}

impl Point {
    /// # Errors
    /// [`InvalidPoint`] when a coordinate is out of range or not finite.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, InvalidPoint> {
        if (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) {
            Ok(Self {
                latitude,
                longitude,
            })
        } else {
            Err(InvalidPoint {
                latitude,
                longitude,
            })
        }
    }

    #[must_use]
    pub const fn latitude(self) -> f64 {
        self.latitude
    }

    #[must_use]
    pub const fn longitude(self) -> f64 {
        self.longitude
    }
}

/// Great-circle (haversine) distance between two points, in miles.
#[must_use]
pub fn distance_miles(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.longitude - a.longitude).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin()
}

/// Minutes to drive `miles` at the guide's city speed, rounded up (at least 1 when moving).
#[must_use]
pub fn eta_minutes(miles: f64) -> u32 {
    let minutes = (miles.max(0.0) / CITY_SPEED_MPH * 60.0).ceil();
    // Bounded: no two points on Earth are more than ~12,500 miles apart.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "bounded above"
    )]
    let minutes = minutes as u32;
    minutes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    #[test]
    fn austin_to_round_rock_is_about_seventeen_miles() {
        let austin = p(30.2672, -97.7431);
        let round_rock = p(30.5082, -97.6789);
        let miles = distance_miles(austin, round_rock);
        assert!((17.0..17.2).contains(&miles), "{miles}");
        assert!((distance_miles(round_rock, austin) - miles).abs() < 1e-9);
    }

    #[test]
    fn a_point_is_zero_miles_from_itself() {
        let austin = p(30.2672, -97.7431);
        assert!(distance_miles(austin, austin).abs() < 1e-9);
    }

    #[test]
    fn out_of_range_coordinates_are_refused() {
        assert!(Point::new(90.1, 0.0).is_err());
        assert!(Point::new(0.0, -180.5).is_err());
        assert!(Point::new(f64::NAN, 0.0).is_err());
        assert!(Point::new(-90.0, 180.0).is_ok());
        assert!(serde_json::from_str::<Point>(r#"{"latitude":91,"longitude":0}"#).is_err());
    }

    #[test]
    fn eta_at_city_speed() {
        assert_eq!(eta_minutes(0.0), 0);
        assert_eq!(eta_minutes(25.0), 60);
        assert_eq!(eta_minutes(1.0), 3); // 2.4 minutes, rounded up
    }
}
