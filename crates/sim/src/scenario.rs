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

/// A dense acoustic network: `sensors` sensors placed at random within `spread_m` of a centre,
/// each standing on the terrain (its altitude known and reported), events within it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Prefix of its sensors' ids (`site-1` gives `site-1-ac-01`, …).
    pub id: String,
    /// Centre, degrees.
    pub lat: f64,
    /// Centre, degrees.
    pub lon: f64,
    /// Number of sensors (1–100).
    pub sensors: u32,
    /// Diameter of the area they cover, metres (the networks: 5–15 km).
    pub spread_m: f64,
    /// Events fall within this radius of the centre, metres (default: a third of the spread).
    #[serde(default)]
    pub events_radius_m: Option<f64>,
}

/// Fire as it is heard on a real network: every event is n rounds from one position (or a
/// moving one), each heard by the sensors in range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fire {
    /// Fewest and most rounds of one event (1–30).
    #[serde(default = "default_rounds")]
    pub rounds: [u32; 2],
    /// Shortest and longest time between two rounds, seconds (0.1–3).
    #[serde(default = "default_round_interval")]
    pub interval_s: [f64; 2],
    /// Probability that the firer moves during the event.
    #[serde(default)]
    pub moving_probability: f64,
    /// Slowest and fastest a moving firer goes, m/s.
    #[serde(default = "default_moving_speed")]
    pub moving_speed_m_s: [f64; 2],
    /// How far sensors hear the rounds, metres (small arms: a few kilometres).
    #[serde(default = "default_fire_hearing")]
    pub hearing_range_m: f64,
}

/// The world as it is, not as the client says: terrain, picking error with a heavy tail,
/// sensor position error, wind, paths around buildings, echoes, unrelated pulses, and stated
/// sigmas that are guesses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acoustics {
    /// Terrain relief, metres from lowest to highest (0–500). Sensors of networks stand on it;
    /// sources stand on it plus `source_above_ground_m`.
    #[serde(default)]
    pub relief_m: f64,
    /// Horizontal scale of the terrain's hills, metres.
    #[serde(default = "default_relief_wavelength")]
    pub relief_wavelength_m: f64,
    /// Lowest and highest height of a source above the ground (a firer on a roof), metres.
    #[serde(default)]
    pub source_above_ground_m: [f64; 2],
    /// Range of the sensors' true onset-picking sigma, seconds (1–10 ms in practice).
    #[serde(default = "default_picking")]
    pub picking_sigma_s: [f64; 2],
    /// Probability a pick falls in the heavy tail: its error is drawn with five times the sigma.
    #[serde(default)]
    pub picking_tail_probability: f64,
    /// Range of the ratio of a sensor's true sigma to the sigma it states (0.5 stated too
    /// large, 3 stated three times too small).
    #[serde(default = "default_stated_factor")]
    pub stated_sigma_factor: [f64; 2],
    /// One standard deviation of the error of a sensor's surveyed position, metres (each axis,
    /// and height).
    #[serde(default)]
    pub sensor_position_sigma_m: f64,
    /// Wind speed, m/s (uniform; sound is carried with it).
    #[serde(default)]
    pub wind_speed_m_s: f64,
    /// Direction the wind blows from, degrees true.
    #[serde(default)]
    pub wind_from_deg: f64,
    /// Probability that a sensor has no line of sight to an event's source: its pulses of that
    /// event come 5–300 ms late (a path around buildings; the same delay for every round).
    #[serde(default)]
    pub nlos_probability: f64,
    /// Probability that a pulse is followed by an echo 20–500 ms later at the same sensor.
    #[serde(default)]
    pub echo_probability: f64,
    /// Unrelated impulsive noises each sensor reports, per hour.
    #[serde(default)]
    pub noise_pulses_per_hour: f64,
    /// Error of the temperature each sensor reports, °C (one standard deviation).
    #[serde(default = "default_temperature_error")]
    pub temperature_error_c: f64,
}

fn default_rounds() -> [u32; 2] {
    [1, 1]
}
fn default_round_interval() -> [f64; 2] {
    [0.5, 1.5]
}
fn default_moving_speed() -> [f64; 2] {
    [1.0, 5.0]
}
fn default_fire_hearing() -> f64 {
    4_000.0
}
fn default_relief_wavelength() -> f64 {
    4_000.0
}
fn default_picking() -> [f64; 2] {
    [0.001, 0.010]
}
fn default_stated_factor() -> [f64; 2] {
    [1.0, 1.0]
}
fn default_temperature_error() -> f64 {
    0.5
}

