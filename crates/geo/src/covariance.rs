//! 2x2 position covariances in a local east-north plane and their 95% ellipses.

/// √(−2 ln 0.05) ≈ 2.4477: the factor from one standard deviation to the 95% contour of a 2-D
/// Gaussian (chi-square with 2 degrees of freedom).
pub const SCALE_95: f64 = 2.447_746_830_680_816;

/// −2 ln 0.05 ≈ 5.9915: the squared Mahalanobis radius of the 95% contour of a 2-D Gaussian
/// (the 95% point of chi-square with 2 degrees of freedom), `SCALE_95²`.
pub const D2_95: f64 = 5.991_464_547_107_979;

/// A symmetric 2x2 covariance in square metres, east-north order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cov2 {
    /// Variance east, m².
    pub ee: f64,
    /// Covariance east-north, m².
    pub en: f64,
    /// Variance north, m².
    pub nn: f64,
}

/// A 95% ellipse: semi-axes in metres, major-axis azimuth in degrees from north, 0 to 180.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Semi-major axis, metres.
    pub semi_major_m: f64,
    /// Semi-minor axis, metres.
    pub semi_minor_m: f64,
    /// Azimuth of the major axis, degrees clockwise from north, in [0, 180).
    pub azimuth_deg: f64,
}

impl Cov2 {
    /// A circular covariance with standard deviation `sigma_m` in every direction.
    pub fn circular(sigma_m: f64) -> Self {
        let v = sigma_m * sigma_m;
        Self {
            ee: v,
            en: 0.0,
            nn: v,
        }
    }

    /// The covariance with standard deviations `along_m` in direction `azimuth_deg` and
    /// `across_m` perpendicular to it.
    pub fn oriented(azimuth_deg: f64, along_m: f64, across_m: f64) -> Self {
        let (s, c) = azimuth_deg.to_radians().sin_cos();
        // Unit along-vector in (east, north) is (sin az, cos az).
        let (a2, c2) = (along_m * along_m, across_m * across_m);
        Self {
            ee: a2 * s * s + c2 * c * c,
            en: (a2 - c2) * s * c,
            nn: a2 * c * c + c2 * s * s,
        }
    }

    /// The sum of two covariances (independent errors add).
    pub fn plus(self, o: Cov2) -> Cov2 {
        Cov2 {
            ee: self.ee + o.ee,
            en: self.en + o.en,
            nn: self.nn + o.nn,
        }
    }

    /// The covariance times `factor` (every variance scaled alike, m²).
    pub fn scaled(self, factor: f64) -> Cov2 {
        Cov2 {
            ee: self.ee * factor,
            en: self.en * factor,
            nn: self.nn * factor,
        }
    }

    /// The determinant, m⁴.
    pub fn det(self) -> f64 {
        self.ee * self.nn - self.en * self.en
    }

    /// The inverse (information matrix), if the covariance is positive definite.
    pub fn inverse(self) -> Option<Cov2> {
        let d = self.det();
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        Some(Cov2 {
            ee: self.nn / d,
            en: -self.en / d,
            nn: self.ee / d,
        })
    }

    /// The squared Mahalanobis distance of offset `v` (east, north, metres): `vᵀ C⁻¹ v`, at
    /// most [`D2_95`] inside the 95% ellipse; `None` when the covariance is not positive
    /// definite.
    pub fn mahalanobis2(self, v: (f64, f64)) -> Option<f64> {
        let (x, y) = self.inverse()?.apply(v);
        Some(v.0 * x + v.1 * y)
    }

    /// The matrix times a vector (east, north).
    pub fn apply(self, v: (f64, f64)) -> (f64, f64) {
        (self.ee * v.0 + self.en * v.1, self.en * v.0 + self.nn * v.1)
    }

    /// The eigenvalues, largest first.
    pub fn eigenvalues(self) -> (f64, f64) {
        let mean = 0.5 * (self.ee + self.nn);
        let r = (0.25 * (self.ee - self.nn).powi(2) + self.en * self.en).sqrt();
        (mean + r, (mean - r).max(0.0))
    }

