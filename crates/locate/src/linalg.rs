//! Hand-written algebra for the at most 7x7 systems the estimators need (east, north, emission
//! time, source height, wind east and north, speed of sound): faster to compile than a matrix
//! crate and small enough to check by eye.

/// Most unknowns of any fit: east, north, emission time, source height, wind east, wind north,
/// the speed of sound's offset.
pub(crate) const N: usize = 7;

/// A square matrix of which only the leading `k`x`k` block (k ≤ 7) is used.
pub(crate) type Mat = [[f64; N]; N];

/// A vector of which only the leading `k` entries are used.
pub(crate) type Vector = [f64; N];

/// Solves the leading `k`x`k` block of `a x = b` by Gaussian elimination with partial pivoting.
/// `None` when the block is singular to working precision.
pub(crate) fn solve(a: &Mat, b: &Vector, k: usize) -> Option<Vector> {
    let mut x = [*b];
    solve_each(a, &mut x, k).then_some(x[0])
}

/// Solves the leading `k`x`k` block of `a x = b` for each `b` of `bs` in place, eliminating
/// once: each result is bit for bit what [`solve`] gives for that `b` alone (the same pivots
/// and the same operations, in the same order). `false` when the block is singular to working
/// precision or any result is not finite.
fn solve_each(a: &Mat, bs: &mut [Vector], k: usize) -> bool {
    // The size fixed at compile time lets each loop unroll: the operations and their order
    // are the same for every size, so the results are too, to the bit.
    match k {
        1 => solve_each_of::<1>(a, bs),
        2 => solve_each_of::<2>(a, bs),
        3 => solve_each_of::<3>(a, bs),
        4 => solve_each_of::<4>(a, bs),
        5 => solve_each_of::<5>(a, bs),
        6 => solve_each_of::<6>(a, bs),
        7 => solve_each_of::<7>(a, bs),
        _ => false,
    }
}

/// [`solve_each`] for the leading `K`x`K` block and at most `N` vectors: the block and the
/// vectors' leading `K` entries copied out (not the whole `N`x`N` matrix), solved, and copied
/// back.
fn solve_each_of<const K: usize>(a: &Mat, bs: &mut [Vector]) -> bool {
    let m: [[f64; K]; K] = std::array::from_fn(|i| std::array::from_fn(|j| a[i][j]));
    let mut held = [[0.0; K]; N];
    let Some(xs) = held.get_mut(..bs.len()) else {
        return false;
    };
    for (x, b) in xs.iter_mut().zip(bs.iter()) {
        x.copy_from_slice(&b[..K]);
    }
    let solved = solve_block(m, xs);
    for (b, x) in bs.iter_mut().zip(xs.iter()) {
        b[..K].copy_from_slice(x);
    }
    solved
}

/// Solves `m x = b` for each `b` of `xs` in place, by one Gaussian elimination with partial
/// pivoting: `false` when `m` is singular to working precision or any result is not finite.
pub(crate) fn solve_block<const K: usize>(mut m: [[f64; K]; K], xs: &mut [[f64; K]]) -> bool {
    let scale = m.iter().flatten().fold(0.0_f64, |s, v| s.max(v.abs()));
    for col in 0..K {
        let Some(pivot) = (col..K).max_by(|&p, &q| m[p][col].abs().total_cmp(&m[q][col].abs()))
        else {
            return false;
        };
        // Relative to the block's largest entry: the blocks mix s² and m² scales, so an
        // absolute tolerance would be meaningless.
        if m[pivot][col].abs() <= 1e-14 * scale || m[pivot][col].is_nan() {
            return false;
        }
        m.swap(col, pivot);
        for x in xs.iter_mut() {
            x.swap(col, pivot);
        }
        for row in col + 1..K {
            let f = m[row][col] / m[col][col];
            let pivot_row = m[col];
            for (c, v) in m[row].iter_mut().enumerate().skip(col) {
                *v -= f * pivot_row[c];
            }
            for x in xs.iter_mut() {
                x[row] -= f * x[col];
            }
        }
    }
    for x in xs.iter_mut() {
        for row in (0..K).rev() {
            let s: f64 = (row + 1..K).map(|c| m[row][c] * x[c]).sum();
            x[row] = (x[row] - s) / m[row][row];
        }
    }
    xs.iter().all(|x| x.iter().all(|v| v.is_finite()))
}

/// The inverse of the leading `k`x`k` block, column by column from one elimination (each
/// column bit for bit [`solve`]'s for that unit vector).
pub(crate) fn inverse(a: &Mat, k: usize) -> Option<Mat> {
    let mut columns = [[0.0; N]; N];
    for (c, e) in columns.iter_mut().enumerate().take(k) {
        e[c] = 1.0;
    }
    if !solve_each(a, &mut columns[..k], k) {
        return None;
    }
    let mut inv = [[0.0; N]; N];
    for (c, col) in columns.iter().enumerate().take(k) {
        for r in 0..k {
            inv[r][c] = col[r];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)] // matrix products read best with indices
    fn inverse_of_a_mixed_scale_matrix() {
        let mut a = [[0.0; N]; N];
        a[0][..3].copy_from_slice(&[4.0e-6, 1.0e-6, 2.0e-3]);
        a[1][..3].copy_from_slice(&[1.0e-6, 3.0e-6, 1.0e-3]);
        a[2][..3].copy_from_slice(&[2.0e-3, 1.0e-3, 5.0]);
        let inv = inverse(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a[i][k] * inv[k][j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((p - want).abs() < 1e-9, "{i}{j}: {p}");
            }
        }
    }

    #[test]
    fn the_inverse_is_each_columns_solve_to_the_bit() {
        let mut a = [[0.0; N]; N];
        let rows: [[f64; 5]; 5] = [
            [4.0e-6, 1.0e-6, 2.0e-3, 0.3, -1.0e-7],
            [1.0e-6, 3.0e-6, 1.0e-3, -0.1, 2.0e-7],
            [2.0e-3, 1.0e-3, 5.0, 0.7, 0.01],
            [0.3, -0.1, 0.7, 9.0, 0.2],
            [-1.0e-7, 2.0e-7, 0.01, 0.2, 3.0e-4],
        ];
        for (row, values) in a.iter_mut().zip(rows) {
            row[..5].copy_from_slice(&values);
        }
        let inv = inverse(&a, 5).unwrap();
        for c in 0..5 {
            let mut e = [0.0; N];
            e[c] = 1.0;
            let col = solve(&a, &e, 5).unwrap();
            for r in 0..5 {
                assert_eq!(inv[r][c].to_bits(), col[r].to_bits(), "{r}{c}");
            }
        }
    }

    #[test]
    fn singular_block_is_refused() {
        let mut a = [[0.0; N]; N];
        a[0][..2].copy_from_slice(&[1.0, 2.0]);
        a[1][..2].copy_from_slice(&[2.0, 4.0]);
        assert!(solve(&a, &[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 2).is_none());
    }
}
