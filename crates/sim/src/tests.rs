//! The simulator's reports are valid, reproducible, and say what the truth says.

use super::*;
use truce_core::validate::validate;
use truce_core::{Geometry, Timestamp};
use truce_geo::{LatLon, LocalFrame, distance_azimuth};

fn scenario() -> Scenario {
    Scenario::from_toml(
        r#"
        temperature_c = -5.0
        arrival_outlier_probability = 0.1
        posts = [{id = "m1-op-1", lat = 40.0, lon = 46.80},
                 {id = "m2-op-1", lat = 40.02, lon = 46.86, bearing_sigma_deg = 2.0, bias_deg = 3.0}]
        sensors = [{id = "s1", lat = 40.00, lon = 46.83}, {id = "s2", lat = 40.02, lon = 46.82},
                   {id = "s3", lat = 40.01, lon = 46.85, sigma_s = 0.002}, {id = "s4", lat = 39.995, lon = 46.845}]
        uavs = [{id = "uav-1", lat = 40.01, lon = 46.83, alt_hae_m = 1200, radius_m = 5000, rangefinder = true}]
        hotspots = [{lat = 40.01, lon = 46.83, radius_m = 1500}]
        "#,
    )
    .unwrap()
}

fn t0() -> Timestamp {
    Timestamp::parse("2026-11-20T10:00:00Z").unwrap()
}

#[test]
fn same_seed_same_events_and_every_report_is_valid() {
    let mut a = Generator::new(scenario(), 7);
    let mut b = Generator::new(scenario(), 7);
    for i in 0..300 {
        let t = t0().plus_seconds(f64::from(i) * 30.0);
        let ea = a.simulate(t);
        assert_eq!(ea, b.simulate(t));
        assert!(!ea.observations.is_empty());
        assert_eq!(ea.truth.observations.len(), ea.observations.len());
        for o in ea.observations {
            let now = t.plus_seconds(120.0);
            assert!(validate(o.clone(), now).is_ok(), "{o:?}");
        }
    }
}

#[test]
fn arrivals_follow_the_speed_of_sound_at_the_true_temperature() {
    let mut g = Generator::new(scenario(), 3);
    let c = 331.3 * (1.0f64 - 5.0 / 273.15).sqrt();
    let (mut n, mut late) = (0, 0);
    for i in 0..300 {
        let ev = g.simulate(t0().plus_seconds(f64::from(i) * 60.0));
        let truth = LatLon::new(ev.truth.lat, ev.truth.lon);
        for o in &ev.observations {
            if let Geometry::Arrival(a) = &o.geometry {
                let d = distance_azimuth(LatLon::new(a.sensor.lat, a.sensor.lon), truth).0;
                let err = a.arrival_time.seconds_since(ev.truth.time) - d / c;
                if ev.truth.outliers.contains(&o.client_id.unwrap()) {
                    assert!(err > 0.03, "an outlier is late: {err}");
                    late += 1;
                } else {
                    assert!(
                        err.abs() < 6.0 * a.sigma_s,
                        "error {err} s, sigma {}",
                        a.sigma_s
                    );
                }
                n += 1;
            }
        }
    }
    assert!(n > 200 && late > 5, "{n} arrivals, {late} late");
}

#[test]
fn a_uav_report_points_its_camera_at_the_event() {
    let mut g = Generator::new(scenario(), 11);
    let mut n = 0;
    for i in 0..300 {
        let ev = g.simulate(t0().plus_seconds(f64::from(i) * 60.0));
        for o in &ev.observations {
            if let Geometry::Uav(u) = &o.geometry {
                let pose = truce_locate::UavPose {
                    lat: u.aircraft.lat,
                    lon: u.aircraft.lon,
                    alt_hae_m: u.aircraft.alt_hae_m,
                    yaw_deg: u.aircraft.yaw_deg,
                    pitch_deg: u.aircraft.pitch_deg,
                    roll_deg: u.aircraft.roll_deg,
                    pan_deg: u.gimbal.pan_deg,
                    tilt_deg: u.gimbal.tilt_deg,
                    slant_range_m: None,
                    ground_alt_m: 0.0,
                };
                let (at, cov) =
                    truce_locate::uav_target(&pose, &truce_locate::UavNoise::default()).unwrap();
                let (e, nn) = LocalFrame::at(at).to_en(LatLon::new(ev.truth.lat, ev.truth.lon));
                let d2 = cov.mahalanobis2((e, nn)).unwrap();
                assert!(
                    d2 < 40.0,
                    "truth {d2:.1} sigma² from the camera's ground point"
                );
                n += 1;
            }
        }
    }
    assert!(n > 50, "only {n} UAV reports");
}

