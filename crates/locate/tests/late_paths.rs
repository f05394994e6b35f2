//! Fits of one round's pulses as an urban network hears it: seventeen sensors over ten
//! kilometres of hilly ground, the source a few kilometres from most of them, onset picks of
//! 1–10 ms with a heavy tail, stated sigmas off by ×0.5–×3, a light wind, a temperature a tenth of a
//! degree off, and one pulse in ten late by a path around buildings (5–300 ms). Several late
//! pulses in one fit hide each other from a search that sets one aside at a time; the fix must
//! not follow them.

#![allow(clippy::unwrap_used)]

mod common;

use common::travel_time_in_wind;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_locate::{ArrivalMeasurement, Measurements, Surface, locate, speed_of_sound};

const TRIALS: usize = 600;

/// Errors, coverage and gross errors of the fixes of many rounds.
#[derive(Default)]
struct Tally {
    errors: Vec<f64>,
    inside: usize,
    gross: usize,
}

/// One round: its sensors' pulses, the truth, and what the sensors state.
fn round(rng: &mut StdRng, unit: &Normal<f64>) -> (Vec<ArrivalMeasurement>, [f64; 2]) {
    let sensors: Vec<[f64; 3]> = (0..17)
        .map(|_| {
            let (e, n): (f64, f64) = (
                rng.random_range(-5000.0..5000.0),
                rng.random_range(-5000.0..5000.0),
            );
            [e, n, 50.0 * (e / 1500.0).sin() + 50.0 * (n / 2100.0).cos()]
        })
        .collect();
    let truth: [f64; 2] = [
        rng.random_range(-3000.0..3000.0),
        rng.random_range(-3000.0..3000.0),
    ];
    let up = 50.0 * (truth[0] / 1500.0).sin() + 50.0 * (truth[1] / 2100.0).cos();
    // The mean of seventeen sensors' readings, each half a degree off.
    let c_true = speed_of_sound(12.0 + 0.12 * unit.sample(rng));
    let wind = [0.9, 0.35];
    let t0 = 10.0;
    let a = sensors
        .iter()
        .map(|&s| {
            let true_sigma = rng.random_range(0.001..0.010);
            let stated = true_sigma / rng.random_range(0.5..3.0);
            let tail = if rng.random_bool(0.05) { 5.0 } else { 1.0 };
            let late = if rng.random_bool(0.10) {
                rng.random_range(0.005..0.300)
            } else {
                0.0
            };
            // The sensor's surveyed place is a metre off.
            let surveyed = [
                s[0] + unit.sample(rng),
                s[1] + unit.sample(rng),
                s[2] + unit.sample(rng),
            ];
            let d = [s[0] - truth[0], s[1] - truth[1], s[2] - up];
            ArrivalMeasurement {
                sensor: surveyed,
                time_s: t0
                    + travel_time_in_wind(d, wind, c_true)
                    + late
                    + tail * true_sigma * unit.sample(rng),
                // As association states it: widened by a metre of survey error.
                sigma_s: stated.hypot(1.0 / 340.0),
            }
        })
        .collect();
    (a, truth)
}

#[test]
fn several_late_paths_in_one_round_do_not_pull_its_fix() {
    let mut rng = StdRng::seed_from_u64(29);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let mut tally = Tally::default();
    for _ in 0..TRIALS {
        let (a, truth) = round(&mut rng, &unit);
        let sensors: Vec<[f64; 3]> = a.iter().map(|x| x.sensor).collect();
        let m = Measurements {
            bearings: &[],
            arrivals: &a,
            points: &[],
            speed_of_sound_m_s: speed_of_sound(12.0),
            source_height_m: 0.0,
            surface: Surface::from_sensors(&sensors),
            wind_sigma_m_s: Some(3.0),
            speed_sigma_m_s: None,
        };
        let Ok(fix) = locate(&m) else { continue };
        let d = (fix.at[0] - truth[0], fix.at[1] - truth[1]);
        let miss = d.0.hypot(d.1);
        tally.errors.push(miss);
        if fix.cov.mahalanobis2(d).is_some_and(|m| m <= 5.991) {
            tally.inside += 1;
        }
        if miss > 20.0 && miss > 3.0 * fix.cov.ellipse_95().semi_major_m {
            tally.gross += 1;
        }
    }
    let n = tally.errors.len();
    let rmse = (tally.errors.iter().map(|e| e * e).sum::<f64>() / n as f64).sqrt();
    tally.errors.sort_by(f64::total_cmp);
    let median = tally.errors[n / 2];
    let far = tally.errors.iter().filter(|&&e| e > 50.0).count();
    let coverage = tally.inside as f64 / n as f64;
    eprintln!(
        "{n} rounds: RMSE {rmse:.1} m, median {median:.1} m, {far} beyond 50 m, coverage {:.1}%, {} gross",
        100.0 * coverage,
        tally.gross
    );
    assert!(n >= TRIALS * 9 / 10, "only {n} of {TRIALS} fitted");
    // Set aside one at a time alone, 29 of these fixes were more than 50 m off (RMSE 21 m):
    // two or three late pulses hid each other. With the trimmed fit tried where what is left
    // fits no one source, 3 (RMSE 9 m).
    assert!(far <= 6, "{far} fixes more than 50 m off");
    assert!(rmse <= 12.0, "RMSE {rmse} m");
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
    assert!(tally.gross <= 3, "{} gross errors", tally.gross);
}
