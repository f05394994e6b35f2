//! Monte Carlo checks of the estimators against their Cramér–Rao bounds: with Gaussian noise of
//! the stated size, the root-mean-square error must be close to √trace(CRLB) and the 95%
//! ellipse of each fix must hold the truth about 95% of the time. Also the outlier search.

#![allow(clippy::unwrap_used)]

mod common;

use common::{arrivals_in_weather, travel_time_in_wind};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_geo::Cov2;
use truce_locate::{
    ArrivalMeasurement, BearingMeasurement, Fix, Measurements, PointMeasurement, RangeMeasurement,
    crlb_arrivals, crlb_bearings, locate, locate_arrivals, locate_bearings,
};

const TRIALS: usize = 2000;
const C: f64 = 343.0;
/// The 95% point of chi² with two degrees of freedom.
const CHI2_2_95: f64 = 5.991;

/// Accumulates errors and coverage over trials.
#[derive(Default)]
struct Tally {
    sq_err: f64,
    inside: usize,
    trials: usize,
}

impl Tally {
    fn add(&mut self, fix: &Fix, truth: [f64; 2]) {
        let d = [fix.at[0] - truth[0], fix.at[1] - truth[1]];
        self.sq_err += d[0] * d[0] + d[1] * d[1];
        let w = fix.cov.inverse().unwrap();
        let (a, b) = w.apply((d[0], d[1]));
        if d[0] * a + d[1] * b <= CHI2_2_95 {
            self.inside += 1;
        }
        self.trials += 1;
    }

    /// Prints and checks RMSE against the bound and the 95% coverage.
    fn check(&self, name: &str, crlb: Cov2) {
        self.check_within(name, crlb, 0.97);
    }

    /// As [`Tally::check`], with coverage allowed up to `most`.
    fn check_within(&self, name: &str, crlb: Cov2, most: f64) {
        let rmse = (self.sq_err / self.trials as f64).sqrt();
        let bound = (crlb.ee + crlb.nn).sqrt();
        let coverage = self.inside as f64 / self.trials as f64;
        eprintln!(
            "{name}: RMSE {rmse:.2} m, √trace(CRLB) {bound:.2} m, ratio {:.3}, 95% coverage {:.1}% over {} trials",
            rmse / bound,
            100.0 * coverage,
            self.trials
        );
        assert!(rmse <= 1.1 * bound, "{name}: RMSE {rmse} vs bound {bound}");
        assert!(
            (0.93..=most).contains(&coverage),
            "{name}: coverage {coverage}"
        );
    }
}

fn azimuth(from: [f64; 2], to: [f64; 2]) -> f64 {
    (to[0] - from[0]).atan2(to[1] - from[1])
}

fn bearings_case(
    name: &str,
    truth: [f64; 2],
    observers: &[([f64; 2], f64, Option<f64>)],
    observer_sigma_m: f64,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let exact: Vec<BearingMeasurement> = observers
        .iter()
        .map(|&(o, sigma_deg, range_sigma)| BearingMeasurement {
            observer: o,
            observer_sigma_m,
            azimuth_rad: azimuth(o, truth),
            sigma_rad: sigma_deg.to_radians(),
            range: range_sigma.map(|s| RangeMeasurement {
                mean_m: (truth[0] - o[0]).hypot(truth[1] - o[1]),
                sigma_m: s,
            }),
        })
        .collect();
    let crlb = crlb_bearings(truth, &exact).unwrap();
    let mut tally = Tally::default();
    for _ in 0..TRIALS {
        let noisy: Vec<BearingMeasurement> = exact
            .iter()
            .map(|b| {
                // The observer thinks it is at b.observer but is really off by its own error.
                let real = [
                    b.observer[0] + observer_sigma_m * unit.sample(&mut rng),
                    b.observer[1] + observer_sigma_m * unit.sample(&mut rng),
                ];
                BearingMeasurement {
                    azimuth_rad: azimuth(real, truth) + b.sigma_rad * unit.sample(&mut rng),
                    range: b.range.map(|r| RangeMeasurement {
                        mean_m: (truth[0] - real[0]).hypot(truth[1] - real[1])
                            + r.sigma_m * unit.sample(&mut rng),
                        ..r
                    }),
                    ..*b
                }
            })
            .collect();
        tally.add(&locate_bearings(&noisy).unwrap(), truth);
    }
    tally.check(name, crlb);
}

