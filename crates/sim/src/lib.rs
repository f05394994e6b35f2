//! A simulated stream of field reports: random events around hotspots near the line of contact,
//! and what the observation posts of each monitor (and patrols) would report of them.
//!
//! Noise follows field practice (REFERENCES.md): compass bearings with σ 3°, flash-to-bang
//! distance ranges of about ±(100 m + 8%), report times a few seconds off, missed detections.
//! The ground-truth simulator and evaluation of the geolocation issue build on this.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::Deserialize;
use truce_core::observation::{BearingGeometry, ObserverPosition, PositionGeometry};
use truce_core::{Geometry, Kind, Observation, Source, Subkind, Timestamp, Weapon};
use truce_geo::{LatLon, destination, distance_azimuth};

/// An observation post of one monitor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Reporter id (`m1-op-3`).
    pub id: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// A place events cluster around.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hotspot {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Events fall uniformly within this radius, metres.
    pub radius_m: f64,
}

/// What the simulation draws from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Observation posts.
    pub posts: Vec<Post>,
    /// Where events happen.
    pub hotspots: Vec<Hotspot>,
    /// Farthest a post hears an explosion, metres.
    #[serde(default = "default_hearing")]
    pub hearing_range_m: f64,
    /// Probability a post in range reports an event.
    #[serde(default = "default_detection")]
    pub detection_probability: f64,
    /// One standard deviation of a compass bearing, degrees.
    #[serde(default = "default_bearing_sigma")]
    pub bearing_sigma_deg: f64,
}

fn default_hearing() -> f64 {
    8_000.0
}
fn default_detection() -> f64 {
    0.85
}
fn default_bearing_sigma() -> f64 {
    3.0
}

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("scenario: {0}")]
pub struct ScenarioError(pub String);

impl Scenario {
    /// Parses a scenario from TOML and checks it.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        if s.posts.is_empty() || s.hotspots.is_empty() {
            return Err(ScenarioError(
                "needs at least one post and one hotspot".into(),
            ));
        }
        let ok =
            |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        if s.posts.iter().any(|p| !ok(p.lat, p.lon)) || s.hotspots.iter().any(|h| !ok(h.lat, h.lon))
        {
            return Err(ScenarioError("a coordinate is outside WGS84 ranges".into()));
        }
        if !(0.0..=1.0).contains(&s.detection_probability) || s.bearing_sigma_deg <= 0.0 {
            return Err(ScenarioError(
                "detection_probability must be 0–1 and bearing_sigma_deg > 0".into(),
            ));
        }
        Ok(s)
    }
}

/// A reproducible stream of reports from a scenario.
pub struct Generator {
    scenario: Scenario,
    rng: StdRng,
}

