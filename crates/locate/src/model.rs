//! The joint measurement model: residuals, Jacobians and normal equations over the unknowns
//! (east, north), (east, north, emission time) or (east, north, emission time, source height),
//! and the Levenberg–Marquardt loop on them.
//!
//! Every scalar residual is "measured minus predicted", divided by its standard deviation; the
//! normal matrix `JᵀWJ` at the true position is the Fisher information, so its inverse is both
//! the Cramér–Rao bound and the maximum-likelihood covariance.

use crate::linalg::{Mat, N, Vector, inverse, solve_block};
use crate::{ArrivalMeasurement, BearingMeasurement, LocateError, Surface};
use truce_geo::Cov2;

/// Ranges below this (metres) are clamped so a bearing's Jacobian stays finite when an
/// iterate passes over its observer.
const MIN_RANGE_M: f64 = 1e-3;
/// A step in position (and height) below this, in metres at the frame's origin and growing by
/// a thousandth of the distance from it, ends the iteration: far below any fix's precision.
const STEP_TOLERANCE_M: f64 = 1e-5;
/// A step that lowers chi² by less than this fraction of it ends the iteration: the fit is at
/// its minimum to far better than any decision needs.
const CHI2_TOLERANCE: f64 = 1e-8;
/// For a fit whose residuals scatter more than stated (chi² per degree of freedom above 1), a
/// step that lowers chi² by less than this share of the chi² per degree of freedom also ends
/// it. Such a fit (pulses of different rounds, a late path kept) converges only linearly,
/// creeping along its flat direction, the height, for as many steps as it is allowed: with
/// the relative tolerance alone, a third of all fits ran 15 to 50 steps. (Where the residuals
/// are small, as in a fit with no redundancy, chi² says nothing of how far the fix still has
/// to move, and only the relative tolerance applies.)
const POOR_FIT_CHI2_TOLERANCE: f64 = 1e-3;
/// Iteration cap: well-posed problems converge in under ten; a fit still moving after this is
/// of measurements no one source explains (it is judged by its chi² like any other).
const MAX_ITERATIONS: u32 = 50;
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
    /// Whether each bearing (with its range) takes part.
    pub bearing_active: Vec<bool>,
    /// Points with their information matrices (inverse covariances).
    pub points: Vec<([f64; 2], Cov2)>,
    pub speed: f64,
    /// The source's up coordinate when it is taken as known.
    pub source_height: f64,
    /// The ground the source stands on, as a prior on its height; with arrivals, the height is
    /// then a fourth unknown.
    pub surface: Option<Surface>,
    /// With a surface: the prior standard deviation of the wind (m/s), which then makes the
    /// wind's east and north the fifth and sixth unknowns.
    pub wind_sigma: Option<f64>,
    /// With the wind free: the prior standard deviation of the speed of sound (m/s) about
    /// `speed`, which then makes its offset the seventh unknown.
    pub speed_sigma: Option<f64>,
}

/// What a row of the model stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowOf {
    /// Bearing `i` (its azimuth, or its range when it has one).
    Bearing(usize),
    /// Arrival `i`.
    Arrival(usize),
    /// A prior: the surface, calm air, the speed of sound.
    Prior,
}

/// Normal equations at one parameter vector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Normal {
    /// `JᵀWJ`: the Fisher information.
    pub info: Mat,
    /// `JᵀW r`.
    pub grad: Vector,
    /// `rᵀW r`.
    pub chi2: f64,
}

/// Where a Levenberg–Marquardt descent ended, not yet checked ([`Problem::accept`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Descent {
    /// The unknowns at the end.
    pub p: Vector,
    /// The normal equations there (chi² among them).
    pub normal: Normal,
    /// Iterations taken.
    pub iterations: u32,
    /// Whether it stopped at a minimum (its step or its chi² change within tolerance, or no
    /// step lowering chi² any more), not at [`MAX_ITERATIONS`] still moving.
    pub settled: bool,
}

/// A converged fit.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    /// East, north, emission time (0 when there are no arrivals), source height.
    pub p: Vector,
    pub cov: Cov2,
    /// Standard deviation of the source height when it was estimated, metres.
    pub height_sigma: Option<f64>,
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

