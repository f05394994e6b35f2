//! `within_m` answers exactly as the geodesic does, with or without its flat-earth shortcut.

use proptest::prelude::*;
use truce_geo::{LatLon, destination, distance_azimuth, within_m};

proptest! {
    #[test]
    fn within_agrees_with_the_geodesic_distance(
        lat in -89.0f64..89.0,
        lon in -180.0f64..180.0,
        azimuth in 0.0f64..360.0,
        distance in 0.0f64..200_000.0,
        ratio in 0.9f64..1.1,
    ) {
        let a = LatLon::new(lat, lon);
        let b = destination(a, azimuth, distance);
        let exact = distance_azimuth(a, b).0;
        let limit = exact * ratio;
        prop_assert_eq!(within_m(a, b, limit), exact <= limit);
        prop_assert!(within_m(a, b, exact + 1e-6));
    }
}

#[test]
fn points_across_the_antimeridian_are_near() {
    let a = LatLon::new(10.0, 179.99);
    let b = LatLon::new(10.0, -179.99);
    let exact = distance_azimuth(a, b).0;
    assert!(exact < 2_500.0, "{exact}");
    assert!(within_m(a, b, 2_500.0));
    assert!(!within_m(a, b, 1_000.0));
}
