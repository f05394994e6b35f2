//! What truce does with each CoT event a TAK client sends: a report to record, a control
//! message to answer, situational awareness to relay, or something it does not take.
//!
//! Reports:
//! - **Markers** (`b-m-p-s-m`, `a-h-G…`, `a-u-G…`, `a-n-G…`; and any event carrying a
//!   `<truce>` detail) become `position` observations. The 95% radius is `ce × 2.4477`:
//!   CoT's `ce` is one sigma of a circular normal error, and √χ²₂(0.95) = 2.4477. Without a
//!   `ce` (hand-placed markers carry 9999999), the radius is assumed from `how` (machine 100 m,
//!   human 500 m) and the notes say so.
//! - **Sensor wedges** (`<sensor azimuth fov range>` on an event with a `<truce>` detail)
//!   become `bearing` observations from the event's point, sigma a quarter of the wedge.
//! - **Range and bearing lines** (`u-rb-a`) become `bearing` observations from the line's
//!   anchor (the observer). CoT has no bearing error: 5° is assumed unless the `<truce>`
//!   detail gives `bearing_sigma_deg`, and the notes say so. The line's single range is not an
//!   interval; distances come only from the `<truce>` detail's `distance_min_m` and
//!   `distance_max_m`, else the range is kept in the notes.
//! - The event's `time` is when it was observed. Its client id is derived from its `uid` and
//!   `time`, so a resent event is recognised and never recorded twice, while a marker moved or
//!   edited (a new `time`) is a new report.
//! - `<remarks>` go to the notes, cut at the notes' 4 KiB limit with a mark saying so.
//!
//! The `<truce>` detail (`<truce kind="explosion" subkind="impact" weapon="mortar" count="3"
//! source="observer" bearing_sigma_deg="3" distance_min_m="2000" distance_max_m="3000"/>`)
//! carries what CoT cannot, for clients that send it; every attribute is optional and named in
//! errors as `event/detail/truce@…`.

use truce_core::observation::{
    BearingGeometry, Geometry, Kind, Observation, ObserverPosition, PositionGeometry, Source,
    Subkind, Weapon,
};
use truce_core::validate::limits::NOTES_BYTES;
use truce_core::{FieldError, Timestamp};
use truce_cot::control::{self, PING};
use truce_cot::{Element, Event, Point};
use uuid::Uuid;

/// √χ²₂(0.95): a one-sigma circular error times this is the 95% radius.
pub const CE_TO_95: f64 = 2.447_746_830_680_816;
/// 95% radius assumed for a machine-made position without `ce`, metres.
pub const ASSUMED_MACHINE_95_M: f64 = 100.0;
/// 95% radius assumed for a human-placed position without `ce`, metres.
pub const ASSUMED_HUMAN_95_M: f64 = 500.0;
/// Bearing sigma assumed for a range and bearing line, degrees.
pub const ASSUMED_BEARING_SIGMA_DEG: f64 = 5.0;

/// Namespace of the client ids derived from a CoT event's uid and time.
const CLIENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3f0c_7a52_91d4_4c6e_b8a1_5e2d_0c9f_4a17);

/// What to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingest {
    /// A report for the record.
    Report(Box<Observation>),
    /// A keepalive ping: answer with a pong.
    Ping,
    /// A request to switch to TAK protocol `version`.
    ProtocolRequest(u32),
    /// A client's own position or a team's (situational awareness): relayed to the clients
    /// of the same monitor, not recorded.
    Awareness,
    /// A deletion of the item with this uid.
    Delete(String),
    /// Not taken; the reason (counted, logged at debug level).
    Ignored(&'static str),
}

