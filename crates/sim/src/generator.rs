//! The generator: random events around the scenario's hotspots, and what each observer,
//! acoustic sensor, UAV and patrol would report of them, with field-practice noise.

use crate::fire::FireWorld;
use crate::scenario::{AcousticSensor, Hotspot, Post, Scenario, Uav};
use crate::truth::{Place, TruthEvent};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_core::observation::{
    Aircraft, ArrivalGeometry, BearingGeometry, Gimbal, ObserverPosition, PositionGeometry, Sensor,
    UavGeometry,
};
use truce_core::{Geometry, Kind, Observation, Source, Subkind, Timestamp, Weapon};
use truce_geo::{LatLon, LocalFrame, destination, distance_azimuth};

/// The side whose ground a place is on, if any (from the agreement's controlled areas).
pub type SideAt = Box<dyn Fn(LatLon) -> Option<String> + Send + Sync>;

/// Pose noise of a simulated UAV report: position σ (m), attitude σ (°), gimbal σ (°), range σ
/// (m). The estimator assumes the same figures (`truce_locate::UavNoise::default`).
const UAV_NOISE: (f64, f64, f64, f64) = (5.0, 1.0, 0.5, 5.0);

/// One simulated event: the truth and the reports made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    /// What happened.
    pub truth: TruthEvent,
    /// What was reported, in the order the reports would reach the center.
    pub observations: Vec<Observation>,
}

/// A reproducible stream of events and reports from a scenario.
pub struct Generator {
    scenario: Scenario,
    rng: StdRng,
    side_at: SideAt,
    events: u64,
    /// The hard world of fire, when the scenario has `[fire]`.
    fire: Option<FireWorld>,
}

struct Drawn {
    kind: Kind,
    subkind: Option<Subkind>,
    weapon: Option<Weapon>,
    count: u32,
}

impl Generator {
    /// A generator seeded with `seed` (the same seed gives the same reports), knowing no sides.
    pub fn new(mut scenario: Scenario, seed: u64) -> Self {
        let fire = FireWorld::new(&scenario, seed);
        for n in &scenario.networks {
            scenario.hotspots.push(Hotspot {
                lat: n.lat,
                lon: n.lon,
                radius_m: n.events_radius_m.unwrap_or(n.spread_m / 3.0),
            });
        }
        Self {
            scenario,
            rng: StdRng::seed_from_u64(seed),
            side_at: Box::new(|_| None),
            events: 0,
            fire,
        }
    }

    /// The sensors of a fire scenario as they really are: id, true place and height, true
    /// and stated sigma (empty without `[fire]`).
    pub fn field_sensors(&self) -> Vec<(String, LatLon, f64, f64, f64)> {
        self.fire
            .iter()
            .flat_map(|w| w.sensors.iter())
            .map(|s| (s.id.clone(), s.truth, s.alt_m, s.sigma_s, s.stated_sigma_s))
            .collect()
    }

    /// The same generator, told whose ground each place is on (for the truth's acting side).
    pub fn with_sides(mut self, side_at: SideAt) -> Self {
        self.side_at = side_at;
        self
    }

    /// The reports of one random event happening at `t` (at least one report).
    pub fn event(&mut self, t: Timestamp) -> Vec<Observation> {
        self.simulate(t).observations
    }