/// The sound's travel time over `to_sensor` (east, north offset from source to sensor; `dist`
/// the full 3-D distance) in a uniform wind `w` at speed `c`: τ solves `|d − w·τ| = c·τ`, and
/// in calm air (or a wind at least as fast as sound) it is the distance over the speed.
fn travel_time(to_sensor: [f64; 2], dist: f64, w: [f64; 2], c: f64) -> f64 {
    if w == [0.0, 0.0] {
        return dist / c;
    }
    let dw = w[0] * to_sensor[0] + w[1] * to_sensor[1];
    let k = c * c - (w[0] * w[0] + w[1] * w[1]);
    if k <= 0.0 {
        return dist / c;
    }
    (-dw + (dw * dw + k * dist * dist).sqrt()) / k
}

/// The distance to an offset `(de, dn)`, metres, at least [`MIN_RANGE_M`]. (The square root of
/// the sum of squares, not `hypot`: the offsets are metres, far from overflow, and glibc's
/// `hypot` was a quarter of all the time association spent.)
fn range_of(de: f64, dn: f64) -> f64 {
    (de * de + dn * dn).sqrt().max(MIN_RANGE_M)
}

/// Bearing `b`'s residual (measured minus predicted azimuth, radians) and its standard
/// deviation with the observer's position error, for a source at offset `(de, dn)` from the
/// observer, `r` away.
fn bearing_terms(b: &BearingMeasurement, de: f64, dn: f64, r: f64) -> (f64, f64) {
    let spread = b.observer_sigma_m / r;
    let sigma = (b.sigma_rad * b.sigma_rad + spread * spread).sqrt();
    (wrap_angle(b.azimuth_rad - de.atan2(dn)), sigma)
}

/// A row's leverage `jᵀ A⁻¹ j / σ²` (`inv` = A⁻¹ over the leading `k` unknowns), at most 0.95
/// so that dividing by what is left of it stays finite.
fn leverage(j: &Vector, var: f64, inv: &Mat, k: usize) -> f64 {
    let mut h = 0.0;
    for x in 0..k {
        for y in 0..k {
            h += j[x] * inv[x][y] * j[y];
        }
    }
    (h / var).min(0.95)
}

