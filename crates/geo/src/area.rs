//! Service areas as data: a centre and a radius in miles, or a polygon.

use crate::point::{Point, distance_miles};
use serde::{Deserialize, Serialize};

/// The shape of a service area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Area {
    /// Everything within `radius_miles` of `center` (great-circle distance).
    #[serde(rename_all = "camelCase")]
    Circle { center: Point, radius_miles: f64 },
    /// Everything inside the ring of `vertices` (in order, not repeated at the end). Areas are
    /// city-sized, so the ring is treated as planar in degrees.
    Polygon { vertices: Vec<Point> },
}

/// A named zone the business delivers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceArea {
    /// Stable key, e.g. `austin`.
    pub id: String,
    /// Display name, e.g. `Austin`.
    pub name: String,
    #[serde(flatten)]
    pub area: Area,
}

impl ServiceArea {
    #[must_use]
    pub fn contains(&self, point: Point) -> bool {
        match &self.area {
            Area::Circle {
                center,
                radius_miles,
            } => distance_miles(*center, point) <= *radius_miles,
            Area::Polygon { vertices } => polygon_contains(vertices, point),
        }
    }

    /// The point distances (delivery fee bands) are measured from: a circle's centre, or the
    /// mean of a polygon's vertices.
    #[must_use]
    pub fn center(&self) -> Option<Point> {
        match &self.area {
            Area::Circle { center, .. } => Some(*center),
            Area::Polygon { vertices } => {
                let n = f64::from(u32::try_from(vertices.len()).ok()?);
                let lat = vertices.iter().map(|v| v.latitude()).sum::<f64>() / n;
                let lon = vertices.iter().map(|v| v.longitude()).sum::<f64>() / n;
                Point::new(lat, lon).ok()
            }
        }
    }

    /// Miles from the area's centre to `point`.
    #[must_use]
    pub fn distance_from_center(&self, point: Point) -> Option<f64> {
        self.center().map(|center| distance_miles(center, point))
    }
}

/// Ray casting (even-odd rule).
fn polygon_contains(vertices: &[Point], point: Point) -> bool {
    let (x, y) = (point.longitude(), point.latitude());
    let mut inside = false;
    let mut j = vertices.len().wrapping_sub(1);
    for (i, vi) in vertices.iter().enumerate() {
        let vj = vertices[j];
        let (xi, yi, xj, yj) = (vi.longitude(), vi.latitude(), vj.longitude(), vj.latitude());
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    fn austin() -> ServiceArea {
        serde_json::from_str(
            r#"{"id":"austin","name":"Austin","type":"circle",
                "center":{"latitude":30.2672,"longitude":-97.7431},"radiusMiles":25}"#,
        )
        .unwrap()
    }

    #[test]
    fn circle_contains_points_within_its_radius() {
        let area = austin();
        assert!(area.contains(p(30.2672, -97.7431)));
        assert!(area.contains(p(30.5082, -97.6789))); // Round Rock, ~17 miles
        assert!(!area.contains(p(29.4241, -98.4936))); // San Antonio, ~74 miles
    }

    #[test]
    fn polygon_contains_points_inside_its_ring() {
        let square = ServiceArea {
            id: "sq".into(),
            name: "Square".into(),
            area: Area::Polygon {
                vertices: vec![
                    p(30.0, -98.0),
                    p(30.0, -97.0),
                    p(31.0, -97.0),
                    p(31.0, -98.0),
                ],
            },
        };
        assert!(square.contains(p(30.5, -97.5)));
        assert!(!square.contains(p(31.5, -97.5)));
        assert!(!square.contains(p(30.5, -96.5)));
        let center = square.center().unwrap();
        assert!((center.latitude() - 30.5).abs() < 1e-9);
    }
}
