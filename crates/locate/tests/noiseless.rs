//! Noiseless measurements must give back the truth; too few measurements must be refused with
//! a reason; the Cramér–Rao bound must match a case worked by hand.

#![allow(clippy::unwrap_used)]

mod common;

use common::bearing;
use proptest::prelude::*;
use truce_locate::{
    ArrivalMeasurement, BearingMeasurement, Cov2, LocateError, Measurements, PointMeasurement,
    RangeMeasurement, crlb_arrivals, crlb_bearings, locate, locate_arrivals, locate_bearings,
    speed_of_sound,
};

const C: f64 = 343.0;

fn ranged(observer: [f64; 2], to: [f64; 2], sigma_m: f64) -> BearingMeasurement {
    BearingMeasurement {
        range: Some(RangeMeasurement {
            mean_m: (to[0] - observer[0]).hypot(to[1] - observer[1]),
            sigma_m,
        }),
        ..bearing(observer, to, 1.0)
    }
}

fn arrival(sensor: [f64; 3], source: [f64; 2], t0: f64, sigma_s: f64) -> ArrivalMeasurement {
    let d = [sensor[0] - source[0], sensor[1] - source[1], sensor[2]];
    ArrivalMeasurement {
        sensor,
        time_s: t0 + (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() / C,
        sigma_s,
    }
}

fn near(a: [f64; 2], b: [f64; 2], tol: f64) {
    let d = (a[0] - b[0]).hypot(a[1] - b[1]);
    assert!(d < tol, "{a:?} is {d} m from {b:?}");
}

const SENSORS: [[f64; 3]; 6] = [
    [0.0, 0.0, 10.0],
    [2500.0, 200.0, 40.0],
    [2200.0, 2600.0, 0.0],
    [-300.0, 2400.0, 25.0],
    [1200.0, -800.0, 5.0],
    [3100.0, 1300.0, 60.0],
];

#[test]
fn two_and_three_bearings_recover_the_truth() {
    let t = [1800.0, 3200.0];
    let two = [
        bearing([0.0, 0.0], t, 2.0),
        bearing([4000.0, 500.0], t, 3.0),
    ];
    let fix = locate_bearings(&two).unwrap();
    near(fix.at, t, 1e-3);
    assert_eq!(fix.dof, 0);
    assert!(fix.emission_time_s.is_none());
    let three = [two[0], two[1], bearing([1000.0, 6000.0], t, 2.0)];
    let fix = locate_bearings(&three).unwrap();
    near(fix.at, t, 1e-3);
    assert_eq!(fix.dof, 1);
    assert!(fix.chi2 < 1e-12);
}

#[test]
fn fix_covariance_is_the_bound_at_the_estimate() {
    let t = [1800.0, 3200.0];
    let b = [
        bearing([0.0, 0.0], t, 2.0),
        bearing([4000.0, 500.0], t, 3.0),
    ];
    let fix = locate_bearings(&b).unwrap();
    let bound = crlb_bearings(t, &b).unwrap();
    for (x, y) in [
        (fix.cov.ee, bound.ee),
        (fix.cov.en, bound.en),
        (fix.cov.nn, bound.nn),
    ] {
        assert!((x - y).abs() <= 1e-6 * bound.ee.max(bound.nn), "{x} vs {y}");
    }
}

#[test]
fn a_single_bearing_with_a_range_recovers_the_truth() {
    let t = [-700.0, 2300.0];
    let fix = locate_bearings(&[ranged([100.0, 50.0], t, 20.0)]).unwrap();
    near(fix.at, t, 1e-3);
    assert_eq!(fix.dof, 0);
    // Along the line of sight the error is the range's, across it r·σθ.
    let (major, minor) = fix.cov.eigenvalues();
    let r = (t[0] - 100.0f64).hypot(t[1] - 50.0);
    assert!((minor.sqrt() - 20.0).abs() < 1e-6);
    assert!((major.sqrt() - r * 1f64.to_radians()).abs() < 1e-6 * r);
}

#[test]
fn bearings_and_ranges_together() {
    let t = [2500.0, -1500.0];
    let b = [
        ranged([0.0, 0.0], t, 30.0),
        bearing([3000.0, 1000.0], t, 2.0),
    ];
    near(locate_bearings(&b).unwrap().at, t, 1e-3);
}

#[test]
fn arrivals_from_four_five_and_six_sensors_recover_the_truth() {
    let src = [1300.0, 1100.0];
    for n in 4..=6 {
        let a: Vec<_> = SENSORS[..n]
            .iter()
            .map(|&s| arrival(s, src, 12.5, 0.005))
            .collect();
        let fix = locate_arrivals(&a, C, 0.0).unwrap();
        near(fix.at, src, 1e-3);
        assert!((fix.emission_time_s.unwrap() - 12.5).abs() < 1e-8);
        assert_eq!(fix.dof, n as i32 - 3);
        assert!(fix.excluded.is_empty());
    }
}

#[test]
fn a_source_outside_the_array_is_found() {
    let src = [6000.0, -4000.0];
    let a: Vec<_> = SENSORS
        .iter()
        .map(|&s| arrival(s, src, 3.0, 0.002))
        .collect();
    near(locate_arrivals(&a, C, 0.0).unwrap().at, src, 1e-3);
}

#[test]
fn a_mix_of_bearings_arrivals_and_reports() {
    let src = [1500.0, 900.0];
    let arrivals: Vec<_> = SENSORS[..3]
        .iter()
        .map(|&s| arrival(s, src, 0.7, 0.005))
        .collect();
    let bearings = [bearing([-2000.0, -1000.0], src, 2.0)];
    let points = [PointMeasurement {
        at: src,
        cov: Cov2::circular(200.0),
    }];
    let m = Measurements {
        bearings: &bearings,
        arrivals: &arrivals,
        points: &points,
        speed_of_sound_m_s: C,
        source_height_m: 0.0,
        surface: None,
        wind_sigma_m_s: None,
        speed_sigma_m_s: None,
    };
    let fix = locate(&m).unwrap();
    near(fix.at, src, 1e-3);
    assert_eq!(fix.dof, 3);
    // Three arrivals and a lone bearing: no closed-form start, the search along the bearing
    // must find it.
    let lone = Measurements { points: &[], ..m };
    near(locate(&lone).unwrap().at, src, 1e-3);
}

#[test]
fn too_few_measurements_are_refused_with_the_reason() {
    let t = [1000.0, 1000.0];
    let err = locate_bearings(&[bearing([0.0, 0.0], t, 2.0)]).unwrap_err();
    assert!(matches!(
        err,
        LocateError::TooFewMeasurements {
            constraints: 1,
            unknowns: 2,
            ..
        }
    ));
    assert!(
        err.to_string().contains("a single bearing needs a range"),
        "{err}"
    );

    let a: Vec<_> = SENSORS[..3]
        .iter()
        .map(|&s| arrival(s, t, 0.0, 0.005))
        .collect();
    let err = locate_arrivals(&a, C, 0.0).unwrap_err();
    assert!(err.to_string().contains("at least four arrivals"), "{err}");

    let err = locate(&Measurements::plain(&[], &[], &[], C)).unwrap_err();
    assert!(err.to_string().contains("no measurements"), "{err}");
}

#[test]
fn parallel_and_diverging_bearings_are_refused() {
    let t = [0.0, 5000.0];
    let mut b = [bearing([0.0, 0.0], t, 2.0), bearing([1.0, 0.0], t, 2.0)];
    b[1].azimuth_rad = b[0].azimuth_rad;
    let err = locate_bearings(&b).unwrap_err();
    assert!(
        matches!(
            err,
            LocateError::IllConditioned { .. } | LocateError::NoStart(_)
        ),
        "{err}"
    );
    // Two observers looking away from each other: the lines cross behind both.
    let b = [
        bearing([0.0, 0.0], [-1000.0, 1000.0], 2.0),
        bearing([1000.0, 0.0], [2000.0, 1000.0], 2.0),
    ];
    let err = locate_bearings(&b).unwrap_err();
    assert!(matches!(err, LocateError::BehindObserver { .. }), "{err}");
    assert!(err.to_string().contains("behind the observer"), "{err}");
}

#[test]
fn invalid_inputs_name_the_field() {
    let t = [1000.0, 1000.0];
    let mut b = [bearing([0.0, 0.0], t, 2.0), bearing([2000.0, 0.0], t, 2.0)];
    b[1].sigma_rad = -0.1;
    let err = locate_bearings(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bearing 1 sigma_rad = -0.1 is invalid: must be positive and finite"
    );
    let a: Vec<_> = SENSORS[..4]
        .iter()
        .map(|&s| arrival(s, t, 0.0, 0.005))
        .collect();
    let err = locate_arrivals(&a, f64::NAN, 0.0).unwrap_err();
    assert!(
        err.to_string().starts_with("speed_of_sound_m_s = NaN"),
        "{err}"
    );
}

#[test]
fn crlb_of_two_perpendicular_bearings_by_hand() {
    // Observers 1 km south and 2 km west of the target: each bearing constrains only the
    // cross-range axis, with standard deviation r·σ.
    let t = [0.0, 0.0];
    let (s1, s2) = (0.01, 0.02);
    let b = [
        BearingMeasurement {
            sigma_rad: s1,
            ..bearing([0.0, -1000.0], t, 1.0)
        },
        BearingMeasurement {
            sigma_rad: s2,
            ..bearing([-2000.0, 0.0], t, 1.0)
        },
    ];
    let c = crlb_bearings(t, &b).unwrap();
    // The south observer fixes east to 1000·0.01 = 10 m; the west one north to 2000·0.02 = 40 m.
    assert!((c.ee - 100.0).abs() < 1e-9, "{c:?}");
    assert!((c.nn - 1600.0).abs() < 1e-9, "{c:?}");
    assert!(c.en.abs() < 1e-9);
    // Observer position error adds (σ_obs/r)² to the angular variance.
    let mut b2 = b;
    b2[0].observer_sigma_m = 10.0;
    let c2 = crlb_bearings(t, &b2).unwrap();
    assert!((c2.ee - (100.0 + 100.0)).abs() < 1e-9, "{c2:?}");
    assert!(crlb_bearings(t, &b[..1]).is_none());
}

#[test]
fn crlb_of_arrivals_shrinks_with_more_sensors() {
    let src = [1300.0, 1100.0];
    let a: Vec<_> = SENSORS
        .iter()
        .map(|&s| arrival(s, src, 0.0, 0.005))
        .collect();
    let four = crlb_arrivals(src, &a[..4], C, 0.0).unwrap();
    let six = crlb_arrivals(src, &a, C, 0.0).unwrap();
    assert!(six.ee + six.nn < four.ee + four.nn);
    // Order of magnitude: c·σ_t ≈ 1.7 m per axis for a source inside the array.
    let rms = (six.ee + six.nn).sqrt();
    assert!(rms > 1.0 && rms < 5.0, "{rms}");
    assert!(crlb_arrivals(src, &a[..2], C, 0.0).is_none());
}

#[test]
fn speed_of_sound_at_twenty_degrees() {
    assert!((speed_of_sound(20.0) - 343.2).abs() < 0.05);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn noiseless_bearings_recover_any_well_crossed_target(
        e in -3000.0..3000.0f64,
        n in 2000.0..6000.0f64,
        x2 in 1000.0..5000.0f64,
        sigma in 0.5..5.0f64,
    ) {
        let t = [e, n];
        let b = [bearing([-x2, 0.0], t, sigma), bearing([x2, 0.0], t, sigma * 1.5)];
        let fix = locate_bearings(&b).unwrap();
        let d = (fix.at[0] - e).hypot(fix.at[1] - n);
        prop_assert!(d < 1e-3, "{d}");
    }

    #[test]
    fn noiseless_arrivals_recover_any_source_near_the_array(
        e in -2000.0..5000.0f64,
        n in -2000.0..5000.0f64,
        t0 in -100.0..100.0f64,
    ) {
        let a: Vec<_> = SENSORS[..5].iter().map(|&s| arrival(s, [e, n], t0, 0.005)).collect();
        let fix = locate_arrivals(&a, C, 0.0).unwrap();
        let d = (fix.at[0] - e).hypot(fix.at[1] - n);
        prop_assert!(d < 1e-3, "{d}");
        prop_assert!(fix.excluded.is_empty());
    }
}
