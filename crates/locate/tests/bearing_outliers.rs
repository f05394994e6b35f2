//! Wrong bearings (a misread scale, another target, a compass far off) are found by the robust
//! search, left out of the fix and named; bearings that are merely noisy are kept.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use truce_locate::{
    ArrivalMeasurement, BearingMeasurement, Excluded, Fix, Measurements, locate, locate_bearings,
};

const C: f64 = 343.0;

/// Five posts around the target's area, 3–6 km away.
const POSTS: [[f64; 2]; 5] = [
    [-4000.0, -1000.0],
    [-1500.0, 4200.0],
    [3500.0, 3000.0],
    [4500.0, -2000.0],
    [200.0, -5000.0],
];

fn azimuth(from: [f64; 2], to: [f64; 2]) -> f64 {
    (to[0] - from[0]).atan2(to[1] - from[1])
}

fn bearings(truth: [f64; 2], sigma_deg: f64, rng: &mut StdRng) -> Vec<BearingMeasurement> {
    let unit = Normal::new(0.0, 1.0).unwrap();
    POSTS
        .iter()
        .map(|&o| BearingMeasurement {
            observer: o,
            observer_sigma_m: 0.0,
            azimuth_rad: azimuth(o, truth) + sigma_deg.to_radians() * unit.sample(rng),
            sigma_rad: sigma_deg.to_radians(),
            range: None,
        })
        .collect()
}

/// Squared Mahalanobis distance of the truth from the fix.
fn d2(fix: &Fix, truth: [f64; 2]) -> f64 {
    let d = [fix.at[0] - truth[0], fix.at[1] - truth[1]];
    fix.cov.mahalanobis2((d[0], d[1])).unwrap()
}

#[test]
fn a_misread_bearing_is_set_aside_and_named() {
    let mut rng = StdRng::seed_from_u64(3);
    let truth = [300.0, -200.0];
    for wrong in 0..POSTS.len() {
        for off_deg in [-25.0f64, 15.0, 40.0] {
            let mut b = bearings(truth, 2.0, &mut rng);
            b[wrong].azimuth_rad += off_deg.to_radians();
            let fix = locate_bearings(&b).unwrap();
            assert_eq!(
                fix.excluded.len(),
                1,
                "bearing {wrong} off by {off_deg}°: chi2 {} dof {}",
                fix.chi2,
                fix.dof
            );
            let Excluded::Bearing {
                index,
                residual_deg,
            } = fix.excluded[0].measurement
            else {
                panic!("a bearing is set aside: {:?}", fix.excluded);
            };
            assert_eq!(index, wrong);
            assert!(
                (residual_deg - off_deg).abs() < 6.0,
                "{residual_deg}° measured for {off_deg}°"
            );
            let reason = &fix.excluded[0].reason;
            assert!(
                reason.starts_with("this bearing is ") && reason.contains("misread"),
                "{reason}"
            );
            assert!(
                d2(&fix, truth) < 16.0,
                "the fix of the rest holds the truth"
            );
        }
    }
}

#[test]
fn noisy_but_right_bearings_are_kept_and_the_ellipses_stay_honest() {
    let mut rng = StdRng::seed_from_u64(11);
    let truth = [-400.0, 600.0];
    let trials = 2000;
    let (mut excluded, mut inside) = (0, 0);
    for _ in 0..trials {
        let fix = locate_bearings(&bearings(truth, 3.0, &mut rng)).unwrap();
        excluded += fix.excluded.len();
        inside += usize::from(d2(&fix, truth) <= 5.991);
    }
    let coverage = inside as f64 / trials as f64;
    eprintln!("{excluded} bearings set aside in {trials} trials; coverage {coverage:.3}");
    assert!(excluded <= trials / 100, "{excluded} false exclusions");
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
}

#[test]
fn three_bearings_cannot_name_the_wrong_one_and_keep_all() {
    let mut rng = StdRng::seed_from_u64(5);
    let truth = [0.0, 0.0];
    let mut b = bearings(truth, 2.0, &mut rng);
    b.truncate(3);
    b[1].azimuth_rad += 20f64.to_radians();
    // Dropping any one leaves two lines that always cross: nothing to tell them apart by.
    let fix = locate_bearings(&b).unwrap();
    assert!(fix.excluded.is_empty(), "{:?}", fix.excluded);
    assert!(
        fix.uncertainty.unchecked,
        "one degree of freedom is too few to check"
    );
}

#[test]
fn a_wrong_bearing_beside_arrivals_is_set_aside() {
    let mut rng = StdRng::seed_from_u64(8);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let truth = [250.0, 150.0];
    let sensors = [
        [-1500.0, -900.0],
        [1400.0, -1200.0],
        [1600.0, 1300.0],
        [-1200.0, 1500.0],
        [100.0, 2000.0],
    ];
    let arrivals: Vec<ArrivalMeasurement> = sensors
        .iter()
        .map(|s| ArrivalMeasurement {
            sensor: [s[0], s[1], 0.0],
            time_s: 3.0
                + (s[0] - truth[0]).hypot(s[1] - truth[1]) / C
                + 0.003 * unit.sample(&mut rng),
            sigma_s: 0.003,
        })
        .collect();
    let mut b = bearings(truth, 2.0, &mut rng);
    b.truncate(2);
    b[0].azimuth_rad -= 30f64.to_radians();
    let fix = locate(&Measurements::plain(&b, &arrivals, &[], C)).unwrap();
    assert_eq!(
        fix.excluded.iter().map(|e| e.bearing()).collect::<Vec<_>>(),
        [Some(0)],
        "{:?}",
        fix.excluded
    );
    assert!(
        (fix.at[0] - truth[0]).hypot(fix.at[1] - truth[1]) < 10.0,
        "{:?}",
        fix.at
    );
}
