//! `GET /api/coverage`: where and for how long the monitors could have recorded events, from
//! the record (the same computation as the daily report's).

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use crate::query::time;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use truce_core::Timestamp;
use truce_export::{Dataset, Selection};
use truce_report::coverage::{Class, RANGES, of_period};

/// The widest window one answer covers, seconds (31 days).
const MAX_WINDOW_S: f64 = 31.0 * 86_400.0;
/// The window when no `since` is given, seconds before `until`.
const DEFAULT_WINDOW_S: f64 = 86_400.0;
const METRES_PER_DEGREE: f64 = 111_195.0;

/// A circle of `radius_m` about (lat, lon) as a closed GeoJSON ring of 48 sides.
fn circle(lat: f64, lon: f64, radius_m: f64) -> Vec<[f64; 2]> {
    let dlat = radius_m / METRES_PER_DEGREE;
    let dlon = dlat / lat.to_radians().cos().max(1e-6);
    let mut ring: Vec<[f64; 2]> = (0..48)
        .map(|k| {
            let a = f64::from(k) / 48.0 * std::f64::consts::TAU;
            [
                ((lon + dlon * a.sin()) * 1e6).round() / 1e6,
                ((lat + dlat * a.cos()) * 1e6).round() / 1e6,
            ]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

fn class_name(class: Class) -> &'static str {
    match class {
        Class::Explosions => "explosions",
        Class::SmallArms => "small_arms",
    }
}

/// `GET /api/coverage?since=&until=`: a GeoJSON FeatureCollection with, for every place a
/// monitor demonstrably was (a post's or patrol's bearing, a sensor's arrival, a UAV, a track
/// point), its explosion hearing range as a polygon, with its platform and the hours it was
/// present; and `areas`, each area of responsibility's covered share of surface × hours per
/// class of event. By default the last 24 hours; at most 31 days. Any member.
pub async fn coverage_layer(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (mut since, mut until) = (None, None);
    for (key, value) in &params {
        match key.as_str() {
            "since" => since = Some(time(key, value)?),
            "until" => until = Some(time(key, value)?),
            "access_token" => {}
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use since, until",
                ));
            }
        }
    }
    let until = until.unwrap_or_else(|| Timestamp::now().plus_seconds(1.0));
    let since = since.unwrap_or_else(|| until.plus_seconds(-DEFAULT_WINDOW_S));
    if since > until {
        return Err(AppError::invalid("since", "is after until"));
    }
    if until.seconds_since(since) > MAX_WINDOW_S {
        return Err(AppError::invalid("since", "the window is over 31 days"));
    }
    let engine = state.engine.clone();
    let body = blocking(move || {
        let store = engine.store();
        let agreement = engine.agreement();
        let data = Dataset::load(
            store.as_ref(),
            &agreement.doc,
            &Selection {
                since: Some(since),
                until: Some(until),
                bbox: None,
            },
        )?;
        let cov = of_period(store.as_ref(), agreement, &data.observations, since, until)?;
        let range = RANGES
            .iter()
            .find(|(c, _)| *c == Class::Explosions)
            .map_or(10_000.0, |(_, r)| *r);
        let features: Vec<_> = cov
            .presences
            .iter()
            .map(|p| {
                json!({
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [circle(p.lat, p.lon, range)]},
                    "properties": {
                        "platform": p.platform.as_str(),
                        "lat": p.lat,
                        "lon": p.lon,
                        "hours_present": p.hours.len(),
                        "range_m": range,
                    },
                })
            })
            .collect();
        let areas: Vec<_> = cov
            .areas
            .iter()
            .map(|a| {
                let shares: serde_json::Map<String, serde_json::Value> = a
                    .covered
                    .iter()
                    .map(|(c, s)| (class_name(*c).to_owned(), json!((s * 1000.0).round() / 1000.0)))
                    .collect();
                json!({"zone": a.zone, "name": a.name, "covered": shares})
            })
            .collect();
        Ok(json!({
            "type": "FeatureCollection",
            "features": features,
            "since": since.to_string(),
            "until": until.to_string(),
            "hours": cov.hours,
            "ranges_m": RANGES.iter().map(|(c, r)| (class_name(*c), *r)).collect::<std::collections::BTreeMap<_, _>>(),
            "areas": areas,
        }))
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response())
}
