//! A start that several outliers cannot pull: least trimmed squares by concentration steps
//! (Rousseeuw & Van Driessen's C-steps), for fits of many arrivals.
//!
//! A least-squares fit of seventeen arrivals of which four came 70–260 ms late by longer paths
//! leans towards them: every residual then looks alike, the residuals' median scale grows with
//! them, and no single arrival left out lowers chi² enough to name it (the late ones hide each
//! other). Fitted on the arrivals it explains best, again and again, the fit walks away from
//! the late ones; from there the rest are judged against a scale the late ones no longer set.

use crate::linalg::Vector;
use crate::model::{Problem, RowOf, Solution};

/// Concentration steps at most: each lowers the trimmed sum, and on the scenarios they settle
/// in two to four.
const MAX_STEPS: usize = 8;

/// The arrivals active in `problem`, by index.
pub(crate) fn active_arrivals(problem: &Problem) -> Vec<usize> {
    problem.active_arrivals().map(|(i, _)| i).collect()
}

/// The residuals of arrivals `among` at `p` in their stated sigmas, signed, with their
/// indices (whether active or not).
pub(crate) fn in_sigmas(problem: &Problem, among: &[usize], p: &Vector) -> Vec<(usize, f64)> {
    among
        .iter()
        .map(|&i| {
            let a = &problem.arrivals[i];
            (i, problem.arrival_residual(p, a) / a.sigma_s)
        })
        .collect()
}

/// How many of `n` arrivals the trimmed fit keeps: half of them plus half the unknowns, the
/// most a fit can hold while tolerating the most outliers (Rousseeuw's h = ⌊(n + p + 1)/2⌋).
fn kept(n: usize, unknowns: usize) -> usize {
    (n + unknowns).div_ceil(2).min(n)
}

/// The squared normalised residuals of arrivals `among` at `p`, smallest first, with their
/// indices.
fn sorted_squares(problem: &Problem, among: &[usize], p: &Vector) -> Vec<(usize, f64)> {
    let mut z: Vec<(usize, f64)> = in_sigmas(problem, among, p)
        .into_iter()
        .map(|(i, z)| (i, z * z))
        .collect();
    z.sort_by(|a, b| a.1.total_cmp(&b.1));
    z
}

/// The trimmed sum at `p`: the `h` smallest squared normalised residuals of arrivals `among`.
fn trimmed_sum(problem: &Problem, among: &[usize], h: usize, p: &Vector) -> f64 {
    sorted_squares(problem, among, p)
        .iter()
        .take(h)
        .map(|(_, z2)| z2)
        .sum()
}

/// A fit of `problem`'s arrivals from `start` that the ones it explains worst do not pull:
/// concentration steps (fit the `h` arrivals with the smallest residuals, again from there,
/// until the set settles) from two first sets, judged by each arrival's deleted residual at
/// `start` (against the fit of the rest: an arrival the start leans on hides its own
/// residual, not that one): the `h` smallest either way, and the `h` earliest, trimmed from
/// the late side until that settles before both sides are (longer paths and echoes only ever
/// come late, and a fit pulled by them leaves the honest arrivals early, where the late ones
/// need not stand out by size). `Some` with the lower trimmed sum when that is below the
/// start's. The problem returned has the trimmed set active; what to take back is the
/// caller's to judge against the residuals' scale there.
pub(crate) fn concentrate<'a>(
    problem: &Problem<'a>,
    start: &Solution,
) -> Option<(Problem<'a>, Solution)> {
    let among = active_arrivals(problem);
    let h = kept(among.len(), problem.unknowns());
    if h >= among.len() {
        return None;
    }
    // Each arrival's deleted residual at the start, to first order, in sigmas, signed.
    let drops = problem.deletion_drops(&start.p)?;
    let mut deleted: Vec<(usize, f64)> = drops
        .iter()
        .filter_map(|(of, drop)| match of {
            RowOf::Arrival(i) => {
                let r = problem.arrival_residual(&start.p, &problem.arrivals[*i]);
                Some((*i, r.signum() * drop.sqrt()))
            }
            _ => None,
        })
        .collect();
    deleted.sort_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    let smallest: Vec<usize> = deleted.iter().take(h).map(|(i, _)| *i).collect();
    deleted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let earliest: Vec<usize> = deleted.iter().take(h).map(|(i, _)| *i).collect();
    let mut best: Option<(f64, Problem<'a>, Solution)> = None;
    let candidates = [
        steps(problem, &among, h, start, Some(smallest), Trim::Both),
        steps(problem, &among, h, start, Some(earliest), Trim::Late)
            .and_then(|(_, s)| steps(problem, &among, h, &s, None, Trim::Both)),
    ];
    for (trial, s) in candidates.into_iter().flatten() {
        let sum = trimmed_sum(problem, &among, h, &s.p);
        if best.as_ref().is_none_or(|(b, _, _)| sum < *b) {
            best = Some((sum, trial, s));
        }
    }
    let before = trimmed_sum(problem, &among, h, &start.p);
    best.filter(|(sum, _, _)| *sum < before)
        .map(|(_, trial, s)| (trial, s))
}

/// Which arrivals a concentration step leaves out.
#[derive(Debug, Clone, Copy)]
enum Trim {
    /// Those with the largest residuals either way.
    Both,
    /// The latest against the fit.
    Late,
}

/// Concentration steps over arrivals `among` keeping `h`, from `start` with `first` as the
/// first set (else the `h` that `trim` keeps there), until the set settles.
fn steps<'a>(
    problem: &Problem<'a>,
    among: &[usize],
    h: usize,
    start: &Solution,
    mut first: Option<Vec<usize>>,
    trim: Trim,
) -> Option<(Problem<'a>, Solution)> {
    let mut trial = problem.clone();
    let mut current = start.clone();
    let mut set: Vec<usize> = Vec::new();
    for _ in 0..MAX_STEPS {
        let mut next: Vec<usize> = first.take().unwrap_or_else(|| match trim {
            Trim::Both => sorted_squares(problem, among, &current.p)
                .iter()
                .take(h)
                .map(|(i, _)| *i)
                .collect(),
            Trim::Late => earliest(problem, among, &current.p, h),
        });
        next.sort_unstable();
        if next == set {
            break;
        }
        for &i in among {
            trial.active[i] = false;
        }
        for &i in &next {
            trial.active[i] = true;
        }
        current = trial.fit(current.p).ok()?;
        set = next;
    }
    Some((trial, current))
}

