//! What one observation says about where its event was, as a measurement the estimators of
//! `truce-locate` can combine with others, and the joint fix of a set of them.
//!
//! - a position report: a point, its `accuracy_m` the radius of the 95% circle;
//! - a bearing: the azimuth with its sigma and the observer's own uncertainty, and when a
//!   distance interval is given, a range with the interval taken as ±2σ;
//! - an acoustic arrival: the sensor's place, the arrival time and its sigma, and the air
//!   temperature when the report gives it (else the agreement's default);
//! - a UAV sighting: the camera ray from the aircraft's pose and gimbal, intersected with the
//!   ground (or along the slant range), which is a point with a covariance propagated from the
//!   pose noise.
//!
//! A fix is computed in a local east-north frame around the measurements and returned in
//! latitude and longitude with its covariance in the east-north plane at the fix.

use crate::estimate::Estimate;
use truce_core::time::nanos_as_seconds;
use truce_core::{Geometry, Observation};
use truce_geo::{Cov2, LatLon, LocalFrame, SCALE_95};
use truce_locate::{
    ArrivalMeasurement, BearingMeasurement, Excluded, HeightFix, Measurements, PointMeasurement,
    RangeMeasurement, Surface, UavNoise, UavPose, Uncertainty,
};

/// Smallest standard deviation used, metres: keeps covariances invertible when a reporter
/// claims perfect accuracy.
pub const SIGMA_FLOOR_M: f64 = 1.0;

/// Farthest an event is assumed to be from an observer or a sensor that perceived it, metres;
/// it bounds where association looks for a bearing or an arrival that fixes no position alone.
pub const MAX_PERCEPTION_RANGE_M: f64 = 20_000.0;

/// How far the air's temperature may be from the agreement's default when no sensor reports
/// it, °C (one standard deviation).
pub const UNREPORTED_TEMPERATURE_SIGMA_C: f64 = 10.0;

/// Change of the speed of sound per °C near 15 °C, m/s.
const SPEED_PER_DEGREE_M_S: f64 = 0.6;

/// One standard deviation of a sensor's surveyed position, metres per axis: a sensor states
/// its place without an accuracy, and even a good survey (or a GPS fix averaged over hours)
/// is off by about a metre, which is ~3 ms of sound.
pub const SENSOR_SURVEY_SIGMA_M: f64 = 1.0;

/// Fewest arrivals with which the wind is estimated with the position (below, the air is
/// taken as calm: too few arrivals to tell a breeze from a shift of the source).
pub const WIND_MIN_ARRIVALS: usize = 8;

/// Spread of the wind about calm air assumed a priori, m/s per axis (a light to moderate
/// breeze near the ground).
pub const WIND_SIGMA_M_S: f64 = 3.0;

/// One observation's measurement of its event's position.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A position with its covariance (a position report or a UAV's ground point).
    Point {
        /// The position.
        at: LatLon,
        /// Its covariance, m², east-north at `at`.
        cov: Cov2,
    },
    /// A bearing from an observer, with a range when the report gives a distance interval.
    Bearing {
        /// Where the observer stood.
        observer: LatLon,
        /// One standard deviation of the observer's own position, metres.
        observer_sigma_m: f64,
        /// Degrees clockwise from true north.
        azimuth_deg: f64,
        /// One standard deviation of the bearing, degrees.
        sigma_deg: f64,
        /// Distance mean and standard deviation, metres.
        range: Option<(f64, f64)>,
    },
    /// An acoustic sensor's time of arrival.
    Arrival {
        /// The sensor's place.
        sensor: LatLon,
        /// The sensor's height above the ellipsoid, metres.
        alt_m: f64,
        /// Arrival time, nanoseconds since the Unix epoch.
        at_ns: i128,
        /// One standard deviation of the arrival time, seconds.
        sigma_s: f64,
        /// Air temperature at the sensor, °C, when reported.
        temperature_c: Option<f64>,
    },
}

