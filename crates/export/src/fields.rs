//! The columns every tabular format shares: one row per incident, one per observation, with
//! their types, so GeoJSON properties, GeoPackage columns, KML data and CSV cells agree.

use crate::dataset::{Anchor, Dataset};
use truce_core::observation::Geometry;
use truce_core::{Incident, Timestamp};
use truce_store::StoredObservation;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number.
    Integer,
    /// A real number.
    Real,
    /// Text.
    Text,
    /// A UTC time, `YYYY-MM-DDTHH:MM:SS.sssZ`.
    DateTime,
}

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A whole number.
    Int(i64),
    /// A real number.
    Real(f64),
    /// Text (a time too, already formatted).
    Text(String),
    /// No value.
    Null,
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }
    fn opt_text(s: Option<&str>) -> Self {
        s.map_or(Cell::Null, Cell::text)
    }
    fn opt_real(v: Option<f64>) -> Self {
        v.map_or(Cell::Null, Cell::Real)
    }
    fn time(t: Timestamp) -> Self {
        Cell::Text(time_text(t))
    }
}

/// `t` as GeoPackage's DATETIME and ISO 8601 want it: milliseconds, `Z`.
pub fn time_text(t: Timestamp) -> String {
    let ms = t.unix_millis();
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let day = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of day `z` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The incident columns, in order.
pub const INCIDENT_COLUMNS: [(&str, Kind); 24] = [
    ("incident_id", Kind::Integer),
    ("revision", Kind::Integer),
    ("kind", Kind::Text),
    ("subkind", Kind::Text),
    ("weapon", Kind::Text),
    ("count", Kind::Integer),
    ("first_seen", Kind::DateTime),
    ("last_seen", Kind::DateTime),
    ("lat", Kind::Real),
    ("lon", Kind::Real),
    ("mgrs", Kind::Text),
    ("semi_major_m", Kind::Real),
    ("semi_minor_m", Kind::Real),
    ("azimuth_deg", Kind::Real),
    ("status", Kind::Text),
    ("side", Kind::Text),
    ("attribution", Kind::Text),
    ("clauses", Kind::Text),
    ("zones", Kind::Text),
    ("reports", Kind::Integer),
    ("verdicts", Kind::Text),
    ("method", Kind::Text),
    ("record_size", Kind::Integer),
    ("record_root", Kind::Text),
];

/// The values of `incident`, in [`INCIDENT_COLUMNS`] order.
pub fn incident_cells(i: &Incident, anchor: &Anchor) -> Vec<Cell> {
    let e = &i.estimate;
    let verdicts: Vec<String> = i
        .assessments
        .iter()
        .filter(|a| a.current)
        .map(|a| format!("{}: {}", a.monitor, a.verdict.as_str()))
        .collect();
    let clauses: Vec<&str> = e.findings.iter().map(|f| f.clause_id.as_str()).collect();
    vec![
        Cell::Int(i.id.0 as i64),
        Cell::Int(i64::from(i.revision)),
        Cell::text(e.kind.as_str()),
        Cell::opt_text(e.subkind.map(serde_name).as_deref()),
        Cell::opt_text(e.weapon.map(|w| w.as_str())),
        Cell::Int(i64::from(e.count)),
        Cell::time(e.first_seen),
        Cell::time(e.last_seen),
        Cell::opt_real(e.position.as_ref().map(|p| p.lat)),
        Cell::opt_real(e.position.as_ref().map(|p| p.lon)),
        Cell::opt_text(e.position.as_ref().map(|p| p.mgrs.as_str())),
        Cell::opt_real(e.ellipse_95.map(|x| round(x.semi_major_m, 1))),
        Cell::opt_real(e.ellipse_95.map(|x| round(x.semi_minor_m, 1))),
        Cell::opt_real(e.ellipse_95.map(|x| round(x.azimuth_deg, 1))),
        Cell::text(e.status.as_str()),
        Cell::text(e.attribution.side.as_str()),
        Cell::text(e.attribution.reason.as_str()),
        Cell::text(clauses.join(",")),
        Cell::text(e.zones.join(",")),
        Cell::Int(i.observation_ids.len() as i64),
        Cell::text(verdicts.join("; ")),
        Cell::opt_text(e.method.as_deref()),
        Cell::Int(anchor.size as i64),
        Cell::text(anchor.root.as_str()),
    ]
}

/// The observation columns, in order.
pub const OBSERVATION_COLUMNS: [(&str, Kind); 17] = [
    ("observation_id", Kind::Integer),
    ("incident_id", Kind::Integer),
    ("kind", Kind::Text),
    ("subkind", Kind::Text),
    ("weapon", Kind::Text),
    ("count", Kind::Integer),
    ("observed_at", Kind::DateTime),
    ("recorded_at", Kind::DateTime),
    ("reporter", Kind::Text),
    ("source", Kind::Text),
    ("form", Kind::Text),
    ("accuracy_m", Kind::Real),
    ("bearing_deg", Kind::Real),
    ("bearing_sigma_deg", Kind::Real),
    ("via", Kind::Text),
    ("notes", Kind::Text),
    ("entry", Kind::Integer),
];

/// Where an observation is drawn: the position reported, or where the observer, sensor or
/// aircraft stood. Longitude, latitude.
pub fn observation_point(o: &StoredObservation) -> [f64; 2] {
    match &o.observation.geometry {
        Geometry::Position(p) => [p.lon, p.lat],
        Geometry::Bearing(b) => [b.observer.lon, b.observer.lat],
        Geometry::Arrival(a) => [a.sensor.lon, a.sensor.lat],
        Geometry::Uav(u) => [u.aircraft.lon, u.aircraft.lat],
    }
}

/// The values of `o`, in [`OBSERVATION_COLUMNS`] order.
pub fn observation_cells(o: &StoredObservation) -> Vec<Cell> {
    let ob = &o.observation;
    let (accuracy, bearing, sigma) = match &ob.geometry {
        Geometry::Position(p) => (Some(p.accuracy_m), None, None),
        Geometry::Bearing(b) => (
            Some(b.observer.accuracy_m),
            Some(b.bearing_deg),
            Some(b.bearing_sigma_deg),
        ),
        Geometry::Arrival(_) | Geometry::Uav(_) => (None, None, None),
    };
    let source = serde_name(ob.source);
    vec![
        Cell::Int(o.id.0 as i64),
        Cell::Int(o.incident_id.0 as i64),
        Cell::text(ob.kind.as_str()),
        Cell::opt_text(ob.subkind.map(serde_name).as_deref()),
        Cell::opt_text(ob.weapon.map(|w| w.as_str())),
        Cell::Int(i64::from(ob.count)),
        Cell::time(ob.observed_at),
        Cell::time(o.recorded_at),
        Cell::text(ob.reporter.as_str()),
        Cell::text(source),
        Cell::text(ob.geometry.type_name()),
        Cell::opt_real(accuracy),
        Cell::opt_real(bearing),
        Cell::opt_real(sigma),
        Cell::opt_text(ob.via.as_deref()),
        Cell::opt_text(ob.notes.as_deref()),
        Cell::Int(o.entry_index as i64),
    ]
}

/// The agreement's zones: (id, kind, name, side, geometry as GeoJSON).
pub fn zones(data: &Dataset) -> Vec<(String, String, String, String, geojson::Geometry)> {
    data.agreement
        .zones
        .features
        .iter()
        .filter_map(|f| {
            let g = f.geometry.clone()?;
            let prop = |k: &str| {
                f.properties
                    .as_ref()
                    .and_then(|p| p.get(k))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            Some((prop("id"), prop("kind"), prop("name"), prop("side"), g))
        })
        .collect()
}

/// The name serde gives a unit variant (`impact`, `observer`…).
pub fn serde_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}
