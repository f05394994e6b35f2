//! A 95% ellipse as a polygon ring on the ellipsoid.

use truce_core::incident::{Ellipse95, IncidentPosition};
use truce_geo::LatLon;
use truce_geo::LocalFrame;

/// Vertices of an ellipse ring, the closing one aside.
pub const VERTICES: usize = 64;

/// The ring of `ellipse` around `center`: [`VERTICES`] points on the ellipse, computed in
/// metres in the local tangent plane and mapped back exactly onto the ellipsoid, then the
/// first again. Longitude, latitude pairs, counter-clockwise (RFC 7946's exterior rings).
pub fn ellipse_ring(center: &IncidentPosition, ellipse: &Ellipse95) -> Vec<[f64; 2]> {
    let frame = LocalFrame::at(LatLon {
        lat: center.lat,
        lon: center.lon,
    });
    // The major axis's direction, clockwise from north, as an angle from east
    // counter-clockwise.
    let theta = (90.0 - ellipse.azimuth_deg).to_radians();
    let (sin_t, cos_t) = theta.sin_cos();
    let mut ring: Vec<[f64; 2]> = (0..VERTICES)
        .map(|k| {
            // Increasing angle: counter-clockwise in the east-north plane.
            let phi = std::f64::consts::TAU * k as f64 / VERTICES as f64;
            let (x, y) = (
                ellipse.semi_major_m * phi.cos(),
                ellipse.semi_minor_m * phi.sin(),
            );
            let (e, n) = (x * cos_t - y * sin_t, x * sin_t + y * cos_t);
            let p = frame.from_en(e, n);
            [round7(p.lon), round7(p.lat)]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

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
    }
}