#[test]
fn biased_posts_are_biased_and_impacts_come_from_elsewhere() {
    let mut g = Generator::new(scenario(), 5).with_sides(Box::new(|p: LatLon| {
        Some(if p.lon < 46.83 { "a" } else { "b" }.to_string())
    }));
    let mut bias = Vec::new();
    for i in 0..400 {
        let ev = g.simulate(t0().plus_seconds(f64::from(i) * 60.0));
        let truth = LatLon::new(ev.truth.lat, ev.truth.lon);
        if ev.truth.impact {
            let o = ev.truth.origin.unwrap();
            let here = if truth.lon < 46.83 { "a" } else { "b" };
            assert_ne!(ev.truth.origin_side.as_deref(), Some(here));
            assert_eq!(
                ev.truth.origin_side.as_deref(),
                Some(if o.lon < 46.83 { "a" } else { "b" })
            );
        }
        for o in &ev.observations {
            if let Geometry::Bearing(b) = &o.geometry
                && o.reporter == "m2-op-1"
            {
                let (_, az) = distance_azimuth(LatLon::new(b.observer.lat, b.observer.lon), truth);
                bias.push((b.bearing_deg - az + 540.0).rem_euclid(360.0) - 180.0);
            }
        }
    }
    let mean = bias.iter().sum::<f64>() / bias.len() as f64;
    assert!(
        bias.len() > 100 && (mean - 3.0).abs() < 0.5,
        "mean error {mean} over {}",
        bias.len()
    );
}

#[test]
fn bad_scenarios_are_refused_naming_the_field() {
    assert!(Scenario::from_toml("posts = []\nhotspots = []").is_err());
    let e = Scenario::from_toml(
        "posts = [{id = \"x\", lat = 95.0, lon = 0.0}]\nhotspots = [{lat = 0.0, lon = 0.0, radius_m = 1.0}]",
    )
    .unwrap_err();
    assert!(e.to_string().contains("posts.x"), "{e}");
    let e = Scenario::from_toml(
        "temperature_c = 99\nposts = [{id = \"x\", lat = 5.0, lon = 0.0}]\nhotspots = [{lat = 0.0, lon = 0.0, radius_m = 1.0}]",
    )
    .unwrap_err();
    assert!(e.to_string().contains("temperature_c"), "{e}");
}

fn fire_scenario() -> Scenario {
    Scenario::from_toml(
        r#"
        temperature_c = 10.0
        detection_probability = 0.9
        [fire]
        rounds = [3, 8]
        interval_s = [0.1, 1.0]
        hearing_range_m = 6000
        [acoustics]
        relief_m = 150
        picking_tail_probability = 0.05
        stated_sigma_factor = [0.5, 3.0]
        sensor_position_sigma_m = 1.0
        wind_speed_m_s = 2.0
        wind_from_deg = 90
        nlos_probability = 0.2
        echo_probability = 0.2
        noise_pulses_per_hour = 60
        [[networks]]
        id = "net"
        lat = 40.0
        lon = 46.8
        sensors = 18
        spread_m = 9000
        "#,
    )
    .unwrap()
}