/// Decides what `event` is, building the observation for a report. `via` names the listener
/// (it goes into the observation as the server's word on where the report came from).
///
/// Errors name the CoT element or attribute, or the observation field, at fault.
pub fn ingest(event: &Event, via: &str) -> Result<Ingest, FieldError> {
    let kind = event.kind.as_str();
    if kind == PING {
        return Ok(Ingest::Ping);
    }
    if let Some(version) = control::requested_version(event) {
        return Ok(Ingest::ProtocolRequest(version));
    }
    if kind == "t-x-d-d" {
        return Ok(
            match event.detail.find("link").and_then(|l| l.attribute("uid")) {
                Some(uid) if !uid.trim().is_empty() => Ingest::Delete(uid.to_owned()),
                _ => Ingest::Ignored("a deletion without a link to what it deletes"),
            },
        );
    }
    if kind.starts_with("t-") {
        return Ok(Ingest::Ignored("a control event truce does not use"));
    }
    // truce's own incidents, echoed by a client or a bridge, or edited on a map: the record
    // must not feed on itself.
    if event.uid.starts_with(crate::outgoing::UID_PREFIX)
        || event
            .detail
            .find("truce")
            .is_some_and(|t| t.attribute("incident").is_some())
    {
        return Ok(Ingest::Ignored("one of truce's own incidents, sent back"));
    }
    let truce = TruceDetail::read(event)?;
    if kind == "u-rb-a" {
        return bearing_report(event, &truce, via).map(|o| Ingest::Report(Box::new(o)));
    }
    // A sensor's field of view drawn on a marker at the observer: a bearing whose wedge is
    // its spread, when a `<truce>` detail says what was seen.
    if truce.present && event.detail.find("sensor").is_some() {
        return wedge_report(event, &truce, via).map(|o| Ingest::Report(Box::new(o)));
    }
    let is_device = event.detail.takv.is_some()
        || event
            .detail
            .contact
            .as_ref()
            .is_some_and(|c| !c.endpoint.is_empty());
    if truce.present || (is_marker(kind) && !is_device) {
        return position_report(event, &truce, via).map(|o| Ingest::Report(Box::new(o)));
    }
    if kind.starts_with("a-") {
        return Ok(Ingest::Awareness);
    }
    Ok(Ingest::Ignored("a CoT type truce does not take"))
}

/// Marker types that mean "something here".
fn is_marker(kind: &str) -> bool {
    kind == "b-m-p-s-m"
        || ["a-h-G", "a-u-G", "a-n-G"]
            .iter()
            .any(|p| kind == *p || kind.starts_with(&format!("{p}-")))
}

/// The `<truce>` detail's values, each optional.
#[derive(Debug, Default)]
struct TruceDetail {
    present: bool,
    kind: Option<Kind>,
    subkind: Option<Subkind>,
    weapon: Option<Weapon>,
    count: Option<u32>,
    source: Option<Source>,
    bearing_sigma_deg: Option<f64>,
    distance_min_m: Option<f64>,
    distance_max_m: Option<f64>,
}

impl TruceDetail {
    fn read(event: &Event) -> Result<Self, FieldError> {
        let Some(e) = event.detail.find("truce") else {
            return Ok(Self::default());
        };
        let at = |name: &str| format!("event/detail/truce@{name}");
        let named = |name: &str| -> Result<Option<serde_json::Value>, FieldError> {
            Ok(e.attribute(name)
                .map(|v| serde_json::Value::String(v.trim().to_owned())))
        };
        fn one_of<T: serde::de::DeserializeOwned>(
            value: Option<serde_json::Value>,
            field: String,
            allowed: &str,
        ) -> Result<Option<T>, FieldError> {
            value
                .map(|v| {
                    serde_json::from_value::<T>(v.clone()).map_err(|_| {
                        FieldError::new(field, format!("{v} is not one of: {allowed}"))
                    })
                })
                .transpose()
        }
        let number = |name: &str| number(e, "event/detail/truce", name);
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        Ok(Self {
            present: true,
            kind: one_of(named("kind")?, at("kind"), &kinds.join(", "))?,
            subkind: one_of(
                named("subkind")?,
                at("subkind"),
                "impact, airburst, undetermined, outgoing, incoming",
            )?,
            weapon: one_of(
                named("weapon")?,
                at("weapon"),
                "small_arms, heavy_mg, grenade_launcher, mortar, artillery, tank, mlrs, air_defence, uav, unknown",
            )?,
            count: e
                .attribute("count")
                .map(|v| {
                    v.trim().parse::<u32>().map_err(|_| {
                        FieldError::new(at("count"), format!("{v:?} is not a whole number"))
                    })
                })
                .transpose()?,
            source: one_of(
                named("source")?,
                at("source"),
                "observer, patrol, uav, sensor, camera",
            )?,
            bearing_sigma_deg: number("bearing_sigma_deg")?,
            distance_min_m: number("distance_min_m")?,
            distance_max_m: number("distance_max_m")?,
        })
    }
}

