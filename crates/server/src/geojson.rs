//! Incidents as a GeoJSON FeatureCollection (RFC 7946): one Point feature per incident with a
//! position (longitude, latitude), every other field in its properties.

use serde_json::{Value, json};
use truce_core::Incident;

/// The FeatureCollection of `incidents`; unlocated incidents have a null geometry.
pub fn feature_collection(incidents: &[Incident]) -> Value {
    let features: Vec<Value> = incidents
        .iter()
        .map(|i| {
            let geometry = match &i.estimate.position {
                Some(p) => json!({"type": "Point", "coordinates": [p.lon, p.lat]}),
                None => Value::Null,
            };
            let mut properties = serde_json::to_value(i).unwrap_or(Value::Null);
            if let Some(map) = properties.as_object_mut() {
                map.remove("covariance_m2");
            }
            json!({"type": "Feature", "id": i.id, "geometry": geometry, "properties": properties})
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
