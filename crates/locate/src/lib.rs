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
mod fitted;
mod linalg;
mod model;
mod search;
mod solve;
mod start;
mod trimmed;
mod uav;

pub use crlb::{crlb, crlb_arrivals, crlb_bearings};
pub use error::LocateError;
pub use fitted::{Fitted, fit};
pub use search::{Pulse, RoundCandidate, RoundSearch, find_round};
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
    /// Up coordinate of the source in the frame, metres, used for 3-D sensor distances when
    /// `surface` is `None`.
    pub source_height_m: f64,
    /// The ground the source stands on (see [`Surface::from_sensors`]). With arrivals, the
    /// source height is then estimated, with this surface as its prior: the data decide where
    /// the geometry resolves the height, the surface elsewhere ([`Fix::height`] says which).
    pub surface: Option<Surface>,
    /// With a surface: the spread of the wind the sound travels in (m/s, one standard
    /// deviation per axis, about calm air). The wind's east and north are then estimated with
    /// the arrivals: a uniform wind carries the wavefront, which shifts an unmodelled fix by
    /// the wind times the travel time (10 m for 1 m/s over a 10 km network). `None`: calm.
    pub wind_sigma_m_s: Option<f64>,
    /// With the wind estimated: the spread of the true speed of sound about
    /// `speed_of_sound_m_s` (m/s), which is then estimated too (a temperature 6 °C off moves
    /// the speed by 1%, and a fix 30 m at 3 km). `None`: the speed is taken as given.
    pub speed_sigma_m_s: Option<f64>,
}

impl<'a> Measurements<'a> {
    /// The measurements of a plain problem: the source at up coordinate 0 (set
    /// `source_height_m` for another), no surface, calm air, the speed of sound as given.
    pub fn plain(
        bearings: &'a [BearingMeasurement],
        arrivals: &'a [ArrivalMeasurement],
        points: &'a [PointMeasurement],
        speed_of_sound_m_s: f64,
    ) -> Self {
        Measurements {
            bearings,
            arrivals,
            points,
            speed_of_sound_m_s,
            source_height_m: 0.0,
            surface: None,
            wind_sigma_m_s: None,
            speed_sigma_m_s: None,
        }
    }
}

/// A plane for the ground's up coordinate, `up = up_m + slope_east·east + slope_north·north`
/// (metres, in the caller's frame), with `sigma_m` the spread of the ground about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surface {
    /// Up coordinate at the frame's origin, metres.
    pub up_m: f64,
    /// Rise per metre east.
    pub slope_east: f64,
    /// Rise per metre north.
    pub slope_north: f64,
    /// One standard deviation of the ground about the plane, metres (positive).
    pub sigma_m: f64,
}

/// Least spread assumed for a surface, metres: buildings, trees, a firer on a roof.
pub const SURFACE_SIGMA_FLOOR_M: f64 = 10.0;

/// How much wider than the sensors' own scatter about the plane the ground under a source is
/// taken to be: sensors sample hills only where they stand, a firer may be on a crest.
pub const SURFACE_SIGMA_MARGIN: f64 = 2.0;

impl Surface {
    /// The least-squares plane through the sensors' positions (east, north, up), with the RMS
    /// of their heights about it (at least [`SURFACE_SIGMA_FLOOR_M`]) as its spread: the
    /// surface the sensors describe. Fewer than three sensors, or sensors on a line, give a
    /// level plane at their mean height, its spread their heights' spread.
    pub fn from_sensors(sensors: &[[f64; 3]]) -> Option<Surface> {
        if sensors.is_empty() {
            return None;
        }
        let n = sensors.len() as f64;
        let mean = [0, 1, 2].map(|k| sensors.iter().map(|s| s[k]).sum::<f64>() / n);
        let level = || {
            let var = sensors
                .iter()
                .map(|s| (s[2] - mean[2]).powi(2))
                .sum::<f64>()
                / n;
            Surface {
                up_m: mean[2],
                slope_east: 0.0,
                slope_north: 0.0,
                sigma_m: (SURFACE_SIGMA_MARGIN * var.sqrt()).max(SURFACE_SIGMA_FLOOR_M),
            }
        };
        if sensors.len() < 4 {
            return Some(level());
        }
        let (mut see, mut sen, mut snn, mut seu, mut snu) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for s in sensors {
            let (e, no, u) = (s[0] - mean[0], s[1] - mean[1], s[2] - mean[2]);
            see += e * e;
            sen += e * no;
            snn += no * no;
            seu += e * u;
            snu += no * u;
        }
        let det = see * snn - sen * sen;
        if det <= 1e-6 * (see * snn).max(1.0) {
            return Some(level());
        }
        let be = (snn * seu - sen * snu) / det;
        let bn = (see * snu - sen * seu) / det;
        let up = |e: f64, no: f64| mean[2] + be * (e - mean[0]) + bn * (no - mean[1]);
        let rss: f64 = sensors
            .iter()
            .map(|s| (s[2] - up(s[0], s[1])).powi(2))
            .sum();
        // Three parameters fitted: the residual spread is rss / (n − 3).
        let sigma = (rss / (n - 3.0)).sqrt();
        Some(Surface {
            up_m: up(0.0, 0.0),
            slope_east: be,
            slope_north: bn,
            sigma_m: (SURFACE_SIGMA_MARGIN * sigma).max(SURFACE_SIGMA_FLOOR_M),
        })
    }

