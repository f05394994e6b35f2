//! The public estimators: validation, starting points, the joint maximum-likelihood fit and
//! the leave-one-out search that sets inconsistent arrivals and bearings aside.

use crate::linalg::Vector;
use crate::model::{Problem, RowOf, Solution};
use crate::start::{along_bearing, points_mean, ranged_points, spherical_intersection, stansfield};
use crate::trimmed;
use crate::{
    ArrivalMeasurement, BearingMeasurement, Excluded, Exclusion, Fix, HeightFix, HeightSource,
    LocateError, MIN_DOF_FOR_SCALE, Measurements, PointMeasurement, Uncertainty,
};
use truce_geo::D2_95;

/// An arrival whose normalised residual exceeds this many sigmas triggers the outlier search.
const OUTLIER_SIGMAS: f64 = 4.0;
/// Measurements the leave-one-out search refits without, of those whose absence lowers chi²
/// most to first order: the one that fits best without it is among them but where the fit
/// is far from linear, and refitting every one made three fits in four.
const LEAVE_ONE_OUT_SHORTLIST: usize = 6;
/// Standard normal quantile of the false-alarm probability of the chi² test (1e-4).
const CHI2_Z: f64 = 3.719;
/// The robust search never leaves fewer arrivals than this (east, north, emission time and
/// one check).
const MIN_ARRIVALS: usize = 4;
/// From this many arrivals on, outliers are found against a robust scale of the residuals
/// (their median absolute size), so a stated sigma that is too small does not make every
/// arrival an outlier, and several outliers do not hide each other.
const ROBUST_MIN_ARRIVALS: usize = 8;
/// An arrival is never set aside for a residual smaller than this, seconds, whatever sigma it
/// states: onset picks are good to 1–10 ms, and a sensor that states 1 ms when it picks to
/// 5 ms is badly calibrated, not wrong. (Shorter detours than this bias a fix by metres.)
const MIN_OUTLIER_RESIDUAL_S: f64 = 0.015;
/// A bearing is never set aside for a discrepancy smaller than this, degrees, whatever sigma
/// it states: a compass a few degrees off is biased, not wrong (misreads are tens of degrees).
const MIN_OUTLIER_BEARING_DEG: f64 = 5.0;
/// The median of |z| for a standard normal z: dividing by it makes the median a sigma.
const MEDIAN_ABS_NORMAL: f64 = 0.674_49;

/// The maximum-likelihood position from any mix of bearings (with or without ranges), arrival
/// times and position reports.
///
/// Unknowns are east and north, plus the emission time when any arrival is given. The fit
/// starts from every closed-form start the measurements allow (reports' weighted mean,
/// Stansfield's bearing intersection, a ranged bearing's end, the spherical intersection of
/// four or more arrivals) and keeps the one with the smallest chi². When an arrival's or a
/// bearing's residual passes 4σ or chi² is implausible (p < 1e-4), arrivals and bearings are
/// set aside one at a time by leave-one-out (an arrival never for less than 15 ms, a bearing
/// never for less than 5°), always leaving a redundant problem, each recorded in
/// [`Fix::excluded`].
///
/// Errors: invalid inputs, fewer constraints than unknowns, no start, an ill-conditioned
/// geometry (error ellipse axis ratio above 1000), or a solution behind an observer.
pub fn locate(m: &Measurements) -> Result<Fix, LocateError> {
    let r = robust_solve(checked(m)?)?;
    Ok(to_fix(&r.problem, r.solution, r.excluded, r.plain_at))
}

/// The problem of `m`, validated, with enough constraints for its unknowns.
pub(crate) fn checked<'a>(m: &Measurements<'a>) -> Result<Problem<'a>, LocateError> {
    let problem = validate(m)?;
    let unknowns = problem.unknowns();
    let constraints = problem.residuals();
    if constraints == 0 {
        return Err(LocateError::TooFewMeasurements {
            constraints,
            unknowns,
            detail: "no measurements",
        });
    }
    if constraints < unknowns {
        return Err(LocateError::TooFewMeasurements {
            constraints,
            unknowns,
            detail: "add bearings, ranges, arrivals or reports",
        });
    }
    Ok(problem)
}

/// The maximum-likelihood position from bearings alone (each optionally with a range): two or
/// more bearings, or one with a range. See [`locate`] for the method and the errors.
pub fn locate_bearings(b: &[BearingMeasurement]) -> Result<Fix, LocateError> {
    let constraints = b.len() + b.iter().filter(|b| b.range.is_some()).count();
    if constraints < 2 {
        return Err(LocateError::TooFewMeasurements {
            constraints,
            unknowns: 2,
            detail: "a single bearing needs a range (or a second bearing) to fix a position",
        });
    }
    locate(&Measurements::plain(b, &[], &[], 1.0))
}

