//! Ranges and sizes every event must keep, whichever encoding it came in.

use crate::event::{Event, UNKNOWN_AT_LEAST};
use crate::times::check_time;
use crate::{CotError, Limits};

/// Checks what the XML and protobuf decoders both guarantee of an [`Event`]: non-empty `uid`
/// and `type`; latitude and longitude within range; finite heights; errors non-negative (or
/// "unknown"); times from 1970 to 9999; every string and the detail within `limits`.
pub fn validate_event(event: &Event, limits: &Limits) -> Result<(), CotError> {
    for (at, value) in [
        ("event@uid", &event.uid),
        ("event@type", &event.kind),
        ("event@how", &event.how),
        ("event@version", &event.version),
    ] {
        if value.len() > limits.attribute_bytes {
            return Err(CotError::too_large(at, limits.attribute_bytes, "bytes"));
        }
    }
    for (at, value) in [
        ("event@access", &event.access),
        ("event@qos", &event.qos),
        ("event@opex", &event.opex),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > limits.attribute_bytes)
        {
            return Err(CotError::too_large(at, limits.attribute_bytes, "bytes"));
        }
    }
    if event.uid.trim().is_empty() {
        return Err(CotError::invalid(
            "event@uid",
            "empty: every event needs a uid",
        ));
    }
    if event.kind.trim().is_empty() {
        return Err(CotError::invalid(
            "event@type",
            "empty: every event needs a type",
        ));
    }
    check_time(event.time_ms, "event@time")?;
    check_time(event.start_ms, "event@start")?;
    check_time(event.stale_ms, "event@stale")?;
    let p = &event.point;
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(CotError::invalid(
            "event/point@lat",
            format!("{} is not a latitude in degrees (-90 to 90)", p.lat),
        ));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(CotError::invalid(
            "event/point@lon",
            format!("{} is not a longitude in degrees (-180 to 180)", p.lon),
        ));
    }
    if !p.hae.is_finite() {
        return Err(CotError::invalid(
            "event/point@hae",
            "not a finite height in metres",
        ));
    }
    for (at, value) in [("event/point@ce", p.ce), ("event/point@le", p.le)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(CotError::invalid(
                at,
                format!(
                    "{value} is not a one-sigma error in metres (0 or more; {UNKNOWN_AT_LEAST} or more for unknown)"
                ),
            ));
        }
    }
    let d = &event.detail;
    let strings = [
        d.contact
            .as_ref()
            .map(|c| [&c.endpoint, &c.callsign].map(String::len)),
        d.group
            .as_ref()
            .map(|g| [&g.name, &g.role].map(String::len)),
        d.precision_location
            .as_ref()
            .map(|p| [&p.geopointsrc, &p.altsrc].map(String::len)),
    ];
    let takv = d
        .takv
        .as_ref()
        .map(|t| [&t.device, &t.platform, &t.os, &t.version].map(String::len));
    let longest = strings
        .iter()
        .flatten()
        .flatten()
        .chain(takv.iter().flatten())
        .max()
        .copied()
        .unwrap_or(0);
    if longest > limits.attribute_bytes {
        return Err(CotError::too_large(
            "an attribute of event/detail",
            limits.attribute_bytes,
            "bytes",
        ));
    }
    if let Some(t) = &d.track
        && !(t.speed.is_finite() && t.course.is_finite())
    {
        return Err(CotError::invalid(
            "event/detail/track",
            "speed and course must be finite numbers",
        ));
    }
    let elements: usize = d.others.iter().map(|e| e.count()).sum();
    if elements > limits.detail_elements {
        return Err(CotError::too_large(
            "event/detail",
            limits.detail_elements,
            "elements",
        ));
    }
    Ok(())
}
