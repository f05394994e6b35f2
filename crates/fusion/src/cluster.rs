//! Density clustering of report positions: exact DBSCAN on planar metric coordinates.
//!
//! [`dbscan`] groups points (UTM or local east-north-up metres, `[east, north]`) that are chained
//! by neighbours at most `eps_m` apart, the way scikit-learn's `DBSCAN` and geo's `Dbscan` do, and
//! gives the same labels they give: the same core points, the same clusters, numbered in the same
//! order, and border points assigned by the same rule.
//!
//! It is single-threaded and fast. The points are sorted into a uniform grid (a counting sort when
//! the grid is dense) of cells 0.7 `eps_m` wide, so the neighbours of a point lie in five
//! contiguous runs of the sorted array, one per row. Any two points of a cell are neighbours, so a
//! cell holding `min_points` points is all core, and the core points of a cell are one cluster;
//! clusters are then joined cell to cell with a union-find, and a pair of cells is searched for a
//! close pair of core points only while the two are not yet joined. Nothing is allocated per point.
//! When `eps_m` is too small for the coordinates' precision to place points in cells that finely,
//! the cell shortcuts are not taken and every close pair of core points is checked instead.

use std::fmt;

/// Why [`dbscan`] refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterError {
    /// `eps_m` was not a finite number greater than zero.
    Eps(f64),
    /// `min_points` was zero (the point itself always counts, so the least useful value is 1).
    MinPoints,
    /// The point at `index` had a coordinate that was NaN or infinite.
    Point {
        /// Position of the point in the input slice.
        index: usize,
        /// The point as given.
        point: [f64; 2],
    },
    /// More points than a `u32` can number.
    TooMany(usize),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eps(eps) => write!(f, "eps must be finite and > 0 metres, got {eps}"),
            Self::MinPoints => f.write_str("min_points must be at least 1"),
            Self::Point { index, point } => {
                write!(f, "point {index} is not finite: {point:?}")
            }
            Self::TooMany(n) => write!(f, "{n} points is more than {} ", u32::MAX),
        }
    }
}

impl std::error::Error for ClusterError {}

/// The result of [`dbscan`], indexed like the input points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    /// The cluster of each point, `None` for noise. Clusters are numbered `0..clusters` in the
    /// order of their lowest-indexed core point (scikit-learn's and geo's numbering).
    pub labels: Vec<Option<u32>>,
    /// Whether each point is a core point: at least `min_points` points, itself included, lie
    /// within `eps_m` of it.
    pub core: Vec<bool>,
    /// How many clusters there are.
    pub clusters: u32,
}

/// DBSCAN of `points` (`[east, north]` in metres, any planar metric frame).
///
/// Two points are neighbours when their squared distance is at most `eps_m²` (`dx² + dy² ≤ eps²`,
/// the test geo's `Dbscan` makes). A core point has at least `min_points` neighbours, counting
/// itself. Core points chained by neighbour links form a cluster; a non-core point within `eps_m`
/// of a core point is a border point and joins the lowest-numbered such cluster, which is the
/// cluster that reaches it first in scikit-learn's and geo's index-order expansion; the rest is
/// noise. The labels are therefore identical to theirs, not just the same partition.
///
/// Runs in O(n log n) time at worst, near O(n) on a dense grid, and O(n) memory.
pub fn dbscan(
    points: &[[f64; 2]],
    eps_m: f64,
    min_points: usize,
) -> Result<Clustering, ClusterError> {
    dbscan_with(points, eps_m, min_points, DENSE_CELLS_PER_POINT, true)
}

/// A dense grid is used when it has at most this many cells per point (and at least 2^16).
const DENSE_CELLS_PER_POINT: usize = 4;

/// Cell width over `eps`: below 1/√2, so a cell's diagonal is shorter than `eps` with room for
/// rounding, and above 1/2, so a neighbour is at most two cells away.
const CELL_PER_EPS: f64 = 0.7;

/// Cells per axis are kept below this, widening the cells if needed, so cell keys fit a `u64`.
const MAX_CELLS_PER_AXIS: f64 = 2_147_483_648.0;

/// The cell shortcuts are taken only when coordinates are at most this many `eps` from zero:
/// then rounding moves a point by under 1e-3 `eps` across a cell boundary, far within the
/// margin between 0.7 `eps` and `eps / √2`.
const TRUSTED_SCALE_PER_EPS: f64 = 1e11;

