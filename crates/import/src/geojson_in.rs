//! GeoJSON Point features as observations: `kind`, `observed_at` (or `time`) and
//! `accuracy_m` (the 95% radius, metres) are required properties; `subkind`, `weapon`,
//! `count`, `reporter` and `notes` are read when present. truce's own export reads back: its
//! `observation` features import, its incidents, ellipses and zones are not observations and
//! are passed over. The row number of an error is the feature's index, from 0.

use crate::{Format, ImportError, MAX_ROWS, Provenance, RowError, checked, client_id};
use serde_json::Value;
use sha2::{Digest, Sha256};
use truce_core::observation::{Geometry, PositionGeometry, Source};
use truce_core::validate::ValidObservation;
use truce_core::{Kind, Observation, Timestamp};

/// Layers of truce's own export that are not observations.
const NOT_OBSERVATIONS: [&str; 3] = ["incident", "ellipse", "zone"];

fn column_of(field: &str) -> Option<String> {
    Some(
        match field {
            "geometry.lat" => "geometry.coordinates[1]",
            "geometry.lon" => "geometry.coordinates[0]",
            "geometry.accuracy_m" => "properties.accuracy_m",
            other => return Some(format!("properties.{other}")),
        }
        .to_owned(),
    )
}

fn feature(
    index: u64,
    f: &Value,
    provenance: &Provenance,
    now: Timestamp,
) -> Result<Option<ValidObservation>, RowError> {
    let bad = |column: &str, reason: String| RowError {
        unit: "feature",
        line: index,
        column: Some(column.to_owned()),
        reason,
    };
    let empty = serde_json::Map::new();
    let props = f
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if let Some(layer) = props.get("layer").and_then(Value::as_str)
        && NOT_OBSERVATIONS.contains(&layer)
    {
        return Ok(None);
    }
    // truce's own export draws a bearing, an arrival or a UAV sighting at the observer,
    // sensor or aircraft: that point is not where the event was.
    if let Some(form) = props.get("form").and_then(Value::as_str)
        && form != "position"
    {
        return Ok(None);
    }
    let geometry = f.get("geometry").unwrap_or(&Value::Null);
    if geometry.get("type").and_then(Value::as_str) != Some("Point") {
        return Err(bad(
            "geometry",
            format!(
                "a {} is not a position: import Point features",
                geometry
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("missing geometry")
            ),
        ));
    }
    // Every value a number, or the row is refused: never a shifted pair.
    let coords: Vec<f64> = geometry
        .get("coordinates")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
        .unwrap_or_default();
    let [lon, lat, ..] = coords.as_slice() else {
        return Err(bad(
            "geometry.coordinates",
            "not [longitude, latitude]".into(),
        ));
    };
    let text = |k: &str| props.get(k).and_then(Value::as_str);
    let kind = text("kind").ok_or_else(|| bad("properties.kind", "required".into()))?;
    let kind = Kind::from_name(kind).ok_or_else(|| {
        bad(
            "properties.kind",
            format!("{kind:?} is not a kind of the contract"),
        )
    })?;
    let named = |k: &str| -> Result<Option<Value>, RowError> {
        match props.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::String(_)) => Ok(Some(v.clone())),
            Some(_) => Err(bad(&format!("properties.{k}"), "not a string".into())),
        }
    };
    let subkind = named("subkind")?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| bad("properties.subkind", e.to_string()))?;
    let weapon = named("weapon")?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| bad("properties.weapon", e.to_string()))?;
    let when = text("observed_at")
        .or_else(|| text("time"))
        .ok_or_else(|| bad("properties.observed_at", "required (RFC 3339)".into()))?;
    let observed_at = crate::parse_time(when).ok_or_else(|| {
        bad(
            "properties.observed_at",
            format!("{when:?} is not RFC 3339 (nor GDAL's YYYY/MM/DD HH:MM:SS+ZZ)"),
        )
    })?;
    let accuracy_m = props
        .get("accuracy_m")
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            bad(
                "properties.accuracy_m",
                "required: the 95% radius in metres".into(),
            )
        })?;
    let count = match props.get("count") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| bad("properties.count", "not a whole number".into()))?,
    };
    let key = match f.get("id").or_else(|| props.get("observation_id")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => truce_core::entry::hex(&Sha256::digest(f.to_string().as_bytes())),
    };
    let o = Observation {
        client_id: Some(client_id(provenance, Format::GeoJson, &key)),
        kind,
        subkind,
        weapon,
        count,
        observed_at,
        reporter: text("reporter").unwrap_or("import").to_owned(),
        source: Source::Import,
        geometry: Geometry::Position(PositionGeometry {
            lat: *lat,
            lon: *lon,
            accuracy_m,
        }),
        notes: text("notes").map(str::to_owned),
        evidence: Vec::new(),
        via: Some(provenance.via.clone()),
    };
    checked(o, "feature", index, now, column_of).map(Some)
}

/// Every Point feature's observation, or every bad feature.
pub fn parse(
    bytes: &[u8],
    provenance: &Provenance,
    now: Timestamp,
) -> Result<crate::Read, ImportError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::File(format!(
            "line {}, column {}: not JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let features = match doc.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => doc
            .get("features")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ImportError::File("features: not an array".into()))?,
        Some("Feature") => vec![doc],
        _ => {
            return Err(ImportError::File(
                "type: not a GeoJSON FeatureCollection or Feature".into(),
            ));
        }
    };
    if features.len() > MAX_ROWS {
        return Err(ImportError::File(format!("more than {MAX_ROWS} features")));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut passed_over = 0;
    for (n, f) in features.iter().enumerate() {
        match feature(n as u64, f, provenance, now) {
            Ok(Some(v)) => out.push(v),
            Ok(None) => passed_over += 1,
            Err(e) => errors.push(e),
        }
    }
    Ok((out, errors, passed_over))
}
