//! Which situational-awareness reports of the monitors' own teams become track points in the
//! record, and at what rate (see ARCHITECTURE.md, "Tracks").
//!
//! A TAK device sends its position every few seconds. The record keeps a point of a device
//! when it has none of it yet, when [`INTERVAL_S`] have passed since the last one kept, or
//! when the device has moved [`MOVED_M`] from it and [`MIN_INTERVAL_S`] have passed: at most
//! six points a minute for a fast UAV, one a minute for a patrol standing still.

use crate::ingest::CE_TO_95;
use std::collections::HashMap;
use std::sync::Mutex;
use truce_core::Timestamp;
use truce_core::track::{Platform, TrackPoint};
use truce_cot::{Event, Point};

/// A device's point is kept at least this often while it reports, seconds.
pub const INTERVAL_S: f64 = 60.0;
/// A move this far from the last kept point keeps a new one sooner, metres.
pub const MOVED_M: f64 = 250.0;
/// Never two points of one device closer in time than this, seconds.
pub const MIN_INTERVAL_S: f64 = 10.0;
/// Devices remembered before the longest-silent are forgotten.
const MAX_DEVICES: usize = 100_000;
/// Track points one monitor's devices may add per second, together, on average: a cap that
/// made-up device ids cannot get round (a thousand patrols standing still add 17 a second).
pub const MONITOR_RATE_PER_S: f64 = 20.0;
/// Track points one monitor's devices may add at once before that rate applies.
pub const MONITOR_BURST: f64 = 1200.0;

/// The track point an awareness event of one of the monitors' own teams gives: a friendly
/// (`a-f-…`) unit's position sent by a device about itself (it carries `takv` or a contact
/// endpoint, or its `how` says a machine placed it, as a UAV's telemetry does). Hostile,
/// neutral and unknown units are what monitors report on, as markers, never tracks; a
/// friendly marker placed by hand is not where a team is.
pub fn track_point(event: &Event, via: &str) -> Option<TrackPoint> {
    let from_device = event.detail.takv.is_some()
        || event
            .detail
            .contact
            .as_ref()
            .is_some_and(|c| !c.endpoint.is_empty())
        || event.how.starts_with('m');
    if !event.kind.starts_with("a-f-") || !from_device {
        return None;
    }
    let callsign = event
        .detail
        .contact
        .as_ref()
        .map(|c| c.callsign.trim())
        .filter(|c| !c.is_empty())
        .unwrap_or(&event.uid);
    let track = event.detail.track.as_ref();
    Some(TrackPoint {
        device: event.uid.clone(),
        callsign: callsign.to_owned(),
        platform: Platform::from_cot_type(&event.kind),
        lat: event.point.lat,
        lon: event.point.lon,
        hae_m: Point::known(event.point.hae),
        accuracy_m: Point::known(event.point.ce)
            .filter(|ce| *ce > 0.0)
            .map(|ce| ce * CE_TO_95),
        course_deg: track
            .map(|t| t.course)
            .filter(|c| (0.0..=360.0).contains(c)),
        speed_mps: track
            .and_then(|t| Point::known(t.speed))
            .filter(|s| *s >= 0.0),
        observed_at: Timestamp::from_unix_nanos(i128::from(event.time_ms) * 1_000_000)?,
        via: via.to_owned(),
    })
}

/// A device: its monitor and its uid.
type Device = (String, String);
/// Where and when a device's last point was kept: time, latitude, longitude.
type Kept = (Timestamp, f64, f64);