/// The maximum-likelihood position and emission time from four or more arrival times
/// (time differences of arrival), with sensors' 3-D positions and the source at up coordinate
/// `source_height_m`. Inconsistent arrivals (non-line-of-sight paths, another shot) are set
/// aside as described for [`locate`]; five or more arrivals are needed to tell which one is off.
pub fn locate_arrivals(
    a: &[ArrivalMeasurement],
    speed_m_s: f64,
    source_height_m: f64,
) -> Result<Fix, LocateError> {
    if a.len() < MIN_ARRIVALS {
        return Err(LocateError::TooFewMeasurements {
            constraints: a.len(),
            unknowns: 3,
            detail: "time differences need at least four arrivals to solve east, north and emission time",
        });
    }
    locate(&Measurements {
        source_height_m,
        ..Measurements::plain(&[], a, &[], speed_m_s)
    })
}

fn invalid(what: String, value: f64, why: &'static str) -> LocateError {
    LocateError::Invalid { what, value, why }
}

fn check_finite(what: impl Fn() -> String, value: f64) -> Result<(), LocateError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(invalid(what(), value, "must be finite"))
    }
}

fn check_positive(what: impl Fn() -> String, value: f64) -> Result<(), LocateError> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(invalid(what(), value, "must be positive and finite"))
    }
}

/// Checks every input and builds the problem with all arrivals active.
pub(crate) fn validate<'a>(m: &Measurements<'a>) -> Result<Problem<'a>, LocateError> {
    for (i, b) in m.bearings.iter().enumerate() {
        check_finite(|| format!("bearing {i} observer east"), b.observer[0])?;
        check_finite(|| format!("bearing {i} observer north"), b.observer[1])?;
        check_finite(|| format!("bearing {i} azimuth_rad"), b.azimuth_rad)?;
        check_positive(|| format!("bearing {i} sigma_rad"), b.sigma_rad)?;
        if !(b.observer_sigma_m >= 0.0 && b.observer_sigma_m.is_finite()) {
            return Err(invalid(
                format!("bearing {i} observer_sigma_m"),
                b.observer_sigma_m,
                "must be zero or positive and finite",
            ));
        }
        if let Some(r) = b.range {
            check_positive(|| format!("bearing {i} range mean_m"), r.mean_m)?;
            check_positive(|| format!("bearing {i} range sigma_m"), r.sigma_m)?;
        }
    }
    for (i, a) in m.arrivals.iter().enumerate() {
        for (k, axis) in ["east", "north", "up"].iter().enumerate() {
            check_finite(|| format!("arrival {i} sensor {axis}"), a.sensor[k])?;
        }
        check_finite(|| format!("arrival {i} time_s"), a.time_s)?;
        check_positive(|| format!("arrival {i} sigma_s"), a.sigma_s)?;
    }
    if !m.arrivals.is_empty() {
        check_positive(|| "speed_of_sound_m_s".to_owned(), m.speed_of_sound_m_s)?;
        check_finite(|| "source_height_m".to_owned(), m.source_height_m)?;
        if let Some(w) = m.wind_sigma_m_s {
            check_positive(|| "wind_sigma_m_s".to_owned(), w)?;
        }
        if let Some(c) = m.speed_sigma_m_s {
            check_positive(|| "speed_sigma_m_s".to_owned(), c)?;
        }
        if let Some(surface) = &m.surface {
            check_finite(|| "surface up_m".to_owned(), surface.up_m)?;
            check_finite(|| "surface slope_east".to_owned(), surface.slope_east)?;
            check_finite(|| "surface slope_north".to_owned(), surface.slope_north)?;
            check_positive(|| "surface sigma_m".to_owned(), surface.sigma_m)?;
        }
    }
    let points = m
        .points
        .iter()
        .enumerate()
        .map(|(i, p): (usize, &PointMeasurement)| {
            check_finite(|| format!("point {i} east"), p.at[0])?;
            check_finite(|| format!("point {i} north"), p.at[1])?;
            let info = p.cov.inverse().filter(|w| w.ee > 0.0 && w.nn > 0.0);
            let info = info.ok_or_else(|| {
                invalid(
                    format!("point {i} cov determinant"),
                    p.cov.det(),
                    "the covariance must be positive definite",
                )
            })?;
            Ok((p.at, info))
        })
        .collect::<Result<Vec<_>, LocateError>>()?;
    Ok(Problem {
        bearings: m.bearings,
        arrivals: m.arrivals,
        active: vec![true; m.arrivals.len()],
        bearing_active: vec![true; m.bearings.len()],
        points,
        speed: m.speed_of_sound_m_s,
        source_height: m.source_height_m,
        surface: m.surface,
        wind_sigma: m.surface.and(m.wind_sigma_m_s),
        speed_sigma: m.surface.and(m.wind_sigma_m_s).and(m.speed_sigma_m_s),
    })
}