impl Measure {
    /// The measurement one observation gives, or `None` when a UAV's camera ray does not reach
    /// the ground (the observation is still recorded and forms its own incident).
    pub fn of(o: &Observation) -> Option<Measure> {
        match &o.geometry {
            Geometry::Position(p) => Some(Measure::Point {
                at: LatLon::new(p.lat, p.lon),
                cov: Cov2::circular((p.accuracy_m / SCALE_95).max(SIGMA_FLOOR_M)),
            }),
            Geometry::Bearing(b) => {
                let range = match (b.distance_min_m, b.distance_max_m) {
                    (Some(min), Some(max)) => {
                        let (lo, hi) = (min.min(max), min.max(max));
                        Some((0.5 * (lo + hi), ((hi - lo) / 4.0).max(SIGMA_FLOOR_M)))
                    }
                    (None, Some(max)) => Some((0.5 * max, (max / 4.0).max(SIGMA_FLOOR_M))),
                    _ => None,
                };
                Some(Measure::Bearing {
                    observer: LatLon::new(b.observer.lat, b.observer.lon),
                    observer_sigma_m: b.observer.accuracy_m / SCALE_95,
                    azimuth_deg: b.bearing_deg,
                    sigma_deg: b.bearing_sigma_deg,
                    range,
                })
            }
            Geometry::Arrival(a) => Some(Measure::Arrival {
                sensor: LatLon::new(a.sensor.lat, a.sensor.lon),
                alt_m: a.sensor.alt_m,
                at_ns: a.arrival_time.unix_nanos(),
                sigma_s: a.sigma_s,
                temperature_c: a.temperature_c,
            }),
            Geometry::Uav(u) => {
                let pose = UavPose {
                    lat: u.aircraft.lat,
                    lon: u.aircraft.lon,
                    alt_hae_m: u.aircraft.alt_hae_m,
                    yaw_deg: u.aircraft.yaw_deg,
                    pitch_deg: u.aircraft.pitch_deg,
                    roll_deg: u.aircraft.roll_deg,
                    pan_deg: u.gimbal.pan_deg,
                    tilt_deg: u.gimbal.tilt_deg,
                    slant_range_m: u.slant_range_m,
                    ground_alt_m: u.ground_alt_m.unwrap_or(0.0),
                };
                let (at, cov) = truce_locate::uav_target(&pose, &UavNoise::default()).ok()?;
                Some(Measure::Point { at, cov })
            }
        }
    }

    /// A place the measurement is anchored at (the point, the observer, the sensor).
    pub fn anchor(&self) -> LatLon {
        match self {
            Measure::Point { at, .. } => *at,
            Measure::Bearing { observer, .. } => *observer,
            Measure::Arrival { sensor, .. } => *sensor,
        }
    }

    /// How far from the anchor the event can be, metres (95% for a point; the perception range
    /// for a bearing without range or an arrival).
    pub fn reach_m(&self) -> f64 {
        match self {
            Measure::Point { cov, .. } => cov.ellipse_95().semi_major_m,
            Measure::Bearing {
                range: Some((mean, sigma)),
                ..
            } => mean + 3.0 * sigma,
            Measure::Bearing { range: None, .. } | Measure::Arrival { .. } => {
                MAX_PERCEPTION_RANGE_M
            }
        }
    }

    /// Where this measurement alone places the event, when it does (a point; a bearing with a
    /// range: the point at the mean range, σ across = range·σθ, σ along = the range's σ, both
    /// with the observer's own σ). A quick, conservative stand-in for the joint fix, used to
    /// rule out far candidates before solving.
    pub fn standalone(&self) -> Option<Estimate> {
        match self {
            Measure::Point { at, cov } => Some(Estimate {
                center: *at,
                cov: *cov,
            }),
            Measure::Bearing {
                observer,
                observer_sigma_m,
                azimuth_deg,
                sigma_deg,
                range: Some((mean, sigma)),
            } => {
                let across = (mean * sigma_deg.to_radians().sin()).hypot(*observer_sigma_m);
                let along = sigma.hypot(*observer_sigma_m);
                Some(Estimate {
                    center: truce_geo::destination(*observer, *azimuth_deg, *mean),
                    cov: Cov2::oriented(
                        *azimuth_deg,
                        along.max(SIGMA_FLOOR_M),
                        across.max(SIGMA_FLOOR_M),
                    ),
                })
            }
            Measure::Bearing { range: None, .. } | Measure::Arrival { .. } => None,
        }
    }

    /// Scalar constraints the measurement adds (a point 2, a bearing 1 or 2, an arrival 1).
    pub fn dimensions(&self) -> i32 {
        match self {
            Measure::Point { .. } => 2,
            Measure::Bearing { range, .. } => 1 + i32::from(range.is_some()),
            Measure::Arrival { .. } => 1,
        }
    }
}

