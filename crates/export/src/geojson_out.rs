//! GeoJSON (RFC 7946): one FeatureCollection whose features say their `layer`: `incident`
//! (a Point), `ellipse` (its 95% ellipse, a Polygon), `observation` (a Point) and `zone`.

use crate::dataset::Dataset;
use crate::ellipse::{ellipse_ring, round7};
use crate::fields::{
    Cell, INCIDENT_COLUMNS, OBSERVATION_COLUMNS, incident_cells, observation_cells,
    observation_point, zones,
};
use serde_json::{Map, Value, json};

fn properties(layer: &str, columns: &[(&str, crate::fields::Kind)], cells: Vec<Cell>) -> Value {
    let mut map = Map::new();
    map.insert("layer".into(), json!(layer));
    for ((name, _), cell) in columns.iter().zip(cells) {
        map.insert(
            (*name).into(),
            match cell {
                Cell::Int(v) => json!(v),
                Cell::Real(v) => json!(v),
                Cell::Text(v) => json!(v),
                Cell::Null => Value::Null,
            },
        );
    }
    Value::Object(map)
}

/// The collection's bytes: UTF-8 JSON, one feature per line.
pub fn write(data: &Dataset) -> Vec<u8> {
    let mut features: Vec<Value> = Vec::new();
    for i in &data.incidents {
        let Some(p) = &i.estimate.position else {
            continue;
        };
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round7(p.lon), round7(p.lat)]},
            "properties": properties("incident", &INCIDENT_COLUMNS, incident_cells(i, &data.anchor)),
        }));
        if let Some(e) = &i.estimate.ellipse_95 {
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ellipse_ring(p, e)]},
                "properties": {"layer": "ellipse", "incident_id": i.id.0, "confidence": 0.95},
            }));
        }
    }
    for o in &data.observations {
        let [lon, lat] = observation_point(o);
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round7(lon), round7(lat)]},
            "properties": properties("observation", &OBSERVATION_COLUMNS, observation_cells(o)),
        }));
    }
    for (id, kind, name, side, geometry) in zones(data) {
        features.push(json!({
            "type": "Feature",
            "geometry": geometry,
            "properties": {"layer": "zone", "zone_id": id, "kind": kind, "name": name, "side": side},
        }));
    }
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for (n, f) in features.iter().enumerate() {
        if n > 0 {
            out.push_str(",\n");
        }
        out.push_str(&f.to_string());
    }
    out.push_str("\n]}\n");
    out.into_bytes()
}