fn dbscan_with(
    points: &[[f64; 2]],
    eps_m: f64,
    min_points: usize,
    dense_cells_per_point: usize,
    allow_shortcuts: bool,
) -> Result<Clustering, ClusterError> {
    if !(eps_m.is_finite() && eps_m > 0.0) {
        return Err(ClusterError::Eps(eps_m));
    }
    if min_points == 0 {
        return Err(ClusterError::MinPoints);
    }
    let n = points.len();
    if n >= u32::MAX as usize {
        return Err(ClusterError::TooMany(n));
    }
    if let Some(index) = points
        .iter()
        .position(|p| !(p[0].is_finite() && p[1].is_finite()))
    {
        return Err(ClusterError::Point {
            index,
            point: points[index],
        });
    }
    if n == 0 {
        return Ok(Clustering {
            labels: Vec::new(),
            core: Vec::new(),
            clusters: 0,
        });
    }

    let grid = Grid::new(points, eps_m, dense_cells_per_point);
    let shortcuts = allow_shortcuts && grid.cells_are_cliques;
    let eps2 = eps_m * eps_m;
    let close = |p: [f64; 2], q: [f64; 2]| {
        let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
        dx * dx + dy * dy <= eps2
    };
    let xy = &grid.xy;
    let span = |cells: (u32, u32)| grid.points(cells.0, cells.1);

    // Core points, in sorted order. Own row first: most neighbours are in the point's own cell.
    let mut core = vec![false; n];
    for (c, cell) in grid.cells.iter().enumerate() {
        let own = span((c as u32, c as u32 + 1));
        if shortcuts && own.len() >= min_points {
            core[own].fill(true);
            continue;
        }
        for i in own {
            let mut count = 0;
            'rows: for &row in &cell.rows {
                for &q in &xy[span(row)] {
                    if close(xy[i], q) {
                        count += 1;
                        if count >= min_points {
                            core[i] = true;
                            break 'rows;
                        }
                    }
                }
            }
        }
    }

    // Join close core points; the smaller root becomes the parent, which with path halving
    // keeps the trees shallow. Each pair of cells or points once: later cells of the own row,
    // and the two rows above.
    let mut parent: Vec<u32> = (0..n as u32).collect();
    if shortcuts {
        let mut first_core = vec![u32::MAX; grid.cells.len()];
        for (c, first) in first_core.iter_mut().enumerate() {
            let own = span((c as u32, c as u32 + 1));
            if let Some(k) = core[own.clone()].iter().position(|&b| b) {
                *first = (own.start + k) as u32;
                for j in own.start + k + 1..own.end {
                    if core[j] {
                        parent[j] = *first;
                    }
                }
            }
        }
        let any_close_core_pair = |a: std::ops::Range<usize>, b: std::ops::Range<usize>| {
            a.filter(|&i| core[i]).any(|i| {
                let p = xy[i];
                b.clone().any(|j| core[j] && close(p, xy[j]))
            })
        };
        for (c, cell) in grid.cells.iter().enumerate() {
            if first_core[c] == u32::MAX {
                continue;
            }
            let own = span((c as u32, c as u32 + 1));
            for (lo, hi) in [(c as u32 + 1, cell.rows[0].1), cell.rows[1], cell.rows[2]] {
                for d in lo..hi {
                    if first_core[d as usize] == u32::MAX {
                        continue;
                    }
                    let a = find(&mut parent, first_core[c]);
                    let b = find(&mut parent, first_core[d as usize]);
                    if a != b && any_close_core_pair(own.clone(), span((d, d + 1))) {
                        parent[a.max(b) as usize] = a.min(b);
                    }
                }
            }
        }
    } else {
        for (c, cell) in grid.cells.iter().enumerate() {
            let own_row_end = span(cell.rows[0]).end;
            for i in span((c as u32, c as u32 + 1)) {
                if !core[i] {
                    continue;
                }
                let mut root = find(&mut parent, i as u32);
                for run in [i + 1..own_row_end, span(cell.rows[1]), span(cell.rows[2])] {
                    for j in run {
                        if core[j] && close(xy[i], xy[j]) {
                            let other = find(&mut parent, j as u32);
                            if other != root {
                                parent[root.max(other) as usize] = root.min(other);
                                root = root.min(other);
                            }
                        }
                    }
                }
            }
        }
    }

    // Number the clusters by their lowest input index, as an index-order expansion would.
    let mut first = vec![u32::MAX; n];
    for (i, &original) in grid.order.iter().enumerate() {
        if core[i] {
            let root = find(&mut parent, i as u32) as usize;
            first[root] = first[root].min(original);
        }
    }
    let mut roots: Vec<u32> = (0..n as u32)
        .filter(|&r| first[r as usize] != u32::MAX)
        .collect();
    roots.sort_unstable_by_key(|&r| first[r as usize]);
    let mut id = vec![u32::MAX; n];
    for (k, &r) in roots.iter().enumerate() {
        id[r as usize] = k as u32;
    }

    let mut labels = vec![None; n];
    let mut core_out = vec![false; n];
    for (c, cell) in grid.cells.iter().enumerate() {
        for i in span((c as u32, c as u32 + 1)) {
            let original = grid.order[i] as usize;
            if core[i] {
                core_out[original] = true;
                labels[original] = Some(id[find(&mut parent, i as u32) as usize]);
                continue;
            }
            // A border point joins the lowest-numbered cluster with a core point in reach.
            let mut best = u32::MAX;
            for &row in &cell.rows {
                for j in span(row) {
                    if core[j] && close(xy[i], xy[j]) {
                        best = best.min(id[find(&mut parent, j as u32) as usize]);
                    }
                }
            }
            labels[original] = (best != u32::MAX).then_some(best);
        }
    }
    Ok(Clustering {
        labels,
        core: core_out,
        clusters: roots.len() as u32,
    })
}