/// The emission time that best fits the active arrivals for a source at `x`.
fn emission_time(problem: &Problem, x: [f64; 2]) -> f64 {
    let p = problem.at(x, 0.0);
    let (mut num, mut den) = (0.0, 0.0);
    for (_, a) in problem.active_arrivals() {
        let w = a.sigma_s.powi(-2);
        num += w * (a.time_s - problem.travel_time(&p, a));
        den += w;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// Fits from every available start (plus `extra`) and keeps the smallest chi².
fn best_fit(problem: &Problem, extra: Option<Vector>) -> Result<Solution, LocateError> {
    let mut starts: Vec<Vector> = extra.into_iter().collect();
    let mut errors = Vec::new();
    let with_time = |x: [f64; 2]| problem.at(x, emission_time(problem, x));
    starts.extend(spherical_intersection(problem));
    if let Some(x) = stansfield(problem.bearings) {
        // Lines that cross behind an observer would send the iteration off to infinity.
        match problem.behind_observer(&x) {
            Some(e) => errors.push(e),
            None => starts.push(with_time(x)),
        }
    }
    starts.extend(ranged_points(problem.bearings).map(with_time));
    starts.extend(points_mean(problem).map(with_time));
    if starts.is_empty() && errors.is_empty() {
        if let Some(b) = problem.bearings.first() {
            starts.extend(along_bearing(b).map(with_time));
        } else {
            return Err(LocateError::NoStart(
                "fewer than four arrivals and no bearing or report to start from",
            ));
        }
    }
    let mut best: Option<Solution> = None;
    for start in starts {
        let descent = match problem.descend(start) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // A minimum no better than the best so far is not kept whether it passes the checks
        // or not (and the errors matter only when no start gives a fit): it is not checked.
        if best.as_ref().is_some_and(|b| descent.normal.chi2 >= b.chi2) {
            continue;
        }
        match problem.accept(descent) {
            Ok(s) => best = Some(s),
            Err(e) => errors.push(e),
        }
    }
    if let Some(s) = best {
        return Ok(s);
    }
    // The most telling reason first: bearings crossing behind an observer explain the rest.
    let behind = errors
        .iter()
        .position(|e| matches!(e, LocateError::BehindObserver { .. }));
    match behind.or((!errors.is_empty()).then_some(0)) {
        Some(i) => Err(errors.swap_remove(i)),
        None => Err(LocateError::NoStart("no start converged")),
    }
}

/// Chi² within which another local minimum counts as fitting about as well as the best: the
/// 95% point of chi² with two degrees of freedom (a likelihood-ratio region for the position).
const AMBIGUITY_CHI2: f64 = D2_95;

/// Other positions that fit `problem` about as well as `best` (see
/// [`crate::Uncertainty::ambiguous`]): minima reached from points along each bearing, kept
/// when their chi² is within [`AMBIGUITY_CHI2`] (times the variance factor) of the best's.
/// Only for fits of arrivals and bearings together, where a few arrivals' hyperbolas can cross
/// a bearing twice: that takes two arrivals or more (one arrival's time is matched exactly by
/// the emission time wherever the source is, so it shapes no hyperbola, and the position's
/// misfit is the bearings' alone, as in a fit of bearings only). Arrivals alone are checked by
/// the sensors that hear the round next. A descent still moving at its iteration cap has not
/// reached a minimum (it crawls along a valley towards the best one): it is no alternative.
fn alternatives(problem: &Problem, best: &Solution) -> Vec<[f64; 2]> {
    if problem.active_arrivals().nth(1).is_none() || problem.active_bearings().next().is_none() {
        return Vec::new();
    }
    let factor = if best.dof >= MIN_DOF_FOR_SCALE {
        (best.chi2 / f64::from(best.dof)).max(1.0)
    } else {
        1.0
    };
    let with_time = |x: [f64; 2]| problem.at(x, emission_time(problem, x));
    let starts: Vec<Vector> = problem
        .active_bearings()
        .flat_map(|(_, b)| along_bearing(b))
        .map(with_time)
        .collect();
    let mut out: Vec<[f64; 2]> = Vec::new();
    for start in starts {
        let Ok(descent) = problem.descend(start) else {
            continue;
        };
        if !descent.settled {
            continue;
        }
        let (p, chi2) = (descent.p, descent.normal.chi2);
        let at = [p[0], p[1]];
        let apart = (at[0] - best.p[0]).hypot(at[1] - best.p[1]);
        // One minimum reached from several starts counts once; the best itself not at all.
        let known = |x: &[f64; 2]| (at[0] - x[0]).hypot(at[1] - x[1]) < 1.0;
        // Only a minimum that would count is checked (a fit that fails the checks does not).
        if chi2 <= best.chi2 + AMBIGUITY_CHI2 * factor
            && apart >= 1.0
            && !out.iter().any(known)
            && problem.accept(descent).is_ok()
        {
            out.push(at);
        }
    }
    out
}

/// Where the fix goes when each measurement in turn is left out, for a fix too little
/// redundant to check its measurements (fewer than [`MIN_DOF_FOR_SCALE`] degrees of
/// freedom): one wrong arrival or bearing among a few is absorbed without a trace there, and
/// the ellipse must then reach where the rest would put the source. Each refit starts from
/// the fix (the nearest solution: how far the fix leans on that measurement).
fn leave_one_out_positions(problem: &Problem, s: &Solution) -> Vec<[f64; 2]> {
    if s.dof < 1 || s.dof >= MIN_DOF_FOR_SCALE {
        return Vec::new();
    }
    let left = (0..problem.arrivals.len())
        .filter(|&i| problem.active[i])
        .map(Left::Arrival)
        .chain(problem.active_bearings().map(|(i, _)| Left::Bearing(i)));
    left.filter_map(|l| {
        let trial = l.out_of(problem);
        if trial.residuals() < trial.unknowns() {
            return None;
        }
        // Not required to be well conditioned: where the rest leave the source poorly
        // placed along some line, the ellipse must reach along it.
        let (p, _, _) = trial.minimise(s.p).ok()?;
        if trial.behind_observer(&[p[0], p[1]]).is_some() {
            return None;
        }
        Some([p[0], p[1]])
    })
    .collect()
}

/// `cov` grown along the line from `at` to `x`, when `x` lies outside its 95% ellipse, until
/// `x` lies one Mahalanobis unit out (so that a source there, with its own scatter, is inside
/// the 95%); whether it grew.
fn reach_to(cov: &mut truce_geo::Cov2, at: [f64; 2], x: [f64; 2]) -> bool {
    let d = (x[0] - at[0], x[1] - at[1]);
    let Some(m) = cov.mahalanobis2(d).filter(|m| *m > D2_95 && m.is_finite()) else {
        return false;
    };
    let k = (m - 1.0) / m;
    *cov = truce_geo::Cov2 {
        ee: cov.ee + k * d.0 * d.0,
        en: cov.en + k * d.0 * d.1,
        nn: cov.nn + k * d.1 * d.1,
    };
    true
}

/// The chi² value exceeded with probability 1e-4 (Wilson–Hilferty approximation).
fn chi2_limit(dof: i32) -> f64 {
    chi2_quantile(dof, CHI2_Z)
}

/// The chi² quantile with `dof` degrees of freedom at standard normal quantile `z`
/// (Wilson–Hilferty; within 1% for dof ≥ 2).
fn chi2_quantile(dof: i32, z: f64) -> f64 {
    let k = f64::from(dof.max(1));
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Standard normal quantile of the chi² point past which the residuals rescale a
/// covariance: 0.5 (its median).
const Z_SCALE: f64 = 0.0;

/// The squared Mahalanobis radius of a 95% region in two dimensions when the variance is
/// estimated with `dof` degrees of freedom, over the radius when it is known (5.991):
/// `2·F(2, dof; 0.95) / χ²(2; 0.95)`, with `F(2, ν; 0.95) = (ν/2)·(0.05^(−2/ν) − 1)`.
fn student_ratio(dof: i32) -> f64 {
    let nu = f64::from(dof.max(1));
    let f = 0.5 * nu * (0.05f64.powf(-2.0 / nu) - 1.0);
    2.0 * f / 5.991_464_547
}

/// The 97.5% point of Student's t with `dof` degrees of freedom over the normal's (1.96): how
/// much wider a two-sided 95% interval is when its variance comes from the residuals
/// (Cornish–Fisher expansion: 4% short at 3 degrees of freedom, within 1% from 5).
fn student_t_ratio(dof: i32) -> f64 {
    let nu = f64::from(dof.max(1));
    let z: f64 = 1.959_963_985;
    let t = z
        + (z.powi(3) + z) / (4.0 * nu)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * nu * nu);
    t / z
}

/// The check of the stated noise against the residuals: the covariance is scaled by the
/// residual variance (times the F/chi² quantile ratio) when the residuals scatter clearly more
/// than stated (chi² past its median), never shrunk.
fn uncertainty(chi2: f64, dof: i32) -> Uncertainty {
    let residual_variance = if dof > 0 {
        chi2 / f64::from(dof)
    } else {
        f64::NAN
    };
    let unchecked = dof < MIN_DOF_FOR_SCALE;
    // When the residuals show more scatter than stated (chi² beyond its median), they are
    // the better measure of the noise (what clients state is a guess): scale by them, with
    // the wider quantile an estimated variance needs. The median keeps fits whose stated
    // noise is right at about 95% coverage (Monte Carlo, tests/monte_carlo.rs).
    let scale = if !unchecked && chi2 > chi2_quantile(dof, Z_SCALE) {
        (residual_variance * student_ratio(dof)).max(1.0)
    } else {
        1.0
    };
    Uncertainty {
        residual_variance,
        scale,
        unchecked,
        ambiguous: false,
    }
}

/// The normalised residuals `(index, residual / sigma)` of the active arrivals at `s`.
fn normalised(problem: &Problem, s: &Solution) -> Vec<(usize, f64)> {
    problem
        .active_arrivals()
        .map(|(i, a)| (i, problem.arrival_residual(&s.p, a) / a.sigma_s))
        .collect()
}

/// A robust estimate of the residuals' scale in units of their stated sigmas: the median
/// absolute normalised residual over its value for a standard normal, never below 1.
fn robust_scale(z: &[(usize, f64)]) -> f64 {
    let mut a: Vec<f64> = z.iter().map(|(_, z)| z.abs()).collect();
    if a.is_empty() {
        return 1.0;
    }
    a.sort_by(f64::total_cmp);
    let m = a.len() / 2;
    let median = if a.len() % 2 == 1 {
        a[m]
    } else {
        0.5 * (a[m - 1] + a[m])
    };
    (median / MEDIAN_ABS_NORMAL).max(1.0)
}

/// Whether the measurements look inconsistent: an arrival's or a bearing's residual beyond
/// 4σ, or chi² beyond its 1e-4 tail.
fn suspicious(problem: &Problem, s: &Solution) -> bool {
    let worst = normalised(problem, s)
        .iter()
        .map(|(_, z)| z.abs())
        .chain(problem.active_bearings().map(|(_, b)| {
            let (r, sigma) = problem.bearing_residual(&s.p, b);
            (r / sigma).abs()
        }))
        .fold(0.0, f64::max);
    worst > OUTLIER_SIGMAS || (s.dof > 0 && s.chi2 > chi2_limit(s.dof))
}

/// The fix of `s`: its covariance checked against the residuals and grown to reach what the
/// data cannot rule out (other minima, leave-one-out positions of an unchecked fit, and
/// `plain_at`, where the plain robust fit put the source when the trimmed one was kept).
pub(crate) fn to_fix(
    problem: &Problem,
    s: Solution,
    excluded: Vec<Exclusion>,
    plain_at: Option<[f64; 2]>,
) -> Fix {
    let others = alternatives(problem, &s);
    let timed = problem.timed();
    let u = uncertainty(s.chi2, s.dof);
    let sandwich = (timed && !u.unchecked)
        .then(|| problem.sandwich(&s.p))
        .flatten();
    let height = timed.then(|| match (&problem.surface, problem.height_free()) {
        (Some(surface), true) => {
            // The model's sigma scaled by the residuals, and never below the sandwich's (whose
            // variance comes from the residuals too: Student's t, not the normal, bounds it).
            let stated = s.height_sigma.map(|h| h * u.scale.sqrt());
            let sigma = match sandwich.and_then(|(_, h)| h) {
                Some(hc) => stated.map(|h| h.max(student_t_ratio(s.dof) * hc.sqrt())),
                None => stated,
            };
            let resolved = sigma.is_some_and(|h| h < 0.5 * surface.sigma_m);
            HeightFix {
                up_m: s.p[3],
                sigma_m: sigma,
                source: if resolved {
                    HeightSource::Estimated
                } else {
                    HeightSource::Surface
                },
            }
        }
        _ => HeightFix {
            up_m: problem.source_height,
            sigma_m: None,
            source: HeightSource::Given,
        },
    });
    // The residuals' own covariance (heteroscedasticity-consistent, HC3, so a few sensors
    // whose stated sigmas are far too small cannot hide behind the rest: a single scale factor
    // cannot widen the ellipse along the direction they pull); never below what the stated
    // sigmas give.
    // Arrivals only: their sigmas are the clients' guesses per sensor, and a fix of bearings and
    // reports (few rows, often restored later from its estimate as a point) keeps the single
    // factor.
    let mut cov = match sandwich {
        Some((hc, _)) => contain(hc, s.cov),
        None => s.cov.scaled(u.scale),
    };
    // Another position the data cannot tell from this one, or where the source would be if
    // one unchecked measurement were wrong: the ellipse reaches it.
    let at = [s.p[0], s.p[1]];
    let mut ambiguous = false;
    for x in others.iter().chain(&plain_at) {
        ambiguous |= reach_to(&mut cov, at, *x);
    }
    for x in leave_one_out_positions(problem, &s) {
        reach_to(&mut cov, at, x);
    }
    let u = Uncertainty {
        scale: (cov.det() / s.cov.det()).sqrt().max(1.0),
        ambiguous,
        ..u
    };
    Fix {
        at: [s.p[0], s.p[1]],
        cov,
        stated_cov: s.cov,
        uncertainty: u,
        height,
        wind_m_s: problem.wind_free().then_some([s.p[4], s.p[5]]),
        emission_time_s: timed.then_some(s.p[2]),
        excluded,
        iterations: s.iterations,
        chi2: s.chi2,
        dof: s.dof,
    }
}

/// The words and the record of setting arrival `i` aside, its residual taken at `s` (the fit
/// without it).
fn exclusion(problem: &Problem, s: &Solution, i: usize, scale: f64) -> Exclusion {
    let a = &problem.arrivals[i];
    let residual = problem.arrival_residual(&s.p, a);
    let sigmas = residual.abs() / (a.sigma_s * scale);
    let reason = if residual > 0.0 {
        format!(
            "this arrival is {:.3} s ({sigmas:.0}σ) late for the fix of the rest: a \
             non-line-of-sight path or another shot",
            residual
        )
    } else {
        format!(
            "this arrival is {:.3} s ({sigmas:.0}σ) early for the fix of the rest: another \
             shot or a clock error",
            -residual
        )
    };
    Exclusion {
        measurement: Excluded::Arrival {
            index: i,
            residual_s: residual,
        },
        reason,
    }
}

/// The words and the record of setting bearing `i` aside, its residual taken at `s` (the fit
/// without it).
fn bearing_exclusion(problem: &Problem, s: &Solution, i: usize, scale: f64) -> Exclusion {
    let (residual, sigma) = problem.bearing_residual(&s.p, &problem.bearings[i]);
    let deg = residual.to_degrees();
    let side = if deg > 0.0 {
        "clockwise"
    } else {
        "anticlockwise"
    };
    Exclusion {
        measurement: Excluded::Bearing {
            index: i,
            residual_deg: deg,
        },
        reason: format!(
            "this bearing is {:.1}° ({:.0}σ) {side} of the fix of the rest: a misread, \
             another target or a compass far off",
            deg.abs(),
            residual.abs() / (sigma * scale)
        ),
    }
}

/// With many arrivals: set aside, one at a time, the arrival with the largest normalised
/// residual while it exceeds 4 robust sigmas (the residuals' own median scale), refitting
/// after each. Returns the problem and solution it ends with.
fn reject_against_robust_scale<'a>(
    mut problem: Problem<'a>,
    mut current: Solution,
    excluded: &mut Vec<Exclusion>,
) -> (Problem<'a>, Solution) {
    loop {
        let z = normalised(&problem, &current);
        if z.len() < ROBUST_MIN_ARRIVALS.max(MIN_ARRIVALS) {
            break;
        }
        let scale = robust_scale(&z);
        let Some(&(worst, zw)) = z.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())) else {
            break;
        };
        let a = &problem.arrivals[worst];
        if zw.abs() <= OUTLIER_SIGMAS * scale || (zw * a.sigma_s).abs() <= MIN_OUTLIER_RESIDUAL_S {
            break;
        }
        let mut trial = problem.clone();
        trial.active[worst] = false;
        let Ok(s) = best_fit(&trial, Some(current.p)) else {
            break;
        };
        let scale_after = robust_scale(&normalised(&trial, &s));
        excluded.push(exclusion(&trial, &s, worst, scale_after));
        problem = trial;
        current = s;
    }
    (problem, current)
}

