//! Coverage: where, and for how much of a period, the monitors could have recorded what
//! happened. "No violations recorded" means little without it.
//!
//! The record does not list the monitors' posts; it shows where they were by what they sent.
//! A *presence* is a place a monitor demonstrably was, hour by hour:
//!
//! - a post or patrol that reported a bearing, from the observer's position;
//! - an acoustic sensor that timed an arrival, from the sensor's position;
//! - a UAV, from the aircraft's position;
//! - a patrol or UAV track point (`track` entries).
//!
//! Imported rows and position reports do not count: the first say where someone else was,
//! the second where the event was, not the reporter.
//!
//! Each counts for the hour it reported in, and no other: coverage is a lower bound, counted
//! from evidence of presence, never from a plan. A presence covers, for each class of event,
//! the disc of that class's detection range ([`RANGES`]). An area's coverage is the share of
//! its surface × the period's hours that some presence covered, sampled on a grid of about
//! [`SAMPLES`] points inside it.

use geo::{BoundingRect, Contains, Geometry, Point};
use std::collections::BTreeMap;
use truce_core::Timestamp;
use truce_core::agreement::{Agreement, ZoneKind};
use truce_core::observation::Geometry as ObsGeometry;
use truce_store::{StoredObservation, TrackRow};

/// A class of event and how far from a monitor it can be noticed, metres (documented
/// defaults: large explosions and artillery are heard ~10 km away; small-arms fire ~2 km).
pub const RANGES: [(Class, f64); 2] = [(Class::Explosions, 10_000.0), (Class::SmallArms, 2_000.0)];

/// Sample points per area.
pub const SAMPLES: usize = 1_500;

const METRES_PER_DEGREE: f64 = 111_195.0;
const HOUR_NS: i64 = 3_600_000_000_000;

/// A class of event, by how far it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Explosions, artillery and mortar fire, flares.
    Explosions,
    /// Shots, bursts, muzzle flashes close by.
    SmallArms,
}

/// What a presence was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    /// A post or patrol that reported what it saw or heard.
    Observer,
    /// An acoustic sensor.
    Sensor,
    /// A UAV.
    Uav,
    /// A patrol's own track.
    Patrol,
}

impl Platform {
    /// Its name in data (`observer`, `sensor`, `uav`, `patrol`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Observer => "observer",
            Platform::Sensor => "sensor",
            Platform::Uav => "uav",
            Platform::Patrol => "patrol",
        }
    }
}

/// A place a monitor demonstrably was, and the hours of the period it was there.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    /// Latitude, degrees (rounded to about 100 m: one place, however many reports).
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// What it was.
    pub platform: Platform,
    /// The hours of the period (0 = the first) in which it reported.
    pub hours: Vec<u32>,
}

/// One area's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaCoverage {
    /// The area's zone id.
    pub zone: String,
    /// Its name.
    pub name: String,
    /// Per class: the share (0 to 1) of the area's surface × the period's hours covered.
    pub covered: Vec<(Class, f64)>,
}

/// Coverage of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Hours in the period.
    pub hours: u32,
    /// Every presence, by place.
    pub presences: Vec<Presence>,
    /// Each area of responsibility, in the agreement's order.
    pub areas: Vec<AreaCoverage>,
}

impl Coverage {
    /// The share of `area`'s surface × hours covered for `class` (0 when unknown).
    pub fn share(&self, zone: &str, class: Class) -> f64 {
        self.areas
            .iter()
            .find(|a| a.zone == zone)
            .and_then(|a| a.covered.iter().find(|(c, _)| *c == class))
            .map_or(0.0, |(_, s)| *s)
    }
}

