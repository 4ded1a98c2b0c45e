//! Geography shared by orders and tracking: points, great-circle distance, service areas
//! (circles or polygons) and, in `geocoder`, turning an address into a point.

mod area;
mod point;

pub use area::{Area, ServiceArea};
pub use point::{CITY_SPEED_MPH, InvalidPoint, Point, distance_miles, eta_minutes};