/// With many arrivals: the trimmed fit from `s` ([`trimmed::concentrate`]), then every
/// arrival it explains within 4 robust sigmas (the residuals' median scale there) or 15 ms
/// taken back, refitting until the set settles; the rest set aside. `None` when it does not
/// apply or the trimmed fit does no better than `s`.
fn trimmed_start<'a>(
    problem: &Problem<'a>,
    s: &Solution,
) -> Option<(Problem<'a>, Solution, Vec<Exclusion>)> {
    let among = trimmed::active_arrivals(problem);
    if !problem.timed() || among.len() < ROBUST_MIN_ARRIVALS {
        return None;
    }
    let (mut trial, mut current) = trimmed::concentrate(problem, s)?;
    for _ in 0..MAX_TAKE_BACK_ROUNDS {
        let z = trimmed::in_sigmas(problem, &among, &current.p);
        let scale = robust_scale(&z);
        let mut changed = false;
        for &(i, zi) in &z {
            let keep = zi.abs() <= OUTLIER_SIGMAS * scale
                || (zi * problem.arrivals[i].sigma_s).abs() <= MIN_OUTLIER_RESIDUAL_S;
            changed |= keep != trial.active[i];
            trial.active[i] = keep;
        }
        if !changed {
            break;
        }
        if trial.active_arrivals().count() < MIN_ARRIVALS {
            return None;
        }
        current = trial.fit(current.p).ok()?;
    }
    let scale = robust_scale(&normalised(&trial, &current));
    let excluded = among
        .iter()
        .filter(|&&i| !trial.active[i])
        .map(|&i| exclusion(&trial, &current, i, scale))
        .collect();
    Some((trial, current, excluded))
}

