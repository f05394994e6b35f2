//! The comparison peer of `truce eval`: a plain robust least-squares fit of one round's
//! pulses, told which pulses are the round's (as an analyst fitting a recording round by round
//! would be). It shares no code with `truce-locate`, so it is an independent reference: where
//! truce is far worse than this peer on the same rounds, the loss is truce's association or
//! its estimator, not the data.
//!
//! Unknowns: east, north, height and emission time. Model: straight paths at one speed of
//! sound, no wind. The height has a soft prior at the sensors' mean height (± 50 m). Weights:
//! Huber's (k = 1.345) on the residuals' robust scale (1.4826 × their median absolute
//! deviation, at least 1 ms), by iteratively reweighted Gauss–Newton from two starts (the
//! sensors' centroid and the first sensor to hear), keeping the lower robust cost.

/// One pulse in the peer's local frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerPulse {
    /// Sensor east, north and up, metres.
    pub at: [f64; 3],
    /// Arrival time, seconds from any fixed origin shared by the round's pulses.
    pub t_s: f64,
}

/// Huber's tuning constant (95% efficiency under normal noise).
const HUBER_K: f64 = 1.345;
/// Smallest robust scale of the residuals, seconds.
const MIN_SCALE_S: f64 = 1e-3;
/// Spread of the height prior around the sensors' mean height, metres.
const HEIGHT_PRIOR_M: f64 = 50.0;
/// Reweighting rounds, and Gauss–Newton steps in each.
const ROUNDS: usize = 12;
const STEPS: usize = 8;

/// The peer's estimate of where the round was fired (east, north, metres), or `None` with
/// fewer than four pulses or when no start converges to a finite point.
pub fn fit(pulses: &[PeerPulse], speed_m_s: f64) -> Option<[f64; 2]> {
    if pulses.len() < 4 || speed_m_s.is_nan() || speed_m_s <= 0.0 {
        return None;
    }
    let n = pulses.len() as f64;
    let mean = |k: usize| pulses.iter().map(|p| p.at[k]).sum::<f64>() / n;
    let h0 = mean(2);
    let first = pulses.iter().min_by(|a, b| a.t_s.total_cmp(&b.t_s))?;
    let starts = [[mean(0), mean(1)], [first.at[0] + 1.0, first.at[1] + 1.0]];
    starts
        .iter()
        .filter_map(|s| irls(pulses, speed_m_s, [s[0], s[1], h0], h0))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(x, _)| [x[0], x[1]])
}

/// Iteratively reweighted least squares from `start` (east, north, up): the point and its
/// robust cost.
fn irls(pulses: &[PeerPulse], c: f64, start: [f64; 3], h0: f64) -> Option<([f64; 4], f64)> {
    let dist = |x: &[f64; 4], p: &PeerPulse| {
        let d = [p.at[0] - x[0], p.at[1] - x[1], p.at[2] - x[2]];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-3)
    };
    let mut x = [start[0], start[1], start[2], 0.0];
    // The emission time that best fits the start, as the median.
    let mut t0: Vec<f64> = pulses.iter().map(|p| p.t_s - dist(&x, p) / c).collect();
    x[3] = median(&mut t0);
    let mut weights = vec![1.0; pulses.len()];
    for _ in 0..ROUNDS {
        for _ in 0..STEPS {
            let mut a = [[0.0; 4]; 4];
            let mut g = [0.0; 4];
            for (p, w) in pulses.iter().zip(&weights) {
                let d = dist(&x, p);
                let r = p.t_s - x[3] - d / c;
                // d(model)/d(unknowns): the residual's Jacobian is its negative.
                let j = [
                    (x[0] - p.at[0]) / (d * c),
                    (x[1] - p.at[1]) / (d * c),
                    (x[2] - p.at[2]) / (d * c),
                    1.0,
                ];
                for row in 0..4 {
                    g[row] += w * j[row] * r;
                    for col in 0..4 {
                        a[row][col] += w * j[row] * j[col];
                    }
                }
            }
            // The height prior, in the residuals' units (seconds at the speed of sound).
            let prior_w = 1.0 / (HEIGHT_PRIOR_M * HEIGHT_PRIOR_M);
            a[2][2] += prior_w;
            g[2] += prior_w * (h0 - x[2]);
            let step = solve4(a, g)?;
            for k in 0..4 {
                x[k] += step[k];
            }
            if !x.iter().all(|v| v.is_finite()) {
                return None;
            }
            if step[0].hypot(step[1]) < 1e-4 {
                break;
            }
        }
        let residuals: Vec<f64> = pulses
            .iter()
            .map(|p| p.t_s - x[3] - dist(&x, p) / c)
            .collect();
        let scale = robust_scale(&residuals);
        weights = residuals
            .iter()
            .map(|r| {
                let z = (r / scale).abs();
                if z <= HUBER_K { 1.0 } else { HUBER_K / z }
            })
            .collect();
    }
    let residuals: Vec<f64> = pulses
        .iter()
        .map(|p| p.t_s - x[3] - dist(&x, p) / c)
        .collect();
    let scale = robust_scale(&residuals);
    let cost = residuals.iter().map(|r| huber(r / scale)).sum::<f64>();
    Some((x, cost))
}

