//! Where one observation places its event, with a covariance — the spine's first estimators.
//!
//! - a position report: that point, its `accuracy_m` taken as the radius of the 95% circle;
//! - a bearing with a distance range: the point along the bearing at mid-range, with the bearing
//!   sigma across and the range interval (as ±2σ) along, plus the observer's own uncertainty;
//! - a bearing alone, an arrival, a UAV pose: no position from one observation (the geolocation
//!   issue combines them).

use truce_core::{Geometry, Observation};
use truce_geo::{Cov2, LatLon, SCALE_95, destination};

/// Smallest standard deviation used, metres: keeps covariances invertible when a reporter
/// claims perfect accuracy.
const SIGMA_FLOOR_M: f64 = 1.0;

/// A position estimate with its covariance in the east-north plane at `center`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Best position.
    pub center: LatLon,
    /// Covariance, m², east-north at `center`.
    pub cov: Cov2,
}

/// The estimate one observation gives on its own, or `None` when it cannot fix a position.
pub fn estimate_observation(o: &Observation) -> Option<Estimate> {
    match &o.geometry {
        Geometry::Position(p) => Some(Estimate {
            center: LatLon::new(p.lat, p.lon),
            cov: Cov2::circular((p.accuracy_m / SCALE_95).max(SIGMA_FLOOR_M)),
        }),
        Geometry::Bearing(b) => {
            let max = b.distance_max_m?;
            let min = b.distance_min_m.unwrap_or(0.0).min(max);
            let mid = 0.5 * (min + max);
            let observer = LatLon::new(b.observer.lat, b.observer.lon);
            let center = destination(observer, b.bearing_deg, mid);
            let sigma_observer = b.observer.accuracy_m / SCALE_95;
            let along = ((max - min) / 4.0).hypot(sigma_observer);
            let across = (mid * b.bearing_sigma_deg.to_radians().sin()).hypot(sigma_observer);
            Some(Estimate {
                center,
                cov: Cov2::oriented(
                    b.bearing_deg,
                    along.max(SIGMA_FLOOR_M),
                    across.max(SIGMA_FLOOR_M),
                ),
            })
        }
        Geometry::Arrival(_) | Geometry::Uav(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::Timestamp;
    use truce_core::intake::parse_one;
    use truce_geo::distance_azimuth;

    fn obs(geometry: &str) -> truce_core::ValidObservation {
        let text = format!(
            r#"{{"kind":"explosion","observed_at":"2026-11-20T10:00:00Z","reporter":"p","geometry":{geometry}}}"#
        );
        parse_one(
            &text,
            Timestamp::parse("2026-11-20T10:01:00Z").unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn position_accuracy_is_the_95_radius() {
        let e = estimate_observation(&obs(
            r#"{"type":"position","lat":39.9,"lon":46.8,"accuracy_m":200}"#,
        ))
        .unwrap();
        let ellipse = e.cov.ellipse_95();
        assert!((ellipse.semi_major_m - 200.0).abs() < 1e-9);
        assert!((ellipse.semi_minor_m - 200.0).abs() < 1e-9);
    }

    #[test]
    fn bearing_with_range_sits_at_mid_range_along_the_bearing() {
        let e = estimate_observation(&obs(
            r#"{"type":"bearing","observer":{"lat":39.9,"lon":46.8,"accuracy_m":10},
               "bearing_deg":60,"bearing_sigma_deg":3,"distance_min_m":2000,"distance_max_m":4000}"#,
        ))
        .unwrap();
        let (d, az) = distance_azimuth(LatLon::new(39.9, 46.8), e.center);
        assert!((d - 3000.0).abs() < 1e-6 && (az - 60.0).abs() < 1e-6);
        let ellipse = e.cov.ellipse_95();
        // Along: (4000 − 2000)/4 = 500 m σ; across: 3000·sin 3° ≈ 157 m σ.
        assert!((ellipse.azimuth_deg - 60.0).abs() < 1e-6);
        assert!((ellipse.semi_major_m / SCALE_95 - 500.0).abs() < 1.0);
        assert!((ellipse.semi_minor_m / SCALE_95 - 157.0).abs() < 1.0);
    }

    #[test]
    fn bearing_alone_arrival_and_uav_fix_nothing_alone() {
        assert!(estimate_observation(&obs(
            r#"{"type":"bearing","observer":{"lat":39.9,"lon":46.8,"accuracy_m":10},"bearing_deg":60,"bearing_sigma_deg":3}"#
        ))
        .is_none());
        assert!(estimate_observation(&obs(
            r#"{"type":"arrival","sensor":{"id":"s","lat":39.9,"lon":46.8,"alt_m":0},"arrival_time":"2026-11-20T10:00:01Z","sigma_s":0.01}"#
        ))
        .is_none());
    }
}
