//! The joint measurement model: residuals, Jacobians and normal equations over the unknowns
//! (east, north) or (east, north, emission time), and the Levenberg–Marquardt loop on them.
//!
//! Every scalar residual is "measured minus predicted", divided by its standard deviation; the
//! normal matrix `JᵀWJ` at the true position is the Fisher information, so its inverse is both
//! the Cramér–Rao bound and the maximum-likelihood covariance.

use crate::linalg::{Mat3, inverse, solve};
use crate::{ArrivalMeasurement, BearingMeasurement, LocateError};
use truce_geo::Cov2;

/// Ranges below this (metres) are clamped so a bearing's Jacobian stays finite when an
/// iterate passes over its observer.
const MIN_RANGE_M: f64 = 1e-3;
/// Iteration cap; well-posed problems converge in under ten.
const MAX_ITERATIONS: u32 = 200;
/// Largest accepted ratio of the major to the minor standard deviation of a fix. Two bearings
/// reach it when they cross at about 0.1°.
pub(crate) const MAX_AXIS_RATIO: f64 = 1e3;

/// The measurements of one fit, validated, with a mask of the arrivals in use.
#[derive(Debug, Clone)]
pub(crate) struct Problem<'a> {
    pub bearings: &'a [BearingMeasurement],
    pub arrivals: &'a [ArrivalMeasurement],
    /// Whether each arrival takes part (the robust estimator switches outliers off).
    pub active: Vec<bool>,
    /// Points with their information matrices (inverse covariances).
    pub points: Vec<([f64; 2], Cov2)>,
    pub speed: f64,
    pub source_height: f64,
}

/// Normal equations at one parameter vector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Normal {
    /// `JᵀWJ`: the Fisher information.
    pub info: Mat3,
    /// `JᵀW r`.
    pub grad: [f64; 3],
    /// `rᵀW r`.
    pub chi2: f64,
}

/// A converged fit.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    /// East, north, emission time (0 when there are no arrivals).
    pub p: [f64; 3],
    pub cov: Cov2,
    pub chi2: f64,
    pub dof: i32,
    pub iterations: u32,
}

/// `a − b` wrapped into (−π, π].
pub(crate) fn wrap_angle(a: f64) -> f64 {
    let w = a.rem_euclid(std::f64::consts::TAU);
    if w > std::f64::consts::PI {
        w - std::f64::consts::TAU
    } else {
        w
    }
}

