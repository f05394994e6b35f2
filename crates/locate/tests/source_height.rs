//! The source's height, when a fix says it estimated it, must hold the truth as often as its
//! sigma says, also when the noise is not what the sensors state (a guessed sigma, a heavy
//! tail of onset picking, wind and a speed of sound off the reported temperature's).

#![allow(clippy::unwrap_used)]

mod common;

use common::{arrivals_in_weather, travel_time_in_wind};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_locate::{ArrivalMeasurement, HeightSource, Surface, locate};

const TRIALS: usize = 1500;
const C: f64 = 343.0;

/// Fourteen sensors over a few kilometres of hilly ground, the source on it or a little above;
/// onset picks with a 5% tail six times wider than the rest. Of the fixes that claim to have
/// estimated the height (rather than taken it from the surface), at least 80% must hold the
/// true height within 1.96 of their sigmas: a claimed height with a sigma it does not have is
/// worse than the surface's. With the model's sigma alone (scaled by the residuals) 73% did;
/// with the sandwich's as a floor, 85%. The 95% it should be is not reached: the misses are
/// fits a tail pick pulls, which no sigma from the residuals sees.
#[test]
fn an_estimated_source_height_holds_the_truth_as_often_as_its_sigma_says() {
    let mut rng = StdRng::seed_from_u64(23);
    let unit = Normal::new(0.0, 1.0).unwrap();
    let sensors: Vec<[f64; 3]> = (0..14)
        .map(|i| {
            let a = f64::from(i) * 0.47;
            let r = 250.0 + 150.0 * f64::from(i % 6);
            let (e, n) = (r * a.sin(), r * a.cos());
            [e, n, 90.0 * (e / 500.0).sin() + 70.0 * (n / 600.0).cos()]
        })
        .collect();
    let surface = Surface::from_sensors(&sensors);
    let (mut claims, mut held) = (0usize, 0usize);
    for _ in 0..TRIALS {
        let truth = [
            rng.random_range(-400.0..400.0),
            rng.random_range(-400.0..400.0),
        ];
        let source_up = surface.unwrap().up_at(truth) + rng.random_range(0.0..10.0);
        let stated = 0.003;
        let true_sigma = stated * rng.random_range(0.5..3.0);
        let t0 = rng.random_range(0.0..100.0);
        let wind = [1.5 * unit.sample(&mut rng), 1.5 * unit.sample(&mut rng)];
        let c = C + 0.6 * unit.sample(&mut rng);
        let a: Vec<ArrivalMeasurement> = sensors
            .iter()
            .map(|&s| {
                let d = [s[0] - truth[0], s[1] - truth[1], s[2] - source_up];
                let tau = travel_time_in_wind(d, wind, c);
                let tail = if rng.random_range(0.0..1.0) < 0.05 {
                    6.0
                } else {
                    1.0
                };
                ArrivalMeasurement {
                    sensor: s,
                    time_s: t0 + tau + tail * true_sigma * unit.sample(&mut rng),
                    sigma_s: stated,
                }
            })
            .collect();
        let m = arrivals_in_weather(&a, surface, C);
        let Ok(fix) = locate(&m) else { continue };
        let Some(h) = fix.height else { continue };
        if h.source != HeightSource::Estimated {
            continue;
        }
        claims += 1;
        let sigma = h.sigma_m.unwrap();
        if (h.up_m - source_up).abs() <= 1.96 * sigma {
            held += 1;
        }
    }
    let share = held as f64 / claims.max(1) as f64;
    eprintln!(
        "source height estimated in {claims} of {TRIALS} fixes; {:.1}% within 1.96σ",
        100.0 * share
    );
    assert!(claims > 0, "the geometry supports estimating the height");
    assert!(
        share >= 0.80,
        "{held} of {claims} claimed heights held the truth"
    );
}
