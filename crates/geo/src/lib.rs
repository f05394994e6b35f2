//! Geodesy for truce: pure functions over plain numbers, no domain types, no IO.
//!
//! Conventions everywhere: WGS84; latitude and longitude in degrees ([`LatLon`], latitude first);
//! heights above the ellipsoid in metres; bearings and azimuths in degrees clockwise from true
//! north; local frames east-north-up in metres.
//!
//! ```
//! use truce_geo::{LatLon, LocalFrame, destination};
//! let post = LatLon::new(39.95, 46.80);
//! let target = destination(post, 90.0, 1000.0);
//! let frame = LocalFrame::at(post);
//! let (e, n) = frame.to_en(target);
//! assert!((e - 1000.0).abs() < 0.5 && n.abs() < 1.0);
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod covariance;
mod ellipsoid;
mod mgrs;

pub use covariance::{Cov2, D2_95, Ellipse, SCALE_95};
pub use ellipsoid::{LocalFrame, WGS84_A, WGS84_F, ecef_to_geodetic, geodetic_to_ecef};
pub use mgrs::{MgrsError, from_mgrs, to_mgrs};

use geographiclib_rs::{DirectGeodesic, Geodesic, InverseGeodesic};

/// A WGS84 position: latitude then longitude, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    /// Degrees north, −90 to 90.
    pub lat: f64,
    /// Degrees east, −180 to 180.
    pub lon: f64,
}

impl LatLon {
    /// A position from latitude and longitude in degrees (in that order).
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }
}

/// The point `distance_m` metres from `from` along the geodesic leaving at `azimuth_deg`
/// (degrees clockwise from true north), on the WGS84 ellipsoid (Karney's algorithm, accurate to
/// nanometres).
pub fn destination(from: LatLon, azimuth_deg: f64, distance_m: f64) -> LatLon {
    let (lat, lon) = Geodesic::wgs84().direct(from.lat, from.lon, azimuth_deg, distance_m);
    LatLon::new(lat, lon)
}

/// Whether `a` and `b` are at most `limit_m` metres apart along the geodesic: exactly
/// [`distance_azimuth`]'s answer, found without the geodesic when a flat-earth estimate
/// (within 1% for points less than 100 km apart, away from the poles) is clearly on one side.
/// For gates over many candidates.
pub fn within_m(a: LatLon, b: LatLon, limit_m: f64) -> bool {
    const METRES_PER_DEGREE: f64 = 111_195.0;
    let mid_lat = (0.5 * (a.lat + b.lat)).to_radians();
    let mut dlon = (b.lon - a.lon).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let de = dlon * mid_lat.cos() * METRES_PER_DEGREE;
    let dn = (b.lat - a.lat) * METRES_PER_DEGREE;
    let flat = (de * de + dn * dn).sqrt();
    let polar = a.lat.abs().max(b.lat.abs()) > 80.0;
    if !polar && flat < 100_000.0 {
        if flat <= 0.98 * limit_m {
            return true;
        }
        if flat >= 1.02 * limit_m {
            return false;
        }
    }
    distance_azimuth(a, b).0 <= limit_m
}

/// Geodesic distance in metres and the forward azimuth in degrees from `a` to `b` (WGS84).
pub fn distance_azimuth(a: LatLon, b: LatLon) -> (f64, f64) {
    let (s12, azi1, _azi2, _a12): (f64, f64, f64, f64) =
        Geodesic::wgs84().inverse(a.lat, a.lon, b.lat, b.lon);
    (s12, azi1.rem_euclid(360.0))
}