impl Problem<'_> {
    /// Unknowns: east, north, and the emission time when any arrival is in use.
    pub fn unknowns(&self) -> usize {
        if self.active.iter().any(|&a| a) { 3 } else { 2 }
    }

    /// Scalar residuals: one per bearing, range and active arrival, two per point.
    pub fn residuals(&self) -> usize {
        self.bearings.len()
            + self.bearings.iter().filter(|b| b.range.is_some()).count()
            + self.active.iter().filter(|&&a| a).count()
            + 2 * self.points.len()
    }

    /// Active arrivals with their indices.
    pub fn active_arrivals(&self) -> impl Iterator<Item = (usize, &ArrivalMeasurement)> {
        self.arrivals
            .iter()
            .enumerate()
            .filter(|(i, _)| self.active[*i])
    }

    /// Predicted travel time from the source at `p` to arrival `a`'s sensor, seconds.
    pub fn travel_time(&self, p: &[f64; 3], a: &ArrivalMeasurement) -> f64 {
        self.distance(p, a) / self.speed
    }

    fn distance(&self, p: &[f64; 3], a: &ArrivalMeasurement) -> f64 {
        let d = [
            p[0] - a.sensor[0],
            p[1] - a.sensor[1],
            self.source_height - a.sensor[2],
        ];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    /// The normal equations at `p`.
    pub fn normal(&self, p: &[f64; 3]) -> Normal {
        let mut n = Normal {
            info: [[0.0; 3]; 3],
            grad: [0.0; 3],
            chi2: 0.0,
        };
        let mut add = |j: [f64; 3], r: f64, var: f64| {
            for a in 0..3 {
                n.grad[a] += j[a] * r / var;
                for b in 0..3 {
                    n.info[a][b] += j[a] * j[b] / var;
                }
            }
            n.chi2 += r * r / var;
        };
        for b in self.bearings {
            let (de, dn) = (p[0] - b.observer[0], p[1] - b.observer[1]);
            let r = de.hypot(dn).max(MIN_RANGE_M);
            let predicted = de.atan2(dn);
            let var = b.sigma_rad.powi(2) + (b.observer_sigma_m / r).powi(2);
            let r2 = r * r;
            add(
                [dn / r2, -de / r2, 0.0],
                wrap_angle(b.azimuth_rad - predicted),
                var,
            );
            if let Some(range) = b.range {
                let var = range.sigma_m.powi(2) + b.observer_sigma_m.powi(2);
                add([de / r, dn / r, 0.0], range.mean_m - r, var);
            }
        }
        for (_, a) in self.active_arrivals() {
            let d = self.distance(p, a).max(MIN_RANGE_M);
            let c = self.speed;
            let predicted = p[2] + d / c;
            add(
                [
                    (p[0] - a.sensor[0]) / (d * c),
                    (p[1] - a.sensor[1]) / (d * c),
                    1.0,
                ],
                a.time_s - predicted,
                a.sigma_s.powi(2),
            );
        }
        for (at, w) in &self.points {
            let r = [at[0] - p[0], at[1] - p[1]];
            let wr = w.apply((r[0], r[1]));
            n.info[0][0] += w.ee;
            n.info[0][1] += w.en;
            n.info[1][0] += w.en;
            n.info[1][1] += w.nn;
            n.grad[0] += wr.0;
            n.grad[1] += wr.1;
            n.chi2 += r[0] * wr.0 + r[1] * wr.1;
        }
        n
    }

    /// The position block of the inverse Fisher information at `p`, if it is invertible.
    pub fn covariance(&self, p: &[f64; 3]) -> Option<Cov2> {
        let k = self.unknowns();
        let inv = inverse(&self.normal(p).info, k)?;
        let cov = Cov2 {
            ee: inv[0][0],
            en: 0.5 * (inv[0][1] + inv[1][0]),
            nn: inv[1][1],
        };
        (cov.ee > 0.0 && cov.nn > 0.0 && cov.det() > 0.0 && cov.det().is_finite()).then_some(cov)
    }

    /// The error for the first bearing whose observer sees `x` more than 90° away from the
    /// measured azimuth.
    pub fn behind_observer(&self, x: &[f64; 2]) -> Option<LocateError> {
        self.bearings.iter().enumerate().find_map(|(i, b)| {
            let predicted = (x[0] - b.observer[0]).atan2(x[1] - b.observer[1]);
            let off = wrap_angle(b.azimuth_rad - predicted).abs();
            (off > std::f64::consts::FRAC_PI_2).then(|| LocateError::BehindObserver {
                bearing: i,
                off_deg: off.to_degrees(),
            })
        })
    }

    /// Levenberg–Marquardt from `start` to the nearest minimum of chi², then the checks every
    /// fix must pass (finite, well conditioned, in front of every observer).
    pub fn fit(&self, start: [f64; 3]) -> Result<Solution, LocateError> {
        let k = self.unknowns();
        let mut p = start;
        let mut normal = self.normal(&p);
        let mut lambda = 1e-3;
        let mut iterations = 0;
        while iterations < MAX_ITERATIONS {
            iterations += 1;
            let mut damped = normal.info;
            for (i, row) in damped.iter_mut().enumerate().take(k) {
                // Marquardt's scaling keeps the metre and second axes comparable.
                row[i] *= 1.0 + lambda;
            }
            let Some(step) = solve(&damped, &normal.grad, k) else {
                lambda *= 10.0;
                if lambda > 1e12 {
                    break;
                }
                continue;
            };
            let trial = [p[0] + step[0], p[1] + step[1], p[2] + step[2]];
            let next = self.normal(&trial);
            if next.chi2.is_finite() && next.chi2 <= normal.chi2 {
                p = trial;
                normal = next;
                lambda = (lambda * 0.1).max(1e-12);
                let size = step[0].hypot(step[1]);
                if size <= 1e-7 * (1.0 + p[0].hypot(p[1]) * 1e-3) {
                    break;
                }
            } else {
                lambda *= 10.0;
                if lambda > 1e12 {
                    break;
                }
            }
        }
        if !(p.iter().all(|v| v.is_finite()) && normal.chi2.is_finite()) {
            return Err(LocateError::NoConvergence { iterations });
        }
        if let Some(e) = self.behind_observer(&[p[0], p[1]]) {
            return Err(e);
        }
        let Some(cov) = self.covariance(&p) else {
            return Err(LocateError::IllConditioned {
                axis_ratio: f64::INFINITY,
            });
        };
        let (major, minor) = cov.eigenvalues();
        let axis_ratio = (major / minor).sqrt();
        if axis_ratio.is_nan() || axis_ratio > MAX_AXIS_RATIO {
            return Err(LocateError::IllConditioned { axis_ratio });
        }
        let dof = i32::try_from(self.residuals()).unwrap_or(i32::MAX) - k as i32;
        Ok(Solution {
            p,
            cov,
            chi2: normal.chi2,
            dof,
            iterations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_angle_is_symmetric() {
        use std::f64::consts::PI;
        assert!((wrap_angle(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-12);
        assert!((wrap_angle(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-12);
        assert!((wrap_angle(0.1) - 0.1).abs() < 1e-15);
    }
}