impl Generator {
    /// A generator seeded with `seed` (the same seed gives the same reports).
    pub fn new(scenario: Scenario, seed: u64) -> Self {
        Self {
            scenario,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The reports of one random event happening at `t` (at least one report).
    pub fn event(&mut self, t: Timestamp) -> Vec<Observation> {
        let spot =
            self.scenario.hotspots[self.rng.random_range(0..self.scenario.hotspots.len())].clone();
        let truth = destination(
            LatLon::new(spot.lat, spot.lon),
            self.rng.random_range(0.0..360.0),
            spot.radius_m * self.rng.random::<f64>().sqrt(),
        );
        let (kind, subkind, weapon, count) = self.draw_kind();
        let range = match kind {
            Kind::Explosion | Kind::Flare => self.scenario.hearing_range_m,
            _ => self.scenario.hearing_range_m * 0.5,
        };
        let mut reports = Vec::new();
        if matches!(kind, Kind::Movement | Kind::AccessDenial) {
            reports.push(self.patrol_report(truth, t, kind, weapon, count));
            return reports;
        }
        for post in self.scenario.posts.clone() {
            let at = LatLon::new(post.lat, post.lon);
            let (d, az) = distance_azimuth(at, truth);
            if d > range || self.rng.random::<f64>() > self.scenario.detection_probability {
                continue;
            }
            reports.push(self.bearing_report(&post, d, az, t, kind, subkind, weapon, count));
        }
        if reports.is_empty() {
            reports.push(self.patrol_report(truth, t, kind, weapon, count));
        }
        reports
    }

    fn draw_kind(&mut self) -> (Kind, Option<Subkind>, Option<Weapon>, u32) {
        let x: f64 = self.rng.random();
        let n = |rng: &mut StdRng, max: u32| rng.random_range(1..=max);
        if x < 0.45 {
            let weapon = if self.rng.random_bool(0.6) {
                Weapon::Mortar
            } else {
                Weapon::Artillery
            };
            (
                Kind::Explosion,
                Some(Subkind::Impact),
                Some(weapon),
                n(&mut self.rng, 6),
            )
        } else if x < 0.65 {
            let weapon = if self.rng.random_bool(0.7) {
                Weapon::SmallArms
            } else {
                Weapon::HeavyMg
            };
            (Kind::Burst, None, Some(weapon), n(&mut self.rng, 10))
        } else if x < 0.80 {
            (
                Kind::Shot,
                None,
                Some(Weapon::SmallArms),
                n(&mut self.rng, 5),
            )
        } else if x < 0.88 {
            (Kind::MuzzleFlash, None, None, 1)
        } else if x < 0.93 {
            (Kind::Flare, None, None, 1)
        } else if x < 0.97 {
            (
                Kind::Movement,
                None,
                Some(Weapon::Tank),
                n(&mut self.rng, 3),
            )
        } else {
            (Kind::AccessDenial, None, None, 1)
        }
    }

    fn jitter_time(&mut self, t: Timestamp) -> Timestamp {
        let dt = self.normal(4.0);
        t.plus_seconds(dt.clamp(-20.0, 20.0))
    }

    #[allow(clippy::too_many_arguments)]
    fn bearing_report(
        &mut self,
        post: &Post,
        distance: f64,
        azimuth: f64,
        t: Timestamp,
        kind: Kind,
        subkind: Option<Subkind>,
        weapon: Option<Weapon>,
        count: u32,
    ) -> Observation {
        let sigma = self.scenario.bearing_sigma_deg;
        let noise = self.normal(sigma);
        let bearing = (azimuth + noise).rem_euclid(360.0);
        let d_noise = self.normal(0.05);
        let d_hat = (distance * (1.0 + d_noise)).max(50.0);
        let half = 100.0 + 0.08 * d_hat;
        let observed_at = self.jitter_time(t);
        Observation {
            client_id: Some(self.uuid()),
            kind,
            subkind,
            weapon,
            count,
            observed_at,
            reporter: post.id.clone(),
            source: Source::Observer,
            geometry: Geometry::Bearing(BearingGeometry {
                observer: ObserverPosition {
                    lat: post.lat,
                    lon: post.lon,
                    accuracy_m: 10.0,
                },
                bearing_deg: round(bearing, 1),
                bearing_sigma_deg: sigma,
                distance_min_m: Some(round((d_hat - half).max(0.0), 0)),
                distance_max_m: Some(round(d_hat + half, 0)),
            }),
            notes: None,
            evidence: Vec::new(),
        }
    }

    fn patrol_report(
        &mut self,
        truth: LatLon,
        t: Timestamp,
        kind: Kind,
        weapon: Option<Weapon>,
        count: u32,
    ) -> Observation {
        let err = self.normal(40.0).abs();
        let at = destination(truth, self.rng.random_range(0.0..360.0), err);
        let patrol = format!("patrol-{}", self.rng.random_range(1..=6));
        let observed_at = self.jitter_time(t);
        Observation {
            client_id: Some(self.uuid()),
            kind,
            subkind: None,
            weapon,
            count,
            observed_at,
            reporter: patrol,
            source: Source::Patrol,
            geometry: Geometry::Position(PositionGeometry {
                lat: round(at.lat, 6),
                lon: round(at.lon, 6),
                accuracy_m: 150.0,
            }),
            notes: None,
            evidence: Vec::new(),
        }
    }

    /// A draw from N(0, sigma²) (0 for an invalid sigma).
    fn normal(&mut self, sigma: f64) -> f64 {
        Normal::<f64>::new(0.0, sigma)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0)
    }

    fn uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::validate::validate;

    fn scenario() -> Scenario {
        Scenario::from_toml(
            r#"
            posts = [{id = "m1-op-1", lat = 40.0, lon = 46.80}, {id = "m2-op-1", lat = 40.02, lon = 46.86}]
            hotspots = [{lat = 40.01, lon = 46.83, radius_m = 1500}]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn same_seed_same_reports_and_all_valid() {
        let t = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        let mut a = Generator::new(scenario(), 7);
        let mut b = Generator::new(scenario(), 7);
        for i in 0..200 {
            let t = t.plus_seconds(i as f64 * 30.0);
            let ra = a.event(t);
            assert_eq!(ra, b.event(t));
            assert!(!ra.is_empty());
            for o in ra {
                let now = t.plus_seconds(60.0);
                assert!(validate(o.clone(), now).is_ok(), "{o:?}");
            }
        }
    }

    #[test]
    fn bearings_point_at_the_hotspot() {
        let t = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        let mut g = Generator::new(scenario(), 1);
        let mut n = 0;
        for _ in 0..100 {
            for o in g.event(t) {
                if let Geometry::Bearing(b) = &o.geometry {
                    let (_, az) = distance_azimuth(
                        LatLon::new(b.observer.lat, b.observer.lon),
                        LatLon::new(40.01, 46.83),
                    );
                    let diff = (b.bearing_deg - az + 540.0).rem_euclid(360.0) - 180.0;
                    // Hotspot radius 1.5 km at ~3–4 km adds up to ~25°, noise 3° σ.
                    assert!(diff.abs() < 45.0, "bearing {} vs {az}", b.bearing_deg);
                    n += 1;
                }
            }
        }
        assert!(n > 50, "only {n} bearing reports");
    }

    #[test]
    fn bad_scenarios_are_refused() {
        assert!(Scenario::from_toml("posts = []\nhotspots = []").is_err());
        assert!(Scenario::from_toml(
            "posts = [{id = \"x\", lat = 95.0, lon = 0.0}]\nhotspots = [{lat = 0.0, lon = 0.0, radius_m = 1.0}]"
        )
        .is_err());
    }
}