    /// One random event at `t`: its truth and its reports (at least one).
    pub fn simulate(&mut self, t: Timestamp) -> SimEvent {
        self.events += 1;
        let spot =
            self.scenario.hotspots[self.rng.random_range(0..self.scenario.hotspots.len())].clone();
        let at = destination(
            LatLon::new(spot.lat, spot.lon),
            self.rng.random_range(0.0..360.0),
            spot.radius_m * self.rng.random::<f64>().sqrt(),
        );
        if let Some(world) = self.fire.take() {
            let number = self.events;
            let (mut truth, observations) = world.simulate(&mut self.rng, number, t, at, |rng| {
                uuid::Builder::from_random_bytes(rng.random()).into_uuid()
            });
            truth.origin_side = (self.side_at)(at);
            self.fire = Some(world);
            return SimEvent {
                truth,
                observations,
            };
        }
        let d = self.draw_kind();
        let impact = matches!(d.subkind, Some(Subkind::Impact));
        let (origin, origin_side) = if impact {
            self.origin_of(at)
        } else {
            (None, (self.side_at)(at))
        };
        let mut reports = Vec::new();
        let mut outliers = Vec::new();
        let patrol_only = matches!(d.kind, Kind::Movement | Kind::AccessDenial);
        if !patrol_only {
            let range = match d.kind {
                Kind::Explosion | Kind::Flare => self.scenario.hearing_range_m,
                _ => self.scenario.hearing_range_m * 0.5,
            };
            for post in self.scenario.posts.clone() {
                let (dist, az) = distance_azimuth(LatLon::new(post.lat, post.lon), at);
                if dist <= range && self.rng.random::<f64>() <= self.scenario.detection_probability
                {
                    let (o, misread) = self.bearing_report(&post, dist, az, t, &d);
                    if misread {
                        outliers.extend(o.client_id);
                    }
                    reports.push(o);
                }
            }
        }
        if matches!(d.kind, Kind::Explosion | Kind::Burst | Kind::Shot) {
            let range = if d.kind == Kind::Explosion {
                self.scenario.hearing_range_m
            } else {
                self.scenario.hearing_range_m * 0.5
            };
            for sensor in self.scenario.sensors.clone() {
                let dist = distance_azimuth(LatLon::new(sensor.lat, sensor.lon), at).0;
                if dist <= range && self.rng.random::<f64>() <= self.scenario.detection_probability
                {
                    let (o, outlier) = self.arrival_report(&sensor, at, t, &d);
                    if outlier {
                        outliers.extend(o.client_id);
                    }
                    reports.push(o);
                }
            }
        }
        if matches!(
            d.kind,
            Kind::Explosion | Kind::MuzzleFlash | Kind::Movement | Kind::Burst
        ) {
            for uav in self.scenario.uavs.clone() {
                let dist = distance_azimuth(LatLon::new(uav.lat, uav.lon), at).0;
                if dist <= uav.radius_m
                    && self.rng.random::<f64>() <= self.scenario.uav_detection_probability
                    && let Some(o) = self.uav_report(&uav, at, t, &d)
                {
                    reports.push(o);
                }
            }
        }
        if reports.is_empty() || patrol_only {
            reports.push(self.patrol_report(at, t, &d));
        }
        SimEvent {
            truth: TruthEvent {
                event: self.events,
                time: t,
                lat: at.lat,
                lon: at.lon,
                kind: d.kind,
                subkind: d.subkind,
                weapon: d.weapon,
                count: d.count,
                impact,
                origin,
                origin_side,
                observations: reports.iter().filter_map(|o| o.client_id).collect(),
                outliers,
                rounds: Vec::new(),
                noise: Vec::new(),
            },
            observations: reports,
        }
    }

    /// Where fire landing at `impact` came from: a firing position 2–8 km away, on another
    /// side's ground when the agreement's areas allow.
    fn origin_of(&mut self, impact: LatLon) -> (Option<Place>, Option<String>) {
        let here = (self.side_at)(impact);
        let mut fallback = None;
        for _ in 0..24 {
            let p = destination(
                impact,
                self.rng.random_range(0.0..360.0),
                self.rng.random_range(2_000.0..8_000.0),
            );
            let side = (self.side_at)(p);
            let place = Place {
                lat: p.lat,
                lon: p.lon,
            };
            if side.is_some() && side != here {
                return (Some(place), side);
            }
            fallback.get_or_insert((place, side));
        }
        match fallback {
            Some((place, side)) => (Some(place), side),
            None => (None, None),
        }
    }

    fn draw_kind(&mut self) -> Drawn {
        let x: f64 = self.rng.random();
        let n = |rng: &mut StdRng, max: u32| rng.random_range(1..=max);
        let (kind, subkind, weapon, count) = if x < 0.45 {
            let weapon = if self.rng.random_bool(0.6) {
                Weapon::Mortar
            } else {
                Weapon::Artillery
            };
            let count = n(&mut self.rng, 6);
            (Kind::Explosion, Some(Subkind::Impact), Some(weapon), count)
        } else if x < 0.65 {
            let weapon = if self.rng.random_bool(0.7) {
                Weapon::SmallArms
            } else {
                Weapon::HeavyMg
            };
            (Kind::Burst, None, Some(weapon), n(&mut self.rng, 10))
        } else if x < 0.80 {
            let count = n(&mut self.rng, 5);
            (Kind::Shot, None, Some(Weapon::SmallArms), count)
        } else if x < 0.88 {
            (Kind::MuzzleFlash, None, None, 1)
        } else if x < 0.93 {
            (Kind::Flare, None, None, 1)
        } else if x < 0.97 {
            let count = n(&mut self.rng, 3);
            (Kind::Movement, None, Some(Weapon::Tank), count)
        } else {
            (Kind::AccessDenial, None, None, 1)
        };
        Drawn {
            kind,
            subkind,
            weapon,
            count,
        }
    }

