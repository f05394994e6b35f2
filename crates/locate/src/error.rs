//! Why a position could not be estimated.

/// Why an estimator refused or failed. Every message names the measurement or the input at
/// fault where there is one, so it can be shown to an analyst as it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocateError {
    /// An input value is outside its domain (not finite, a non-positive sigma, ...).
    #[error("{what} = {value} is invalid: {why}")]
    Invalid {
        /// Which input, with its index, e.g. "bearing 2 sigma_rad".
        what: String,
        /// The offending value.
        value: f64,
        /// What the value must be.
        why: &'static str,
    },
    /// Fewer independent constraints than unknowns.
    #[error("{constraints} constraint(s) for {unknowns} unknown(s): {detail}")]
    TooFewMeasurements {
        /// Scalar constraints given (a bearing, a range, an arrival: one each; a point: two).
        constraints: usize,
        /// Unknowns to solve for (east, north, and the emission time when there are arrivals).
        unknowns: usize,
        /// What is missing.
        detail: &'static str,
    },
    /// No subset of the measurements gives a starting point for the iteration.
    #[error("no starting point: {0}")]
    NoStart(&'static str),
    /// The Fisher information is (nearly) singular: the geometry cannot separate the directions.
    #[error(
        "ill-conditioned geometry (axis ratio of the error ellipse {axis_ratio:.3e}): bearings nearly parallel or sensors nearly collinear"
    )]
    IllConditioned {
        /// Ratio of the major to the minor standard deviation of the position covariance.
        axis_ratio: f64,
    },
    /// The solution lies behind an observer: the bearing lines do not cross in front.
    #[error(
        "the solution lies behind the observer of bearing {bearing} ({off_deg:.1}° away from its azimuth): the bearings do not cross ahead of the observers"
    )]
    BehindObserver {
        /// Index of the bearing.
        bearing: usize,
        /// Angle between the measured azimuth and the azimuth to the solution, degrees.
        off_deg: f64,
    },
    /// The iteration diverged or produced non-finite numbers.
    #[error("the iteration did not converge after {iterations} iterations")]
    NoConvergence {
        /// Iterations run.
        iterations: u32,
    },
    /// The camera ray does not reach the ground.
    #[error(
        "the camera ray (elevation {elevation_deg:.2}°) does not reach the ground at {ground_alt_m} m: it points at or above the horizon"
    )]
    RayMissesGround {
        /// Elevation of the ray above the local horizontal at the aircraft, degrees.
        elevation_deg: f64,
        /// The ground height used, metres above the ellipsoid.
        ground_alt_m: f64,
    },
}
