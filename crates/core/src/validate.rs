//! The checks that turn an [`Observation`] into a [`ValidObservation`]: ranges, units, times,
//! text limits. Every check names the field it failed on.

use crate::error::FieldError;
use crate::observation::{
    ArrivalGeometry, BearingGeometry, Geometry, Kind, Observation, PositionGeometry, Subkind,
    UavGeometry,
};
use crate::time::Timestamp;
use serde::Serialize;
use std::ops::Deref;

/// Limits on free text and lists inside one observation.
pub mod limits {
    /// `notes`, in bytes of UTF-8.
    pub const NOTES_BYTES: usize = 4096;
    /// `reporter` and `sensor.id`, in bytes.
    pub const NAME_BYTES: usize = 128;
    /// Items in `evidence`.
    pub const EVIDENCE_ITEMS: usize = 32;
    /// `count`.
    pub const COUNT_MAX: u32 = 100_000;
    /// How far in the future (seconds, by the server's clock) an `observed_at` may lie: clocks
    /// of field devices drift, but not by more than this.
    pub const FUTURE_SKEW_S: f64 = 300.0;
    /// Earliest plausible year of an observation.
    pub const EARLIEST_YEAR: i32 = 1990;
    /// Largest accuracy radius or distance accepted, metres (beyond this a report locates nothing).
    pub const DISTANCE_MAX_M: f64 = 200_000.0;
    /// Largest timing sigma of an arrival, seconds.
    pub const ARRIVAL_SIGMA_MAX_S: f64 = 10.0;
    /// How far an arrival time may lie from `observed_at`, seconds.
    pub const ARRIVAL_OFFSET_MAX_S: f64 = 3600.0;
}

/// An observation that passed every check of [`validate`]. Only validation builds one, so
/// holding one is proof of validity; the store reads back only what it was given in this form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidObservation(Observation);

impl ValidObservation {
    /// Rebuilds a value that was validated when it entered the record. For the store's own reads;
    /// never call it on input from outside.
    pub fn from_record(observation: Observation) -> Self {
        Self(observation)
    }

    /// The observation.
    pub fn into_inner(self) -> Observation {
        self.0
    }
}

impl Deref for ValidObservation {
    type Target = Observation;
    fn deref(&self) -> &Observation {
        &self.0
    }
}

/// Checks every field of `observation` against the contract, with `now` the server's clock.
pub fn validate(observation: Observation, now: Timestamp) -> Result<ValidObservation, FieldError> {
    let o = &observation;
    check_count(o.count)?;
    check_time(o.observed_at, now)?;
    check_name("reporter", &o.reporter)?;
    check_subkind(o.kind, o.subkind)?;
    if let Some(notes) = &o.notes
        && notes.len() > limits::NOTES_BYTES
    {
        return Err(FieldError::new(
            "notes",
            format!(
                "is {} bytes; at most {} allowed",
                notes.len(),
                limits::NOTES_BYTES
            ),
        ));
    }
    if let Some(via) = &o.via {
        check_name("via", via)?;
    }
    check_evidence(o)?;
    check_geometry(&o.geometry, o.observed_at)?;
    Ok(ValidObservation(observation))
}

fn check_count(count: u32) -> Result<(), FieldError> {
    if count == 0 || count > limits::COUNT_MAX {
        return Err(FieldError::new(
            "count",
            format!("must be from 1 to {}, got {count}", limits::COUNT_MAX),
        ));
    }
    Ok(())
}

fn check_time(observed_at: Timestamp, now: Timestamp) -> Result<(), FieldError> {
    let ahead = observed_at.seconds_since(now);
    if ahead > limits::FUTURE_SKEW_S {
        return Err(FieldError::new(
            "observed_at",
            format!(
                "{observed_at} is {ahead:.0} s after the server's clock ({now}); at most {} s allowed",
                limits::FUTURE_SKEW_S
            ),
        ));
    }
    if observed_at.year() < limits::EARLIEST_YEAR {
        return Err(FieldError::new(
            "observed_at",
            format!(
                "{observed_at} is before {}; check the device clock",
                limits::EARLIEST_YEAR
            ),
        ));
    }
    Ok(())
}

