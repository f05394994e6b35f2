//! KML Placemarks with a Point as observations. The observation's fields come from the
//! Placemark's `ExtendedData` (`Data` or `SchemaData/SimpleData` named `kind`, `subkind`,
//! `weapon`, `count`, `accuracy_m`, `reporter`, `observed_at`); the time may instead be its
//! `TimeStamp/when` or `TimeSpan/begin`; `description` becomes the notes. Placemarks without
//! a Point, and truce's own incidents and zones (ids `incident-…`, `zone-…`), are passed
//! over. The row number of an error is the line the Placemark starts on.

use crate::{Format, ImportError, MAX_ROWS, Provenance, RowError, checked, client_id};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use truce_core::observation::{Geometry, PositionGeometry, Source};
use truce_core::{Kind, Observation, Timestamp};
use truce_cot::{Element, Limits, parse_tree};

/// One Placemark as read: where it starts, its id, and its text values.
#[derive(Default)]
struct Placemark {
    line: u64,
    id: Option<String>,
    has_point: bool,
    coordinates: Option<String>,
    name: Option<String>,
    description: Option<String>,
    when: Option<String>,
    data: BTreeMap<String, String>,
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The text of the descendant at `path` below `e`.
fn text_at<'a>(e: &'a Element, path: &[&str]) -> Option<&'a str> {
    let mut at = e;
    for name in path {
        at = at.child(name)?;
    }
    Some(at.text.trim())
}