/// The `h` arrivals of `among` that come earliest against the fit at `p`, in sigmas.
fn earliest(problem: &Problem, among: &[usize], p: &Vector, h: usize) -> Vec<usize> {
    let mut z = in_sigmas(problem, among, p);
    z.sort_by(|a, b| a.1.total_cmp(&b.1));
    z.into_iter().take(h).map(|(i, _)| i).collect()
}

/// Tuning constant of Tukey's biweight for a scale that tolerates half the residuals being
/// wrong (with `M_SCALE_B`, consistent at the normal).
const BIWEIGHT_C: f64 = 1.547_645;
/// The biweight's mean value at the scale sought: half its maximum (50% breakdown).
const M_SCALE_B: f64 = 0.5;

/// Tukey's biweight ρ, scaled to reach 1 at `BIWEIGHT_C` and beyond.
fn biweight(u: f64) -> f64 {
    let x = u / BIWEIGHT_C;
    if x.abs() >= 1.0 {
        1.0
    } else {
        1.0 - (1.0 - x * x).powi(3)
    }
}

/// The M-estimate of scale of the normalised residuals of arrivals `among` at `p` (biweight,
/// 50% breakdown): how widely the bulk of them scatter, whichever they are, counting the rest
/// as outliers of bounded weight. Of two fits of the same arrivals, the one with the smaller
/// scale explains more of them better; a fit that keeps few arrivals tightly while the rest
/// scatter widely does not win by that.
pub(crate) fn m_scale(problem: &Problem, among: &[usize], p: &Vector) -> f64 {
    let z: Vec<f64> = in_sigmas(problem, among, p)
        .into_iter()
        .map(|(_, z)| z.abs())
        .collect();
    if z.is_empty() {
        return 0.0;
    }
    let mut sorted = z.clone();
    sorted.sort_by(f64::total_cmp);
    let mut s = (sorted[sorted.len() / 2] / 0.674_49).max(1e-9);
    for _ in 0..50 {
        let mean = z.iter().map(|u| biweight(u / s)).sum::<f64>() / z.len() as f64;
        let next = s * (mean / M_SCALE_B).sqrt();
        if (next - s).abs() <= 1e-9 * s {
            return next;
        }
        s = next;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{kept, m_scale};
    use crate::solve::validate;
    use crate::{ArrivalMeasurement, Measurements};

    #[test]
    fn the_trimmed_fit_keeps_half_the_arrivals_and_half_the_unknowns() {
        assert_eq!(kept(17, 4), 11);
        assert_eq!(kept(20, 6), 13);
        // Too few to leave any out.
        assert_eq!(kept(4, 4), 4);
    }

    /// Twelve sensors on a circle hear a source at its centre, each pulse one sigma early or
    /// late in turn; `late` of them come `delay_s` later still.
    fn arrivals(late: usize, delay_s: f64) -> Vec<ArrivalMeasurement> {
        (0..12)
            .map(|i| {
                let a = f64::from(i) * std::f64::consts::TAU / 12.0;
                let noise = if i % 2 == 0 { 0.005 } else { -0.005 };
                let extra = if (i as usize) < late { delay_s } else { 0.0 };
                ArrivalMeasurement {
                    sensor: [3000.0 * a.sin(), 3000.0 * a.cos(), 0.0],
                    time_s: 3000.0 / 340.0 + noise + extra,
                    sigma_s: 0.005,
                }
            })
            .collect()
    }

    #[test]
    fn the_robust_scale_of_the_residuals_is_not_moved_by_a_quarter_of_them_far_off() {
        let scale = |a: &[ArrivalMeasurement]| {
            let problem = validate(&Measurements::plain(&[], a, &[], 340.0)).unwrap();
            let among: Vec<usize> = (0..a.len()).collect();
            m_scale(&problem, &among, &problem.at([0.0, 0.0], 0.0))
        };
        let clean = scale(&arrivals(0, 0.0));
        let near = scale(&arrivals(3, 0.2));
        let far = scale(&arrivals(3, 2.0));
        assert!(
            (near - far).abs() < 1e-9,
            "{near} vs {far}: bounded influence"
        );
        assert!(near < 1.5 * clean, "{near} vs {clean}");
    }
}
