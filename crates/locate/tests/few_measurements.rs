//! Fixes from a few measurements: too few to check one another, they can hide a wrong one or
//! fit two places equally well. The ellipse must then reach where the truth may be.

#![allow(clippy::unwrap_used)]

mod common;

use common::bearing;
use truce_locate::{ArrivalMeasurement, Fix, Measurements, locate};

const C: f64 = 343.0;

/// Three sensors a few kilometres apart.
const SENSORS: [[f64; 3]; 3] = [[0.0, 0.0, 0.0], [3000.0, 400.0, 0.0], [1200.0, 2800.0, 0.0]];

fn distance(a: [f64; 2], s: [f64; 3]) -> f64 {
    (a[0] - s[0]).hypot(a[1] - s[1])
}

fn arrivals(source: [f64; 2], late_s: [f64; 3]) -> Vec<ArrivalMeasurement> {
    SENSORS
        .iter()
        .zip(late_s)
        .map(|(&s, late)| ArrivalMeasurement {
            sensor: s,
            time_s: 10.0 + distance(source, s) / C + late,
            sigma_s: 0.002,
        })
        .collect()
}

/// Squared Mahalanobis distance of `x` from the fix under `cov`.
fn d2(fix: &Fix, cov: truce_geo::Cov2, x: [f64; 2]) -> f64 {
    cov.mahalanobis2((x[0] - fix.at[0], x[1] - fix.at[1]))
        .unwrap()
}

#[test]
fn a_late_arrival_among_three_beside_a_bearing_widens_the_ellipse_to_the_truth() {
    let truth = [1500.0, 1000.0];
    let b = [bearing([-2500.0, 3500.0], truth, 3.0)];
    for late in 0..3 {
        let mut delays = [0.0; 3];
        delays[late] = 0.15;
        let a = arrivals(truth, delays);
        let fix = locate(&Measurements::plain(&b, &a, &[], C)).unwrap();
        assert!(fix.uncertainty.unchecked, "{:?}", fix.uncertainty);
        assert!(
            fix.excluded.is_empty(),
            "too few to name it: {:?}",
            fix.excluded
        );
        // The stated covariance alone would place the truth far outside: the test means
        // something only then.
        assert!(
            d2(&fix, fix.stated_cov, truth) > 30.0,
            "arrival {late}: {}",
            d2(&fix, fix.stated_cov, truth)
        );
        assert!(
            d2(&fix, fix.cov, truth) <= 5.991,
            "arrival {late} 0.15 s late: the truth is {:.1} Mahalanobis² out ({:?})",
            d2(&fix, fix.cov, truth),
            fix.uncertainty
        );
    }
}

#[test]
fn consistent_few_measurements_keep_the_stated_ellipse() {
    let truth = [1500.0, 1000.0];
    let b = [bearing([-2500.0, 3500.0], truth, 3.0)];
    let fix = locate(&Measurements::plain(&b, &arrivals(truth, [0.0; 3]), &[], C)).unwrap();
    assert!(fix.uncertainty.unchecked);
    assert!(!fix.uncertainty.ambiguous);
    assert_eq!(fix.cov, fix.stated_cov);
    assert!(
        (fix.at[0] - truth[0]).hypot(fix.at[1] - truth[1]) < 0.1,
        "{fix:?}"
    );
}

#[test]
fn one_arrival_beside_crossing_bearings_adds_no_second_place() {
    // One arrival is matched by the emission time wherever the source is: it draws no
    // hyperbola, so the bearings' crossing is the one place, as sure as they make it alone.
    let truth = [1500.0, 1000.0];
    for observers in [
        [[-2500.0, 3500.0], [4000.0, -1500.0]],
        [[-6000.0, 800.0], [1200.0, 9000.0]],
        [[9000.0, 1500.0], [-7000.0, -5000.0]],
    ] {
        let b = [
            bearing(observers[0], truth, 2.0),
            bearing(observers[1], truth, 2.0),
        ];
        for sensor in 0..3 {
            let one = &arrivals(truth, [0.0; 3])[sensor..=sensor];
            let with = locate(&Measurements::plain(&b, one, &[], C)).unwrap();
            let alone = locate(&Measurements::plain(&b, &[], &[], C)).unwrap();
            assert!(!with.uncertainty.ambiguous, "{observers:?}: {with:?}");
            assert!(
                (with.at[0] - alone.at[0]).hypot(with.at[1] - alone.at[1]) < 0.01,
                "{with:?} {alone:?}"
            );
            assert!(
                (with.cov.det() / alone.cov.det() - 1.0).abs() < 1e-6,
                "{observers:?} sensor {sensor}: {:?} against {:?}",
                with.cov,
                alone.cov
            );
        }
    }
}

