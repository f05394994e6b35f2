//! GeoJSON (RFC 7946): one FeatureCollection whose features say their `layer`: `incident`
//! (a Point), `ellipse` (its 95% ellipse, a Polygon), `observation` (a Point) and `zone`.
//! Written straight into the output, one feature per line.

use crate::dataset::Dataset;
use crate::ellipse::{ellipse_ring, round7};
use crate::fields::{
    Cell, INCIDENT_COLUMNS, Kind, OBSERVATION_COLUMNS, incident_cells, observation_cells,
    observation_point, zones,
};
use std::io::Write as _;

/// A JSON value: strings escaped, numbers as serde_json writes them.
fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a Vec cannot fail, and these values always serialise.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn properties(out: &mut Vec<u8>, layer: &str, columns: &[(&str, Kind)], cells: Vec<Cell>) {
    out.extend_from_slice(b"{\"layer\":");
    json(out, layer);
    for ((name, _), cell) in columns.iter().zip(cells) {
        out.push(b',');
        json(out, *name);
        out.push(b':');
        match cell {
            Cell::Int(v) => json(out, &v),
            Cell::Real(v) => json(out, &v),
            Cell::Text(v) => json(out, &v),
            Cell::Null => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
}

fn point(out: &mut Vec<u8>, [lon, lat]: [f64; 2]) {
    out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":[");
    json(out, &round7(lon));
    out.push(b',');
    json(out, &round7(lat));
    out.extend_from_slice(b"]}");
}

/// Starts a feature, with the separator from the one before.
fn feature(out: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        out.extend_from_slice(b",\n");
    }
    *first = false;
    out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
}

/// Writes the collection to `to`: UTF-8 JSON, one feature per line.
pub fn write(data: &Dataset, to: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(2 * crate::FLUSH_BYTES);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[\n");
    let mut first = true;
    for i in &data.incidents {
        let Some(p) = &i.estimate.position else {
            continue;
        };
        feature(&mut out, &mut first);
        point(&mut out, [p.lon, p.lat]);
        out.extend_from_slice(b",\"properties\":");
        properties(
            &mut out,
            "incident",
            &INCIDENT_COLUMNS,
            incident_cells(i, &data.anchor),
        );
        out.push(b'}');
        crate::flush_if_full(&mut out, to)?;
        if let Some(e) = &i.estimate.ellipse_95 {
            feature(&mut out, &mut first);
            out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":[[");
            for (n, [x, y]) in ellipse_ring(p, e).into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                json(&mut out, &x);
                out.push(b',');
                json(&mut out, &y);
                out.push(b']');
            }
            let _ = write!(
                out,
                "]]}},\"properties\":{{\"layer\":\"ellipse\",\"incident_id\":{},\"confidence\":0.95}}}}",
                i.id.0
            );
        }
    }
    for o in &data.observations {
        feature(&mut out, &mut first);
        point(&mut out, observation_point(o));
        out.extend_from_slice(b",\"properties\":");
        properties(
            &mut out,
            "observation",
            &OBSERVATION_COLUMNS,
            observation_cells(o),
        );
        out.push(b'}');
        crate::flush_if_full(&mut out, to)?;
    }
    for (id, kind, name, side, geometry) in zones(data) {
        feature(&mut out, &mut first);
        json(&mut out, &geometry);
        out.extend_from_slice(b",\"properties\":{\"layer\":\"zone\",\"zone_id\":");
        json(&mut out, &id);
        out.extend_from_slice(b",\"kind\":");
        json(&mut out, &kind);
        out.extend_from_slice(b",\"name\":");
        json(&mut out, &name);
        out.extend_from_slice(b",\"side\":");
        json(&mut out, &side);
        out.extend_from_slice(b"}}");
    }
    out.extend_from_slice(b"\n]}\n");
    to.write_all(&out)
}