/// The fields every report from a CoT event shares; `geometry` is the caller's.
fn report(
    event: &Event,
    truce: &TruceDetail,
    via: &str,
    geometry: Geometry,
    assumptions: &[String],
) -> Result<Observation, FieldError> {
    let observed_at = Timestamp::from_unix_nanos(i128::from(event.time_ms) * 1_000_000)
        .ok_or_else(|| FieldError::new("event@time", "out of range"))?;
    let client_id = Uuid::new_v5(
        &CLIENT_ID_NAMESPACE,
        format!("{}\u{1f}{}", event.uid, event.time_ms).as_bytes(),
    );
    Ok(Observation {
        client_id: Some(client_id),
        kind: truce.kind.unwrap_or(Kind::Other),
        subkind: truce.subkind,
        weapon: truce.weapon,
        count: truce.count.unwrap_or(1),
        observed_at,
        reporter: reporter(event),
        source: truce.source.unwrap_or_default(),
        geometry,
        notes: notes(event, assumptions),
        evidence: Vec::new(),
        via: Some(via.to_owned()),
    })
}

/// Who made the item: the creator named in its `<link relation="p-p">` (a marker's author),
/// else the sender's call sign, else the event's uid.
fn reporter(event: &Event) -> String {
    let creator = event
        .detail
        .others
        .iter()
        .filter(|e| e.name == "link")
        .find(|l| l.attribute("relation") == Some("p-p"))
        .and_then(|l| l.attribute("parent_callsign"));
    let callsign = event.detail.contact.as_ref().map(|c| c.callsign.as_str());
    [creator, callsign]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(event.uid.as_str())
        .to_owned()
}

/// Remarks, then what was assumed and the CoT type, within the notes' limit.
fn notes(event: &Event, assumptions: &[String]) -> Option<String> {
    let remarks = event
        .detail
        .find("remarks")
        .map(|r| r.text.trim().to_owned())
        .filter(|r| !r.is_empty());
    let short = |text: &str| text.chars().take(64).collect::<String>();
    let mut tail = format!("[CoT {}", short(&event.kind));
    for a in assumptions {
        tail.push_str("; ");
        tail.push_str(a);
    }
    tail.push(']');
    let Some(remarks) = remarks else {
        return Some(tail);
    };
    const CUT: &str = " [remarks cut at the 4 KiB limit]";
    let room = NOTES_BYTES.saturating_sub(tail.len() + 1);
    let body = if remarks.len() <= room {
        remarks
    } else {
        let mut end = room.saturating_sub(CUT.len());
        while !remarks.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}{CUT}", &remarks[..end])
    };
    Some(format!("{body} {tail}"))
}

/// The 95% radius of the event's point, and what was assumed to get it.
fn radius_95(event: &Event, what: &str) -> (f64, Option<String>) {
    match Point::known(event.point.ce) {
        Some(ce) if ce > 0.0 => (ce * CE_TO_95, None),
        _ => {
            let machine = event.how.starts_with('m');
            let r = if machine {
                ASSUMED_MACHINE_95_M
            } else {
                ASSUMED_HUMAN_95_M
            };
            (
                r,
                Some(format!(
                    "no ce: {what} 95% radius {r} m assumed for how={}",
                    if event.how.is_empty() {
                        "(none)"
                    } else {
                        &event.how
                    }
                )),
            )
        }
    }
}

fn position_report(
    event: &Event,
    truce: &TruceDetail,
    via: &str,
) -> Result<Observation, FieldError> {
    let (accuracy_m, assumed) = radius_95(event, "position");
    let geometry = Geometry::Position(PositionGeometry {
        lat: event.point.lat,
        lon: event.point.lon,
        accuracy_m,
    });
    report(
        event,
        truce,
        via,
        geometry,
        &assumed.into_iter().collect::<Vec<_>>(),
    )
}