/// The joint fix of several measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct JointFix {
    /// The position and its covariance.
    pub estimate: Estimate,
    /// Sum of squared normalised residuals at the fix.
    pub chi2: f64,
    /// Constraints used minus unknowns.
    pub dof: i32,
    /// Measurements left out as outliers: the index into the measurements given, why, and,
    /// for an arrival, how late (positive) or early it was, seconds (`None` for a bearing: a
    /// misread of the same event, which stays with it).
    pub excluded: Vec<(usize, String, Option<f64>)>,
    /// Which kinds of measurement made the fix (`bearings`, `arrivals`, `points`, joined by `+`).
    pub method: String,
    /// When the sound was emitted, nanoseconds since the Unix epoch, when arrivals fix it.
    pub emission_ns: Option<i128>,
    /// How the covariance was checked against the residuals.
    pub uncertainty: Uncertainty,
    /// The source's height above the ellipsoid (metres) and how it was obtained, when
    /// arrivals were used.
    pub height: Option<HeightFix>,
    /// The wind the sound travelled in (east, north, m/s), when it was estimated.
    pub wind_m_s: Option<[f64; 2]>,
}

impl JointFix {
    /// Of `items`, the measurements this fix was fitted from (in the order given), those it
    /// used: every one but the excluded.
    pub fn used<'a, T>(&'a self, items: &'a [T]) -> impl Iterator<Item = &'a T> + 'a {
        items
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.excluded.iter().any(|(x, _, _)| x == i))
            .map(|(_, item)| item)
    }
}

/// Measurements in a local east-north frame, as `truce-locate` takes them.
#[derive(Debug, Clone)]
struct Local {
    frame: LocalFrame,
    bearings: Vec<BearingMeasurement>,
    arrivals: Vec<ArrivalMeasurement>,
    /// For each arrival, its index among the measures given.
    arrival_index: Vec<usize>,
    /// For each bearing, its index among the measures given.
    bearing_index: Vec<usize>,
    points: Vec<PointMeasurement>,
    speed_of_sound_m_s: f64,
    source_height_m: f64,
    surface: Option<Surface>,
    wind_sigma_m_s: Option<f64>,
    speed_sigma_m_s: Option<f64>,
}

impl Local {
    fn new(
        origin: LatLon,
        measures: &[&Measure],
        prior: Option<&Estimate>,
        default_temperature_c: f64,
    ) -> Self {
        let frame = LocalFrame::at(origin);
        let mut local = Local {
            frame,
            bearings: Vec::new(),
            arrivals: Vec::new(),
            arrival_index: Vec::new(),
            bearing_index: Vec::new(),
            points: Vec::new(),
            speed_of_sound_m_s: 0.0,
            source_height_m: 0.0,
            surface: None,
            wind_sigma_m_s: None,
            speed_sigma_m_s: None,
        };
        if let Some(p) = prior {
            local.points.push(PointMeasurement {
                at: en(&frame, p.center),
                cov: p.cov,
            });
        }
        let t_ref = measures
            .iter()
            .filter_map(|m| match m {
                Measure::Arrival { at_ns, .. } => Some(*at_ns),
                _ => None,
            })
            .min()
            .unwrap_or(0);
        let mut temperatures = Vec::new();
        for (i, m) in measures.iter().enumerate() {
            match m {
                Measure::Point { at, cov } => local.points.push(PointMeasurement {
                    at: en(&frame, *at),
                    cov: *cov,
                }),
                Measure::Bearing {
                    observer,
                    observer_sigma_m,
                    azimuth_deg,
                    sigma_deg,
                    range,
                } => {
                    local.bearings.push(BearingMeasurement {
                        observer: en(&frame, *observer),
                        observer_sigma_m: *observer_sigma_m,
                        azimuth_rad: azimuth_deg.to_radians(),
                        sigma_rad: sigma_deg.to_radians(),
                        range: range.map(|(mean_m, sigma_m)| RangeMeasurement { mean_m, sigma_m }),
                    });
                    local.bearing_index.push(i);
                }
                Measure::Arrival {
                    sensor,
                    alt_m,
                    at_ns,
                    sigma_s,
                    temperature_c,
                } => {
                    local.arrivals.push(ArrivalMeasurement {
                        sensor: frame.to_enu(*sensor, *alt_m),
                        time_s: nanos_as_seconds(*at_ns - t_ref),
                        // A sensor's surveyed place is not exact either: its error adds to the
                        // timing's, at the speed of sound.
                        sigma_s: sigma_s.hypot(SENSOR_SURVEY_SIGMA_M / 340.0),
                    });
                    local.arrival_index.push(i);
                    temperatures.extend(*temperature_c);
                }
            }
        }
        // The air's temperature as the sensors that report it measure it; the agreement's
        // default only when none does.
        let temperature = if temperatures.is_empty() {
            default_temperature_c
        } else {
            temperatures.iter().sum::<f64>() / temperatures.len() as f64
        };
        local.speed_of_sound_m_s = truce_locate::speed_of_sound(temperature);
        // Sensors stand on the ground near the event: the source's height is estimated, with
        // the surface their positions describe as its prior (the data decide where the
        // geometry resolves it, the surface elsewhere).
        if !local.arrivals.is_empty() {
            let sensors: Vec<[f64; 3]> = local.arrivals.iter().map(|a| a.sensor).collect();
            local.source_height_m =
                sensors.iter().map(|s| s[2]).sum::<f64>() / sensors.len() as f64;
            local.surface = Surface::from_sensors(&sensors);
            // With enough sensors the wind is estimated too: it carries the wavefront, and a
            // fix that ignores a light breeze is off by the breeze times the travel time.
            if sensors.len() >= WIND_MIN_ARRIVALS {
                local.wind_sigma_m_s = Some(WIND_SIGMA_M_S);
                // And the speed of sound, when no sensor reports the air's temperature and the
                // agreement's default stands in (a temperature 6 °C off moves every fix by 1%
                // of its distances). Where sensors report it, the speed is taken as known: a
                // free speed would only give wrong mixes of pulses another way to fit.
                if temperatures.is_empty() {
                    local.speed_sigma_m_s =
                        Some(SPEED_PER_DEGREE_M_S * UNREPORTED_TEMPERATURE_SIGMA_C);
                }
            }
        }
        local
    }

