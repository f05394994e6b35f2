//! The agreement as one JSON document — the form kept in the record and served by the API —
//! and the checks that turn it into an [`Agreement`].

use super::{Agreement, AgreementError, Clause, Rule, Zone, ZoneKind, bounds_of};
use crate::observation::Weapon;
use geo::{Coord, Geometry};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A party to the ceasefire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideDoc {
    /// Short identifier (`a`).
    pub id: String,
    /// Display name (`Side A`).
    pub name: String,
}

/// A monitoring party of the joint center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorDoc {
    /// Short identifier (`m1`).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A clause as written in the agreement file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClauseDoc {
    /// Identifier used in findings.
    pub id: String,
    /// Short title.
    pub title: String,
    /// The clause's text.
    pub text: String,
    /// `ceasefire`, `exclusion` or `manual`.
    pub rule: String,
    /// Zones the rule applies to (see [`Rule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Weapon classes an `exclusion` rule forbids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapons: Vec<Weapon>,
}

/// A named point (the monitoring center's location).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Display name.
    pub name: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// The shared record's keys: the log (the center) signs checkpoints; each monitor's witness
/// cosigns them. Keys are C2SP signed-note verifier keys (`name+<id>+<base64>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerDoc {
    /// The log's origin line in every checkpoint (a schema-less URL-like name).
    pub origin: String,
    /// The center's checkpoint-signing verifier key (type 0x01, Ed25519).
    pub log_key: String,
    /// Each monitor's witness verifier key (type 0x04, timestamped cosignature), by monitor id.
    #[serde(default)]
    pub witnesses: std::collections::BTreeMap<String, String>,
    /// Each monitor's assessment verifier key (type 0x01, Ed25519), by monitor id: the key its
    /// verdicts on incidents are signed with.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub assessment_keys: std::collections::BTreeMap<String, String>,
}

/// The whole agreement, self-contained (zones inline as a GeoJSON FeatureCollection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementDoc {
    /// Title of the agreement.
    pub name: String,
    /// Whether the agreement is an illustration (the demo's is), shown on every map and report.
    #[serde(default)]
    pub illustrative: bool,
    /// A note shown with the agreement (sources, approximations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The sides.
    pub sides: Vec<SideDoc>,
    /// The monitors.
    pub monitors: Vec<MonitorDoc>,
    /// The clauses.
    pub clauses: Vec<ClauseDoc>,
    /// The monitoring center's location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<Place>,
    /// Air temperature assumed when an acoustic report gives none, °C.
    #[serde(default = "default_temperature")]
    pub default_temperature_c: f64,
    /// The zones, a GeoJSON FeatureCollection.
    pub zones: geojson::FeatureCollection,
    /// The record's keys; absent, checkpoints are not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerDoc>,
}

fn default_temperature() -> f64 {
    15.0
}

fn err(file: &str, location: impl Into<String>, message: impl Into<String>) -> AgreementError {
    AgreementError {
        file: file.to_string(),
        location: location.into(),
        message: message.into(),
    }
}

fn unique<'a>(
    file: &str,
    what: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashSet<&'a str>, AgreementError> {
    let mut seen = HashSet::new();
    for id in ids {
        if id.trim().is_empty() {
            return Err(err(file, what, "an id is empty"));
        }
        if !seen.insert(id) {
            return Err(err(
                file,
                format!("{what} \"{id}\""),
                "the id is used twice",
            ));
        }
    }
    Ok(seen)
}

pub(super) fn check(doc: AgreementDoc, file: &str) -> Result<Agreement, AgreementError> {
    if doc.sides.is_empty() {
        return Err(err(file, "sides", "at least one side is required"));
    }
    if doc.monitors.is_empty() {
        return Err(err(file, "monitors", "at least one monitor is required"));
    }
    let sides = unique(file, "side", doc.sides.iter().map(|s| s.id.as_str()))?;
    let monitors = unique(file, "monitor", doc.monitors.iter().map(|m| m.id.as_str()))?;
    unique(file, "clause", doc.clauses.iter().map(|c| c.id.as_str()))?;
    if !(-60.0..=60.0).contains(&doc.default_temperature_c) {
        return Err(err(
            file,
            "default_temperature_c",
            format!(
                "must be from -60 to 60 °C, got {}",
                doc.default_temperature_c
            ),
        ));
    }
    if let Some(center) = &doc.center {
        check_lat_lon(file, "center", center.lat, center.lon)?;
    }
    if let Some(ledger) = &doc.ledger {
        check_ledger(file, ledger, &monitors)?;
    }
    let mut zones = Vec::with_capacity(doc.zones.features.len());
    for (i, feature) in doc.zones.features.iter().enumerate() {
        zones.push(zone_from_feature(file, i, feature, &sides, &monitors)?);
    }
    unique(file, "zone", zones.iter().map(|z| z.id.as_str()))?;
    let clauses = doc
        .clauses
        .iter()
        .map(|c| clause_from_doc(file, c, &zones))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Agreement {
        doc,
        clauses,
        zones,
    })
}