    fn report(&mut self, d: &Drawn, observed_at: Timestamp, reporter: &str) -> Observation {
        Observation {
            client_id: Some(self.uuid()),
            kind: d.kind,
            subkind: d.subkind,
            weapon: d.weapon,
            count: d.count,
            observed_at,
            reporter: reporter.to_string(),
            source: Source::Observer,
            geometry: Geometry::Position(PositionGeometry {
                lat: 0.0,
                lon: 0.0,
                accuracy_m: 1.0,
            }),
            notes: None,
            evidence: Vec::new(),
            via: None,
        }
    }

    fn jitter_time(&mut self, t: Timestamp) -> Timestamp {
        let dt = self.normal(4.0);
        t.plus_seconds(dt.clamp(-20.0, 20.0))
    }

    /// A compass bearing with the post's sigma and bias, and a flash-to-bang distance
    /// interval of about ±(100 m + 8%); now and then misread by 10–40° (returned as `true`).
    fn bearing_report(
        &mut self,
        post: &Post,
        distance: f64,
        azimuth: f64,
        t: Timestamp,
        d: &Drawn,
    ) -> (Observation, bool) {
        let sigma = post
            .bearing_sigma_deg
            .unwrap_or(self.scenario.bearing_sigma_deg);
        let mut noise = self.normal(sigma) + post.bias_deg;
        // Drawn only when misreads are asked for, so other scenarios keep their streams.
        let p = self.scenario.bearing_misread_probability;
        let misread = p > 0.0 && self.rng.random::<f64>() < p;
        if misread {
            let off = self.rng.random_range(10.0..40.0);
            noise += if self.rng.random::<bool>() { off } else { -off };
        }
        let bearing = (azimuth + noise).rem_euclid(360.0);
        let d_noise = self.normal(0.05);
        let d_hat = (distance * (1.0 + d_noise)).max(50.0);
        let half = 100.0 + 0.08 * d_hat;
        let observed_at = self.jitter_time(t);
        let mut o = self.report(d, observed_at, &post.id);
        o.geometry = Geometry::Bearing(BearingGeometry {
            observer: ObserverPosition {
                lat: post.lat,
                lon: post.lon,
                accuracy_m: 10.0,
            },
            bearing_deg: round(bearing, 2).rem_euclid(360.0),
            bearing_sigma_deg: sigma,
            distance_min_m: Some(round((d_hat - half).max(0.0), 0)),
            distance_max_m: Some(round(d_hat + half, 0)),
        });
        (o, misread)
    }

    /// An acoustic onset time: the true travel time at the true temperature, plus picking noise,
    /// and now and then a non-line-of-sight delay. Returns the report and whether it is such an
    /// outlier.
    fn arrival_report(
        &mut self,
        sensor: &AcousticSensor,
        at: LatLon,
        t: Timestamp,
        d: &Drawn,
    ) -> (Observation, bool) {
        let frame = LocalFrame::at(at);
        let s = frame.to_enu(LatLon::new(sensor.lat, sensor.lon), sensor.alt_m);
        let dist = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
        let c = 331.3 * (1.0 + self.scenario.temperature_c / 273.15).sqrt();
        let outlier = self.rng.random::<f64>() < self.scenario.arrival_outlier_probability;
        let delay = if outlier {
            self.rng.random_range(0.05..0.4)
        } else {
            0.0
        };
        let arrival = t.plus_seconds(dist / c + self.normal(sensor.sigma_s) + delay);
        let temperature = sensor
            .reports_temperature
            .then(|| round(self.scenario.temperature_c + self.normal(0.5), 1));
        let mut o = self.report(d, arrival, &sensor.id);
        o.source = Source::Sensor;
        o.geometry = Geometry::Arrival(ArrivalGeometry {
            sensor: Sensor {
                id: sensor.id.clone(),
                lat: sensor.lat,
                lon: sensor.lon,
                alt_m: sensor.alt_m,
            },
            arrival_time: arrival,
            sigma_s: sensor.sigma_s,
            temperature_c: temperature,
        });
        (o, outlier)
    }