fn bearing_report(
    event: &Event,
    truce: &TruceDetail,
    via: &str,
) -> Result<Observation, FieldError> {
    let value = |name: &str| match event.detail.find(name) {
        Some(e) => number(e, &format!("event/detail/{name}"), "value"),
        None => Ok(None),
    };
    let bearing = in_degrees_true(
        value("bearing")?,
        "event/detail/bearing@value",
        "a range and bearing line needs its bearing",
    )?;
    let mut assumptions = Vec::new();
    let (accuracy_m, assumed) = radius_95(event, "observer");
    assumptions.extend(assumed);
    let bearing_sigma_deg = truce.bearing_sigma_deg.unwrap_or_else(|| {
        assumptions.push(format!(
            "bearing sigma {ASSUMED_BEARING_SIGMA_DEG}° assumed"
        ));
        ASSUMED_BEARING_SIGMA_DEG
    });
    if truce.distance_min_m.is_none()
        && truce.distance_max_m.is_none()
        && let Some(range) = value("range")?
    {
        assumptions.push(format!(
            "line drawn {range:.0} m long, not used as a distance"
        ));
    }
    bearing_observation(
        event,
        truce,
        via,
        (bearing, bearing_sigma_deg, accuracy_m),
        &assumptions,
    )
}

/// A bearing from a `<sensor azimuth fov range>` wedge: the azimuth is the bearing, and the
/// wedge's half-width is two sigmas (a 95% interval). `range` is how far ATAK draws the wedge,
/// not a measured distance: it is kept in the notes.
fn wedge_report(event: &Event, truce: &TruceDetail, via: &str) -> Result<Observation, FieldError> {
    let Some(sensor) = event.detail.find("sensor") else {
        return Err(FieldError::new("event/detail/sensor", "missing"));
    };
    let number = |name: &str| number(sensor, "event/detail/sensor", name);
    let azimuth = in_degrees_true(
        number("azimuth")?,
        "event/detail/sensor@azimuth",
        "a wedge needs its direction",
    )?;
    let mut assumptions = Vec::new();
    let sigma = match (truce.bearing_sigma_deg, number("fov")?) {
        (Some(s), _) => s,
        (None, Some(fov)) if fov > 0.0 && fov < 360.0 => {
            assumptions.push(format!("bearing sigma a quarter of the {fov}° wedge"));
            fov / 4.0
        }
        (None, _) => {
            assumptions.push(format!(
                "bearing sigma {ASSUMED_BEARING_SIGMA_DEG}° assumed"
            ));
            ASSUMED_BEARING_SIGMA_DEG
        }
    };
    if truce.distance_min_m.is_none()
        && truce.distance_max_m.is_none()
        && let Some(range) = number("range")?
    {
        assumptions.push(format!(
            "wedge drawn {range:.0} m long, not used as a distance"
        ));
    }
    let (accuracy_m, assumed) = radius_95(event, "observer");
    assumptions.extend(assumed);
    bearing_observation(
        event,
        truce,
        via,
        (azimuth, sigma, accuracy_m),
        &assumptions,
    )
}

/// Attribute `name` of element `e` (at path `at`) as a finite number, if present.
fn number(e: &Element, at: &str, name: &str) -> Result<Option<f64>, FieldError> {
    e.attribute(name)
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    FieldError::new(format!("{at}@{name}"), format!("{v:?} is not a number"))
                })
        })
        .transpose()
}

/// `value` (from `at`) as a bearing in degrees true, 0 to 360; `needed` says why it must be
/// there.
fn in_degrees_true(value: Option<f64>, at: &str, needed: &str) -> Result<f64, FieldError> {
    let v = value.ok_or_else(|| FieldError::new(at, format!("missing: {needed}")))?;
    if (0.0..=360.0).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            at,
            format!("{v} is not a bearing in degrees true (0 to 360)"),
        ))
    }
}

/// A bearing observation from the event's point: `(bearing, sigma, observer's 95% radius)`,
/// distances from the `<truce>` detail.
fn bearing_observation(
    event: &Event,
    truce: &TruceDetail,
    via: &str,
    (bearing_deg, bearing_sigma_deg, accuracy_m): (f64, f64, f64),
    assumptions: &[String],
) -> Result<Observation, FieldError> {
    let geometry = Geometry::Bearing(BearingGeometry {
        observer: ObserverPosition {
            lat: event.point.lat,
            lon: event.point.lon,
            accuracy_m,
        },
        bearing_deg: bearing_deg % 360.0,
        bearing_sigma_deg,
        distance_min_m: truce.distance_min_m,
        distance_max_m: truce.distance_max_m,
    });
    report(event, truce, via, geometry, assumptions)
}