/// `t` in nanoseconds since the epoch, clamped to what an `i64` holds.
fn nanos(t: Timestamp) -> i64 {
    t.unix_nanos()
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Where an observation shows its monitor was. An imported row says where someone else was;
/// a position report says where the event was, not the reporter.
fn place(o: &StoredObservation) -> Option<(f64, f64, Platform)> {
    if o.observation.source == truce_core::Source::Import {
        return None;
    }
    match &o.observation.geometry {
        ObsGeometry::Bearing(b) => Some((b.observer.lat, b.observer.lon, Platform::Observer)),
        ObsGeometry::Arrival(a) => Some((a.sensor.lat, a.sensor.lon, Platform::Sensor)),
        ObsGeometry::Uav(u) => Some((u.aircraft.lat, u.aircraft.lon, Platform::Uav)),
        ObsGeometry::Position(_) => None,
    }
}

/// The period's presences, from its observations and track points.
fn presences(
    observations: &[StoredObservation],
    tracks: &[TrackRow],
    start: Timestamp,
    hours: u32,
) -> Vec<Presence> {
    let start_ns = nanos(start);
    // The period is (start, end]: an instant just after start is in hour 0, end in the last.
    let hour = |ns: i64| -> Option<u32> {
        if ns <= start_ns {
            return None;
        }
        let h = (ns - start_ns - 1).div_euclid(HOUR_NS);
        u32::try_from(h).ok().filter(|h| *h < hours)
    };
    // Keyed by place rounded to ~100 m and platform, so a post reporting all day is one.
    let mut by_place: BTreeMap<(i64, i64, Platform), Vec<u32>> = BTreeMap::new();
    let key = |lat: f64, lon: f64| ((lat * 1000.0).round() as i64, (lon * 1000.0).round() as i64);
    let mut add = |lat: f64, lon: f64, platform: Platform, ns: i64| {
        if let Some(h) = hour(ns) {
            let (a, b) = key(lat, lon);
            by_place.entry((a, b, platform)).or_default().push(h);
        }
    };
    for o in observations {
        if let Some((lat, lon, platform)) = place(o) {
            add(lat, lon, platform, nanos(o.observation.observed_at));
        }
    }
    for t in tracks {
        let platform = if t.platform == "air" {
            Platform::Uav
        } else {
            Platform::Patrol
        };
        add(t.lat, t.lon, platform, t.at_ns);
    }
    by_place
        .into_iter()
        .map(|((a, b, platform), mut hours)| {
            hours.sort_unstable();
            hours.dedup();
            Presence {
                lat: a as f64 / 1000.0,
                lon: b as f64 / 1000.0,
                platform,
                hours,
            }
        })
        .collect()
}

/// About [`SAMPLES`] points on a regular grid inside `geometry`.
fn samples(geometry: &Geometry<f64>) -> Vec<(f64, f64)> {
    let Some(rect) = geometry.bounding_rect() else {
        return Vec::new();
    };
    let (w, h) = (rect.width(), rect.height());
    if w <= 0.0 || h <= 0.0 {
        return Vec::new();
    }
    // Grid step from the box's area: the box holds more points than the shape.
    let step = (w * h / (SAMPLES as f64 * 1.5)).sqrt();
    let mut out = Vec::new();
    let mut y = rect.min().y + step / 2.0;
    while y < rect.max().y {
        let mut x = rect.min().x + step / 2.0;
        while x < rect.max().x {
            if geometry.contains(&Point::new(x, y)) {
                out.push((y, x));
            }
            x += step;
        }
        y += step;
    }
    out
}

/// Track points read at most for one period (a day of one point a minute from ~350 devices).
pub const MAX_TRACK_POINTS: u64 = 500_000;

/// Coverage of `(start, end]`: the observations among `observations` made in the period, and
/// the period's track points read from `store`.
pub fn of_period(
    store: &dyn truce_store::Store,
    agreement: &Agreement,
    observations: &[StoredObservation],
    start: Timestamp,
    end: Timestamp,
) -> Result<Coverage, truce_store::StoreError> {
    let tracks = store.track_rows(
        -1,
        nanos(start).saturating_add(1),
        nanos(end).saturating_add(1),
        MAX_TRACK_POINTS,
    )?;
    let in_period: Vec<StoredObservation> = observations
        .iter()
        .filter(|o| o.observation.observed_at > start && o.observation.observed_at <= end)
        .cloned()
        .collect();
    Ok(coverage(agreement, &in_period, &tracks, start, end))
}

/// Coverage of `(start, end]` over `agreement`'s areas of responsibility, from the period's
/// observations and track points.
pub fn coverage(
    agreement: &Agreement,
    observations: &[StoredObservation],
    tracks: &[TrackRow],
    start: Timestamp,
    end: Timestamp,
) -> Coverage {
    let span_ns = nanos(end).saturating_sub(nanos(start)).max(0);
    let hours = u32::try_from((span_ns + HOUR_NS - 1) / HOUR_NS)
        .unwrap_or(u32::MAX)
        .max(1);
    let presences = presences(observations, tracks, start, hours);
    // Per hour, the places present then.
    let mut by_hour: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); hours as usize];
    for p in &presences {
        let cos = p.lat.to_radians().cos();
        for h in &p.hours {
            by_hour[*h as usize].push((p.lat, p.lon, cos));
        }
    }
    let areas = agreement
        .zones
        .iter()
        .filter(|z| z.kind == ZoneKind::AreaOfResponsibility)
        .map(|z| {
            let points = samples(&z.geometry);
            let covered = RANGES
                .iter()
                .map(|(class, range)| {
                    let r2 = (range / METRES_PER_DEGREE).powi(2);
                    let mut hits = 0usize;
                    for present in &by_hour {
                        hits += points
                            .iter()
                            .filter(|(lat, lon)| {
                                present.iter().any(|(plat, plon, cos)| {
                                    let dy = lat - plat;
                                    let dx = (lon - plon) * cos;
                                    dx * dx + dy * dy <= r2
                                })
                            })
                            .count();
                    }
                    let total = points.len() * by_hour.len();
                    let share = if total == 0 {
                        0.0
                    } else {
                        hits as f64 / total as f64
                    };
                    (*class, share)
                })
                .collect();
            AreaCoverage {
                zone: z.id.clone(),
                name: z.name.clone(),
                covered,
            }
        })
        .collect();
    Coverage {
        hours,
        presences,
        areas,
    }
}