    /// A UAV's pose and gimbal pointing at the event, each with its noise; `None` when the
    /// event is too near the horizon for the camera.
    fn uav_report(
        &mut self,
        uav: &Uav,
        at: LatLon,
        t: Timestamp,
        d: &Drawn,
    ) -> Option<Observation> {
        let (pos_s, att_s, gim_s, range_s) = UAV_NOISE;
        let aircraft = destination(
            LatLon::new(uav.lat, uav.lon),
            self.rng.random_range(0.0..360.0),
            self.rng.random_range(0.0..1_500.0),
        );
        let yaw: f64 = self.rng.random_range(0.0..360.0);
        let pitch = self.normal(3.0);
        let roll = self.normal(5.0);
        let frame = LocalFrame::at(aircraft);
        let target = frame.to_enu(at, 0.0);
        let los_enu = [target[0], target[1], target[2] - uav.alt_hae_m];
        let range = (los_enu[0].powi(2) + los_enu[1].powi(2) + los_enu[2].powi(2)).sqrt();
        let ned = [los_enu[1], los_enu[0], -los_enu[2]];
        let body = body_from_ned(ned, yaw, pitch, roll);
        let pan = body[1].atan2(body[0]).to_degrees();
        let tilt = -body[2].atan2(body[0].hypot(body[1])).to_degrees();
        if tilt > -5.0 {
            return None;
        }
        let reported = destination(
            destination(aircraft, 0.0, self.normal(pos_s)),
            90.0,
            self.normal(pos_s),
        );
        let observed_at = t.plus_seconds(self.normal(0.5).abs());
        let slant = uav
            .rangefinder
            .then(|| round((range + self.normal(range_s)).max(1.0), 1));
        let mut o = self.report(d, observed_at, &uav.id);
        o.source = Source::Uav;
        o.geometry = Geometry::Uav(UavGeometry {
            aircraft: Aircraft {
                lat: round(reported.lat, 7),
                lon: round(reported.lon, 7),
                alt_hae_m: round(uav.alt_hae_m + self.normal(pos_s), 1),
                yaw_deg: round((yaw + self.normal(att_s)).rem_euclid(360.0), 2).rem_euclid(360.0),
                pitch_deg: round((pitch + self.normal(att_s)).clamp(-89.0, 89.0), 2),
                roll_deg: round((roll + self.normal(att_s)).clamp(-179.0, 179.0), 2),
            },
            gimbal: Gimbal {
                pan_deg: round(pan + self.normal(gim_s), 2),
                tilt_deg: round((tilt + self.normal(gim_s)).clamp(-90.0, -0.5), 2),
            },
            slant_range_m: slant,
            ground_alt_m: Some(0.0),
        });
        Some(o)
    }

    fn patrol_report(&mut self, truth: LatLon, t: Timestamp, d: &Drawn) -> Observation {
        let err = self.normal(40.0).abs();
        let at = destination(truth, self.rng.random_range(0.0..360.0), err);
        let patrol = format!("patrol-{}", self.rng.random_range(1..=6));
        let observed_at = self.jitter_time(t);
        let mut o = self.report(d, observed_at, &patrol);
        o.source = Source::Patrol;
        o.geometry = Geometry::Position(PositionGeometry {
            lat: round(at.lat, 6),
            lon: round(at.lon, 6),
            accuracy_m: 150.0,
        });
        o
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

/// A vector in the aircraft body frame (x forward, y right, z down) from north-east-down,
/// undoing the aerospace yaw-pitch-roll (Z-Y-X) rotation: body = Rx(−roll)·Ry(−pitch)·Rz(−yaw)·ned.
fn body_from_ned(v: [f64; 3], yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> [f64; 3] {
    let (sy, cy) = yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pitch_deg.to_radians().sin_cos();
    let (sr, cr) = roll_deg.to_radians().sin_cos();
    // Undo yaw (about down).
    let a = [cy * v[0] + sy * v[1], -sy * v[0] + cy * v[1], v[2]];
    // Undo pitch (about the new right axis).
    let b = [cp * a[0] - sp * a[2], a[1], sp * a[0] + cp * a[2]];
    // Undo roll (about forward).
    [b[0], cr * b[1] + sr * b[2], -sr * b[1] + cr * b[2]]
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}
