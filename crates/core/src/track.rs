//! Where the monitors' own patrols and UAVs were: points of a track, taken from their TAK
//! devices' situational awareness at a bounded rate (see ARCHITECTURE.md, "Tracks").
//!
//! A track point is not an observation: it says where a monitoring team was, not what it
//! saw. It is on the record because where patrols went and when (and where they could not go)
//! is part of what a ceasefire mission reports, and a disputed account of a patrol is settled
//! by the record both monitors cosigned.

use crate::time::Timestamp;
use crate::validate::limits::{EARLIEST_YEAR, FUTURE_SKEW_S, NAME_BYTES};
use serde::{Deserialize, Serialize};

/// A device's report older than this is not taken as where it is now, seconds.
pub const MAX_AGE_S: f64 = 3600.0;
/// Fastest credible platform, metres per second (a fixed-wing UAV is well under).
pub const MAX_SPEED_MPS: f64 = 1000.0;

/// A track point's field out of range: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidTrack {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// What moves: a ground patrol, an aircraft (a UAV), a vessel, or something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// On the ground: a patrol on foot or in vehicles.
    Ground,
    /// In the air: a UAV, most often.
    Air,
    /// On the water.
    Sea,
    /// Anything else.
    Other,
}

impl Platform {
    /// Its name in the record and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ground => "ground",
            Platform::Air => "air",
            Platform::Sea => "sea",
            Platform::Other => "other",
        }
    }

    /// The platform of a CoT type by its battle dimension (`a-f-G…` ground, `a-f-A…` air,
    /// `a-f-S…` sea).
    pub fn from_cot_type(kind: &str) -> Self {
        match kind.split('-').nth(2) {
            Some("G") => Platform::Ground,
            Some("A") => Platform::Air,
            Some("S") => Platform::Sea,
            _ => Platform::Other,
        }
    }
}

/// One point of a monitoring team's track, as its device reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackPoint {
    /// The device's identifier (the CoT event's uid), stable across its reports.
    pub device: String,
    /// The team's or the device's call sign.
    pub callsign: String,
    /// What moves.
    pub platform: Platform,
    /// Latitude, degrees (WGS 84).
    pub lat: f64,
    /// Longitude, degrees (WGS 84).
    pub lon: f64,
    /// Height above the ellipsoid, metres, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hae_m: Option<f64>,
    /// Radius within which the device is with 95% probability, metres, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// Course over ground, degrees true, when moving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_deg: Option<f64>,
    /// Speed over ground, metres per second, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f64>,
    /// When the device was there.
    pub observed_at: Timestamp,
    /// Through which listener and as which member it came (the server's word).
    pub via: String,
}

impl TrackPoint {
    /// Checks every field against its range at `now`; the error names the field.
    pub fn validate(&self, now: Timestamp) -> Result<(), InvalidTrack> {
        let bad = |field: &'static str, message: String| Err(InvalidTrack { field, message });
        for (field, text) in [
            ("device", &self.device),
            ("callsign", &self.callsign),
            ("via", &self.via),
        ] {
            if text.trim().is_empty() {
                return bad(field, "must not be empty".into());
            }
            if text.len() > NAME_BYTES {
                return bad(field, format!("{} bytes; at most {NAME_BYTES}", text.len()));
            }
        }
        if !(-90.0..=90.0).contains(&self.lat) {
            return bad(
                "lat",
                format!("{} is not a latitude in [-90, 90]", self.lat),
            );
        }
        if !(-180.0..=180.0).contains(&self.lon) {
            return bad(
                "lon",
                format!("{} is not a longitude in [-180, 180]", self.lon),
            );
        }
        let ranges: [(&'static str, Option<f64>, f64, f64); 4] = [
            ("hae_m", self.hae_m, -1000.0, 50_000.0),
            ("accuracy_m", self.accuracy_m, 0.0, 1_000_000.0),
            ("course_deg", self.course_deg, 0.0, 360.0),
            ("speed_mps", self.speed_mps, 0.0, MAX_SPEED_MPS),
        ];
        for (field, value, low, high) in ranges {
            if let Some(v) = value
                && !(low..=high).contains(&v)
            {
                return bad(field, format!("{v} is outside [{low}, {high}]"));
            }
        }
        if self.observed_at.year() < EARLIEST_YEAR {
            return bad("observed_at", format!("before {EARLIEST_YEAR}"));
        }
        let ahead = self.observed_at.seconds_since(now);
        if ahead > FUTURE_SKEW_S {
            return bad(
                "observed_at",
                format!("{ahead:.0} s ahead of the center's clock (at most {FUTURE_SKEW_S} s)"),
            );
        }
        if -ahead > MAX_AGE_S {
            return bad(
                "observed_at",
                format!(
                    "{:.0} s old; a position older than {MAX_AGE_S} s is not where the device is",
                    -ahead
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(now: Timestamp) -> TrackPoint {
        TrackPoint {
            device: "ANDROID-1".into(),
            callsign: "Patrol 3".into(),
            platform: Platform::Ground,
            lat: 40.1,
            lon: 46.5,
            hae_m: Some(800.0),
            accuracy_m: Some(12.0),
            course_deg: Some(90.0),
            speed_mps: Some(3.0),
            observed_at: now.plus_seconds(-5.0),
            via: "cot-tcp 127.0.0.1:8087 as m1-observer (m1)".into(),
        }
    }

    #[test]
    fn a_point_in_range_is_valid_and_each_bad_field_is_named() {
        let now = Timestamp::now();
        assert!(point(now).validate(now).is_ok());
        type Spoil = fn(&mut TrackPoint);
        let cases: [(&str, Spoil); 7] = [
            ("lat", |p| p.lat = 91.0),
            ("lon", |p| p.lon = f64::NAN),
            ("speed_mps", |p| p.speed_mps = Some(5000.0)),
            ("course_deg", |p| p.course_deg = Some(-1.0)),
            ("device", |p| p.device = " ".into()),
            ("callsign", |p| p.callsign = "x".repeat(200)),
            ("observed_at", |p| {
                p.observed_at = Timestamp::now().plus_seconds(-7200.0)
            }),
        ];
        for (field, spoil) in cases {
            let mut p = point(now);
            spoil(&mut p);
            assert_eq!(p.validate(now).unwrap_err().field, field);
        }
    }

    #[test]
    fn the_platform_is_the_cot_types_battle_dimension() {
        assert_eq!(Platform::from_cot_type("a-f-G-U-C"), Platform::Ground);
        assert_eq!(Platform::from_cot_type("a-f-A-M-F-Q"), Platform::Air);
        assert_eq!(Platform::from_cot_type("a-f-S"), Platform::Sea);
        assert_eq!(Platform::from_cot_type("a-f"), Platform::Other);
    }
}