/// Rounds of taking arrivals back after the trimmed fit (each refits): the set settles in one
/// or two.
const MAX_TAKE_BACK_ROUNDS: usize = 4;

/// A fit of arrivals whose residual variance factor stays above this after outliers are set
/// aside one at a time is not one source's (association calls such a fit unsound): several
/// late arrivals may be hiding each other, and the trimmed fit is tried.
const TRIMMED_ABOVE_VARIANCE: f64 = 16.0;

/// The trimmed fit replaces the plain one only when the robust scale of all the arrivals'
/// residuals is below this share of the plain fit's: it explains the bulk of them clearly
/// better. (With no margin, a trimmed fit locks onto a tight subset of a round's pulses as
/// often as it escapes late ones: sensors' stated sigmas are guesses, and a few that state
/// too little make any subset that holds them look tight.)
const TRIMMED_SCALE_SHARE: f64 = 0.6;

/// What the robust fit ends with, before its uncertainty is sized ([`to_fix`]).
pub(crate) struct Robust<'a> {
    /// The problem with the measurements set aside switched off.
    pub problem: Problem<'a>,
    /// The fit of what is left.
    pub solution: Solution,
    /// What was set aside, in order.
    pub excluded: Vec<Exclusion>,
    /// Where the plain robust fit put the source, when the trimmed fit replaced it (the
    /// ellipse must reach it).
    pub plain_at: Option<[f64; 2]>,
}