    fn measurements(&self) -> Measurements<'_> {
        Measurements {
            bearings: &self.bearings,
            arrivals: &self.arrivals,
            points: &self.points,
            speed_of_sound_m_s: self.speed_of_sound_m_s,
            source_height_m: self.source_height_m,
            surface: self.surface,
            wind_sigma_m_s: self.wind_sigma_m_s,
            speed_sigma_m_s: self.speed_sigma_m_s,
        }
    }
}

/// The maximum-likelihood fix of `measures` (plus `prior`, a previous estimate taken as a
/// point), or `None` when they do not determine a position. `default_temperature_c` is used
/// for arrivals that report no temperature.
pub fn joint_fix(
    measures: &[&Measure],
    prior: Option<&Estimate>,
    default_temperature_c: f64,
) -> Option<JointFix> {
    joint_trial(measures, prior, default_temperature_c)?.fix()
}

/// A joint fit judged before its uncertainty is sized: what [`joint_fix`] would return for the
/// same measurements, field for field where the fields are the same, at a fraction of the cost
/// (the search for other minima that widens an ellipse is left to [`Trial::fix`]). For weighing
/// many candidate sets of measurements and keeping one.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The position (as [`JointFix::estimate`]'s centre).
    pub center: LatLon,
    /// Sum of squared normalised residuals (as [`JointFix::chi2`]).
    pub chi2: f64,
    /// Constraints used minus unknowns (as [`JointFix::dof`]).
    pub dof: i32,
    /// Measurements left out as outliers (as [`JointFix::excluded`]).
    pub excluded: Vec<(usize, String, Option<f64>)>,
    /// When the sound was emitted (as [`JointFix::emission_ns`]).
    pub emission_ns: Option<i128>,
    local: Local,
    fitted: truce_locate::Fitted,
    has_prior: bool,
}

/// [`joint_fix`]'s fit without sizing its uncertainty (see [`Trial`]); `None` exactly when
/// `joint_fix` gives `None`.
pub fn joint_trial(
    measures: &[&Measure],
    prior: Option<&Estimate>,
    default_temperature_c: f64,
) -> Option<Trial> {
    let origin = prior
        .map(|p| p.center)
        .or_else(|| measures.first().map(|m| m.anchor()))?;
    let local = Local::new(origin, measures, prior, default_temperature_c);
    let t_ref = measures
        .iter()
        .filter_map(|m| match m {
            Measure::Arrival { at_ns, .. } => Some(*at_ns),
            _ => None,
        })
        .min();
    let fitted = truce_locate::fit(&local.measurements()).ok()?;
    if !(fitted.at[0].is_finite() && fitted.at[1].is_finite()) {
        return None;
    }
    Some(Trial {
        center: local.frame.from_en(fitted.at[0], fitted.at[1]),
        chi2: fitted.chi2,
        dof: fitted.dof,
        excluded: fitted
            .excluded
            .iter()
            .filter_map(|x| match x.measurement {
                Excluded::Arrival { index, residual_s } => local
                    .arrival_index
                    .get(index)
                    .map(|i| (*i, x.reason.clone(), Some(residual_s))),
                Excluded::Bearing { index, .. } => local
                    .bearing_index
                    .get(index)
                    .map(|i| (*i, x.reason.clone(), None)),
            })
            .collect(),
        emission_ns: t_ref
            .zip(fitted.emission_time_s)
            .map(|(t, e)| t + (e * 1e9).round() as i128),
        local,
        fitted,
        has_prior: prior.is_some(),
    })
}