/// The shape of a signed-note verifier key: `name+<8 hex>+<base64>`. The signature check itself
/// is the ledger's; this catches a key pasted into the wrong field.
fn key_shape_ok(key: &str) -> bool {
    let mut parts = key.splitn(3, '+');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(name), Some(id), Some(b64))
            if !name.is_empty() && !name.contains(' ')
                && id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit())
                && b64.len() >= 40
    )
}

fn check_ledger(
    file: &str,
    ledger: &LedgerDoc,
    monitors: &HashSet<&str>,
) -> Result<(), AgreementError> {
    if ledger.origin.trim().is_empty() || ledger.origin.contains(['\n', '\r']) {
        return Err(err(file, "ledger.origin", "must be one non-empty line"));
    }
    if !key_shape_ok(&ledger.log_key) {
        return Err(err(
            file,
            "ledger.log_key",
            "is not a signed-note verifier key (name+id+base64); make one with `truce keygen`",
        ));
    }
    for (monitor, key) in &ledger.witnesses {
        if !monitors.contains(monitor.as_str()) {
            return Err(err(
                file,
                format!("ledger.witnesses.{monitor}"),
                "is not a listed monitor",
            ));
        }
        if !key_shape_ok(key) {
            return Err(err(
                file,
                format!("ledger.witnesses.{monitor}"),
                "is not a signed-note verifier key (name+id+base64)",
            ));
        }
    }
    for (monitor, key) in &ledger.assessment_keys {
        let field = format!("ledger.assessment_keys.{monitor}");
        if !monitors.contains(monitor.as_str()) {
            return Err(err(file, field, "is not a listed monitor"));
        }
        if !key_shape_ok(key) {
            return Err(err(
                file,
                field,
                "is not a signed-note verifier key (name+id+base64)",
            ));
        }
    }
    Ok(())
}

fn check_lat_lon(file: &str, location: &str, lat: f64, lon: f64) -> Result<(), AgreementError> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(err(
            file,
            location,
            format!("coordinate (lon {lon}, lat {lat}) is outside WGS84 ranges"),
        ));
    }
    Ok(())
}

/// Whether every position in `value` has at least longitude and latitude (RFC 7946 §3.1.1;
/// GIS tools may add height and a measure, which are ignored). The geojson crate's conversion
/// indexes the second number without checking.
fn positions_are_points(value: &geojson::GeometryValue) -> Result<(), String> {
    use geojson::GeometryValue as V;
    let check = |p: &geojson::Position| {
        if p.len() >= 2 {
            Ok(())
        } else {
            Err(format!(
                "a position has {} coordinates; it needs longitude and latitude",
                p.len()
            ))
        }
    };
    match value {
        V::Point { coordinates } => check(coordinates),
        V::MultiPoint { coordinates } | V::LineString { coordinates } => {
            coordinates.iter().try_for_each(check)
        }
        V::MultiLineString { coordinates } | V::Polygon { coordinates } => {
            coordinates.iter().flatten().try_for_each(check)
        }
        V::MultiPolygon { coordinates } => {
            coordinates.iter().flatten().flatten().try_for_each(check)
        }
        V::GeometryCollection { geometries } => geometries
            .iter()
            .try_for_each(|g| positions_are_points(&g.value)),
    }
}

fn prop<'a>(feature: &'a geojson::Feature, key: &str) -> Option<&'a str> {
    feature.property(key).and_then(|v| v.as_str())
}

