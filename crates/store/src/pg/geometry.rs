//! An incident's 95% error ellipse as a WGS84 polygon, for PostGIS and QGIS.

use truce_core::incident::Ellipse95;

/// Vertices of the polygon (the ring closes on the first again).
const VERTICES: usize = 36;

/// WGS84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS84 first eccentricity squared.
const E2: f64 = 6.694_379_990_141_3e-3;

/// The ellipse `e` centred on (`lat`, `lon`) as WKT `POLYGON((lon lat, …))`, traced in the local
/// east-north plane and turned into degrees with the ellipsoid's radii of curvature there
/// (exact to well under a metre for ellipses of tens of kilometres). `None` when the ellipse
/// is degenerate or not finite, or the centre is at a pole.
pub fn ellipse_wkt(lat: f64, lon: f64, e: &Ellipse95) -> Option<String> {
    let ring = ellipse_ring(lat, lon, e)?;
    let points: Vec<String> = ring.iter().map(|(x, y)| format!("{x} {y}")).collect();
    Some(format!("POLYGON(({}))", points.join(",")))
}

/// The ellipse's ring as (lon, lat) vertices, closed on the first; what [`ellipse_wkt`] writes
/// (Rust prints each f64 so that it reads back to the same bits).
pub fn ellipse_ring(lat: f64, lon: f64, e: &Ellipse95) -> Option<Vec<(f64, f64)>> {
    let (a, b) = (e.semi_major_m, e.semi_minor_m);
    let finite = [a, b, lat, lon, e.azimuth_deg]
        .iter()
        .all(|v| v.is_finite());
    if !(finite && a > 0.0 && b > 0.0 && lat.abs() < 89.9) {
        return None;
    }
    let phi = lat.to_radians();
    let w = (1.0 - E2 * phi.sin().powi(2)).sqrt();
    let meridian = A * (1.0 - E2) / (w * w * w);
    let parallel = A / w * phi.cos();
    let (sin_az, cos_az) = e.azimuth_deg.to_radians().sin_cos();
    let ring = (0..=VERTICES)
        .map(|i| {
            let t = (i % VERTICES) as f64 / VERTICES as f64 * std::f64::consts::TAU;
            let (s, c) = t.sin_cos();
            // Along the major axis (azimuth from north, clockwise) and the minor axis across it.
            let east = a * c * sin_az + b * s * cos_az;
            let north = a * c * cos_az - b * s * sin_az;
            (
                lon + (east / parallel).to_degrees(),
                lat + (north / meridian).to_degrees(),
            )
        })
        .collect();
    Some(ring)
}

/// Little-endian ISO WKB of a point (what PostGIS's `ST_AsBinary(g, 'NDR')` answers).
pub fn point_wkb(lon: f64, lat: f64) -> Vec<u8> {
    let mut wkb = vec![1u8];
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&lon.to_le_bytes());
    wkb.extend_from_slice(&lat.to_le_bytes());
    wkb
}

/// Little-endian ISO WKB of a polygon of one ring.
pub fn polygon_wkb(ring: &[(f64, f64)]) -> Vec<u8> {
    let mut wkb = vec![1u8];
    wkb.extend_from_slice(&3u32.to_le_bytes());
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&(ring.len() as u32).to_le_bytes());
    for (x, y) in ring {
        wkb.extend_from_slice(&x.to_le_bytes());
        wkb.extend_from_slice(&y.to_le_bytes());
    }
    wkb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertices(wkt: &str) -> Vec<(f64, f64)> {
        wkt.trim_start_matches("POLYGON((")
            .trim_end_matches("))")
            .split(',')
            .map(|p| {
                let mut it = p.split(' ').map(|x| x.parse::<f64>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect()
    }

    #[test]
    fn a_north_south_ellipse_reaches_its_axes_in_degrees() {
        let e = Ellipse95 {
            semi_major_m: 1000.0,
            semi_minor_m: 500.0,
            azimuth_deg: 0.0,
        };
        let v = vertices(&ellipse_wkt(40.0, 46.0, &e).unwrap());
        assert_eq!(v.len(), VERTICES + 1);
        assert_eq!(v[0], v[VERTICES], "the ring closes");
        let north = v.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let east = v.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        // At 40°N a degree of latitude is 111,035 m and of longitude 85,395 m.
        assert!(((north - 40.0) * 111_035.0 - 1000.0).abs() < 2.0, "{north}");
        assert!(((east - 46.0) * 85_395.0 - 500.0).abs() < 2.0, "{east}");
    }

    #[test]
    fn an_east_west_ellipse_turns_with_its_azimuth() {
        let e = Ellipse95 {
            semi_major_m: 1000.0,
            semi_minor_m: 500.0,
            azimuth_deg: 90.0,
        };
        let v = vertices(&ellipse_wkt(40.0, 46.0, &e).unwrap());
        let east = v.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        assert!(((east - 46.0) * 85_395.0 - 1000.0).abs() < 2.0, "{east}");
    }

    #[test]
    fn degenerate_ellipses_give_no_polygon() {
        for (a, b) in [(0.0, 1.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)] {
            let e = Ellipse95 {
                semi_major_m: a,
                semi_minor_m: b,
                azimuth_deg: 0.0,
            };
            assert!(ellipse_wkt(40.0, 46.0, &e).is_none());
        }
        let e = Ellipse95 {
            semi_major_m: 10.0,
            semi_minor_m: 10.0,
            azimuth_deg: 0.0,
        };
        assert!(ellipse_wkt(90.0, 0.0, &e).is_none());
        assert!(ellipse_wkt(40.0, f64::NAN, &e).is_none());
        let turned = Ellipse95 {
            azimuth_deg: f64::NAN,
            ..e
        };
        assert!(ellipse_wkt(40.0, 46.0, &turned).is_none());
    }
}