/// The fit, then outliers set aside: against the residuals' robust scale when there are
/// many arrivals, then by leave-one-out while they still look inconsistent. When what is
/// left still fits no one source, the trimmed fit is tried as well, and kept when it explains
/// the bulk of the arrivals clearly better; its ellipse then reaches the plain fit's position
/// (two robust procedures disagree: the source may be at either).
pub(crate) fn robust_solve(problem: Problem) -> Result<Robust, LocateError> {
    let among = trimmed::active_arrivals(&problem);
    let first = best_fit(&problem, None);
    let start = first.as_ref().ok().cloned();
    let plain = problem.clone();
    let (mut problem, mut current, mut excluded) = set_aside(problem, first, Vec::new());
    let mut plain_at = None;
    let unsound = current
        .as_ref()
        .is_ok_and(|s| s.dof > 0 && s.chi2 / f64::from(s.dof) > TRIMMED_ABOVE_VARIANCE);
    if unsound
        && let Some((p, s, x)) = start.and_then(|s| trimmed_start(&plain, &s))
        && let (p, Ok(other), x) = set_aside(p, Ok(s), x)
        && let Ok(this) = &current
        && trimmed::m_scale(&p, &among, &other.p)
            < TRIMMED_SCALE_SHARE * trimmed::m_scale(&problem, &among, &this.p)
    {
        plain_at = Some([this.p[0], this.p[1]]);
        (problem, current, excluded) = (p, Ok(other), x);
    }
    current.map(|solution| Robust {
        problem,
        solution,
        excluded,
        plain_at,
    })
}

