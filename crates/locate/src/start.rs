//! Closed-form starting points for the iteration: the information-weighted mean of position
//! reports, Stansfield's pseudo-linear bearing intersection, a point along a ranged bearing, and
//! the linearised spherical intersection for arrival times.

use crate::linalg::{N, Vector, solve};
use crate::model::Problem;
use crate::{ArrivalMeasurement, BearingMeasurement};

/// The information-weighted mean of the reports: `(Σ Wᵢ)⁻¹ Σ Wᵢ xᵢ`.
pub(crate) fn points_mean(problem: &Problem) -> Option<[f64; 2]> {
    if problem.points.is_empty() {
        return None;
    }
    let mut a = [[0.0; N]; N];
    let mut b = [0.0; N];
    for (at, w) in &problem.points {
        a[0][0] += w.ee;
        a[0][1] += w.en;
        a[1][0] += w.en;
        a[1][1] += w.nn;
        let wx = w.apply((at[0], at[1]));
        b[0] += wx.0;
        b[1] += wx.1;
    }
    solve(&a, &b, 2).map(|x| [x[0], x[1]])
}

/// Stansfield's weighted pseudo-linear least squares over two or more bearings: each bearing is
/// the line `nᵢ·(x − sᵢ) = 0` with normal `nᵢ = (cos θᵢ, −sin θᵢ)`, weighted by `1/(σᵢ² r̂ᵢ²)`;
/// the weights are refined twice with ranges from the current estimate.
pub(crate) fn stansfield(bearings: &[BearingMeasurement]) -> Option<[f64; 2]> {
    if bearings.len() < 2 {
        return None;
    }
    let mut x: Option<[f64; 2]> = None;
    for _ in 0..3 {
        let mut a = [[0.0; N]; N];
        let mut rhs = [0.0; N];
        for b in bearings {
            let (s, c) = b.azimuth_rad.sin_cos();
            let n = [c, -s];
            let r2 = match x {
                Some(x) => {
                    let (de, dn) = (x[0] - b.observer[0], x[1] - b.observer[1]);
                    (de * de + dn * dn).max(1.0)
                }
                None => 1.0,
            };
            let w = 1.0 / (b.sigma_rad.powi(2) * r2);
            let ns = n[0] * b.observer[0] + n[1] * b.observer[1];
            for i in 0..2 {
                rhs[i] += w * n[i] * ns;
                for j in 0..2 {
                    a[i][j] += w * n[i] * n[j];
                }
            }
        }
        let next = solve(&a, &rhs, 2)?;
        x = Some([next[0], next[1]]);
    }
    x
}

/// The point `range` metres along each ranged bearing.
pub(crate) fn ranged_points(bearings: &[BearingMeasurement]) -> impl Iterator<Item = [f64; 2]> {
    bearings.iter().filter_map(|b| {
        let r = b.range?.mean_m;
        let (s, c) = b.azimuth_rad.sin_cos();
        Some([b.observer[0] + r * s, b.observer[1] + r * c])
    })
}

/// Points along a bearing at ranges from 100 m to 30 km: the last resort when nothing else
/// gives a start (a lone bearing crossing arrivals too few to solve by themselves).
pub(crate) fn along_bearing(b: &BearingMeasurement) -> impl Iterator<Item = [f64; 2]> {
    let (s, c) = b.azimuth_rad.sin_cos();
    [100.0, 300.0, 1000.0, 3000.0, 10_000.0, 30_000.0]
        .into_iter()
        .map(move |r| [b.observer[0] + r * s, b.observer[1] + r * c])
}

/// The linearised spherical intersection for four or more arrivals: subtracting the earliest
/// arrival's equation `‖x − sᵢ‖² = c²(tᵢ − t₀)²` from the others leaves equations linear in
/// east, north and `c·t₀`, solved by least squares. Exact without noise when the source
/// height is known. Returns east, north, emission time and the height (the surface's there,
/// when it is free).
pub(crate) fn spherical_intersection(problem: &Problem) -> Option<Vector> {
    let active: Vec<&ArrivalMeasurement> = problem.active_arrivals().map(|(_, a)| a).collect();
    if active.len() < 4 {
        return None;
    }
    let c = problem.speed;
    let n = active.len() as f64;
    // Centre the sensors and the times for conditioning.
    let centre = [0, 1, 2].map(|k| active.iter().map(|a| a.sensor[k]).sum::<f64>() / n);
    let reference = active
        .iter()
        .min_by(|a, b| a.time_s.total_cmp(&b.time_s))
        .copied()?;
    let t_ref = reference.time_s;
    // The height of the source: the surface's under the sensors' centre when it is free.
    let h = match &problem.surface {
        Some(s) if problem.height_free() => s.up_at([centre[0], centre[1]]),
        _ => problem.source_height,
    } - centre[2];
    let rel = |a: &ArrivalMeasurement| {
        let s = [
            a.sensor[0] - centre[0],
            a.sensor[1] - centre[1],
            a.sensor[2] - centre[2],
        ];
        (s, c * (a.time_s - t_ref))
    };
    let (s0, d0) = rel(reference);
    let norm2 = |s: [f64; 3]| s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
    let mut ata = [[0.0; N]; N];
    let mut atb = [0.0; N];
    for a in &active {
        let (s, d) = rel(a);
        // Unknowns: east, north, c·t₀ (all metres).
        let row = [2.0 * (s[0] - s0[0]), 2.0 * (s[1] - s0[1]), -2.0 * (d - d0)];
        let rhs = norm2(s) - norm2(s0) - 2.0 * (s[2] - s0[2]) * h - (d * d - d0 * d0);
        for i in 0..3 {
            atb[i] += row[i] * rhs;
            for j in 0..3 {
                ata[i][j] += row[i] * row[j];
            }
        }
    }
    let x = solve(&ata, &atb, 3)?;
    let at = [x[0] + centre[0], x[1] + centre[1]];
    Some(problem.at(at, t_ref + x[2] / c))
}