    /// The 95% ellipse.
    pub fn ellipse_95(self) -> Ellipse {
        let (l1, l2) = self.eigenvalues();
        // Major-axis direction: angle from east is ½·atan2(2·en, ee − nn); azimuth from north is
        // 90° minus that.
        let from_east = 0.5 * (2.0 * self.en).atan2(self.ee - self.nn);
        let azimuth = (90.0 - from_east.to_degrees()).rem_euclid(180.0);
        Ellipse {
            semi_major_m: SCALE_95 * l1.sqrt(),
            semi_minor_m: SCALE_95 * l2.sqrt(),
            azimuth_deg: azimuth,
        }
    }

    /// Half the width of the 95% ellipse measured along unit direction `u` (east, north): its
    /// support function. Two ellipses overlap exactly when, in every direction, the distance
    /// between centres is at most the sum of their half-widths.
    pub fn half_width_95(self, u: (f64, f64)) -> f64 {
        let (a, b) = self.apply(u);
        SCALE_95 * (u.0 * a + u.1 * b).max(0.0).sqrt()
    }

    /// Points of the 95% ellipse around the origin, (east, north) metres, `n` of them.
    pub fn ellipse_points(self, n: usize) -> Vec<(f64, f64)> {
        let e = self.ellipse_95();
        let (s, c) = e.azimuth_deg.to_radians().sin_cos();
        (0..n)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / n as f64;
                let (along, across) = (e.semi_major_m * t.cos(), e.semi_minor_m * t.sin());
                // along-axis unit (sin az, cos az); across-axis unit (cos az, −sin az).
                (along * s + across * c, along * c - across * s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn oriented_covariance_gives_back_its_axes() {
        let cov = Cov2::oriented(30.0, 100.0, 10.0);
        let e = cov.ellipse_95();
        assert!((e.semi_major_m - 100.0 * SCALE_95).abs() < 1e-6);
        assert!((e.semi_minor_m - 10.0 * SCALE_95).abs() < 1e-6);
        assert!((e.azimuth_deg - 30.0).abs() < 1e-9);
        let e = Cov2::oriented(300.0, 50.0, 20.0).ellipse_95();
        assert!((e.azimuth_deg - 120.0).abs() < 1e-9, "{}", e.azimuth_deg);
    }

    #[test]
    fn scale_95_is_the_chi_square_quantile() {
        // P(chi2_2 <= k²) = 1 − exp(−k²/2) = 0.95.
        assert!((1.0 - (-SCALE_95 * SCALE_95 / 2.0).exp() - 0.95).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn ellipse_points_lie_on_the_95_contour(az in 0.0f64..360.0, a in 1.0f64..5000.0, r in 0.01f64..1.0) {
            let cov = Cov2::oriented(az, a, a * r);
            prop_assert!((SCALE_95 * SCALE_95 - D2_95).abs() < 1e-12);
            for p in cov.ellipse_points(16) {
                let m = cov.mahalanobis2(p).unwrap();
                prop_assert!((m.sqrt() - SCALE_95).abs() < 1e-6 * SCALE_95.max(m.sqrt()));
            }
        }

        #[test]
        fn half_width_bounds_the_points(az in 0.0f64..360.0, a in 1.0f64..5000.0, r in 0.01f64..1.0, dir in 0.0f64..6.3) {
            let cov = Cov2::oriented(az, a, a * r);
            let u = (dir.sin(), dir.cos());
            let w = cov.half_width_95(u);
            let max_proj = cov.ellipse_points(720).iter().map(|p| p.0 * u.0 + p.1 * u.1).fold(f64::MIN, f64::max);
            prop_assert!(max_proj <= w * (1.0 + 1e-9));
            prop_assert!(max_proj >= w * 0.999);
        }
    }
}