/// Outliers set aside from `current` on: against the residuals' robust scale when there are
/// many arrivals, then by leave-one-out while they still look inconsistent. Returns the
/// problem, the fit and the exclusions it ends with.
fn set_aside<'a>(
    problem: Problem<'a>,
    current: Result<Solution, LocateError>,
    mut excluded: Vec<Exclusion>,
) -> (Problem<'a>, Result<Solution, LocateError>, Vec<Exclusion>) {
    let (mut problem, mut current) = match current {
        Ok(s) => {
            let (p, s) = reject_against_robust_scale(problem, s, &mut excluded);
            (p, Ok(s))
        }
        Err(e) => (problem, Err(e)),
    };
    loop {
        let active =
            problem.active.iter().filter(|&&a| a).count() + problem.active_bearings().count();
        let needs_search = match &current {
            Ok(s) => suspicious(&problem, s),
            Err(_) => true,
        };
        // Leaving one out must still leave a redundant problem (at least one degree of
        // freedom), or the outlier could not be told from the rest: for arrivals alone, at
        // least MIN_ARRIVALS remain; bearings, ranges and points add redundancy.
        if !needs_search || active == 0 || problem.residuals() < problem.unknowns() + 2 {
            break;
        }
        let seed = current.as_ref().ok().map(|s| s.p);
        // Each arrival and each bearing in turn left out; the one whose absence fits best.
        let mut best: Option<(Left, Problem, Solution)> = None;
        for left in leave_one_out_shortlist(&problem, current.as_ref().ok()) {
            let trial = left.out_of(&problem);
            // A ranged bearing takes two rows with it: what remains must still be redundant.
            if trial.residuals() <= trial.unknowns() {
                continue;
            }
            // From the fit of all (the nearest minimum: how far the fit leans on what was
            // left out); the one chosen is then fitted from every start below.
            let fitted = match seed {
                Some(x) => trial.fit(x).or_else(|_| best_fit(&trial, seed)),
                None => best_fit(&trial, None),
            };
            if let Ok(s) = fitted
                && best.as_ref().is_none_or(|(_, _, b)| s.chi2 < b.chi2)
            {
                best = Some((left, trial, s));
            }
        }
        let Some((left, trial, s)) = best else { break };
        // Without it the fit may have a better minimum than the nearest one.
        let s = match best_fit(&trial, Some(s.p)) {
            Ok(b) if b.chi2 < s.chi2 => b,
            _ => s,
        };
        // Too small a discrepancy to be anything but noise the stated sigma underrates.
        let small = match left {
            Left::Arrival(i) => {
                problem.arrival_residual(&s.p, &problem.arrivals[i]).abs() <= MIN_OUTLIER_RESIDUAL_S
                    && problem.bearings.is_empty()
            }
            Left::Bearing(i) => {
                let (r, _) = problem.bearing_residual(&s.p, &problem.bearings[i]);
                r.abs().to_degrees() <= MIN_OUTLIER_BEARING_DEG
            }
        };
        if small {
            break;
        }
        // Only a substantial improvement justifies discarding data: the dropped measurement
        // must have carried at least a 4σ discrepancy, in units of the scatter the others keep
        // (so a stated sigma that is merely too small does not make outliers of good ones).
        // A bearing's scatter is taken from the rest only with enough of them to measure it
        // (a few degrees of freedom scatter wildly); its 5° floor guards the rest.
        let scatter =
            if s.dof >= MIN_DOF_FOR_SCALE || (s.dof > 0 && matches!(left, Left::Arrival(_))) {
                (s.chi2 / f64::from(s.dof)).max(1.0)
            } else {
                1.0
            };
        if let Ok(c) = &current
            && c.chi2 - s.chi2 < OUTLIER_SIGMAS * OUTLIER_SIGMAS * scatter
        {
            break;
        }
        excluded.push(match left {
            Left::Arrival(i) => exclusion(&trial, &s, i, scatter.sqrt()),
            Left::Bearing(i) => bearing_exclusion(&trial, &s, i, scatter.sqrt()),
        });
        problem = trial;
        current = Ok(s);
    }
    (problem, current, excluded)
}