fn check_name(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > limits::NAME_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "is {} bytes; at most {} allowed",
                value.len(),
                limits::NAME_BYTES
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_subkind(kind: Kind, subkind: Option<Subkind>) -> Result<(), FieldError> {
    let explosion_only = matches!(
        subkind,
        Some(Subkind::Impact | Subkind::Airburst | Subkind::Undetermined)
    );
    if explosion_only && kind != Kind::Explosion {
        return Err(FieldError::new(
            "subkind",
            format!(
                "impact, airburst and undetermined describe explosions, not {}",
                kind.as_str()
            ),
        ));
    }
    Ok(())
}

fn check_evidence(o: &Observation) -> Result<(), FieldError> {
    if o.evidence.len() > limits::EVIDENCE_ITEMS {
        return Err(FieldError::new(
            "evidence",
            format!(
                "has {} items; at most {} allowed",
                o.evidence.len(),
                limits::EVIDENCE_ITEMS
            ),
        ));
    }
    for (i, e) in o.evidence.iter().enumerate() {
        let is_hex = e.sha256.len() == 64
            && e.sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hex {
            return Err(FieldError::new(
                format!("evidence[{i}].sha256"),
                "must be 64 lowercase hexadecimal digits",
            ));
        }
        check_name(&format!("evidence[{i}].media_type"), &e.media_type)?;
        if let Some(name) = &e.name {
            check_name(&format!("evidence[{i}].name"), name)?;
        }
    }
    Ok(())
}

/// Checks that `value` is a finite number within `[min, max]`.
fn in_range(field: &str, value: f64, min: f64, max: f64, unit: &str) -> Result<(), FieldError> {
    if !value.is_finite() || value < min || value > max {
        return Err(FieldError::new(
            field,
            format!("must be from {min} to {max} {unit}, got {value}"),
        ));
    }
    Ok(())
}

/// Checks that `value` is finite, strictly positive and at most `max`.
fn positive(field: &str, value: f64, max: f64, unit: &str) -> Result<(), FieldError> {
    if !value.is_finite() || value <= 0.0 || value > max {
        return Err(FieldError::new(
            field,
            format!("must be greater than 0 and at most {max} {unit}, got {value}"),
        ));
    }
    Ok(())
}

fn lat_lon(prefix: &str, lat: f64, lon: f64) -> Result<(), FieldError> {
    in_range(&format!("{prefix}lat"), lat, -90.0, 90.0, "degrees")?;
    in_range(&format!("{prefix}lon"), lon, -180.0, 180.0, "degrees")
}

fn check_geometry(geometry: &Geometry, observed_at: Timestamp) -> Result<(), FieldError> {
    const MAX_D: f64 = limits::DISTANCE_MAX_M;
    match geometry {
        Geometry::Position(PositionGeometry {
            lat,
            lon,
            accuracy_m,
        }) => {
            lat_lon("geometry.", *lat, *lon)?;
            positive("geometry.accuracy_m", *accuracy_m, MAX_D, "m")
        }
        Geometry::Bearing(BearingGeometry {
            observer,
            bearing_deg,
            bearing_sigma_deg,
            distance_min_m,
            distance_max_m,
        }) => {
            lat_lon("geometry.observer.", observer.lat, observer.lon)?;
            positive(
                "geometry.observer.accuracy_m",
                observer.accuracy_m,
                MAX_D,
                "m",
            )?;
            in_range("geometry.bearing_deg", *bearing_deg, 0.0, 360.0, "degrees")?;
            positive(
                "geometry.bearing_sigma_deg",
                *bearing_sigma_deg,
                90.0,
                "degrees",
            )?;
            if let Some(min) = distance_min_m {
                in_range("geometry.distance_min_m", *min, 0.0, MAX_D, "m")?;
            }
            if let Some(max) = distance_max_m {
                positive("geometry.distance_max_m", *max, MAX_D, "m")?;
            }
            if let (Some(min), Some(max)) = (distance_min_m, distance_max_m)
                && min > max
            {
                return Err(FieldError::new(
                    "geometry.distance_min_m",
                    format!("{min} m is greater than distance_max_m ({max} m)"),
                ));
            }
            Ok(())
        }
        Geometry::Arrival(ArrivalGeometry {
            sensor,
            arrival_time,
            sigma_s,
            temperature_c,
        }) => {
            check_name("geometry.sensor.id", &sensor.id)?;
            lat_lon("geometry.sensor.", sensor.lat, sensor.lon)?;
            in_range("geometry.sensor.alt_m", sensor.alt_m, -500.0, 9000.0, "m")?;
            positive(
                "geometry.sigma_s",
                *sigma_s,
                limits::ARRIVAL_SIGMA_MAX_S,
                "s",
            )?;
            if let Some(t) = temperature_c {
                in_range("geometry.temperature_c", *t, -60.0, 60.0, "°C")?;
            }
            let offset = arrival_time.seconds_since(observed_at).abs();
            if offset > limits::ARRIVAL_OFFSET_MAX_S {
                return Err(FieldError::new(
                    "geometry.arrival_time",
                    format!(
                        "is {offset:.0} s from observed_at; at most {} s allowed",
                        limits::ARRIVAL_OFFSET_MAX_S
                    ),
                ));
            }
            Ok(())
        }
        Geometry::Uav(UavGeometry {
            aircraft,
            gimbal,
            slant_range_m,
            ground_alt_m,
        }) => {
            lat_lon("geometry.aircraft.", aircraft.lat, aircraft.lon)?;
            in_range(
                "geometry.aircraft.alt_hae_m",
                aircraft.alt_hae_m,
                -500.0,
                30_000.0,
                "m",
            )?;
            in_range(
                "geometry.aircraft.yaw_deg",
                aircraft.yaw_deg,
                -180.0,
                360.0,
                "degrees",
            )?;
            in_range(
                "geometry.aircraft.pitch_deg",
                aircraft.pitch_deg,
                -90.0,
                90.0,
                "degrees",
            )?;
            in_range(
                "geometry.aircraft.roll_deg",
                aircraft.roll_deg,
                -180.0,
                180.0,
                "degrees",
            )?;
            in_range(
                "geometry.gimbal.pan_deg",
                gimbal.pan_deg,
                -360.0,
                360.0,
                "degrees",
            )?;
            in_range(
                "geometry.gimbal.tilt_deg",
                gimbal.tilt_deg,
                -90.0,
                90.0,
                "degrees",
            )?;
            if let Some(r) = slant_range_m {
                positive("geometry.slant_range_m", *r, MAX_D, "m")?;
            }
            if let Some(g) = ground_alt_m {
                in_range("geometry.ground_alt_m", *g, -500.0, 9000.0, "m")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