fn zone_from_feature(
    file: &str,
    index: usize,
    feature: &geojson::Feature,
    sides: &HashSet<&str>,
    monitors: &HashSet<&str>,
) -> Result<Zone, AgreementError> {
    let id = prop(feature, "id").unwrap_or("").to_string();
    let location = if id.is_empty() {
        format!("feature {index}")
    } else {
        format!("feature {index} (id \"{id}\")")
    };
    if id.is_empty() {
        return Err(err(file, location, "property \"id\" is required"));
    }
    let kind_name = prop(feature, "kind").unwrap_or("");
    let kind: ZoneKind = serde_json::from_value(serde_json::Value::String(kind_name.into()))
        .map_err(|_| {
            err(
                file,
                &location,
                format!(
                    "property \"kind\" is {kind_name:?}; expected line_of_contact, buffer, \
                     corridor, area_of_responsibility, controlled_by or exclusion"
                ),
            )
        })?;
    let side = prop(feature, "side").map(str::to_string);
    let monitor = prop(feature, "monitor").map(str::to_string);
    if let Some(s) = &side
        && !sides.contains(s.as_str())
    {
        return Err(err(
            file,
            &location,
            format!("side \"{s}\" is not a listed side"),
        ));
    }
    if let Some(m) = &monitor
        && !monitors.contains(m.as_str())
    {
        return Err(err(
            file,
            &location,
            format!("monitor \"{m}\" is not a listed monitor"),
        ));
    }
    if kind == ZoneKind::ControlledBy && side.is_none() {
        return Err(err(
            file,
            &location,
            "a controlled_by zone needs property \"side\"",
        ));
    }
    if kind == ZoneKind::AreaOfResponsibility && monitor.is_none() {
        return Err(err(
            file,
            &location,
            "an area_of_responsibility zone needs property \"monitor\"",
        ));
    }
    let raw = feature
        .geometry
        .as_ref()
        .ok_or_else(|| err(file, &location, "the feature has no geometry"))?;
    positions_are_points(&raw.value)
        .map_err(|why| err(file, &location, format!("geometry cannot be read: {why}")))?;
    let geometry: Geometry<f64> = Geometry::try_from(&raw.value)
        .map_err(|e| err(file, &location, format!("geometry cannot be read: {e}")))?;
    let areal = matches!(geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_));
    let linear = matches!(
        geometry,
        Geometry::LineString(_) | Geometry::MultiLineString(_)
    );
    if !(areal || (kind == ZoneKind::LineOfContact && linear)) {
        return Err(err(
            file,
            &location,
            "geometry must be a Polygon or MultiPolygon (a line of contact may also be a LineString)",
        ));
    }
    for Coord { x, y } in coords(&geometry) {
        check_lat_lon(file, &location, y, x)?;
    }
    let bounds = bounds_of(&geometry).ok_or_else(|| err(file, &location, "geometry is empty"))?;
    let name = prop(feature, "name").unwrap_or(&id).to_string();
    Ok(Zone {
        id,
        name,
        kind,
        side,
        monitor,
        geometry,
        bounds,
    })
}

fn coords(geometry: &Geometry<f64>) -> Vec<Coord<f64>> {
    use geo::CoordsIter;
    geometry.coords_iter().collect()
}

fn clause_from_doc(file: &str, c: &ClauseDoc, zones: &[Zone]) -> Result<Clause, AgreementError> {
    let location = format!("clause \"{}\"", c.id);
    for z in &c.zones {
        if !zones.iter().any(|zone| &zone.id == z) {
            return Err(err(
                file,
                &location,
                format!("zone \"{z}\" is not a listed zone"),
            ));
        }
    }
    let rule = match c.rule.as_str() {
        "ceasefire" => Rule::Ceasefire {
            zones: c.zones.clone(),
        },
        "exclusion" => {
            if c.weapons.is_empty() {
                return Err(err(file, &location, "an exclusion rule needs \"weapons\""));
            }
            Rule::Exclusion {
                weapons: c.weapons.clone(),
                zones: c.zones.clone(),
            }
        }
        "manual" => Rule::Manual,
        other => {
            return Err(err(
                file,
                &location,
                format!("rule {other:?} is unknown; expected ceasefire, exclusion or manual"),
            ));
        }
    };
    Ok(Clause {
        id: c.id.clone(),
        title: c.title.clone(),
        rule,
    })
}
