//! A 95% ellipse as a polygon ring on the ellipsoid.

use truce_core::incident::{Ellipse95, IncidentPosition};
use truce_geo::LatLon;
use truce_geo::LocalFrame;

/// The Earth's mean radius, metres: enough for the tangent plane's drop.
const MEAN_RADIUS_M: f64 = 6_371_000.0;

/// Vertices of an ellipse ring, the closing one aside.
pub const VERTICES: usize = 64;

/// The ring of `ellipse` around `center`: [`VERTICES`] points on the ellipse, computed in
/// metres in the local tangent plane and mapped onto the ellipsoid (to within millimetres at
/// 5 km, metres at 50 km), then the first again. Longitude, latitude pairs, counter-clockwise (RFC 7946's exterior rings).
pub fn ellipse_ring(center: &IncidentPosition, ellipse: &Ellipse95) -> Vec<[f64; 2]> {
    let frame = LocalFrame::at(LatLon {
        lat: center.lat,
        lon: center.lon,
    });
    // The exact mapping from the tangent plane to the ellipsoid, evaluated at five points a
    // semi-major axis out, gives a quadratic model of it (third-order terms are d³/R²: a few
    // millimetres at 5 km, a few metres at 50 km) that the 64 vertices then cost nothing.
    let exact = |e: f64, n: f64| {
        let drop = -(e * e + n * n) / (2.0 * MEAN_RADIUS_M);
        let p = frame.from_enu([e, n, drop]).0;
        [p.lon, p.lat]
    };
    let s = ellipse.semi_major_m.max(1.0);
    let f0 = [center.lon, center.lat];
    let (fe, fw, fn_, fs, fne) = (
        exact(s, 0.0),
        exact(-s, 0.0),
        exact(0.0, s),
        exact(0.0, -s),
        exact(s, s),
    );
    let model: [[f64; 5]; 2] = std::array::from_fn(|k| {
        let d_e = (fe[k] - fw[k]) / (2.0 * s);
        let d_ee = (fe[k] + fw[k] - 2.0 * f0[k]) / (2.0 * s * s);
        let d_n = (fn_[k] - fs[k]) / (2.0 * s);
        let d_nn = (fn_[k] + fs[k] - 2.0 * f0[k]) / (2.0 * s * s);
        let d_en = (fne[k] - fe[k] - fn_[k] + f0[k]) / (s * s);
        [d_e, d_n, d_ee, d_en, d_nn]
    });
    // The major axis's direction, clockwise from north, as an angle from east
    // counter-clockwise.
    let theta = (90.0 - ellipse.azimuth_deg).to_radians();
    let (sin_t, cos_t) = theta.sin_cos();
    let mut ring: Vec<[f64; 2]> = UNIT_CIRCLE
        .iter()
        .map(|&(cos_p, sin_p)| {
            // Increasing angle: counter-clockwise in the east-north plane.
            let (x, y) = (ellipse.semi_major_m * cos_p, ellipse.semi_minor_m * sin_p);
            let (e, n) = (x * cos_t - y * sin_t, x * sin_t + y * cos_t);
            let at = |k: usize| {
                let m = &model[k];
                f0[k] + m[0] * e + m[1] * n + m[2] * e * e + m[3] * e * n + m[4] * n * n
            };
            [round7(at(0)), round7(at(1))]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

/// Cosine and sine of the [`VERTICES`] angles around the circle, counter-clockwise from east.
static UNIT_CIRCLE: std::sync::LazyLock<Vec<(f64, f64)>> = std::sync::LazyLock::new(|| {
    (0..VERTICES)
        .map(|k| {
            let phi = std::f64::consts::TAU * k as f64 / VERTICES as f64;
            (phi.cos(), phi.sin())
        })
        .collect()
});

/// Seven decimals of a degree: about a centimetre, as GDAL writes RFC 7946.
pub(crate) fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_closed_counter_clockwise_and_its_axes_have_their_lengths() {
        let center = IncidentPosition {
            lat: 40.0,
            lon: 46.5,
            mgrs: String::new(),
        };
        let e = Ellipse95 {
            semi_major_m: 1000.0,
            semi_minor_m: 250.0,
            azimuth_deg: 30.0,
        };
        let ring = ellipse_ring(&center, &e);
        assert_eq!(ring.len(), VERTICES + 1);
        assert_eq!(ring[0], ring[VERTICES]);
        // Shoelace: positive area is counter-clockwise (lon east, lat north).
        let area: f64 = ring
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(area > 0.0);
        let at = |p: [f64; 2]| {
            truce_geo::distance_azimuth(
                LatLon {
                    lat: center.lat,
                    lon: center.lon,
                },
                LatLon {
                    lat: p[1],
                    lon: p[0],
                },
            )
        };
        let (d0, az0) = at(ring[0]);
        assert!((d0 - 1000.0).abs() < 0.5, "{d0}");
        assert!((az0 - 30.0).abs() < 0.1, "{az0}");
        let (d16, _) = at(ring[VERTICES / 4]);
        assert!((d16 - 250.0).abs() < 0.5, "{d16}");
        // A 20 km ellipse: still within a metre of its axes.
        let big = Ellipse95 {
            semi_major_m: 20_000.0,
            semi_minor_m: 8_000.0,
            azimuth_deg: 100.0,
        };
        let ring = ellipse_ring(&center, &big);
        let (d0, az0) = at(ring[0]);
        assert!(
            (d0 - 20_000.0).abs() < 1.0 && (az0 - 100.0).abs() < 0.01,
            "{d0} {az0}"
        );
        let (d16, _) = at(ring[VERTICES / 4]);
        assert!((d16 - 8_000.0).abs() < 1.0, "{d16}");
    }
}