    /// The plane's up coordinate at `(east, north)`, metres.
    pub fn up_at(&self, x: [f64; 2]) -> f64 {
        self.up_m + self.slope_east * x[0] + self.slope_north * x[1]
    }
}

/// Where the source height of a fix came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeightSource {
    /// The arrivals resolved it: its posterior spread is under half the surface's.
    Estimated,
    /// The geometry does not resolve it: it is the surface's, within the surface's spread.
    Surface,
    /// Given by the caller (no surface), or no arrivals were used.
    Given,
}

/// The source height of a fix and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeightFix {
    /// Up coordinate in the caller's frame, metres.
    pub up_m: f64,
    /// One standard deviation, metres, when estimated or taken from the surface.
    pub sigma_m: Option<f64>,
    /// How it was obtained.
    pub source: HeightSource,
}

/// How far the covariance of a fix rests on the stated noise, and how far on the fit's own
/// residuals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uncertainty {
    /// The a posteriori variance factor `chi²/dof` (NaN without redundancy): about 1 when the
    /// stated sigmas are right, 9 when they are three times too small.
    pub residual_variance: f64,
    /// How much [`Fix::cov`] widens the stated covariance, as the ratio of their
    /// determinants' square roots (the ellipses' area ratio): 1 when the stated sigmas stand.
    /// With redundancy the covariance is the residuals' own (the heteroscedasticity-consistent
    /// sandwich, HC3) for fits of arrivals, never smaller than the stated one in any direction;
    /// for fits of bearings and reports alone, the variance factor times the ratio of Student's
    /// (F) to the normal (chi²) 95% quantile for the degrees of freedom. Never below 1.
    pub scale: f64,
    /// Whether the redundancy was too small to check the stated noise (fewer than
    /// [`MIN_DOF_FOR_SCALE`] degrees of freedom): the ellipse then trusts the stated sigmas.
    pub unchecked: bool,
    /// Whether another position fits the measurements about as well (a second local minimum
    /// within the 95% likelihood-ratio region: chi² within 5.99, times the variance factor,
    /// of the best): the covariance was widened to hold it, since the data cannot tell the
    /// two apart (a few arrivals crossing a bearing meet it twice).
    pub ambiguous: bool,
}

/// Fewest degrees of freedom with which the residuals can rescale a covariance.
pub const MIN_DOF_FOR_SCALE: i32 = 4;

/// Which measurement the robust estimator set aside, and by how much it disagreed with the
/// fix of the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Excluded {
    /// An arrival time (a longer path, another shot, a clock error).
    Arrival {
        /// Index into [`Measurements::arrivals`] (or the slice given to [`locate_arrivals`]).
        index: usize,
        /// Measured minus predicted time at the fix without it, seconds: positive when late,
        /// negative when early.
        residual_s: f64,
    },
    /// A bearing (a misread scale, another target, a compass far off).
    Bearing {
        /// Index into [`Measurements::bearings`].
        index: usize,
        /// Measured minus predicted azimuth at the fix without it, degrees (clockwise
        /// positive).
        residual_deg: f64,
    },
}

/// A measurement the robust estimator set aside, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    /// Which one, and its discrepancy.
    pub measurement: Excluded,
    /// Why, in words, with the size of the discrepancy.
    pub reason: String,
}

impl Exclusion {
    /// The arrival's index, when an arrival was set aside.
    pub fn arrival(&self) -> Option<usize> {
        match self.measurement {
            Excluded::Arrival { index, .. } => Some(index),
            Excluded::Bearing { .. } => None,
        }
    }

    /// The bearing's index, when a bearing was set aside.
    pub fn bearing(&self) -> Option<usize> {
        match self.measurement {
            Excluded::Bearing { index, .. } => Some(index),
            Excluded::Arrival { .. } => None,
        }
    }
}

/// An estimated position and how well it is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Maximum-likelihood east and north, metres.
    pub at: [f64; 2],
    /// The covariance of the estimate, m²: with enough redundancy, the residuals' own
    /// (heteroscedasticity-consistent) covariance widened to contain the inverse Fisher
    /// information at [`Fix::at`] (emission time and height marginalised), so it is never
    /// smaller than the stated noise implies and grows, in the directions they show, when the
    /// residuals show more; without, the inverse Fisher information.
    pub cov: Cov2,
    /// The inverse Fisher information alone: the covariance if the stated noise were right.
    pub stated_cov: Cov2,
    /// How the covariance was checked against the residuals.
    pub uncertainty: Uncertainty,
    /// The source height, when arrivals were used.
    pub height: Option<HeightFix>,
    /// The wind the sound travelled in (east, north, m/s), when it was estimated.
    pub wind_m_s: Option<[f64; 2]>,
    /// Maximum-likelihood emission time (same reference as the arrivals), when arrivals were used.
    pub emission_time_s: Option<f64>,
    /// Arrivals and bearings left out as inconsistent with the rest.
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
