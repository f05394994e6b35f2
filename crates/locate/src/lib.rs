//! Geolocation estimators for truce: where did a shot, a launch or an impact happen, given
//! crossed bearings (with or without ranges), acoustic times of arrival, position reports and UAV
//! camera rays — and how well is that position known.
//!
//! Every estimator is maximum likelihood under independent Gaussian errors, solved by
//! Levenberg–Marquardt from a closed-form start, and reports the inverse Fisher information at
//! its estimate as the covariance ([`Fix::cov`]), so `fix.cov.ellipse_95()` is the 95% error
//! ellipse. The Cramér–Rao bounds ([`crlb_bearings`], [`crlb_arrivals`]) give the same matrix
//! at the true position: the best covariance any unbiased estimator can reach.
//!
//! Conventions: a local east-north(-up) frame in metres chosen by the caller (for instance a
//! [`truce_geo::LocalFrame`]); azimuths in radians clockwise from north, so the azimuth from
//! `a` to `b` is `atan2(b.e − a.e, b.n − a.n)`; times in seconds from any common reference.
//!
//! ```
//! use truce_locate::{BearingMeasurement, locate_bearings};
//! let bearing = |observer: [f64; 2], to: [f64; 2]| BearingMeasurement {
//!     observer,
//!     observer_sigma_m: 0.0,
//!     azimuth_rad: (to[0] - observer[0]).atan2(to[1] - observer[1]),
//!     sigma_rad: 2f64.to_radians(),
//!     range: None,
//! };
//! let target = [1500.0, 2500.0];
//! let fix = locate_bearings(&[bearing([0.0, 0.0], target), bearing([3000.0, 0.0], target)])?;
//! assert!((fix.at[0] - 1500.0).abs() < 1e-3 && (fix.at[1] - 2500.0).abs() < 1e-3);
//! assert!(fix.cov.ellipse_95().semi_major_m > 50.0);
//! # Ok::<(), truce_locate::LocateError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod crlb;
mod error;
mod linalg;
mod model;
mod solve;
mod start;
mod uav;

pub use crlb::{crlb, crlb_arrivals, crlb_bearings};
pub use error::LocateError;
pub use solve::{locate, locate_arrivals, locate_bearings};
pub use truce_geo::Cov2;
pub use uav::{UavNoise, UavPose, uav_target};

/// A measured distance from an observer to the target, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeMeasurement {
    /// Measured range, metres.
    pub mean_m: f64,
    /// One standard deviation of the range error, metres (positive).
    pub sigma_m: f64,
}

/// A bearing from an observer towards the target, optionally with a range along it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BearingMeasurement {
    /// The observer's east and north, metres.
    pub observer: [f64; 2],
    /// One standard deviation of the observer's own position error in each axis, metres (may
    /// be 0). It widens the bearing by `observer_sigma_m / range` radians and the range by
    /// `observer_sigma_m`.
    pub observer_sigma_m: f64,
    /// Azimuth to the target, radians clockwise from north.
    pub azimuth_rad: f64,
    /// One standard deviation of the azimuth error, radians (positive).
    pub sigma_rad: f64,
    /// A measured range along the bearing, if any.
    pub range: Option<RangeMeasurement>,
}

/// The time a sensor heard the event (an acoustic or seismic arrival).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalMeasurement {
    /// The sensor's east, north and up, metres.
    pub sensor: [f64; 3],
    /// Arrival time, seconds from any reference common to all arrivals of the event.
    pub time_s: f64,
    /// One standard deviation of the timing error, seconds (positive).
    pub sigma_s: f64,
}

/// A direct position report (a patrol's estimate, a UAV fix) with its covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointMeasurement {
    /// East and north, metres.
    pub at: [f64; 2],
    /// Covariance of the report, m² (must be positive definite).
    pub cov: Cov2,
}

/// Everything known about one event, for the joint estimator [`locate`].
#[derive(Debug, Clone, Copy)]
pub struct Measurements<'a> {
    /// Bearings, each optionally with a range.
    pub bearings: &'a [BearingMeasurement],
    /// Arrival times; when any is given, the emission time is a third unknown.
    pub arrivals: &'a [ArrivalMeasurement],
    /// Position reports, used as 2-D Gaussian priors.
    pub points: &'a [PointMeasurement],
    /// Propagation speed for the arrivals, m/s (see [`speed_of_sound`]).
    pub speed_of_sound_m_s: f64,
    /// Up coordinate of the source in the frame, metres (usually 0), used for 3-D sensor
    /// distances.
    pub source_height_m: f64,
}

/// An arrival the robust estimator set aside, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    /// Index into [`Measurements::arrivals`] (or the slice given to [`locate_arrivals`]).
    pub arrival: usize,
    /// Why, in words, with the size of the discrepancy.
    pub reason: String,
    /// Measured minus predicted arrival time at the fix without it, seconds: positive when
    /// late (a longer path), negative when early.
    pub residual_s: f64,
}

/// An estimated position and how well it is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Maximum-likelihood east and north, metres.
    pub at: [f64; 2],
    /// The inverse Fisher information at [`Fix::at`] (emission time marginalised), m²: the
    /// covariance of the estimate when errors are as small and Gaussian as stated.
    pub cov: Cov2,
    /// Maximum-likelihood emission time (same reference as the arrivals), when arrivals were used.
    pub emission_time_s: Option<f64>,
    /// Arrivals left out as inconsistent with the rest.
    pub excluded: Vec<Exclusion>,
    /// Levenberg–Marquardt iterations of the accepted fit.
    pub iterations: u32,
    /// Sum of squared normalised residuals at the estimate; about `dof` when the stated
    /// sigmas are right.
    pub chi2: f64,
    /// Degrees of freedom: scalar residuals used minus unknowns.
    pub dof: i32,
}

/// Speed of sound in dry air at `temperature_c` degrees Celsius, m/s: 331.3·√(1 + T/273.15)
/// (the ideal-gas law; 343.2 m/s at 20 °C).
pub fn speed_of_sound(temperature_c: f64) -> f64 {
    331.3 * (1.0 + temperature_c / 273.15).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_of_sound_at_20_c() {
        assert!(
            (speed_of_sound(20.0) - 343.2).abs() < 0.05,
            "{}",
            speed_of_sound(20.0)
        );
        assert!((speed_of_sound(0.0) - 331.3).abs() < 1e-12);
    }
}
