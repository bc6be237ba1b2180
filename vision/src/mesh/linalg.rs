//! The little linear algebra the mesh geometry needs: eigenvectors of small
//! symmetric matrices, by cyclic Jacobi rotations.
//!
//! Both fits here (the homography's null vector, the rotation's quaternion)
//! reduce to the eigenvector of a symmetric matrix of at most 9x9, for which
//! Jacobi is exact to rounding and short enough not to need a crate.

/// Eigenvalues and eigenvectors of the symmetric `N`x`N` matrix `a`:
/// `(values, vectors)` with `vectors[k]` the unit eigenvector of `values[k]`,
/// sorted by increasing eigenvalue.
// Indices, as in the textbook rotation: each step mixes two rows and two
// columns of the same matrix, which iterators cannot borrow at once.
#[allow(clippy::needless_range_loop)]
pub(crate) fn symmetric_eigen<const N: usize>(mut a: [[f64; N]; N]) -> ([f64; N], [[f64; N]; N]) {
    let mut v = [[0.0; N]; N];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..64 {
        let off: f64 = (0..N)
            .flat_map(|p| (p + 1..N).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let scale: f64 = (0..N).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..N {
            for q in p + 1..N {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub and Van Loan 8.4).
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..N {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..N {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: [usize; N] = [0; N];
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    order.sort_by(|&i, &j| a[i][i].total_cmp(&a[j][j]));
    let mut values = [0.0; N];
    let mut vectors = [[0.0; N]; N];
    for (k, &i) in order.iter().enumerate() {
        values[k] = a[i][i];
        for (r, row) in v.iter().enumerate() {
            vectors[k][r] = row[i];
        }
    }
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvectors_of_a_known_matrix() {
        let a = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]];
        let (values, vectors) = symmetric_eigen(a);
        assert!((values[0] - 1.0).abs() < 1e-12);
        assert!((values[1] - 3.0).abs() < 1e-12);
        assert!((values[2] - 5.0).abs() < 1e-12);
        let v = vectors[0];
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((v[0].abs() - h).abs() < 1e-12 && (v[0] + v[1]).abs() < 1e-12);
        // A v = lambda v for every pair.
        for k in 0..3 {
            for r in 0..3 {
                let av: f64 = (0..3).map(|c| a[r][c] * vectors[k][c]).sum();
                assert!((av - values[k] * vectors[k][r]).abs() < 1e-12);
            }
        }
    }
}