/// The last point kept of each device, and each monitor's budget of points.
#[derive(Default)]
pub struct TrackGate {
    kept: Mutex<HashMap<Device, Kept>>,
    budgets: Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl TrackGate {
    /// Whether `point` of `monitor`'s device is due to be kept: its device's rate allows it,
    /// and so does its monitor's budget (which it then spends).
    pub fn due(&self, monitor: &str, point: &TrackPoint) -> bool {
        let device_due = {
            let kept = self
                .kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match kept.get(&(monitor.to_owned(), point.device.clone())) {
                None => true,
                Some((at, lat, lon)) => {
                    let since = point.observed_at.seconds_since(*at);
                    since >= INTERVAL_S
                        || (since >= MIN_INTERVAL_S
                            && distance_m(*lat, *lon, point.lat, point.lon) >= MOVED_M)
                }
            }
        };
        device_due && self.spend(monitor)
    }

    /// Takes one point from `monitor`'s budget, if there is one.
    fn spend(&self, monitor: &str) -> bool {
        let mut budgets = self
            .budgets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        let (tokens, at) = budgets
            .entry(monitor.to_owned())
            .or_insert((MONITOR_BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * MONITOR_RATE_PER_S)
            .min(MONITOR_BURST);
        *at = now;
        if *tokens < 1.0 {
            return false;
        }
        *tokens -= 1.0;
        true
    }

    /// Notes that `point` of `monitor`'s device is in the record.
    pub fn kept(&self, monitor: &str, point: &TrackPoint) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= MAX_DEVICES {
            let mut times: Vec<Timestamp> = kept.values().map(|v| v.0).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            kept.retain(|_, v| v.0 > cut);
        }
        kept.insert(
            (monitor.to_owned(), point.device.clone()),
            (point.observed_at, point.lat, point.lon),
        );
    }
}

/// Distance between two nearby points, metres (equirectangular: within 0.1% below 100 km,
/// which is all a rate decision needs).
fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const R: f64 = 6_371_000.0;
    let mid = ((lat1 + lat2) / 2.0).to_radians();
    let x = (lon2 - lon1).to_radians() * mid.cos();
    let y = (lat2 - lat1).to_radians();
    R * x.hypot(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64, lat: f64) -> TrackPoint {
        TrackPoint {
            device: "ANDROID-1".into(),
            callsign: "Patrol 3".into(),
            platform: Platform::Ground,
            lat,
            lon: 46.5,
            hae_m: None,
            accuracy_m: None,
            course_deg: None,
            speed_mps: None,
            observed_at: Timestamp::from_unix_nanos(
                1_800_000_000_000_000_000 + (seconds * 1e9) as i128,
            )
            .unwrap(),
            via: "test".into(),
        }
    }

    #[test]
    fn a_device_standing_still_is_kept_once_a_minute_and_a_moving_one_more_often() {
        let gate = TrackGate::default();
        let mut kept = Vec::new();
        // Standing still, reporting every 5 s for 5 minutes.
        for i in 0..60 {
            let p = at(f64::from(i) * 5.0, 40.0);
            if gate.due("m1", &p) {
                gate.kept("m1", &p);
                kept.push(i);
            }
        }
        assert_eq!(kept, vec![0, 12, 24, 36, 48], "one point a minute");
        // Moving 100 m every 5 s (20 m/s): a point every 15 s (300 m), never closer than 10 s.
        let gate = TrackGate::default();
        let mut kept = Vec::new();
        for i in 0..12 {
            let p = at(f64::from(i) * 5.0, 40.0 + f64::from(i) * 100.0 / 111_195.0);
            if gate.due("m1", &p) {
                gate.kept("m1", &p);
                kept.push(i);
            }
        }
        assert_eq!(kept, vec![0, 3, 6, 9]);
        // Another monitor's device of the same uid is another device.
        assert!(gate.due("m2", &at(56.0, 40.0)));
    }

    #[test]
    fn made_up_device_ids_cannot_get_past_the_monitors_budget() {
        let gate = TrackGate::default();
        let mut kept = 0;
        for n in 0..5000 {
            let mut p = at(0.0, 40.0);
            p.device = format!("fake-{n}");
            if gate.due("m1", &p) {
                gate.kept("m1", &p);
                kept += 1;
            }
        }
        // The burst, and what the rate refilled while the loop ran (well under a second).
        assert!(
            (MONITOR_BURST as usize..MONITOR_BURST as usize + 40).contains(&kept),
            "{kept}"
        );
        let mut other = at(0.0, 40.0);
        other.device = "patrol".into();
        assert!(
            gate.due("m2", &other),
            "another monitor's budget is its own"
        );
    }
}