/// 1.4826 × the median absolute deviation from the median, at least [`MIN_SCALE_S`].
fn robust_scale(residuals: &[f64]) -> f64 {
    let mut r = residuals.to_vec();
    let m = median(&mut r);
    let mut dev: Vec<f64> = residuals.iter().map(|v| (v - m).abs()).collect();
    (1.4826 * median(&mut dev)).max(MIN_SCALE_S)
}

fn huber(z: f64) -> f64 {
    let a = z.abs();
    if a <= HUBER_K {
        0.5 * a * a
    } else {
        HUBER_K * (a - 0.5 * HUBER_K)
    }
}

/// The median of `v` (sorted in place), 0 when empty.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Solves the 4×4 system `a·x = b` by Gaussian elimination with partial pivoting, with a
/// little Levenberg damping on the diagonal; `None` when singular.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for (k, row) in a.iter_mut().enumerate() {
        row[k] *= 1.0 + 1e-9;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = top[col];
        for (offset, r) in rest.iter_mut().enumerate() {
            let f = r[col] / pivot_row[col];
            for (v, p) in r.iter_mut().zip(pivot_row).skip(col) {
                *v -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = [0.0; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: f64 = 343.0;

    /// Sensors on a 6 km ring with some relief, hearing a source at `src` (east, north, up)
    /// emitted at t = 10 s.
    fn heard(src: [f64; 3], n: usize) -> Vec<PeerPulse> {
        (0..n)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / n as f64;
                let at = [
                    3000.0 * a.cos() + 400.0 * (3.0 * a).sin(),
                    3000.0 * a.sin(),
                    40.0 * (2.0 * a).cos(),
                ];
                let d = ((at[0] - src[0]).powi(2)
                    + (at[1] - src[1]).powi(2)
                    + (at[2] - src[2]).powi(2))
                .sqrt();
                PeerPulse {
                    at,
                    t_s: 10.0 + d / C,
                }
            })
            .collect()
    }

    #[test]
    fn exact_pulses_give_the_source() {
        let src = [700.0, -1200.0, 10.0];
        let fix = fit(&heard(src, 12), C).unwrap_or_else(|| panic!("no fit"));
        assert!(
            (fix[0] - src[0]).hypot(fix[1] - src[1]) < 0.5,
            "{fix:?} vs {src:?}"
        );
    }

    #[test]
    fn one_late_path_barely_moves_the_fit() {
        let src = [-500.0, 900.0, 0.0];
        let mut pulses = heard(src, 16);
        pulses[3].t_s += 0.200;
        let fix = fit(&pulses, C).unwrap_or_else(|| panic!("no fit"));
        let miss = (fix[0] - src[0]).hypot(fix[1] - src[1]);
        assert!(miss < 2.0, "Huber weights keep the late path out: {miss} m");
    }

    #[test]
    fn too_few_pulses_or_no_speed_give_nothing() {
        let pulses = heard([0.0, 0.0, 0.0], 3);
        assert_eq!(fit(&pulses, C), None);
        assert_eq!(fit(&heard([0.0, 0.0, 0.0], 8), 0.0), None);
    }
}