#[test]
fn fire_is_rounds_heard_on_hilly_ground_with_late_paths_echoes_and_noise() {
    let mut g = Generator::new(fire_scenario(), 9);
    let sensors = g.field_sensors();
    assert_eq!(sensors.len(), 18);
    let heights: Vec<f64> = sensors.iter().map(|s| s.2).collect();
    let spread = heights.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - heights.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(spread > 30.0, "sensors stand on hills: {heights:?}");
    assert!(
        sensors.iter().any(|s| (s.3 / s.4 - 1.0).abs() > 0.3),
        "some stated sigmas are off"
    );
    let (mut late, mut echoes, mut noise, mut pulses) = (0, 0, 0, 0);
    for i in 0..40 {
        let t = t0().plus_seconds(f64::from(i) * 300.0);
        let ev = g.simulate(t);
        let rounds = &ev.truth.rounds;
        assert!((3..=8).contains(&rounds.len()));
        assert_eq!(ev.truth.count as usize, rounds.len());
        for w in rounds.windows(2) {
            let gap = w[1].time.seconds_since(w[0].time);
            assert!((0.1..=1.0).contains(&gap), "{gap}");
        }
        let all: Vec<_> = ev.observations.iter().filter_map(|o| o.client_id).collect();
        for r in rounds {
            assert_eq!(r.sigma_s.len(), r.observations.len());
            for u in r.observations.iter().chain(&r.echoes) {
                assert!(all.contains(u));
            }
            late += r.late.len();
            echoes += r.echoes.len();
            pulses += r.observations.len();
        }
        noise += ev.truth.noise.len();
        for o in &ev.observations {
            assert!(validate(o.clone(), t.plus_seconds(600.0)).is_ok(), "{o:?}");
            assert!(matches!(o.geometry, Geometry::Arrival(_)));
        }
        assert!(
            ev.observations
                .windows(2)
                .all(|w| w[0].observed_at <= w[1].observed_at),
            "pulses in arrival order"
        );
    }
    assert!(pulses > 1000, "{pulses}");
    assert!(
        late > pulses / 20 && echoes > pulses / 10,
        "{late} late, {echoes} echoes"
    );
    assert!(noise > 10, "{noise} noise pulses");
}

#[test]
fn the_shipped_scenarios_parse() {
    for file in [
        "rapid-fire-urban.toml",
        "three-rounds-urban.toml",
        "twelve-sites.toml",
    ] {
        let path = format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let s = Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(s.fire.is_some() && s.acoustics.is_some() && !s.networks.is_empty());
    }
    let path = format!(
        "{}/../../scenarios/posts-misread.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = Scenario::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(s.bearing_misread_probability > 0.0 && !s.posts.is_empty());
    let e = Scenario::from_toml(
        "bearing_misread_probability = 1.5\nposts = [{id = \"p\", lat = 40.0, lon = 46.8}]\n\
         hotspots = [{lat = 40.01, lon = 46.83, radius_m = 1500}]",
    )
    .unwrap_err();
    assert!(e.to_string().contains("bearing_misread_probability"), "{e}");
    let e = Scenario::from_toml("[fire]\nrounds = [1, 40]\n[[networks]]\nid = \"n\"\nlat = 1.0\nlon = 1.0\nsensors = 5\nspread_m = 100").unwrap_err();
    assert!(e.to_string().contains("fire.rounds"), "{e}");
}

#[test]
fn misread_bearings_are_off_by_tens_of_degrees_and_listed_as_outliers() {
    let base = scenario();
    let mut misreading = base.clone();
    misreading.bearing_misread_probability = 0.3;
    let mut g = Generator::new(misreading, 5);
    let (mut misread, mut right, mut misread_deg) = (0, 0, 0.0);
    for i in 0..400 {
        let ev = g.simulate(t0().plus_seconds(f64::from(i) * 60.0));
        let truth = LatLon::new(ev.truth.lat, ev.truth.lon);
        for o in &ev.observations {
            let Geometry::Bearing(b) = &o.geometry else {
                continue;
            };
            let post = base.posts.iter().find(|p| p.id == o.reporter).unwrap();
            let (_, az) = distance_azimuth(LatLon::new(b.observer.lat, b.observer.lon), truth);
            let off = (b.bearing_deg - az + 540.0).rem_euclid(360.0) - 180.0 - post.bias_deg;
            // The compass's own noise comes on top of a misread.
            let sigma = post.bearing_sigma_deg.unwrap_or(base.bearing_sigma_deg);
            if ev.truth.outliers.contains(&o.client_id.unwrap()) {
                assert!(
                    off.abs() <= 40.0 + 5.0 * sigma,
                    "a misread is 10–40° off: {off}"
                );
                misread_deg += off.abs();
                misread += 1;
            } else {
                assert!(
                    off.abs() < 5.0 * sigma,
                    "a right bearing is within its noise: {off}"
                );
                right += 1;
            }
        }
    }
    let mean = misread_deg / f64::from(misread.max(1));
    assert!(
        (20.0..30.0).contains(&mean),
        "misreads average 25° off: {mean}"
    );
    let share = f64::from(misread) / f64::from(misread + right);
    assert!(
        (0.2..0.4).contains(&share),
        "{misread} misread of {}",
        misread + right
    );
}
