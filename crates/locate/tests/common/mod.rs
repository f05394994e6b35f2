//! What the estimators' integration tests share.

use truce_locate::{ArrivalMeasurement, BearingMeasurement, Measurements, Surface};

/// An exact bearing from `observer` to `to` (east, north, metres), stated with `sigma_deg`.
#[allow(dead_code)]
pub fn bearing(observer: [f64; 2], to: [f64; 2], sigma_deg: f64) -> BearingMeasurement {
    BearingMeasurement {
        observer,
        observer_sigma_m: 0.0,
        azimuth_rad: (to[0] - observer[0]).atan2(to[1] - observer[1]),
        sigma_rad: sigma_deg.to_radians(),
        range: None,
    }
}

/// The travel time of sound from a source to a sensor `d` away (east, north, up, metres) at
/// speed `c` in a uniform wind `wind` (east, north, m/s): the wavefront's centre drifts with
/// the wind, so τ solves |d − w·τ| = c·τ.
#[allow(dead_code)]
pub fn travel_time_in_wind(d: [f64; 3], wind: [f64; 2], c: f64) -> f64 {
    let dw = d[0] * wind[0] + d[1] * wind[1];
    let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    let ww = wind[0] * wind[0] + wind[1] * wind[1];
    (-dw + (dw * dw + (c * c - ww) * dd).sqrt()) / (c * c - ww)
}

/// Arrivals alone over `surface` at speed `c`, the source's height, the wind (calm air ±3 m/s)
/// and the speed of sound (±1.2 m/s) estimated with them.
#[allow(dead_code)]
pub fn arrivals_in_weather<'a>(
    arrivals: &'a [ArrivalMeasurement],
    surface: Option<Surface>,
    c: f64,
) -> Measurements<'a> {
    Measurements {
        bearings: &[],
        arrivals,
        points: &[],
        speed_of_sound_m_s: c,
        source_height_m: 0.0,
        surface,
        wind_sigma_m_s: Some(3.0),
        speed_sigma_m_s: Some(1.2),
    }
}