/// Root of `i`'s set, halving the path on the way.
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let grand = parent[parent[i as usize] as usize];
        parent[i as usize] = grand;
        i = grand;
    }
    i
}

/// The points sorted by grid cell (row-major), and for each non-empty cell the cells that can
/// hold its neighbours.
struct Grid {
    /// Coordinates in sorted order.
    xy: Vec<[f64; 2]>,
    /// Input index of each sorted point.
    order: Vec<u32>,
    /// Where each non-empty cell's points start in sorted order, then `n`.
    starts: Vec<u32>,
    /// The non-empty cells, in sorted order.
    cells: Vec<Cell>,
    /// Whether any two points of one cell are surely within `eps` (cells 0.7 `eps` wide, and
    /// coordinates precise enough that rounding cannot spoil it).
    cells_are_cliques: bool,
}

struct Cell {
    /// Ranges of cell indices holding the cells two left to two right of this one, in the own
    /// row, one and two rows above, one and two rows below (empty when off the grid).
    rows: [(u32, u32); 5],
}

impl Grid {
    /// The sorted-order points of cells `lo..hi`.
    fn points(&self, lo: u32, hi: u32) -> std::ops::Range<usize> {
        self.starts[lo as usize] as usize..self.starts[hi as usize] as usize
    }

    fn new(points: &[[f64; 2]], eps_m: f64, dense_cells_per_point: usize) -> Self {
        let n = points.len();
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points {
            for a in 0..2 {
                min[a] = min[a].min(p[a]);
                max[a] = max[a].max(p[a]);
            }
        }
        let widest = (max[0] - min[0]).max(max[1] - min[1]);
        let scale = [min[0], min[1], max[0], max[1]]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        // At least 0.7 eps, so every neighbour is within two cells; wider if the cell keys would
        // overflow or rounding (2^-52 of the coordinates) would be a noticeable part of a cell.
        let fine = eps_m * CELL_PER_EPS;
        let size = fine
            .max(widest / (MAX_CELLS_PER_AXIS - 2.0))
            .max(scale * 2f64.powi(-40));
        let cells_are_cliques = size == fine && scale <= eps_m * TRUSTED_SCALE_PER_EPS;
        let cell_of =
            |v: f64, a: usize| (((v - min[a]) / size) as u64).min(MAX_CELLS_PER_AXIS as u64);
        let cols = cell_of(max[0], 0) + 1;
        let rows = cell_of(max[1], 1) + 1;
        let keys: Vec<u64> = points
            .iter()
            .map(|p| cell_of(p[1], 1) * cols + cell_of(p[0], 0))
            .collect();

        let cell_count = cols.saturating_mul(rows);
        let dense = cell_count <= (n.saturating_mul(dense_cells_per_point)).max(1 << 16) as u64;
        // On a dense grid, the number of non-empty cells before each key, to find cells by key.
        let mut cells_before = Vec::new();
        let order: Vec<u32> = if dense {
            // Counting sort; stable, so equal cells keep input order.
            let mut next = vec![0u32; cell_count as usize + 1];
            for &k in &keys {
                next[k as usize + 1] += 1;
            }
            cells_before = vec![0u32; cell_count as usize + 1];
            for c in 0..cell_count as usize {
                cells_before[c + 1] = cells_before[c] + u32::from(next[c + 1] > 0);
                next[c + 1] += next[c];
            }
            let mut order = vec![0u32; n];
            for (i, &k) in keys.iter().enumerate() {
                let slot = &mut next[k as usize];
                order[*slot as usize] = i as u32;
                *slot += 1;
            }
            order
        } else {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_by_key(|&i| keys[i as usize]);
            order
        };

        let xy: Vec<[f64; 2]> = order.iter().map(|&i| points[i as usize]).collect();
        let mut cell_keys = Vec::new();
        let mut starts = Vec::new();
        for (i, &o) in order.iter().enumerate() {
            let k = keys[o as usize];
            if cell_keys.last() != Some(&k) {
                cell_keys.push(k);
                starts.push(i as u32);
            }
        }
        starts.push(n as u32);
        // Index of the first cell whose key is >= k.
        let at = |k: u64| {
            if dense {
                cells_before[k as usize]
            } else {
                cell_keys.partition_point(|&c| c < k) as u32
            }
        };

        let cells = cell_keys
            .iter()
            .map(|&key| {
                let (row, col) = (key / cols, key % cols);
                let run = |r: Option<u64>| match r {
                    Some(r) if r < rows => {
                        let lo = r * cols + col.saturating_sub(2);
                        let hi = r * cols + (col + 2).min(cols - 1);
                        (at(lo), at(hi + 1))
                    }
                    _ => (0, 0),
                };
                Cell {
                    rows: [
                        run(Some(row)),
                        run(Some(row + 1)),
                        run(Some(row + 2)),
                        row.checked_sub(1).map_or((0, 0), |r| run(Some(r))),
                        row.checked_sub(2).map_or((0, 0), |r| run(Some(r))),
                    ],
                }
            })
            .collect();
        Self {
            xy,
            order,
            starts,
            cells,
            cells_are_cliques,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// DBSCAN as scikit-learn writes it: all-pairs neighbourhoods, then depth-first expansion
    /// from each unlabelled core point in index order; a point takes the first label it gets.
    fn brute(points: &[[f64; 2]], eps: f64, min_points: usize) -> Clustering {
        let n = points.len();
        let near = |i: usize, j: usize| {
            let dx = points[i][0] - points[j][0];
            let dy = points[i][1] - points[j][1];
            dx * dx + dy * dy <= eps * eps
        };
        let hoods: Vec<Vec<usize>> = (0..n)
            .map(|i| (0..n).filter(|&j| near(i, j)).collect())
            .collect();
        let core: Vec<bool> = hoods.iter().map(|h| h.len() >= min_points).collect();
        let mut labels: Vec<Option<u32>> = vec![None; n];
        let mut next = 0;
        for seed in 0..n {
            if labels[seed].is_some() || !core[seed] {
                continue;
            }
            let mut stack = vec![seed];
            while let Some(i) = stack.pop() {
                if labels[i].is_some() {
                    continue;
                }
                labels[i] = Some(next);
                if core[i] {
                    stack.extend(hoods[i].iter().copied().filter(|&j| labels[j].is_none()));
                }
            }
            next += 1;
        }
        Clustering {
            labels,
            core,
            clusters: next,
        }
    }

    /// Checks `dbscan` against the brute force on both grid layouts, with and without shortcuts.
    fn check(points: &[[f64; 2]], eps: f64, min_points: usize) -> Clustering {
        let expected = brute(points, eps, min_points);
        let dense = dbscan(points, eps, min_points).unwrap();
        assert_eq!(dense, expected, "dense grid");
        let sparse = dbscan_with(points, eps, min_points, 0, true).unwrap();
        assert_eq!(sparse, expected, "sorted grid");
        let pairwise = dbscan_with(points, eps, min_points, DENSE_CELLS_PER_POINT, false).unwrap();
        assert_eq!(pairwise, expected, "without the cell shortcuts");
        dense
    }

    #[test]
    fn two_blobs_and_noise() {
        let mut points = Vec::new();
        for k in 0..5 {
            points.push([1000.0 + k as f64 * 10.0, 2000.0]);
            points.push([5000.0, -300.0 + k as f64 * 10.0]);
        }
        points.push([3000.0, 3000.0]);
        points.push([-7000.0, 2000.0]);
        let c = check(&points, 50.0, 3);
        assert_eq!(c.clusters, 2);
        assert_eq!(c.labels[0], Some(0));
        assert_eq!(c.labels[1], Some(1));
        assert_eq!(&c.labels[10..], &[None, None]);
    }

    #[test]
    fn chain_at_exactly_eps_is_one_cluster() {
        // Integral metres, so the squared distances are exact: 100² ≤ 100², 100.5² > 100².
        let chain: Vec<[f64; 2]> = (0..20).map(|k| [k as f64 * 100.0, 0.0]).collect();
        let c = check(&chain, 100.0, 2);
        assert_eq!(c.clusters, 1);
        assert!(c.labels.iter().all(|&l| l == Some(0)));
        let c = check(&chain, 99.999, 2);
        assert_eq!(c.clusters, 0);
        assert!(c.labels.iter().all(Option::is_none));
    }

    #[test]
    fn min_points_one_makes_every_point_core() {
        let points = [[0.0, 0.0], [5.0, 0.0], [100.0, 100.0]];
        let c = check(&points, 10.0, 1);
        assert_eq!(c.labels, vec![Some(0), Some(0), Some(1)]);
        assert!(c.core.iter().all(|&b| b));
    }

    #[test]
    fn border_point_joins_the_lower_numbered_cluster() {
        // Two tight squares of core points 40 m apart, and between them, exactly 20 m from
        // each, a point that is core for neither (3 neighbours < 4). The right square holds
        // the lower index, so it is cluster 0, and the border point joins it.
        let points = [
            [20.0, 0.0],
            [40.0, 0.0],
            [41.0, 1.0],
            [41.0, -1.0],
            [42.0, 0.0],
            [0.0, 0.0],
            [-1.0, 1.0],
            [-1.0, -1.0],
            [-2.0, 0.0],
        ];
        let c = check(&points, 20.0, 4);
        assert_eq!(
            c.core,
            [false, true, true, true, true, true, true, true, true]
        );
        assert_eq!(c.labels[0], Some(0));
        assert_eq!(c.labels[5], Some(1));
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(dbscan(&[], 0.0, 2), Err(ClusterError::Eps(0.0)));
        assert_eq!(dbscan(&[], 1.0, 0), Err(ClusterError::MinPoints));
        let bad = [[0.0, 0.0], [f64::NAN, 1.0]];
        assert!(matches!(
            dbscan(&bad, 1.0, 2),
            Err(ClusterError::Point { index: 1, .. })
        ));
        assert_eq!(dbscan(&[], 1.0, 2).unwrap().clusters, 0);
    }

    #[test]
    fn tiny_eps_over_a_huge_extent_widens_the_cells() {
        let points = [[0.0, 0.0], [1e-9, 0.0], [1e12, 1e12], [1e12, 1e12 + 1e-3]];
        let c = check(&points, 1e-6, 2);
        assert_eq!(c.labels, vec![Some(0), Some(0), None, None]);
    }

    proptest! {
        #[test]
        fn equals_brute_force(
            points in prop::collection::vec((0u32..60, 0u32..60, 0.0f64..10.0, 0.0f64..10.0), 0..300),
            eps in 1.0f64..25.0,
            min_points in 1usize..6,
        ) {
            // Clumps on a coarse lattice, plus some exactly repeated points and lattice distances.
            let points: Vec<[f64; 2]> = points
                .iter()
                .map(|&(a, b, dx, dy)| [f64::from(a) * 5.0 + dx.floor(), f64::from(b) * 5.0 + dy])
                .collect();
            check(&points, eps.round().max(1.0), min_points);
            check(&points, eps, min_points);
        }
    }
}