#[test]
fn bearings_three_observers_reach_the_bound() {
    bearings_case(
        "bearings, 3 observers at 3-4 km, 2-3°",
        [0.0, 0.0],
        &[
            ([-3000.0, -1500.0], 2.0, None),
            ([3200.0, -1000.0], 3.0, None),
            ([0.0, 3500.0], 2.0, None),
        ],
        0.0,
        1,
    );
}

#[test]
fn bearings_four_observers_with_position_error_reach_the_bound() {
    bearings_case(
        "bearings, 4 observers at 2-5 km, 2-5°, observers ±20 m",
        [500.0, 800.0],
        &[
            ([-2500.0, -1000.0], 2.0, None),
            ([3500.0, -1500.0], 3.0, None),
            ([1000.0, 5000.0], 5.0, None),
            ([-2000.0, 3500.0], 2.5, None),
        ],
        20.0,
        2,
    );
}

#[test]
fn bearings_with_a_range_reach_the_bound() {
    bearings_case(
        "bearings, 2 observers, one with a 50 m range",
        [0.0, 0.0],
        &[
            ([-3000.0, -2000.0], 2.0, Some(50.0)),
            ([2500.0, -2500.0], 3.0, None),
        ],
        0.0,
        3,
    );
}

const SENSORS: [[f64; 3]; 6] = [
    [-1500.0, -1200.0, 10.0],
    [1800.0, -1500.0, 40.0],
    [2000.0, 1700.0, 0.0],
    [-1400.0, 2100.0, 25.0],
    [200.0, -2600.0, 5.0],
    [-2700.0, 300.0, 60.0],
];