/// Time differences of arrival misfit at `x` for arrivals `a` (seconds²).
fn tdoa_misfit(x: [f64; 2], a: &[ArrivalMeasurement]) -> f64 {
    let t0 = |m: &ArrivalMeasurement| m.time_s - distance(x, m.sensor) / C;
    let first = t0(&a[0]);
    a.iter().map(|m| (t0(m) - first).powi(2)).sum()
}

/// The other place three sensors' time differences put a source at `truth` (two hyperbolas
/// cross twice), found by a grid search and refined.
fn mirror(truth: [f64; 2], a: &[ArrivalMeasurement]) -> Option<[f64; 2]> {
    let mut best: Option<(f64, [f64; 2])> = None;
    for i in -150..=150 {
        for j in -150..=150 {
            let x = [
                truth[0] + 40.0 * f64::from(i),
                truth[1] + 40.0 * f64::from(j),
            ];
            if (x[0] - truth[0]).hypot(x[1] - truth[1]) < 500.0 {
                continue;
            }
            let f = tdoa_misfit(x, a);
            if best.is_none_or(|(b, _)| f < b) {
                best = Some((f, x));
            }
        }
    }
    let (_, mut x) = best?;
    let mut step = 20.0;
    while step > 1e-4 {
        let mut moved = false;
        for d in [[step, 0.0], [-step, 0.0], [0.0, step], [0.0, -step]] {
            let y = [x[0] + d[0], x[1] + d[1]];
            if tdoa_misfit(y, a) < tdoa_misfit(x, a) {
                x = y;
                moved = true;
            }
        }
        if !moved {
            step *= 0.5;
        }
    }
    (tdoa_misfit(x, a) < 1e-12).then_some(x)
}

#[test]
fn a_bearing_through_both_crossings_of_three_arrivals_is_ambiguous() {
    let truth = [-2000.0, -1500.0];
    let a = arrivals(truth, [0.0; 3]);
    let other = mirror(truth, &a).expect("three sensors' hyperbolas cross twice here");
    // An observer on the line through both crossings, beyond one: its bearing fits both.
    let dir = [other[0] - truth[0], other[1] - truth[1]];
    let observer = [truth[0] - 0.5 * dir[0], truth[1] - 0.5 * dir[1]];
    let b = [bearing(observer, truth, 2.0)];
    let fix = locate(&Measurements::plain(&b, &a, &[], C)).unwrap();
    assert!(
        fix.uncertainty.ambiguous,
        "{:?} at {:?}",
        fix.uncertainty, fix.at
    );
    for x in [truth, other] {
        assert!(
            d2(&fix, fix.cov, x) <= 5.991,
            "{x:?} is {:.1} Mahalanobis² from the fix at {:?}",
            d2(&fix, fix.cov, x),
            fix.at
        );
    }
}

/// Across a grid of source places, and observers on the line through both crossings of the
/// three sensors' hyperbolas (beyond the truth, or beyond the other place, looking across
/// both), the fix says it is ambiguous and its ellipse reaches both places. The search for
/// other minima descends from points along the bearing; a change to the descent that reaches
/// the minima faster but from fewer starts' basins shows here.
#[test]
fn bearings_through_both_crossings_are_found_ambiguous_wherever_the_observer_stands() {
    let (mut cases, mut found, mut missed) = (0, 0, Vec::new());
    for i in 0..6 {
        for j in 0..6 {
            let truth = [
                -3000.0 + 1300.0 * f64::from(i),
                -3000.0 + 1300.0 * f64::from(j),
            ];
            let a = arrivals(truth, [0.0; 3]);
            // Where the refined search slides back to the truth, the hyperbolas cross once.
            let Some(other) =
                mirror(truth, &a).filter(|o| distance(*o, [truth[0], truth[1], 0.0]) > 500.0)
            else {
                continue;
            };
            let dir = [other[0] - truth[0], other[1] - truth[1]];
            for f in [-1.5, -0.5, -0.2, 1.2, 1.5, 2.5] {
                let observer = [truth[0] + f * dir[0], truth[1] + f * dir[1]];
                let toward = if f > 1.0 { truth } else { other };
                let b = [bearing(observer, toward, 2.0)];
                // Geometries the solver refuses (ill-conditioned, or crossing behind the
                // observer) are other tests' concern.
                let Ok(fix) = locate(&Measurements::plain(&b, &a, &[], C)) else {
                    continue;
                };
                cases += 1;
                let reaches = [truth, other]
                    .iter()
                    .all(|x| d2(&fix, fix.cov, *x) <= 5.991);
                if fix.uncertainty.ambiguous && reaches {
                    found += 1;
                } else {
                    missed.push((truth, other, f));
                }
            }
        }
    }
    assert!(cases >= 20, "{cases} cases: the grid no longer tests this");
    assert!(
        found * 100 >= cases * 95,
        "{found} of {cases} found ambiguous; missed (truth, other place, observer) {missed:?}"
    );
}