/// What the simulation draws from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Observation posts.
    #[serde(default)]
    pub posts: Vec<Post>,
    /// Dense acoustic networks (their sensors are added to `sensors`, their areas to the
    /// hotspots).
    #[serde(default)]
    pub networks: Vec<Network>,
    /// When set, every event is fire: rounds heard by the sensors.
    #[serde(default)]
    pub fire: Option<Fire>,
    /// When set, acoustic reports follow the hard world's model.
    #[serde(default)]
    pub acoustics: Option<Acoustics>,
    /// Acoustic sensors.
    #[serde(default)]
    pub sensors: Vec<AcousticSensor>,
    /// UAVs.
    #[serde(default)]
    pub uavs: Vec<Uav>,
    /// Where events happen.
    #[serde(default)]
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
    /// Probability a bearing is misread: 10–40° off either way (a misread scale, another
    /// flash); the post still states its usual sigma.
    #[serde(default)]
    pub bearing_misread_probability: f64,
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

fn within(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), ScenarioError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ScenarioError(format!("{field}: {v} must be {lo}–{hi}")))
    }
}

fn range_within(field: &str, r: [f64; 2], lo: f64, hi: f64) -> Result<(), ScenarioError> {
    within(&format!("{field}[0]"), r[0], lo, hi)?;
    within(&format!("{field}[1]"), r[1], lo, hi)?;
    if r[0] > r[1] {
        return Err(ScenarioError(format!(
            "{field}: the first value ({}) must not exceed the second ({})",
            r[0], r[1]
        )));
    }
    Ok(())
}

impl Scenario {
    fn check_networks(&self) -> Result<(), ScenarioError> {
        for n in &self.networks {
            let f = |x: &str| format!("networks.{}.{x}", n.id);
            within(&f("sensors"), f64::from(n.sensors), 1.0, 100.0)?;
            within(&f("spread_m"), n.spread_m, 10.0, 100_000.0)?;
            if let Some(r) = n.events_radius_m {
                within(&f("events_radius_m"), r, 0.0, 100_000.0)?;
            }
        }
        Ok(())
    }

    fn check_fire(&self) -> Result<(), ScenarioError> {
        let Some(f) = &self.fire else { return Ok(()) };
        range_within(
            "fire.rounds",
            [f64::from(f.rounds[0]), f64::from(f.rounds[1])],
            1.0,
            30.0,
        )?;
        range_within("fire.interval_s", f.interval_s, 0.1, 3.0)?;
        within("fire.moving_probability", f.moving_probability, 0.0, 1.0)?;
        range_within("fire.moving_speed_m_s", f.moving_speed_m_s, 0.0, 50.0)?;
        within("fire.hearing_range_m", f.hearing_range_m, 100.0, 100_000.0)
    }

    fn check_acoustics(&self) -> Result<(), ScenarioError> {
        let Some(a) = &self.acoustics else {
            return Ok(());
        };
        within("acoustics.relief_m", a.relief_m, 0.0, 500.0)?;
        within(
            "acoustics.relief_wavelength_m",
            a.relief_wavelength_m,
            100.0,
            100_000.0,
        )?;
        range_within(
            "acoustics.source_above_ground_m",
            a.source_above_ground_m,
            0.0,
            200.0,
        )?;
        range_within("acoustics.picking_sigma_s", a.picking_sigma_s, 0.0001, 0.5)?;
        within(
            "acoustics.picking_tail_probability",
            a.picking_tail_probability,
            0.0,
            1.0,
        )?;
        range_within(
            "acoustics.stated_sigma_factor",
            a.stated_sigma_factor,
            0.1,
            10.0,
        )?;
        within(
            "acoustics.sensor_position_sigma_m",
            a.sensor_position_sigma_m,
            0.0,
            100.0,
        )?;
        within("acoustics.wind_speed_m_s", a.wind_speed_m_s, 0.0, 30.0)?;
        within("acoustics.wind_from_deg", a.wind_from_deg, 0.0, 360.0)?;
        within("acoustics.nlos_probability", a.nlos_probability, 0.0, 1.0)?;
        within("acoustics.echo_probability", a.echo_probability, 0.0, 1.0)?;
        within(
            "acoustics.noise_pulses_per_hour",
            a.noise_pulses_per_hour,
            0.0,
            3600.0,
        )?;
        within(
            "acoustics.temperature_error_c",
            a.temperature_error_c,
            0.0,
            20.0,
        )
    }
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
        if (self.posts.is_empty() && self.sensors.is_empty() && self.networks.is_empty())
            || (self.hotspots.is_empty() && self.networks.is_empty())
        {
            return bad(
                "posts, hotspots".into(),
                "needs at least one post or sensor, and one hotspot or network",
            );
        }
        self.check_networks()?;
        self.check_fire()?;
        self.check_acoustics()?;
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
            )
            .chain(
                self.networks
                    .iter()
                    .map(|n| (format!("networks.{}", n.id), n.lat, n.lon)),
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
            (
                "bearing_misread_probability",
                self.bearing_misread_probability,
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
