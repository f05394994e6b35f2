//! Cramér–Rao lower bounds: the inverse Fisher information at the true position, the smallest
//! covariance an unbiased estimator can have with the given geometry and noise.

use crate::solve::validate;
use crate::{ArrivalMeasurement, BearingMeasurement, Measurements};
use truce_geo::Cov2;

/// The Cramér–Rao bound on the east-north covariance (m²) of a fix from bearings `b` (with
/// their ranges) on a target at `truth`.
///
/// Fisher information: `Σ gᵢgᵢᵀ/σᵢ²` with `gᵢ = (ΔNᵢ, −ΔEᵢ)/rᵢ²` and `σᵢ² = σ² + (σ_obs/rᵢ)²`,
/// plus `uᵢuᵢᵀ/(σ_ρ² + σ_obs²)` per range, `uᵢ` the unit line of sight. `None` when an input is
/// invalid or the information is singular (parallel bearings, a lone bearing).
pub fn crlb_bearings(truth: [f64; 2], b: &[BearingMeasurement]) -> Option<Cov2> {
    let problem = validate(&Measurements::plain(b, &[], &[], 1.0)).ok()?;
    problem.covariance(&problem.at(truth, 0.0))
}

/// The Cramér–Rao bound on the east-north covariance (m²) of a fix from arrival times `a` on a
/// source at `truth` (up coordinate `source_height_m`), the emission time being unknown.
///
/// The Jacobian rows in time units are `(uᵢ,e/c, uᵢ,n/c, 1)`, `uᵢ` the unit vector from sensor
/// to source; the bound is the position block of the inverse of the 3x3 information, which
/// marginalises the emission time. `None` when an input is invalid or the information is
/// singular (fewer than three arrivals, collinear sensors).
pub fn crlb_arrivals(
    truth: [f64; 2],
    a: &[ArrivalMeasurement],
    speed_m_s: f64,
    source_height_m: f64,
) -> Option<Cov2> {
    let problem = validate(&Measurements {
        source_height_m,
        ..Measurements::plain(&[], a, &[], speed_m_s)
    })
    .ok()?;
    if a.is_empty() {
        return None;
    }
    problem.covariance(&problem.at(truth, 0.0))
}

/// The Cramér–Rao bound on the east-north covariance (m²) of a joint fix from every
/// measurement of `m` (bearings with ranges, arrivals with the emission time unknown, points)
/// on an event at `truth`. `None` when an input is invalid or the information is singular.
pub fn crlb(m: &Measurements, truth: [f64; 2]) -> Option<Cov2> {
    let problem = validate(m).ok()?;
    problem.covariance(&problem.at(truth, 0.0))
}