fn arrival_times(
    source: [f64; 2],
    t0: f64,
    sensors: &[[f64; 3]],
    sigma_s: f64,
    mut noise: impl FnMut() -> f64,
) -> Vec<ArrivalMeasurement> {
    sensors
        .iter()
        .map(|&s| {
            let d = [s[0] - source[0], s[1] - source[1], s[2]];
            ArrivalMeasurement {
                sensor: s,
                time_s: t0
                    + (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() / C
                    + sigma_s * noise(),
                sigma_s,
            }
        })
        .collect()
}

fn arrivals_case(name: &str, truth: [f64; 2], n: usize, sigma_s: f64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let exact = arrival_times(truth, 0.0, &SENSORS[..n], sigma_s, || 0.0);
    let crlb = crlb_arrivals(truth, &exact, C, 0.0).unwrap();
    let mut tally = Tally::default();
    let mut excluded = 0;
    for _ in 0..TRIALS {
        let t0 = rng.random_range(0.0..100.0);
        let a = arrival_times(truth, t0, &SENSORS[..n], sigma_s, || unit.sample(&mut rng));
        let fix = locate_arrivals(&a, C, 0.0).unwrap();
        excluded += fix.excluded.len();
        tally.add(&fix, truth);
    }
    eprintln!("{name}: {excluded} arrivals wrongly excluded in {TRIALS} trials");
    assert!(excluded <= TRIALS / 100, "{excluded} false exclusions");
    tally.check(name, crlb);
}

#[test]
fn arrivals_five_sensors_reach_the_bound() {
    arrivals_case("TDOA, 5 sensors, 10 ms", [300.0, 200.0], 5, 0.010, 4);
}

#[test]
fn arrivals_six_sensors_reach_the_bound() {
    arrivals_case("TDOA, 6 sensors, 2 ms", [-600.0, 900.0], 6, 0.002, 5);
}

#[test]
fn a_late_arrival_is_excluded_and_the_fix_stays_near_the_truth() {
    let mut rng = StdRng::seed_from_u64(6);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let truth = [400.0, -300.0];
    let sigma_s = 0.003;
    for late in 0..6 {
        let mut a = arrival_times(truth, 7.0, &SENSORS, sigma_s, || unit.sample(&mut rng));
        a[late].time_s += 0.2;
        let fix = locate_arrivals(&a, C, 0.0).unwrap();
        assert_eq!(fix.excluded.len(), 1, "{:?}", fix.excluded);
        assert_eq!(fix.excluded[0].arrival(), Some(late));
        let reason = &fix.excluded[0].reason;
        eprintln!("{reason}");
        let seconds: f64 = reason
            .strip_prefix("this arrival is ")
            .and_then(|r| r.split(' ').next())
            .and_then(|x| x.parse().ok())
            .unwrap();
        assert!((seconds - 0.2).abs() < 0.02, "{reason}");
        assert!(reason.contains("late for the fix of the rest: a non-line-of-sight path"));
        let d = [fix.at[0] - truth[0], fix.at[1] - truth[1]];
        let d2 = fix.cov.mahalanobis2((d[0], d[1])).unwrap();
        assert!(d2 < 16.0, "truth {d2}σ² from the fix");
        assert_eq!(fix.dof, 2);
    }
    // Five sensors leave four after the exclusion: still one degree of freedom to check with.
    let mut a = arrival_times(truth, 7.0, &SENSORS[..5], sigma_s, || unit.sample(&mut rng));
    a[2].time_s += 0.2;
    let fix = locate_arrivals(&a, C, 0.0).unwrap();
    assert_eq!(
        fix.excluded.iter().map(|e| e.arrival()).collect::<Vec<_>>(),
        [Some(2)]
    );
    // The joint estimator applies the same search.
    let bearing = BearingMeasurement {
        observer: [-3000.0, -3000.0],
        observer_sigma_m: 0.0,
        azimuth_rad: azimuth([-3000.0, -3000.0], truth),
        sigma_rad: 0.03,
        range: None,
    };
    let fix = locate(&Measurements::plain(&[bearing], &a, &[], C)).unwrap();
    assert_eq!(
        fix.excluded.iter().map(|e| e.arrival()).collect::<Vec<_>>(),
        [Some(2)]
    );
    assert!(
        (fix.at[0] - truth[0]).hypot(fix.at[1] - truth[1]) < 10.0,
        "{:?}",
        fix.at
    );
}

#[test]
fn mixed_measurements_reach_the_bound() {
    // Two bearings, four arrivals and a patrol report together.
    let truth = [200.0, 100.0];
    let mut rng = StdRng::seed_from_u64(7);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let observers = [[-3000.0, -2000.0], [2500.0, 3000.0]];
    let sigma_rad = 3f64.to_radians();
    let sigma_s = 0.02;
    let report_sigma = 150.0;
    let mut tally = Tally::default();
    for _ in 0..TRIALS {
        let bearings: Vec<_> = observers
            .iter()
            .map(|&o| BearingMeasurement {
                observer: o,
                observer_sigma_m: 0.0,
                azimuth_rad: azimuth(o, truth) + sigma_rad * unit.sample(&mut rng),
                sigma_rad,
                range: None,
            })
            .collect();
        let arrivals = arrival_times(truth, 1.0, &SENSORS[..4], sigma_s, || unit.sample(&mut rng));
        let points = [PointMeasurement {
            at: [
                truth[0] + report_sigma * unit.sample(&mut rng),
                truth[1] + report_sigma * unit.sample(&mut rng),
            ],
            cov: Cov2::circular(report_sigma),
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
        tally.add(&locate(&m).unwrap(), truth);
    }
    // The joint bound: informations add (the arrivals' after marginalising the emission time).
    let info = |c: Cov2| c.inverse().unwrap();
    let exact_b: Vec<_> = observers
        .iter()
        .map(|&o| BearingMeasurement {
            observer: o,
            observer_sigma_m: 0.0,
            azimuth_rad: azimuth(o, truth),
            sigma_rad,
            range: None,
        })
        .collect();
    let exact_a = arrival_times(truth, 0.0, &SENSORS[..4], sigma_s, || 0.0);
    let total = info(crlb_bearings(truth, &exact_b).unwrap())
        .plus(info(crlb_arrivals(truth, &exact_a, C, 0.0).unwrap()))
        .plus(info(Cov2::circular(report_sigma)));
    // Five degrees of freedom: the residuals' own (HC3) covariance, which the ellipse takes
    // when it is wider than the stated one, errs wide with so little redundancy (about 98%
    // here, where the stated noise is exactly right); never narrow.
    tally.check_within(
        "mixed: 2 bearings 3°, 4 arrivals 20 ms, a 150 m report",
        info(total),
        0.985,
    );
}

/// Twelve sensors on uneven ground; the source's height, the wind and the speed of sound
/// estimated (with the surface, calm air ±3 m/s and the reported temperature's speed
/// ±1.2 m/s as priors, the true wind and speed drawn from them); sensors whose stated sigma
/// is a guess: the true sigma is the stated one times 0.5 to 3. Coverage must stay honest,
/// the error near the bound computed with the true noise.
#[test]
fn arrivals_stay_honest_when_the_stated_sigma_is_wrong() {
    let mut rng = StdRng::seed_from_u64(17);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let sensors: Vec<[f64; 3]> = (0..12)
        .map(|i| {
            let a = f64::from(i) * 0.53;
            let r = 1200.0 + 300.0 * f64::from(i % 5);
            let (e, n) = (r * a.sin(), r * a.cos());
            [e, n, 30.0 * (e / 900.0).sin() + 20.0 * (n / 1300.0).cos()]
        })
        .collect();
    let surface = truce_locate::Surface::from_sensors(&sensors);
    let truth = [250.0, -300.0];
    let source_up = surface.unwrap().up_at(truth);
    let mut tally = Tally::default();
    let mut bound_trace = 0.0;
    for _ in 0..TRIALS {
        let factor = rng.random_range(0.5..3.0);
        let stated = 0.004;
        let true_sigma = stated * factor;
        let t0 = rng.random_range(0.0..100.0);
        let wind = [3.0 * unit.sample(&mut rng), 3.0 * unit.sample(&mut rng)];
        let c = C + 1.2 * unit.sample(&mut rng);
        let a: Vec<ArrivalMeasurement> = sensors
            .iter()
            .map(|&s| {
                let d = [s[0] - truth[0], s[1] - truth[1], s[2] - source_up];
                let tau = travel_time_in_wind(d, wind, c);
                ArrivalMeasurement {
                    sensor: s,
                    time_s: t0 + tau + true_sigma * unit.sample(&mut rng),
                    sigma_s: stated,
                }
            })
            .collect();
        let m = arrivals_in_weather(&a, surface, C);
        let fix = locate(&m).unwrap();
        assert!(
            fix.cov.ee >= fix.stated_cov.ee,
            "never below the stated covariance"
        );
        tally.add(&fix, truth);
        let honest: Vec<ArrivalMeasurement> = a
            .iter()
            .map(|x| ArrivalMeasurement {
                sigma_s: true_sigma,
                ..*x
            })
            .collect();
        let b = truce_locate::crlb(
            &Measurements {
                arrivals: &honest,
                ..m
            },
            truth,
        )
        .unwrap();
        bound_trace += b.ee + b.nn;
    }
    let mean_bound = bound_trace / TRIALS as f64;
    // Seven unknowns, three of them held by priors: the estimate is a posterior mode, whose
    // error stays within 1.2× the (Bayesian) bound; what this test holds to the issue's
    // 0.93–0.97 is the coverage, the honesty of the ellipse.
    let rmse = (tally.sq_err / tally.trials as f64).sqrt();
    let coverage = tally.inside as f64 / tally.trials as f64;
    eprintln!(
        "TDOA, 12 sensors, stated sigma ×0.5–×3 off, height, wind and speed estimated: RMSE {rmse:.2} m, √trace(bound) {:.2} m, ratio {:.3}, coverage {:.1}%",
        mean_bound.sqrt(),
        rmse / mean_bound.sqrt(),
        100.0 * coverage
    );
    assert!(
        rmse <= 1.2 * mean_bound.sqrt(),
        "RMSE {rmse} vs bound {}",
        mean_bound.sqrt()
    );
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
}