impl Trial {
    /// The joint fix: its uncertainty sized as [`joint_fix`] sizes it (`None` only if the
    /// solver refuses to finish what it fitted, which it does not for the same measurements).
    pub fn fix(self) -> Option<JointFix> {
        let Trial {
            center,
            chi2,
            dof,
            excluded,
            emission_ns,
            local,
            fitted,
            has_prior,
        } = self;
        let fix = fitted.finish(&local.measurements()).ok()?;
        let mut method = Vec::new();
        for (name, n) in [
            ("bearings", local.bearings.len()),
            ("arrivals", local.arrivals.len()),
            ("points", local.points.len() - usize::from(has_prior)),
        ] {
            if n > 0 {
                method.push(name);
            }
        }
        Some(JointFix {
            estimate: Estimate {
                center,
                cov: fix.cov,
            },
            chi2,
            dof,
            excluded,
            method: method.join("+"),
            emission_ns,
            uncertainty: fix.uncertainty,
            wind_m_s: fix.wind_m_s,
            height: fix.height.map(|h| HeightFix {
                // The frame's up is the height above the ellipsoid at its origin; the fix is
                // within a few kilometres of it, where the difference is the Earth's curvature.
                up_m: local.frame.from_enu([fix.at[0], fix.at[1], h.up_m]).1,
                ..h
            }),
        })
    }
}

/// The Cramér–Rao bound on the east-north covariance (m², at `truth`) of any unbiased fix
/// from `measures` of an event at `truth`, or `None` when they cannot determine a position.
pub fn crlb(measures: &[&Measure], truth: LatLon, default_temperature_c: f64) -> Option<Cov2> {
    let local = Local::new(truth, measures, None, default_temperature_c);
    truce_locate::crlb(&local.measurements(), [0.0, 0.0])
}

fn en(frame: &LocalFrame, p: LatLon) -> [f64; 2] {
    let (e, n) = frame.to_en(p);
    [e, n]
}

/// The 99.9% quantile of the chi-square distribution with `dof` degrees of freedom
/// (Wilson–Hilferty; within 1% for dof ≥ 1): the gate a measurement's added misfit must pass.
pub fn chi2_gate(dof: i32) -> f64 {
    let k = f64::from(dof.max(1));
    const Z_999: f64 = 3.090_232;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + Z_999 * a.sqrt()).powi(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misread_bearing_is_named_by_its_place_among_the_measures() {
        // An arrival-free fix of five posts' bearings (2°) and a position report; the fourth
        // measure, a bearing, is misread by 25°.
        let target = LatLon::new(40.0, 46.0);
        let frame = LocalFrame::at(target);
        let bearing = |e: f64, n: f64, off_deg: f64| {
            let observer = frame.from_en(e, n);
            let (_, az) = truce_geo::distance_azimuth(observer, target);
            Measure::Bearing {
                observer,
                observer_sigma_m: 0.0,
                azimuth_deg: (az + off_deg).rem_euclid(360.0),
                sigma_deg: 2.0,
                range: None,
            }
        };
        let measures = [
            bearing(-4000.0, -1000.0, 0.0),
            bearing(-1500.0, 4200.0, 0.0),
            Measure::Point {
                at: frame.from_en(30.0, -20.0),
                cov: Cov2::circular(200.0),
            },
            bearing(3500.0, 3000.0, 25.0),
            bearing(4500.0, -2000.0, 0.0),
            bearing(200.0, -5000.0, 0.0),
        ];
        let refs: Vec<&Measure> = measures.iter().collect();
        let fix = joint_fix(&refs, None, 15.0).unwrap_or_else(|| panic!("no fix"));
        assert_eq!(fix.excluded.len(), 1, "{:?}", fix.excluded);
        let (index, reason, late) = &fix.excluded[0];
        assert_eq!(*index, 3);
        assert!(
            reason.starts_with("this bearing is ") && reason.contains("misread"),
            "{reason}"
        );
        assert_eq!(*late, None, "a bearing is no pulse: it has no lateness");
        let (e, n) = frame.to_en(fix.estimate.center);
        assert!(e.hypot(n) < 30.0, "{e} {n}");
    }

    #[test]
    fn the_gate_matches_the_chi_square_table() {
        for (dof, table) in [
            (1, 10.828),
            (2, 13.816),
            (3, 16.266),
            (5, 20.515),
            (10, 29.588),
        ] {
            let g = chi2_gate(dof);
            assert!(
                (g - table).abs() / table < 0.04,
                "dof {dof}: {g} vs {table}"
            );
        }
    }
}
