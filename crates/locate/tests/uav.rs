//! UAV camera-ray geolocation: geometry of the ray, the slant-range path, refusals, and the
//! propagated covariance.

#![allow(clippy::unwrap_used)]

use truce_geo::{LatLon, LocalFrame};
use truce_locate::{LocateError, UavNoise, UavPose, uav_target};

fn pose() -> UavPose {
    UavPose {
        lat: 39.95,
        lon: 46.8,
        alt_hae_m: 1600.0,
        yaw_deg: 0.0,
        pitch_deg: 0.0,
        roll_deg: 0.0,
        pan_deg: 0.0,
        tilt_deg: -90.0,
        slant_range_m: None,
        ground_alt_m: 600.0,
    }
}

/// East and north of `p` in the frame under the aircraft.
fn en(p: LatLon) -> (f64, f64) {
    LocalFrame::at(LatLon::new(39.95, 46.8)).to_en(p)
}

#[test]
fn straight_down_is_the_point_under_the_aircraft() {
    let (p, cov) = uav_target(&pose(), &UavNoise::default()).unwrap();
    let (e, n) = en(p);
    assert!(e.hypot(n) < 0.01, "{e} {n}");
    // 1000 m above the ground, nose north. East: roll (1° → 17.45 m) and position (5 m); yaw
    // and pan only spin the ray about itself. North: pitch (17.45 m), tilt (0.5° → 8.73 m),
    // position.
    let deg = 1000.0 * 1f64.to_radians();
    let ee = deg * deg + 25.0;
    let nn = deg * deg + (deg / 2.0).powi(2) + 25.0;
    assert!((cov.ee - ee).abs() < 0.01 * ee, "{cov:?} vs {ee}");
    assert!((cov.nn - nn).abs() < 0.01 * nn, "{cov:?} vs {nn}");
    assert!(cov.en.abs() < 1e-3 * ee, "{cov:?}");
}

#[test]
fn forty_five_degrees_down_looking_east_lands_a_kilometre_east() {
    let pose = UavPose {
        yaw_deg: 90.0,
        tilt_deg: -45.0,
        ..pose()
    };
    let (p, cov) = uav_target(&pose, &UavNoise::default()).unwrap();
    let (e, n) = en(p);
    // Flat ground would give exactly 1000 m; the curved ellipsoid adds about 0.1 m.
    assert!((e - 1000.0).abs() < 1.0 && n.abs() < 0.5, "{e} {n}");
    // Depression errors stretch the ellipse along the line of sight (east): h/sin²45° = 2000 m
    // per radian of pitch (1°) and tilt (0.5°). Across it, yaw, roll and pan each move the
    // point 1000 m per radian. Position: east and up errors (5 m each) both move it east.
    let ellipse = cov.ellipse_95();
    assert!((ellipse.azimuth_deg - 90.0).abs() < 1.0, "{ellipse:?}");
    let rad = 1f64.to_radians();
    let along = ((2000.0 * rad).powi(2) + (1000.0 * rad).powi(2) + 50.0).sqrt();
    let across = (2.0 * (1000.0 * rad).powi(2) + (500.0 * rad).powi(2) + 25.0).sqrt();
    assert!(
        (cov.ee.sqrt() - along).abs() < 0.005 * along,
        "{cov:?} vs {along}"
    );
    assert!(
        (cov.nn.sqrt() - across).abs() < 0.005 * across,
        "{cov:?} vs {across}"
    );
}

#[test]
fn gimbal_pan_and_aircraft_roll_compose() {
    // Nose north, camera panned 90° right and 45° down: east. Rolling right 10° tips the
    // camera (on the right side) further down, so the point comes nearer.
    let panned = UavPose {
        pan_deg: 90.0,
        tilt_deg: -45.0,
        ..pose()
    };
    let (e, n) = en(uav_target(&panned, &UavNoise::default()).unwrap().0);
    assert!((e - 1000.0).abs() < 1.0 && n.abs() < 0.5, "{e} {n}");
    let rolled = UavPose {
        roll_deg: 10.0,
        ..panned
    };
    let (e2, n2) = en(uav_target(&rolled, &UavNoise::default()).unwrap().0);
    let want = 1000.0 / 55f64.to_radians().tan();
    assert!((e2 - want).abs() < 1.0 && n2.abs() < 0.5, "{e2} vs {want}");
}

#[test]
fn slant_range_is_followed_along_the_ray() {
    let pose = UavPose {
        yaw_deg: 180.0,
        tilt_deg: -30.0,
        slant_range_m: Some(1500.0),
        ..pose()
    };
    let (p, cov) = uav_target(&pose, &UavNoise::default()).unwrap();
    let (e, n) = en(p);
    let want = -1500.0 * 30f64.to_radians().cos();
    assert!(e.abs() < 0.5 && (n - want).abs() < 0.5, "{e} {n}");
    // Along the line of sight the range error (5 m) and the depression error compete; across
    // it the azimuth error dominates: 1500·cos30°·(1°²+0.5°²)^½ ≈ 25 m plus the position.
    assert!(cov.ee.sqrt() > 20.0 && cov.ee.sqrt() < 35.0, "{cov:?}");
}

#[test]
fn a_ray_above_the_horizon_never_lands() {
    let up = UavPose {
        tilt_deg: 5.0,
        ..pose()
    };
    let err = uav_target(&up, &UavNoise::default()).unwrap_err();
    assert!(matches!(err, LocateError::RayMissesGround { .. }), "{err}");
    assert!(
        err.to_string().contains("does not reach the ground"),
        "{err}"
    );
    // From 1000 m the horizon is 113 km away and 1° below level: a ray 0.1° down skims past.
    let grazing = UavPose {
        tilt_deg: -0.1,
        ..pose()
    };
    assert!(matches!(
        uav_target(&grazing, &UavNoise::default()),
        Err(LocateError::RayMissesGround { .. })
    ));
}

#[test]
fn absurd_inputs_are_refused() {
    let below = UavPose {
        alt_hae_m: 500.0,
        ..pose()
    };
    let err = uav_target(&below, &UavNoise::default()).unwrap_err();
    assert!(err.to_string().starts_with("alt_hae_m = 500"), "{err}");
    let nan = UavPose {
        yaw_deg: f64::NAN,
        ..pose()
    };
    assert!(uav_target(&nan, &UavNoise::default()).is_err());
    let noise = UavNoise {
        gimbal_sigma_deg: -1.0,
        ..UavNoise::default()
    };
    assert!(uav_target(&pose(), &noise).is_err());
}
