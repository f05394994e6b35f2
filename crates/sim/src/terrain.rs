//! Terrain: a smooth, seeded relief for the hard-world scenarios, so sensors and sources stand
//! at different heights as they do on real ground.

use truce_geo::LatLon;

/// Mean height of the terrain above the ellipsoid, metres.
const BASE_M: f64 = 300.0;
/// Metres per degree of latitude (mean), for the terrain's own planar coordinates.
const M_PER_DEG: f64 = 111_195.0;

/// A relief of hills: the sum of two crossed waves and one oblique wave, spanning
/// `relief_m` from the lowest to the highest point, around 300 m above the ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terrain {
    relief_m: f64,
    wavelength_m: f64,
    phases: [f64; 4],
}

impl Terrain {
    /// A terrain of `relief_m` with hills `wavelength_m` across; `phases` (radians) place them.
    pub fn new(relief_m: f64, wavelength_m: f64, phases: [f64; 4]) -> Self {
        Self {
            relief_m,
            wavelength_m: wavelength_m.max(1.0),
            phases,
        }
    }

    /// Flat ground at the ellipsoid.
    pub fn flat() -> Self {
        Self::new(0.0, 1.0, [0.0; 4])
    }

    /// The ground's height above the ellipsoid at `p`, metres (0 for flat ground).
    pub fn height_m(&self, p: LatLon) -> f64 {
        if self.relief_m == 0.0 {
            return 0.0;
        }
        let x = p.lon * M_PER_DEG * p.lat.to_radians().cos();
        let y = p.lat * M_PER_DEG;
        let k = std::f64::consts::TAU / self.wavelength_m;
        let [a, b, c, d] = self.phases;
        let waves = 0.6 * (k * x + a).sin() * (k * y + b).cos()
            + 0.4 * (0.61 * k * (x * d.cos() + y * d.sin()) + c).sin();
        BASE_M + 0.5 * self.relief_m * waves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relief_spans_what_was_asked() {
        let t = Terrain::new(200.0, 3000.0, [0.3, 1.1, 2.0, 0.7]);
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for i in 0..200 {
            for j in 0..200 {
                let h = t.height_m(LatLon::new(
                    40.0 + f64::from(i) * 0.001,
                    46.0 + f64::from(j) * 0.001,
                ));
                lo = lo.min(h);
                hi = hi.max(h);
            }
        }
        assert!((150.0..=200.0).contains(&(hi - lo)), "{lo}..{hi}");
        assert_eq!(Terrain::flat().height_m(LatLon::new(40.0, 46.0)), 0.0);
    }
}