impl Problem<'_> {
    /// Unknowns: east, north, the emission time when any arrival is in use, and the source
    /// height when arrivals are in use and a surface is given.
    pub fn unknowns(&self) -> usize {
        match (
            self.timed(),
            self.surface.is_some(),
            self.wind_sigma.is_some(),
        ) {
            (false, _, _) => 2,
            (true, false, _) => 3,
            (true, true, false) => 4,
            (true, true, true) if self.speed_sigma.is_some() => 7,
            (true, true, true) => 6,
        }
    }

    /// Whether the wind is an unknown (with its prior).
    pub fn wind_free(&self) -> bool {
        self.unknowns() >= 6
    }

    /// Whether the speed of sound is an unknown (with its prior).
    pub fn speed_free(&self) -> bool {
        self.unknowns() == 7
    }

    /// The speed of sound at `p`, m/s: the given one, plus the estimated offset when free.
    pub fn speed_at(&self, p: &Vector) -> f64 {
        if self.speed_free() {
            self.speed + p[6]
        } else {
            self.speed
        }
    }

    /// Whether any arrival is in use (the emission time is then unknown).
    pub fn timed(&self) -> bool {
        self.active.iter().any(|&a| a)
    }

    /// Whether the source height is an unknown (with the surface as its prior).
    pub fn height_free(&self) -> bool {
        self.unknowns() >= 4
    }

    /// Scalar residuals: one per bearing, range and active arrival, two per point, and the
    /// surface prior when the height is free.
    pub fn residuals(&self) -> usize {
        self.active_bearings().count()
            + self
                .active_bearings()
                .filter(|(_, b)| b.range.is_some())
                .count()
            + self.active.iter().filter(|&&a| a).count()
            + 2 * self.points.len()
            + usize::from(self.height_free())
            + 2 * usize::from(self.wind_free())
            + usize::from(self.speed_free())
    }

    /// The up coordinate of the source at `p`: the unknown when it is free, else the given one.
    pub fn height(&self, p: &Vector) -> f64 {
        if self.height_free() {
            p[3]
        } else {
            self.source_height
        }
    }

    /// A parameter vector at `(east, north)` with emission time `t0`, the height on the
    /// surface (or the given height).
    pub fn at(&self, x: [f64; 2], t0: f64) -> Vector {
        let h = match &self.surface {
            Some(s) if self.height_free() => s.up_at(x),
            _ => self.source_height,
        };
        [x[0], x[1], t0, h, 0.0, 0.0, 0.0]
    }

    /// The wind at `p` (east, north, m/s): the unknowns when free, else calm.
    fn wind(&self, p: &Vector) -> [f64; 2] {
        if self.wind_free() {
            [p[4], p[5]]
        } else {
            [0.0, 0.0]
        }
    }

    /// Active bearings with their indices.
    pub fn active_bearings(&self) -> impl Iterator<Item = (usize, &BearingMeasurement)> {
        self.bearings
            .iter()
            .enumerate()
            .filter(|(i, _)| self.bearing_active[*i])
    }

    /// Bearing `b`'s measured minus predicted azimuth for a source at `p`, radians, and its
    /// standard deviation there (the observer's position error included).
    pub fn bearing_residual(&self, p: &Vector, b: &BearingMeasurement) -> (f64, f64) {
        let (de, dn) = (p[0] - b.observer[0], p[1] - b.observer[1]);
        bearing_terms(b, de, dn, range_of(de, dn))
    }

    /// Active arrivals with their indices.
    pub fn active_arrivals(&self) -> impl Iterator<Item = (usize, &ArrivalMeasurement)> {
        self.arrivals
            .iter()
            .enumerate()
            .filter(|(i, _)| self.active[*i])
    }

    /// The sound's travel time from the source at `p` to arrival `a`'s sensor, seconds. In a
    /// uniform wind `w` the wavefront is a sphere whose centre drifts with the wind, so the
    /// time τ solves `|d − w·τ| = c·τ` (`d` the offset from source to sensor); in calm air
    /// it is the distance over the speed. (The Jacobian in [`Problem::normal`] uses the
    /// first-order form `τ ≈ |d|/c − w·d/c²`, which the iteration only needs to point the way.)
    pub fn travel_time(&self, p: &Vector, a: &ArrivalMeasurement) -> f64 {
        travel_time(
            [a.sensor[0] - p[0], a.sensor[1] - p[1]],
            self.distance(p, a),
            self.wind(p),
            self.speed_at(p),
        )
    }

    /// Arrival `a`'s measured minus predicted time for a source at `p`, seconds.
    pub fn arrival_residual(&self, p: &Vector, a: &ArrivalMeasurement) -> f64 {
        a.time_s - p[2] - self.travel_time(p, a)
    }

    fn distance(&self, p: &Vector, a: &ArrivalMeasurement) -> f64 {
        let d = [
            p[0] - a.sensor[0],
            p[1] - a.sensor[1],
            self.height(p) - a.sensor[2],
        ];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    /// The normal equations at `p`.
    pub fn normal(&self, p: &Vector) -> Normal {
        match self.unknowns() {
            2 => self.normal_of::<2>(p).widened(),
            3 => self.normal_of::<3>(p).widened(),
            4 => self.normal_of::<4>(p).widened(),
            5 => self.normal_of::<5>(p).widened(),
            6 => self.normal_of::<6>(p).widened(),
            _ => self.normal_of::<7>(p).widened(),
        }
    }

    /// The normal equations at `p` over the `K` unknowns (`K` = [`Problem::unknowns`]): the
    /// size fixed at compile time, so the loops unroll and nothing past `K` is touched.
    fn normal_of<const K: usize>(&self, p: &Vector) -> NormalOf<K> {
        let mut n = NormalOf {
            info: [[0.0; K]; K],
            grad: [0.0; K],
            chi2: 0.0,
        };
        self.rows(p, |j: Vector, r: f64, var: f64, _| {
            // The upper triangle; the rest of a row's Jacobian is zero, and so is its tail past
            // the last unknown it involves (a bearing's past east and north): adding those
            // zeros would change nothing.
            let inv = 1.0 / var;
            let used = j[..K].iter().rposition(|v| *v != 0.0).map_or(0, |i| i + 1);
            for a in 0..used {
                let wa = j[a] * inv;
                n.grad[a] += wa * r;
                for (cell, jb) in n.info[a].iter_mut().zip(&j).take(used).skip(a) {
                    *cell += wa * jb;
                }
            }
            n.chi2 += r * r * inv;
        });
        for a in 0..K {
            for b in 0..a {
                n.info[a][b] = n.info[b][a];
            }
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

    /// Every scalar row of the model at `p` but the points': its Jacobian, its residual
    /// (measured minus predicted), its variance, and the measurement it belongs to (or that it
    /// is a prior: the surface, calm air, the speed of sound).
    fn rows(&self, p: &Vector, mut add: impl FnMut(Vector, f64, f64, RowOf)) {
        for (i, b) in self.active_bearings() {
            let (de, dn) = (p[0] - b.observer[0], p[1] - b.observer[1]);
            let r = range_of(de, dn);
            let (residual, sigma) = bearing_terms(b, de, dn, r);
            let r2 = r * r;
            add(
                [dn / r2, -de / r2, 0.0, 0.0, 0.0, 0.0, 0.0],
                residual,
                sigma * sigma,
                RowOf::Bearing(i),
            );
            if let Some(range) = b.range {
                let var = range.sigma_m.powi(2) + b.observer_sigma_m.powi(2);
                add(
                    [de / r, dn / r, 0.0, 0.0, 0.0, 0.0, 0.0],
                    range.mean_m - r,
                    var,
                    RowOf::Bearing(i),
                );
            }
        }
        let (free, windy, fast) = (self.height_free(), self.wind_free(), self.speed_free());
        let (h, w, c) = (self.height(p), self.wind(p), self.speed_at(p));
        let c2 = c * c;
        for (i, a) in self.active_arrivals() {
            let d = [p[0] - a.sensor[0], p[1] - a.sensor[1], h - a.sensor[2]];
            let dist = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let predicted = p[2] + travel_time([-d[0], -d[1]], dist, w, c);
            let d_c = dist.max(MIN_RANGE_M) * c;
            add(
                [
                    d[0] / d_c + w[0] / c2,
                    d[1] / d_c + w[1] / c2,
                    1.0,
                    if free { d[2] / d_c } else { 0.0 },
                    if windy { d[0] / c2 } else { 0.0 },
                    if windy { d[1] / c2 } else { 0.0 },
                    if fast {
                        -dist.max(MIN_RANGE_M) / c2
                    } else {
                        0.0
                    },
                ],
                a.time_s - predicted,
                a.sigma_s * a.sigma_s,
                RowOf::Arrival(i),
            );
        }
        if let (true, Some(s)) = (free, &self.surface) {
            // The ground as a prior on the height: "measured" is the surface's height at
            // (east, north), "predicted" the unknown height, both linear in the unknowns.
            add(
                [-s.slope_east, -s.slope_north, 0.0, 1.0, 0.0, 0.0, 0.0],
                s.up_at([p[0], p[1]]) - h,
                s.sigma_m.powi(2),
                RowOf::Prior,
            );
        }
        if let (true, Some(sigma)) = (windy, self.wind_sigma) {
            // Calm air as the prior of the wind, with its spread.
            add(
                [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                -w[0],
                sigma * sigma,
                RowOf::Prior,
            );
            add(
                [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                -w[1],
                sigma * sigma,
                RowOf::Prior,
            );
        }
        if let (true, Some(sigma)) = (fast, self.speed_sigma) {
            // The temperature's speed of sound as the prior of the speed, with its spread.
            add(
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                -p[6],
                sigma * sigma,
                RowOf::Prior,
            );
        }
    }

    /// The position covariance at `p` that does not trust the stated sigmas' proportions:
    /// the sandwich `A⁻¹ B A⁻¹` with `A` the information and `B` the measurements' squared
    /// residuals, each over its leverage (HC3, MacKinnon & White 1985), the priors and points
    /// taken at their stated information; with the source height's variance from the same
    /// sandwich when the height is an unknown (m²). `None` when `A` is singular.
    pub fn sandwich(&self, p: &Vector) -> Option<(Cov2, Option<f64>)> {
        let k = self.unknowns();
        let normal = self.normal(p);
        let inv = inverse(&normal.info, k)?;
        let mut b: Mat = [[0.0; N]; N];
        for (at, w) in &self.points {
            let _ = at;
            b[0][0] += w.ee;
            b[0][1] += w.en;
            b[1][0] += w.en;
            b[1][1] += w.nn;
        }
        self.rows(p, |j, r, var, of| {
            let weight = if of != RowOf::Prior {
                let h = leverage(&j, var, &inv, k);
                (r * r / var) / (var * (1.0 - h).powi(2))
            } else {
                1.0 / var
            };
            for x in 0..k {
                for y in 0..k {
                    b[x][y] += j[x] * j[y] * weight;
                }
            }
        });
        let row = |a: usize, c: usize| -> f64 {
            let mut v = 0.0;
            for x in 0..k {
                for y in 0..k {
                    v += inv[a][x] * b[x][y] * inv[y][c];
                }
            }
            v
        };
        let cov = Cov2 {
            ee: row(0, 0),
            en: 0.5 * (row(0, 1) + row(1, 0)),
            nn: row(1, 1),
        };
        let height = self
            .height_free()
            .then(|| row(3, 3))
            .filter(|v| *v > 0.0 && v.is_finite());
        (cov.ee > 0.0 && cov.nn > 0.0 && cov.det() > 0.0 && cov.det().is_finite())
            .then_some((cov, height))
    }

    /// For each measurement in use, about how much chi² falls when it is left out and the rest
    /// refitted: the sum over its rows of the deleted residual `r²/(σ²(1 − h))` (`h` the
    /// row's leverage, at most 0.95), exact for a linear model and close to the minimum of a
    /// smooth one. In the order of the rows; `None` when the information is singular.
    pub fn deletion_drops(&self, p: &Vector) -> Option<Vec<(RowOf, f64)>> {
        let k = self.unknowns();
        let inv = inverse(&self.normal(p).info, k)?;
        let mut drops: Vec<(RowOf, f64)> = Vec::new();
        self.rows(p, |j, r, var, of| {
            if of == RowOf::Prior {
                return;
            }
            let drop = r * r / (var * (1.0 - leverage(&j, var, &inv, k)));
            match drops.last_mut() {
                Some((last, d)) if *last == of => *d += drop,
                _ => drops.push((of, drop)),
            }
        });
        Some(drops)
    }

    /// The position block of the inverse Fisher information at `p`, if it is invertible.
    pub fn covariance(&self, p: &Vector) -> Option<Cov2> {
        self.covariance_and_height(p).map(|(c, _)| c)
    }

    /// The position block of the inverse Fisher information at `p`, and the height's standard
    /// deviation when the height is free.
    pub fn covariance_and_height(&self, p: &Vector) -> Option<(Cov2, Option<f64>)> {
        self.covariance_from(&self.normal(p).info)
    }

    /// [`Problem::covariance_and_height`] from the information matrix at the point.
    fn covariance_from(&self, info: &Mat) -> Option<(Cov2, Option<f64>)> {
        let k = self.unknowns();
        let inv = inverse(info, k)?;
        let cov = Cov2 {
            ee: inv[0][0],
            en: 0.5 * (inv[0][1] + inv[1][0]),
            nn: inv[1][1],
        };
        let height_sigma = (k >= 4 && inv[3][3] > 0.0).then(|| inv[3][3].sqrt());
        (cov.ee > 0.0 && cov.nn > 0.0 && cov.det() > 0.0 && cov.det().is_finite())
            .then_some((cov, height_sigma))
    }

    /// The error for the first bearing whose observer sees `x` more than 90° away from the
    /// measured azimuth.
    pub fn behind_observer(&self, x: &[f64; 2]) -> Option<LocateError> {
        self.active_bearings().find_map(|(i, b)| {
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
    pub fn fit(&self, start: Vector) -> Result<Solution, LocateError> {
        self.descend(start).and_then(|d| self.accept(d))
    }

    /// The checks of [`Problem::fit`] on a descent's end (`descend`): finite, well conditioned,
    /// in front of every observer. Callers that discard some minima whatever their checks say
    /// (another start already fits better) descend and check only those they would keep.
    pub fn accept(&self, descent: Descent) -> Result<Solution, LocateError> {
        let k = self.unknowns();
        let Descent {
            p,
            normal,
            iterations,
            ..
        } = descent;
        let chi2 = normal.chi2;
        if let Some(e) = self.behind_observer(&[p[0], p[1]]) {
            return Err(e);
        }
        // The information at `p` is the descent's last: what `covariance_and_height(&p)`
        // would compute again.
        let Some((cov, height_sigma)) = self.covariance_from(&normal.info) else {
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
            height_sigma,
            chi2,
            dof,
            iterations,
        })
    }

    /// Levenberg–Marquardt from `start` to the nearest minimum of chi²: the unknowns there,
    /// chi² and the iterations taken; finite, but not checked for conditioning.
    pub fn minimise(&self, start: Vector) -> Result<(Vector, f64, u32), LocateError> {
        self.descend(start)
            .map(|d| (d.p, d.normal.chi2, d.iterations))
    }

    /// [`Problem::minimise`], with the normal equations at the minimum instead of chi² alone.
    pub fn descend(&self, start: Vector) -> Result<Descent, LocateError> {
        match self.unknowns() {
            2 => self.descend_over::<2>(start),
            3 => self.descend_over::<3>(start),
            4 => self.descend_over::<4>(start),
            5 => self.descend_over::<5>(start),
            6 => self.descend_over::<6>(start),
            _ => self.descend_over::<7>(start),
        }
    }

    /// [`Problem::descend`] over the `K` unknowns (`K` = [`Problem::unknowns`]).
    fn descend_over<const K: usize>(&self, start: Vector) -> Result<Descent, LocateError> {
        let mut p = start;
        let mut normal = self.normal_of::<K>(&p);
        let mut lambda = 1e-3;
        // Nielsen's rule: the damping grows by `nu` after each refused step, `nu` doubling
        // while they keep being refused.
        let mut nu = 2.0;
        let mut iterations = 0;
        let mut settled = false;
        // Degrees of freedom (at least 1), for the poor fit's tolerance.
        let dof = (self.residuals() as f64 - K as f64).max(1.0);
        while iterations < MAX_ITERATIONS {
            iterations += 1;
            let mut damped = normal.info;
            for (i, row) in damped.iter_mut().enumerate() {
                // Marquardt's scaling keeps the metre and second axes comparable.
                row[i] *= 1.0 + lambda;
            }
            let mut solved = [normal.grad];
            if !solve_block(damped, &mut solved) {
                lambda *= nu;
                nu *= 2.0;
                if lambda > 1e12 {
                    settled = true;
                    break;
                }
                continue;
            }
            let [step] = solved;
            let trial: Vector = std::array::from_fn(|i| p[i] + step.get(i).copied().unwrap_or(0.0));
            let next = self.normal_of::<K>(&trial);
            let converged = (step[0] * step[0] + step[1] * step[1]).sqrt()
                <= STEP_TOLERANCE_M * (1.0 + (p[0] * p[0] + p[1] * p[1]).sqrt() * 1e-3)
                && step.get(3).is_none_or(|h| h.abs() <= STEP_TOLERANCE_M);
            if next.chi2.is_finite() && next.chi2 <= normal.chi2 {
                let per_dof = normal.chi2 / dof;
                let tolerance = if per_dof > 1.0 {
                    (POOR_FIT_CHI2_TOLERANCE * per_dof).max(CHI2_TOLERANCE * normal.chi2)
                } else {
                    CHI2_TOLERANCE * normal.chi2
                };
                let flat = normal.chi2 - next.chi2 <= tolerance;
                // How far the model's linearisation predicted the decrease: near 1, the
                // damping falls (to a third at most); near 0, it rises, so a step along a
                // curved valley is not followed by one too long that is refused.
                let rho = (normal.chi2 - next.chi2) / normal.predicted_decrease(&step);
                let factor = if rho.is_finite() {
                    (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0)
                } else {
                    1.0 / 3.0
                };
                p = trial;
                normal = next;
                lambda = (lambda * factor).max(1e-12);
                nu = 2.0;
                if converged || flat {
                    settled = true;
                    break;
                }
            } else if converged {
                // A step this small that does not lower chi² is rounding at the minimum:
                // raising the damping from here would only repeat it smaller.
                settled = true;
                break;
            } else {
                lambda *= nu;
                nu *= 2.0;
                if lambda > 1e12 {
                    settled = true;
                    break;
                }
            }
        }
        if !(p.iter().all(|v| v.is_finite()) && normal.chi2.is_finite()) {
            return Err(LocateError::NoConvergence { iterations });
        }
        Ok(Descent {
            p,
            normal: normal.widened(),
            iterations,
            settled,
        })
    }
}

/// Normal equations over `K` unknowns (see [`Normal`]).
#[derive(Debug, Clone, Copy)]
struct NormalOf<const K: usize> {
    info: [[f64; K]; K],
    grad: [f64; K],
    chi2: f64,
}

impl<const K: usize> NormalOf<K> {
    /// The same equations as a [`Normal`], zero past the `K` unknowns.
    fn widened(&self) -> Normal {
        let mut n = Normal {
            info: [[0.0; N]; N],
            grad: [0.0; N],
            chi2: self.chi2,
        };
        for (wide, row) in n.info.iter_mut().zip(&self.info) {
            wide[..K].copy_from_slice(row);
        }
        n.grad[..K].copy_from_slice(&self.grad);
        n
    }

    /// The decrease of chi² these equations predict for `step`:
    /// `2 stepᵀ grad − stepᵀ info step`.
    fn predicted_decrease(&self, step: &[f64; K]) -> f64 {
        let mut d = 0.0;
        for a in 0..K {
            let info_step: f64 = (0..K).map(|b| self.info[a][b] * step[b]).sum();
            d += step[a] * (2.0 * self.grad[a] - info_step);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nine sensors around a source at (300, −200) emitting at 0, at a 340 m/s, in the plane.
    fn arrivals_with_one_late(late_s: f64) -> Vec<ArrivalMeasurement> {
        let source = [300.0, -200.0];
        (0..9)
            .map(|i| {
                let a = f64::from(i) * 0.7;
                let sensor = [3000.0 * a.cos(), 2500.0 * a.sin(), 0.0];
                let d = (sensor[0] - source[0]).hypot(sensor[1] - source[1]);
                let noise = [0.8, -1.1, 0.3, 1.4, -0.6, 0.9, -1.3, 0.2, -0.4][i as usize] * 2e-3;
                ArrivalMeasurement {
                    sensor,
                    time_s: d / 340.0 + noise + if i == 4 { late_s } else { 0.0 },
                    sigma_s: 2e-3,
                }
            })
            .collect()
    }

    fn problem(arrivals: &[ArrivalMeasurement]) -> Problem<'_> {
        Problem {
            bearings: &[],
            arrivals,
            active: vec![true; arrivals.len()],
            bearing_active: Vec::new(),
            points: Vec::new(),
            speed: 340.0,
            source_height: 0.0,
            surface: None,
            wind_sigma: None,
            speed_sigma: None,
        }
    }

    #[test]
    fn deletion_drops_rank_the_late_arrival_first_and_match_a_refit() {
        let arrivals = arrivals_with_one_late(0.040);
        let full = problem(&arrivals);
        let (p, chi2, _) = full.minimise([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        let drops = full.deletion_drops(&p).unwrap();
        assert_eq!(drops.len(), arrivals.len());
        let (worst, drop) = drops
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert_eq!(worst, RowOf::Arrival(4));
        let mut without = problem(&arrivals);
        without.active[4] = false;
        let (_, rest, _) = without.minimise(p).unwrap();
        let exact = chi2 - rest;
        assert!(
            (drop - exact).abs() < 0.1 * exact,
            "first order {drop}, refitted {exact}"
        );
    }

    #[test]
    fn a_fit_ends_in_a_few_steps_at_its_minimum() {
        // Ended by the step or chi²'s fall, not by raising the damping until it gives up.
        let clean = arrivals_with_one_late(0.0);
        let (p, _, iterations) = problem(&clean)
            .minimise([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            .unwrap();
        assert!(iterations < 15, "a well-posed fit took {iterations} steps");
        assert!((p[0] - 300.0).hypot(p[1] + 200.0) < 5.0, "{p:?}");
        for late in [0.05, 0.2, 0.8] {
            let mut mixed = arrivals_with_one_late(0.0);
            for a in mixed.iter_mut().step_by(2) {
                a.time_s += late;
            }
            let mut problem = problem(&mixed);
            problem.surface = Some(crate::Surface {
                up_m: 0.0,
                slope_east: 0.0,
                slope_north: 0.0,
                sigma_m: 20.0,
            });
            let (_, chi2, iterations) = problem.minimise(problem.at([0.0, 0.0], 0.0)).unwrap();
            // Ended once chi² stops falling (seven to ten steps of rounding before).
            assert!(
                iterations <= 5,
                "late {late}: {iterations} steps, chi2 {chi2}"
            );
        }
    }

    #[test]
    fn a_descent_says_whether_it_reached_a_minimum() {
        // Two sensors' time difference (a hyperbola metres wide and kilometres long) crossed by
        // two bearings, the source's height over a surface: from some points along the
        // bearings the descent creeps along the curved valley and is still moving at the cap.
        // Those must say so (they are no minimum); the others end settled at the crossing.
        let source = [-4357.4, -5356.0];
        let sensors = [[-1500.0, -2500.0, 0.0], [-6500.0, -2000.0, 0.0]];
        let arrivals: Vec<ArrivalMeasurement> = sensors
            .iter()
            .zip([0.0015, -0.001])
            .map(|(s, noise)| ArrivalMeasurement {
                sensor: *s,
                time_s: (s[0] - source[0]).hypot(s[1] - source[1]) / 340.0 + noise,
                sigma_s: 0.005,
            })
            .collect();
        let bearings: Vec<BearingMeasurement> = [[-9000.0, -1000.0], [-1000.0, -9500.0]]
            .iter()
            .zip([0.02_f64, -0.015])
            .map(|(o, err)| BearingMeasurement {
                observer: *o,
                observer_sigma_m: 10.0,
                azimuth_rad: (source[0] - o[0]).atan2(source[1] - o[1]) + err,
                sigma_rad: 2f64.to_radians(),
                range: None,
            })
            .collect();
        let mut p = problem(&arrivals);
        p.bearings = &bearings;
        p.bearing_active = vec![true; bearings.len()];
        p.surface = Some(crate::Surface {
            up_m: 0.0,
            slope_east: 0.0,
            slope_north: 0.0,
            sigma_m: 20.0,
        });
        let (mut settled, mut moving) = (0, 0);
        for b in &bearings {
            for r in [100.0, 300.0, 1000.0, 3000.0, 10_000.0, 30_000.0] {
                let (s, c) = b.azimuth_rad.sin_cos();
                let x = [b.observer[0] + r * s, b.observer[1] + r * c];
                let d = p.descend(p.at(x, 0.0)).unwrap();
                let at_minimum = (d.p[0] + 4372.5).hypot(d.p[1] + 5487.9) < 1.0;
                if d.settled {
                    settled += 1;
                    assert!(d.iterations < MAX_ITERATIONS, "{d:?}");
                    assert!(at_minimum || d.normal.chi2 > 100.0, "{d:?}");
                } else {
                    moving += 1;
                    assert_eq!(d.iterations, MAX_ITERATIONS, "{d:?}");
                    assert!(!at_minimum, "{d:?}");
                }
            }
        }
        // Both kinds occur here, or the test would show nothing.
        assert!(
            settled >= 6 && moving >= 1,
            "{settled} settled, {moving} moving"
        );
    }

    #[test]
    fn wrap_angle_is_symmetric() {
        use std::f64::consts::PI;
        assert!((wrap_angle(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-12);
        assert!((wrap_angle(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-12);
        assert!((wrap_angle(0.1) - 0.1).abs() < 1e-15);
    }
}
