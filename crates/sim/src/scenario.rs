//! The scenario file: where observers, acoustic sensors and UAVs are, where events happen, and
//! how noisy each report is.

use serde::Deserialize;

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
    /// This post's compass sigma, degrees (else the scenario's `bearing_sigma_deg`).
    #[serde(default)]
    pub bearing_sigma_deg: Option<f64>,
    /// A constant error of this post's bearings, degrees (an uncorrected declination).
    #[serde(default)]
    pub bias_deg: f64,
}

/// An acoustic sensor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcousticSensor {
    /// Sensor id (`m1-ac-1`).
    pub id: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    #[serde(default)]
    pub alt_m: f64,
    /// One standard deviation of its onset picking, seconds (1–10 ms in practice).
    #[serde(default = "default_timing_sigma")]
    pub sigma_s: f64,
    /// Whether it reports the air temperature with each arrival.
    #[serde(default = "yes")]
    pub reports_temperature: bool,
}

/// A UAV loitering over an area and filming what happens below.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uav {
    /// Reporter id.
    pub id: String,
    /// Centre of its orbit, degrees.
    pub lat: f64,
    /// Centre of its orbit, degrees.
    pub lon: f64,
    /// Flying height above the ellipsoid, metres.
    pub alt_hae_m: f64,
    /// It sees events within this distance of the orbit's centre, metres.
    pub radius_m: f64,
    /// Whether its camera has a laser rangefinder (a slant range with each sighting).
    #[serde(default)]
    pub rangefinder: bool,
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
    /// Acoustic sensors.
    #[serde(default)]
    pub sensors: Vec<AcousticSensor>,
    /// UAVs.
    #[serde(default)]
    pub uavs: Vec<Uav>,
    /// Where events happen.
    pub hotspots: Vec<Hotspot>,
    /// Farthest a post or a sensor hears an explosion, metres.
    #[serde(default = "default_hearing")]
    pub hearing_range_m: f64,
    /// Probability a post or sensor in range reports an event.
    #[serde(default = "default_detection")]
    pub detection_probability: f64,
    /// Probability a UAV over the event films it.
    #[serde(default = "default_uav_detection")]
    pub uav_detection_probability: f64,
    /// One standard deviation of a compass bearing, degrees (posts may set their own).
    #[serde(default = "default_bearing_sigma")]
    pub bearing_sigma_deg: f64,
    /// The true air temperature, °C.
    #[serde(default = "default_temperature")]
    pub temperature_c: f64,
    /// Probability an arrival is an outlier: a non-line-of-sight path, 50–400 ms late.
    #[serde(default)]
    pub arrival_outlier_probability: f64,
}

fn default_hearing() -> f64 {
    8_000.0
}
fn default_detection() -> f64 {
    0.85
}
fn default_uav_detection() -> f64 {
    0.8
}
fn default_bearing_sigma() -> f64 {
    3.0
}
fn default_temperature() -> f64 {
    15.0
}
fn default_timing_sigma() -> f64 {
    0.005
}
fn yes() -> bool {
    true
}

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("scenario: {0}")]
pub struct ScenarioError(pub String);

impl Scenario {
    /// Parses a scenario from TOML and checks it; the error names the field.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ScenarioError> {
        let bad = |field: String, why: &str| Err(ScenarioError(format!("{field}: {why}")));
        if self.posts.is_empty() || self.hotspots.is_empty() {
            return bad(
                "posts, hotspots".into(),
                "needs at least one post and one hotspot",
            );
        }
        let ok =
            |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        let places = self
            .posts
            .iter()
            .map(|p| (format!("posts.{}", p.id), p.lat, p.lon))
            .chain(
                self.sensors
                    .iter()
                    .map(|s| (format!("sensors.{}", s.id), s.lat, s.lon)),
            )
            .chain(
                self.uavs
                    .iter()
                    .map(|u| (format!("uavs.{}", u.id), u.lat, u.lon)),
            )
            .chain(
                self.hotspots
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (format!("hotspots[{i}]"), h.lat, h.lon)),
            );
        for (field, lat, lon) in places {
            if !ok(lat, lon) {
                return bad(field, "coordinates outside WGS84 ranges");
            }
        }
        for p in &self.posts {
            if let Some(s) = p.bearing_sigma_deg
                && !(0.1..=30.0).contains(&s)
            {
                return bad(
                    format!("posts.{}.bearing_sigma_deg", p.id),
                    "must be 0.1–30",
                );
            }
            if !(-30.0..=30.0).contains(&p.bias_deg) {
                return bad(format!("posts.{}.bias_deg", p.id), "must be −30 to 30");
            }
        }
        for s in &self.sensors {
            if !(0.0001..=0.5).contains(&s.sigma_s) {
                return bad(format!("sensors.{}.sigma_s", s.id), "must be 0.0001–0.5 s");
            }
        }
        for u in &self.uavs {
            if !(50.0..=20_000.0).contains(&u.alt_hae_m) || !(1.0..=50_000.0).contains(&u.radius_m)
            {
                return bad(
                    format!("uavs.{}", u.id),
                    "alt_hae_m must be 50–20000 and radius_m 1–50000",
                );
            }
        }
        for (field, p) in [
            ("detection_probability", self.detection_probability),
            ("uav_detection_probability", self.uav_detection_probability),
            (
                "arrival_outlier_probability",
                self.arrival_outlier_probability,
            ),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(field.into(), "must be 0–1");
            }
        }
        if !(0.1..=30.0).contains(&self.bearing_sigma_deg) {
            return bad("bearing_sigma_deg".into(), "must be 0.1–30");
        }
        if !(-60.0..=60.0).contains(&self.temperature_c) {
            return bad("temperature_c".into(), "must be −60 to 60 °C");
        }
        if !(100.0..=100_000.0).contains(&self.hearing_range_m) {
            return bad("hearing_range_m".into(), "must be 100–100000 m");
        }
        Ok(())
    }
}
