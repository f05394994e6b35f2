//! `GET /api/tracks`: where the monitors' own patrols and UAVs went, as GeoJSON.

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use crate::query::time;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use truce_core::Timestamp;
use truce_store::TrackRow;

/// Most points one answer carries; a wider window is refused, naming `since`.
pub const MAX_POINTS: u64 = 100_000;
/// The window when no `since` is given, seconds before `until`.
const DEFAULT_WINDOW_S: f64 = 86_400.0;

/// `GET /api/tracks?since=&until=&monitor=`: one GeoJSON feature per device of a monitor,
/// a LineString through its points in time order (a Point when it has one), with the
/// device, call sign, platform, monitor and each point's time as properties. By default
/// the last 24 hours.
pub async fn tracks(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (mut since, mut until, mut monitor) = (None, None, None);
    for (key, value) in &params {
        match key.as_str() {
            "since" => since = Some(time(key, value)?),
            "until" => until = Some(time(key, value)?),
            // The token, for clients that cannot send a header (auth reads it).
            "access_token" => {}
            "monitor" => {
                if value.is_empty() || value.len() > 128 {
                    return Err(AppError::invalid("monitor", "must be 1 to 128 characters"));
                }
                monitor = Some(value.clone());
            }
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use since, until, monitor",
                ));
            }
        }
    }
    let until = until.unwrap_or_else(|| Timestamp::now().plus_seconds(1.0));
    let since = since.unwrap_or_else(|| until.plus_seconds(-DEFAULT_WINDOW_S));
    if since > until {
        return Err(AppError::invalid("since", "is after until"));
    }
    let engine = state.engine.clone();
    let nanos = |t: Timestamp| t.unix_nanos().clamp(i64::MIN.into(), i64::MAX.into()) as i64;
    let (from, to) = (nanos(since), nanos(until));
    // Read page by page and kept by monitor before counting: the cap is on what is sent.
    let rows = blocking(move || {
        let mut kept = Vec::new();
        let mut after = -1;
        loop {
            let page = engine.store().track_rows(after, from, to, 50_000)?;
            let Some(last) = page.last() else { break };
            after = last.entry as i64;
            kept.extend(
                page.into_iter()
                    .filter(|r| monitor.as_deref().is_none_or(|m| m == r.monitor)),
            );
            if kept.len() as u64 > MAX_POINTS {
                return Err(AppError::invalid(
                    "since",
                    format!("more than {MAX_POINTS} track points in the window; narrow it"),
                ));
            }
        }
        Ok(kept)
    })
    .await?;
    let rows = rows.into_iter();
    let fc = feature_collection(rows);
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response())
}

/// The points grouped by monitor and device, each group in time order.
fn feature_collection(rows: impl Iterator<Item = TrackRow>) -> Value {
    let mut devices: BTreeMap<(String, String), Vec<TrackRow>> = BTreeMap::new();
    for row in rows {
        devices
            .entry((row.monitor.clone(), row.device.clone()))
            .or_default()
            .push(row);
    }
    let features: Vec<Value> = devices
        .into_values()
        .map(|mut points| {
            points.sort_by_key(|p| (p.at_ns, p.entry));
            let last = &points[points.len() - 1];
            let coordinates: Vec<[f64; 2]> = points.iter().map(|p| [p.lon, p.lat]).collect();
            let geometry = if coordinates.len() == 1 {
                json!({ "type": "Point", "coordinates": coordinates[0] })
            } else {
                json!({ "type": "LineString", "coordinates": coordinates })
            };
            let times: Vec<String> = points
                .iter()
                .filter_map(|p| Timestamp::from_unix_nanos(p.at_ns.into()))
                .map(|t| t.to_string())
                .collect();
            json!({
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "monitor": last.monitor,
                    "device": last.device,
                    "callsign": last.callsign,
                    "platform": last.platform,
                    "times": times,
                    "entries": points.iter().map(|p| p.entry).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}
