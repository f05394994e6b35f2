//! The JSON endpoints of the contract (DESIGN.md, "Interface contract").

use crate::auth::require_role;
use crate::blocking;
use crate::error::AppError;
use crate::query::incident_filter;
use crate::{AppState, OPENAPI};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use truce_core::access::Role;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_engine::Caller;
use truce_store::IntakeRequest;

/// `POST /api/observations`: one observation or an array, all or nothing.
pub async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Observer], "submitting observations")?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("body is over {} bytes", state.limits.max_bytes),
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
        }
    })?;
    let engine = state.engine.clone();
    let limits = state.limits;
    if let Some(node) = state.node.clone() {
        return submit_to_intake(node, caller.user.clone(), body, limits).await;
    }
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let outcome = blocking(move || {
        let now = Timestamp::now();
        let batch = truce_core::intake::parse_observations(&body, &limits, now)?;
        engine.submit(batch, now).map_err(|e| {
            let mut error = AppError::from(e);
            if !is_array {
                // A single object has no index; the engine numbers items regardless.
                error.index = None;
            }
            error
        })
    })
    .await?;
    let status = if outcome.new == 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json!({ "accepted": outcome.accepted }))).into_response())
}

/// A submission on a node of several: validated here (a refusal is answered at once, nothing
/// queued), committed to the intake queue, then the sequencer's answer, or 202 if it takes
/// longer than [`crate::intake::ANSWER_WAIT`].
async fn submit_to_intake(
    node: crate::Node,
    member: String,
    body: Bytes,
    limits: truce_core::intake::ParseLimits,
) -> Result<Response, AppError> {
    let queue = node.intake.clone();
    let id = blocking(move || {
        let now = Timestamp::now();
        truce_core::intake::parse_observations(&body, &limits, now)?;
        Ok(queue.put(IntakeRequest::Observations, &member, &body, now)?)
    })
    .await?;
    crate::intake::await_answer(&node, id, IntakeRequest::Observations).await
}

fn parse_id(text: &str, what: &str) -> Result<u64, AppError> {
    text.parse::<u64>()
        .map_err(|_| AppError::not_found(format!("no {what} {text:?}: ids are positive integers")))
}

/// The path's id, or a 404 in the contract's form when it is not even text.
fn path_id(path: Result<Path<String>, PathRejection>, what: &str) -> Result<u64, AppError> {
    match path {
        Ok(Path(text)) => parse_id(&text, what),
        Err(rejection) => Err(AppError::not_found(format!(
            "no {what} at that path: {}",
            rejection.body_text()
        ))),
    }
}

/// `GET /api/observations/{id}`.
pub async fn observation(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = ObservationId(path_id(id, "observation")?);
    let engine = state.engine.clone();
    let stored = blocking(move || Ok(engine.store().observation(id)?))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no observation {id}")))?;
    let mut body = serde_json::to_value(&stored.observation).map_err(AppError::internal)?;
    if let Some(map) = body.as_object_mut() {
        map.insert("id".into(), json!(stored.id));
        map.insert("incident_id".into(), json!(stored.incident_id));
        map.insert("entry_index".into(), json!(stored.entry_index));
        map.insert("recorded_at".into(), json!(stored.recorded_at));
    }
    Ok(Json(body).into_response())
}

fn wants_geojson(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/geo+json"))
}

/// `GET /api/incidents` with the contract's filters; GeoJSON when asked for.
pub async fn incidents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let filter = incident_filter(&params)?;
    let engine = state.engine.clone();
    let list = blocking(move || Ok(engine.store().incidents(&filter)?)).await?;
    if wants_geojson(&headers) {
        let fc = crate::geojson::feature_collection(&list);
        return Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response());
    }
    Ok(Json(json!({ "count": list.len(), "incidents": list })).into_response())
}

/// `GET /api/incidents/{id}`.
pub async fn incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = IncidentId(path_id(id, "incident")?);
    let engine = state.engine.clone();
    let found = blocking(move || Ok(engine.store().incident(id)?))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no incident {id}")))?;
    if wants_geojson(&headers) {
        let fc = crate::geojson::feature_collection(std::slice::from_ref(&found));
        return Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response());
    }
    Ok(Json(found).into_response())
}

/// `GET /api/agreement`: the agreement in force, zones as GeoJSON.
pub async fn agreement(State(state): State<AppState>) -> Response {
    Json(&state.engine.agreement().doc).into_response()
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /healthz`: up, with the record's size.
pub async fn healthz(State(state): State<AppState>) -> Result<Response, AppError> {
    let engine = state.engine.clone();
    let head = blocking(move || Ok(engine.store().head()?)).await?;
    let mut answer = json!({"status": "ok", "record_size": head.size});
    if let Some(node) = &state.node {
        answer["sequencing"] = json!(node.sequencing.load(std::sync::atomic::Ordering::SeqCst));
    }
    Ok(Json(answer).into_response())
}

/// Any other path.
pub async fn not_found() -> AppError {
    AppError::not_found("no such endpoint; see /api/openapi.json")
}

/// A known path with a method it does not serve.
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not serve that method; see /api/openapi.json",
    )
}