/// The measurements the leave-one-out search tries without, arrivals then bearings in their
/// order: at a fit, the [`LEAVE_ONE_OUT_SHORTLIST`] whose absence lowers chi² most to first
/// order (the deleted residuals, [`Problem::deletion_drops`]); without one, every one.
fn leave_one_out_shortlist(problem: &Problem, current: Option<&Solution>) -> Vec<Left> {
    let all = (0..problem.arrivals.len())
        .filter(|&i| problem.active[i])
        .map(Left::Arrival)
        .chain(problem.active_bearings().map(|(i, _)| Left::Bearing(i)));
    let Some(drops) = current.and_then(|s| problem.deletion_drops(&s.p)) else {
        return all.collect();
    };
    if drops.len() <= LEAVE_ONE_OUT_SHORTLIST {
        return all.collect();
    }
    let mut ranked: Vec<(RowOf, f64)> = drops;
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(LEAVE_ONE_OUT_SHORTLIST);
    all.filter(|left| {
        let of = match *left {
            Left::Arrival(i) => RowOf::Arrival(i),
            Left::Bearing(i) => RowOf::Bearing(i),
        };
        ranked.iter().any(|(r, _)| *r == of)
    })
    .collect()
}

/// A measurement the leave-one-out search tries without.
#[derive(Debug, Clone, Copy)]
enum Left {
    Arrival(usize),
    Bearing(usize),
}

impl Left {
    /// `problem` without this measurement.
    fn out_of<'a>(self, problem: &Problem<'a>) -> Problem<'a> {
        let mut trial = problem.clone();
        match self {
            Left::Arrival(i) => trial.active[i] = false,
            Left::Bearing(i) => trial.bearing_active[i] = false,
        }
        trial
    }
}

/// `a` widened just enough to contain `b`: scaled by the largest generalised eigenvalue of
/// `(b, a)` when it exceeds 1.
fn contain(a: truce_geo::Cov2, b: truce_geo::Cov2) -> truce_geo::Cov2 {
    let (da, db) = (a.det(), b.det());
    if !(da > 0.0 && db.is_finite()) {
        return a;
    }
    let mid = a.ee * b.nn + a.nn * b.ee - 2.0 * a.en * b.en;
    let disc = (mid * mid - 4.0 * da * db).max(0.0).sqrt();
    let lambda = (mid + disc) / (2.0 * da);
    if lambda.is_finite() && lambda > 1.0 {
        a.scaled(lambda)
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::{contain, reach_to, student_t_ratio};
    use proptest::prelude::*;
    use truce_geo::{Cov2, D2_95};

    #[test]
    fn students_t_over_the_normal_matches_the_tables() {
        // t(0.975; ν) from the tables, over 1.959964.
        for (dof, t) in [
            (5, 2.570_582),
            (10, 2.228_139),
            (30, 2.042_272),
            (1000, 1.962_339),
        ] {
            let ratio = student_t_ratio(dof);
            let table = t / 1.959_964;
            assert!(
                (ratio - table).abs() <= 0.01 * table,
                "ν = {dof}: {ratio} vs {table}"
            );
        }
        assert!(
            student_t_ratio(3) > 1.5,
            "still wider than the normal with few"
        );
    }

    /// Whether `x − y` is positive semi-definite (within rounding).
    fn at_least(x: Cov2, y: Cov2) -> bool {
        let d = Cov2 {
            ee: x.ee - y.ee,
            en: x.en - y.en,
            nn: x.nn - y.nn,
        };
        let tol = 1e-9 * (x.ee + x.nn);
        d.ee >= -tol && d.nn >= -tol && d.ee * d.nn - d.en * d.en >= -tol * (x.ee + x.nn)
    }

    fn cov() -> impl Strategy<Value = Cov2> {
        (0.1f64..100.0, 0.1f64..100.0, -0.99f64..0.99).prop_map(|(a, b, rho)| Cov2 {
            ee: a * a,
            en: rho * a * b,
            nn: b * b,
        })
    }

    proptest! {
        #[test]
        fn the_widened_ellipse_holds_both(a in cov(), b in cov()) {
            let c = contain(a, b);
            prop_assert!(at_least(c, a), "{c:?} below {a:?}");
            prop_assert!(at_least(c, b), "{c:?} below {b:?}");
        }

        #[test]
        fn an_ellipse_already_wider_is_kept(a in cov(), s in 1.0f64..10.0) {
            prop_assert_eq!(contain(a.scaled(s), a), a.scaled(s));
        }

        #[test]
        fn an_ellipse_reaches_a_point_outside_and_only_grows(
            a in cov(),
            x in -5000.0f64..5000.0,
            y in -5000.0f64..5000.0,
        ) {
            let mahalanobis = |c: Cov2| c.mahalanobis2((x, y)).unwrap();
            let before = mahalanobis(a);
            let mut c = a;
            let grew = reach_to(&mut c, [0.0, 0.0], [x, y]);
            prop_assert_eq!(grew, before > D2_95);
            if grew {
                prop_assert!((mahalanobis(c) - 1.0).abs() < 1e-6, "{}", mahalanobis(c));
            } else {
                prop_assert_eq!(c, a);
            }
            prop_assert!(at_least(c, a), "{c:?} below {a:?}");
        }
    }
}
