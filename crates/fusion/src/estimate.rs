//! Where one observation places its event on its own, with a covariance: its measurement's
//! standalone fix (`Measure::standalone`) — a position report, or a bearing with a distance
//! range. A bearing alone or an arrival fixes nothing alone; the estimators of `truce-locate`
//! combine them.

use crate::measure::Measure;
use truce_core::Observation;
use truce_geo::{Cov2, LatLon};
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
    Measure::of(o).and_then(|m| m.standalone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::Timestamp;
    use truce_core::intake::parse_one;
    use truce_geo::SCALE_95;
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
    fn a_bare_bearing_or_an_arrival_fixes_nothing_alone() {
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
