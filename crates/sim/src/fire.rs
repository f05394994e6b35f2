//! Fire heard by a dense acoustic network, as the world delivers it: bursts of rounds from one
//! position or a moving one; sensors on hilly ground whose surveyed positions are a little off;
//! onset picks with a heavy tail and a stated sigma that is only a guess; sound carried by the
//! wind; paths around buildings that come late; echoes; impulsive noise from nothing the
//! center cares about; missed detections.

use crate::scenario::{Acoustics, Fire, Scenario};
use crate::terrain::Terrain;
use crate::truth::{RoundTruth, TruthEvent};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use truce_core::observation::{ArrivalGeometry, Sensor};
use truce_core::{Geometry, Kind, Observation, Source, Timestamp, Weapon};
use truce_geo::{LatLon, LocalFrame, destination, distance_azimuth};

/// A sensor as it really is and as it says it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSensor {
    pub id: String,
    /// Where it really stands, and its real height.
    pub truth: LatLon,
    pub alt_m: f64,
    /// Where its survey says it stands (what it reports).
    pub reported: LatLon,
    pub reported_alt_m: f64,
    /// Its real onset-picking sigma, and the one it states.
    pub sigma_s: f64,
    pub stated_sigma_s: f64,
    pub reports_temperature: bool,
}

/// The hard world of one scenario: its terrain and sensors, drawn once from the seed.
#[derive(Debug, Clone)]
pub(crate) struct FireWorld {
    fire: Fire,
    acoustics: Acoustics,
    terrain: Terrain,
    pub sensors: Vec<FieldSensor>,
    temperature_c: f64,
    detection_probability: f64,
}

/// How long after the direct pulse an echo reaches the sensor, seconds: drawn uniformly in
/// this range for each echo, alike whichever round made it.
pub const ECHO_DELAY_S: [f64; 2] = [0.020, 0.500];

fn uniform(rng: &mut StdRng, r: [f64; 2]) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..=r[1])
    } else {
        r[0]
    }
}