fn read(line: u64, root: &Element) -> Placemark {
    let mut data = BTreeMap::new();
    if let Some(ext) = root.child("ExtendedData") {
        for d in &ext.children {
            match d.name.as_str() {
                "Data" => {
                    if let (Some(n), Some(v)) = (d.attribute("name"), text_at(d, &["value"])) {
                        data.insert(n.to_owned(), v.to_owned());
                    }
                }
                "SchemaData" => {
                    for sd in d.children.iter().filter(|c| c.name == "SimpleData") {
                        if let Some(n) = sd.attribute("name") {
                            data.insert(n.to_owned(), sd.text.trim().to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let point = root
        .child("Point")
        .or_else(|| root.child("MultiGeometry").and_then(|m| m.child("Point")));
    Placemark {
        line,
        id: root.attribute("id").map(str::to_owned),
        has_point: point.is_some(),
        coordinates: point
            .and_then(|p| text_at(p, &["coordinates"]))
            .map(str::to_owned),
        name: text_at(root, &["name"]).map(str::to_owned),
        description: text_at(root, &["description"]).map(str::to_owned),
        when: text_at(root, &["TimeStamp", "when"])
            .or_else(|| text_at(root, &["TimeSpan", "begin"]))
            .map(str::to_owned),
        data,
    }
}

/// Every `<Placemark>` of `bytes`, each parsed alone within CoT's XML limits (a placemark of
/// 64 KiB at most), or the first that is not well-formed.
fn placemarks(bytes: &[u8]) -> Result<Vec<Placemark>, ImportError> {
    let limits = Limits::default();
    let mut out = Vec::new();
    let mut at = 0;
    // Lines are counted as the scan moves on, never from the start again.
    let (mut counted_to, mut line) = (0, 1);
    while let Some(start) = find(bytes, b"<Placemark", at) {
        if !matches!(
            bytes.get(start + 10),
            Some(b' ' | b'>' | b'\n' | b'\r' | b'\t')
        ) {
            at = start + 10;
            continue;
        }
        line += newlines(&bytes[counted_to..start]);
        counted_to = start;
        let Some(end) = find(bytes, b"</Placemark>", start) else {
            return Err(ImportError::File(format!(
                "line {line}: a Placemark is not closed"
            )));
        };
        if out.len() >= MAX_ROWS {
            return Err(ImportError::File(format!(
                "more than {MAX_ROWS} placemarks"
            )));
        }
        let root = parse_tree(&bytes[start..end + 12], &limits, "Placemark")
            .map_err(|e| ImportError::File(format!("line {line}: {e}")))?;
        out.push(read(line, &root));
        at = end + 12;
    }
    Ok(out)
}

/// Every Point Placemark's observation, or every bad Placemark.
pub fn parse(
    bytes: &[u8],
    provenance: &Provenance,
    now: Timestamp,
) -> Result<crate::Read, ImportError> {
    let marks = placemarks(bytes)?;
    if marks.is_empty() {
        return Err(ImportError::File(
            "no <Placemark>: not KML with places".into(),
        ));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut passed_over = 0;
    for p in marks {
        let truce_own =
            p.id.as_deref()
                .is_some_and(|id| id.starts_with("incident-") || id.starts_with("zone-"));
        if !p.has_point || truce_own {
            passed_over += 1;
            continue;
        }
        let line = p.line;
        let bad = |column: &str, reason: String| RowError {
            unit: "line",
            line,
            column: Some(column.to_owned()),
            reason,
        };
        let coords: Vec<f64> = p
            .coordinates
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|v| v.trim().parse().ok())
            .collect::<Option<Vec<f64>>>()
            .unwrap_or_default();
        let [lon, lat, ..] = coords.as_slice() else {
            errors.push(bad("Point/coordinates", "not lon,lat[,alt]".into()));
            continue;
        };
        let field = |k: &str| p.data.get(k).map(String::as_str);
        let Some(kind) = field("kind").and_then(Kind::from_name) else {
            errors.push(bad(
                "ExtendedData kind",
                format!(
                    "{:?} is not a kind of the contract",
                    field("kind").unwrap_or("(none)")
                ),
            ));
            continue;
        };
        let (when, from) = match (field("observed_at"), p.when.as_deref()) {
            (Some(w), _) => (w, "ExtendedData observed_at"),
            (None, Some(w)) => (w, "TimeStamp/when"),
            (None, None) => {
                errors.push(bad("TimeStamp/when", "required (RFC 3339)".into()));
                continue;
            }
        };
        let Some(observed_at) = crate::parse_time(when) else {
            errors.push(bad(from, format!("{when:?} is not RFC 3339")));
            continue;
        };
        let Some(accuracy_m) = field("accuracy_m").and_then(|a| a.parse::<f64>().ok()) else {
            errors.push(bad(
                "ExtendedData accuracy_m",
                "required: the 95% radius in metres".into(),
            ));
            continue;
        };
        let count = match field("count") {
            None => 1,
            Some(c) => match c.parse::<u32>() {
                Ok(v) => v,
                Err(_) => {
                    errors.push(bad(
                        "ExtendedData count",
                        format!("{c:?} is not a whole number"),
                    ));
                    continue;
                }
            },
        };
        let named = |k: &str| field(k).map(|v| serde_json::Value::String(v.to_owned()));
        let subkind = match named("subkind").map(serde_json::from_value).transpose() {
            Ok(v) => v,
            Err(e) => {
                errors.push(bad("ExtendedData subkind", e.to_string()));
                continue;
            }
        };
        let weapon = match named("weapon").map(serde_json::from_value).transpose() {
            Ok(v) => v,
            Err(e) => {
                errors.push(bad("ExtendedData weapon", e.to_string()));
                continue;
            }
        };
        let key = p.id.clone().unwrap_or_else(|| {
            truce_core::entry::hex(&Sha256::digest(
                format!("{:?}{:?}{when}{lon}{lat}{kind:?}", p.name, p.description).as_bytes(),
            ))
        });
        let o = Observation {
            client_id: Some(client_id(provenance, Format::Kml, &key)),
            kind,
            subkind,
            weapon,
            count,
            observed_at,
            reporter: field("reporter")
                .or(p.name.as_deref())
                .unwrap_or("import")
                .to_owned(),
            source: Source::Import,
            geometry: Geometry::Position(PositionGeometry {
                lat: *lat,
                lon: *lon,
                accuracy_m,
            }),
            notes: p.description.clone().filter(|d| !d.trim().is_empty()),
            evidence: Vec::new(),
            via: Some(provenance.via.clone()),
        };
        match checked(o, "line", line, now, |f| {
            Some(
                match f {
                    "geometry.lat" | "geometry.lon" => "Point/coordinates",
                    "observed_at" => "TimeStamp/when",
                    "notes" => "description",
                    "reporter" => "name",
                    other => return Some(format!("ExtendedData {other}")),
                }
                .to_owned(),
            )
        }) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(e),
        }
    }
    Ok((out, errors, passed_over))
}
