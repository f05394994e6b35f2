//! What the estimators' integration tests share.

use truce_locate::BearingMeasurement;

/// An exact bearing from `observer` to `to` (east, north, metres), stated with `sigma_deg`.
pub fn bearing(observer: [f64; 2], to: [f64; 2], sigma_deg: f64) -> BearingMeasurement {
    BearingMeasurement {
        observer,
        observer_sigma_m: 0.0,
        azimuth_rad: (to[0] - observer[0]).atan2(to[1] - observer[1]),
        sigma_rad: sigma_deg.to_radians(),
        range: None,
    }
}