fn normal(rng: &mut StdRng, sigma: f64) -> f64 {
    Normal::<f64>::new(0.0, sigma)
        .map(|n| n.sample(rng))
        .unwrap_or(0.0)
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The acoustic model a scenario without `[acoustics]` gets: flat, calm, honest sensors.
fn gentle() -> Acoustics {
    Acoustics {
        relief_m: 0.0,
        relief_wavelength_m: 4000.0,
        source_above_ground_m: [0.0, 0.0],
        picking_sigma_s: [0.001, 0.010],
        picking_tail_probability: 0.0,
        stated_sigma_factor: [1.0, 1.0],
        sensor_position_sigma_m: 0.0,
        wind_speed_m_s: 0.0,
        wind_from_deg: 0.0,
        nlos_probability: 0.0,
        echo_probability: 0.0,
        noise_pulses_per_hour: 0.0,
        temperature_error_c: 0.5,
    }
}

impl FireWorld {
    /// The world of `scenario` if it has `[fire]`: its terrain, and its sensors (the listed
    /// ones and the networks'), each with its true and stated sigma and surveyed position.
    pub fn new(scenario: &Scenario, seed: u64) -> Option<Self> {
        let fire = scenario.fire.clone()?;
        let acoustics = scenario.acoustics.clone().unwrap_or_else(gentle);
        let mut rng = StdRng::seed_from_u64(seed ^ 0xf17e_5eed);
        let phases = [0; 4].map(|_| rng.random_range(0.0..std::f64::consts::TAU));
        let terrain = Terrain::new(acoustics.relief_m, acoustics.relief_wavelength_m, phases);
        let mut sensors = Vec::new();
        let mut place = |id: String,
                         truth: LatLon,
                         alt_m: Option<f64>,
                         sigma_s: f64,
                         reports_temperature: bool,
                         rng: &mut StdRng| {
            let alt_m = alt_m.unwrap_or_else(|| terrain.height_m(truth));
            let e = acoustics.sensor_position_sigma_m;
            let reported = destination(
                destination(truth, 0.0, normal(rng, e)),
                90.0,
                normal(rng, e),
            );
            let factor = uniform(rng, acoustics.stated_sigma_factor);
            sensors.push(FieldSensor {
                id,
                truth,
                alt_m,
                reported,
                reported_alt_m: alt_m + normal(rng, e),
                sigma_s,
                stated_sigma_s: round_to(sigma_s / factor, 4).max(0.0001),
                reports_temperature,
            });
        };
        for s in &scenario.sensors {
            let alt = (s.alt_m != 0.0 || acoustics.relief_m == 0.0).then_some(s.alt_m);
            place(
                s.id.clone(),
                LatLon::new(s.lat, s.lon),
                alt,
                s.sigma_s,
                s.reports_temperature,
                &mut rng,
            );
        }
        for n in &scenario.networks {
            for k in 0..n.sensors {
                let at = destination(
                    LatLon::new(n.lat, n.lon),
                    rng.random_range(0.0..360.0),
                    0.5 * n.spread_m * rng.random::<f64>().sqrt(),
                );
                let sigma = uniform(&mut rng, acoustics.picking_sigma_s);
                place(
                    format!("{}-ac-{:02}", n.id, k + 1),
                    at,
                    None,
                    sigma,
                    true,
                    &mut rng,
                );
            }
        }
        Some(Self {
            fire,
            acoustics,
            terrain,
            sensors,
            temperature_c: scenario.temperature_c,
            detection_probability: scenario.detection_probability,
        })
    }

    /// Seconds sound takes from `from` (height `from_alt`) to sensor `s` in this world's air
    /// and wind: the wavefront is a sphere whose centre drifts with the wind, so the time τ
    /// solves `|d − w·τ| = c·τ` with `d` the sensor's offset and `w` the wind.
    fn travel_s(&self, from: LatLon, from_alt: f64, s: &FieldSensor) -> f64 {
        let frame = LocalFrame::at(from);
        let d = frame.to_enu(s.truth, s.alt_m);
        let d = [d[0], d[1], d[2] - from_alt];
        let c = 331.3 * (1.0 + self.temperature_c / 273.15).sqrt();
        let towards = (self.acoustics.wind_from_deg + 180.0).to_radians();
        let w = self.acoustics.wind_speed_m_s;
        let wv = [w * towards.sin(), w * towards.cos(), 0.0];
        let dw = d[0] * wv[0] + d[1] * wv[1];
        let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let a = c * c - w * w;
        (-dw + (dw * dw + a * dd).sqrt()) / a
    }

    /// One picking error: Gaussian with the sensor's true sigma, or from the heavy tail.
    fn pick_error(&self, rng: &mut StdRng, s: &FieldSensor) -> f64 {
        let tail = rng.random::<f64>() < self.acoustics.picking_tail_probability;
        normal(rng, if tail { 5.0 * s.sigma_s } else { s.sigma_s })
    }

    fn pulse(
        &self,
        rng: &mut StdRng,
        s: &FieldSensor,
        at: Timestamp,
        uuid: uuid::Uuid,
    ) -> Observation {
        let temperature = s.reports_temperature.then(|| {
            round_to(
                self.temperature_c + normal(rng, self.acoustics.temperature_error_c),
                1,
            )
        });
        Observation {
            client_id: Some(uuid),
            kind: Kind::Shot,
            subkind: None,
            weapon: Some(Weapon::SmallArms),
            count: 1,
            observed_at: at,
            reporter: s.id.clone(),
            source: Source::Sensor,
            geometry: Geometry::Arrival(ArrivalGeometry {
                sensor: Sensor {
                    id: s.id.clone(),
                    lat: round_to(s.reported.lat, 7),
                    lon: round_to(s.reported.lon, 7),
                    alt_m: round_to(s.reported_alt_m, 1),
                },
                arrival_time: at,
                sigma_s: s.stated_sigma_s,
                temperature_c: temperature,
            }),
            notes: None,
            evidence: Vec::new(),
            via: None,
        }
    }

    /// One event of fire at `t` from `at`: its truth (with every round) and its pulses, in
    /// arrival order. `number` is the event's number; `uuid` draws client ids.
    pub fn simulate(
        &self,
        rng: &mut StdRng,
        number: u64,
        t: Timestamp,
        at: LatLon,
        mut uuid: impl FnMut(&mut StdRng) -> uuid::Uuid,
    ) -> (TruthEvent, Vec<Observation>) {
        let f = &self.fire;
        let a = &self.acoustics;
        let rounds = rng.random_range(f.rounds[0]..=f.rounds[1].max(f.rounds[0]));
        let above = uniform(rng, a.source_above_ground_m);
        let moving = rng.random::<f64>() < f.moving_probability;
        let (speed, heading) = if moving {
            (
                uniform(rng, f.moving_speed_m_s),
                rng.random_range(0.0..360.0),
            )
        } else {
            (0.0, 0.0)
        };
        // Which sensors hear this event at all, and which by a longer path (the same delay
        // for every round: the buildings do not move).
        let hearing: Vec<(usize, f64)> = self
            .sensors
            .iter()
            .enumerate()
            .filter(|(_, s)| distance_azimuth(s.truth, at).0 <= f.hearing_range_m)
            .map(|(i, _)| {
                let late = if rng.random::<f64>() < a.nlos_probability {
                    rng.random_range(0.005..=0.300)
                } else {
                    0.0
                };
                (i, late)
            })
            .collect();
        let mut observations = Vec::new();
        let mut round_truths = Vec::new();
        let mut outliers = Vec::new();
        let mut tk = t;
        for k in 0..rounds {
            if k > 0 {
                tk = tk.plus_seconds(uniform(rng, f.interval_s));
            }
            let pos = destination(at, heading, speed * tk.seconds_since(t));
            let alt = self.terrain.height_m(pos) + above;
            let mut truth = RoundTruth {
                time: tk,
                lat: pos.lat,
                lon: pos.lon,
                alt_m: alt,
                observations: Vec::new(),
                sigma_s: Vec::new(),
                late: Vec::new(),
                echoes: Vec::new(),
            };
            for &(i, late) in &hearing {
                if rng.random::<f64>() > self.detection_probability {
                    continue;
                }
                let s = &self.sensors[i];
                let arrival =
                    tk.plus_seconds(self.travel_s(pos, alt, s) + self.pick_error(rng, s) + late);
                let id = uuid(rng);
                observations.push(self.pulse(rng, s, arrival, id));
                truth.observations.push(id);
                let tail = a.picking_tail_probability;
                truth
                    .sigma_s
                    .push(s.sigma_s * ((1.0 - tail) + 25.0 * tail).sqrt());
                if late > 0.0 {
                    truth.late.push(id);
                    outliers.push(id);
                }
                if rng.random::<f64>() < a.echo_probability {
                    let echo =
                        arrival.plus_seconds(rng.random_range(ECHO_DELAY_S[0]..=ECHO_DELAY_S[1]));
                    let id = uuid(rng);
                    observations.push(self.pulse(rng, s, echo, id));
                    truth.echoes.push(id);
                    outliers.push(id);
                }
            }
            round_truths.push(truth);
        }
        // Unrelated impulsive noise at the sensors that could hear the event, over its span.
        let span = tk.seconds_since(t) + 40.0;
        let mut noise = Vec::new();
        let expected = a.noise_pulses_per_hour * span / 3600.0;
        for &(i, _) in &hearing {
            let mut n = 0;
            // Poisson by inversion: few pulses per sensor and event.
            let mut p = (-expected).exp();
            let mut cdf = p;
            let u: f64 = rng.random();
            while u > cdf && n < 50 {
                n += 1;
                p *= expected / f64::from(n);
                cdf += p;
            }
            for _ in 0..n {
                let when = t.plus_seconds(rng.random_range(-5.0..span));
                let id = uuid(rng);
                observations.push(self.pulse(rng, &self.sensors[i], when, id));
                noise.push(id);
            }
        }
        observations.sort_by_key(|o| o.observed_at);
        let made: Vec<uuid::Uuid> = round_truths
            .iter()
            .flat_map(|r| r.observations.iter().chain(&r.echoes).copied())
            .collect();
        let first = round_truths
            .first()
            .map_or(at, |r| LatLon::new(r.lat, r.lon));
        let truth = TruthEvent {
            event: number,
            time: t,
            lat: first.lat,
            lon: first.lon,
            kind: Kind::Shot,
            subkind: None,
            weapon: Some(Weapon::SmallArms),
            count: rounds,
            impact: false,
            origin: None,
            origin_side: None,
            observations: made,
            outliers,
            rounds: round_truths,
            noise,
        };
        (truth, observations)
    }
}
