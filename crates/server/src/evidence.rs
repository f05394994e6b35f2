//! Evidence files: `POST /api/evidence` hands one in, `GET /api/evidence/{sha256}` serves it
//! back, `GET /api/evidence/{sha256}/custody` tells its chain of custody from the record.

use crate::AppState;
use crate::auth::require_role;
use crate::blocking;
use crate::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::entry::EntryBody;
use truce_core::evidence::{Capture, MAX_EVIDENCE_BYTES};
use truce_engine::{Caller, EvidenceIn, MemberWrite};
use truce_store::is_sha256_hex;

/// The body limit of `POST /api/evidence`: the largest file the center takes.
pub const BODY_LIMIT: usize = MAX_EVIDENCE_BYTES;

fn number(field: &str, value: &str) -> Result<f64, AppError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| AppError::invalid(field, format!("{value:?} is not a number")))
}

/// The hand-in's metadata, from the query.
fn metadata(media_type: String, params: Vec<(String, String)>) -> Result<EvidenceIn, AppError> {
    let mut evidence = EvidenceIn {
        media_type,
        name: None,
        derived_from: None,
        capture: Capture::default(),
    };
    for (key, value) in params {
        let c = &mut evidence.capture;
        match key.as_str() {
            "access_token" => {}
            "name" => evidence.name = Some(value),
            "derived_from" => evidence.derived_from = Some(value),
            "captured_at" => {
                c.captured_at = Some(Timestamp::parse(&value).map_err(|_| {
                    AppError::invalid("captured_at", format!("{value:?} is not an RFC 3339 time"))
                })?);
            }
            "lat" => c.lat = Some(number("lat", &value)?),
            "lon" => c.lon = Some(number("lon", &value)?),
            "accuracy_m" => c.accuracy_m = Some(number("accuracy_m", &value)?),
            "device" => c.device = Some(value),
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use name, derived_from, captured_at, lat, lon, accuracy_m, device",
                ));
            }
        }
    }
    Ok(evidence)
}

/// `POST /api/evidence?name=&captured_at=&lat=&lon=&accuracy_m=&device=&derived_from=`: the
/// body is the file, `Content-Type` its media type (checked against its first bytes), at most
/// 64 MiB. An observer's or an officer's. 201 with the SHA-256, the size and the entry that
/// records the hand-in; 200 when this member had already handed in this file.
pub async fn hand_in(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require_role(
        &caller,
        &[Role::Observer, Role::Officer],
        "handing in evidence",
    )?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        .ok_or_else(|| AppError::invalid("Content-Type", "required: the file's media type"))?;
    let evidence = metadata(media_type, params)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the file is over {MAX_EVIDENCE_BYTES} bytes"),
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
        }
    })?;
    // The file is kept where every node reads it (committed before anything is recorded);
    // then the hand-in is recorded here, or by the sequencer through the intake queue.
    let (engine, keeper) = (state.engine.clone(), caller.clone());
    let (kept, evidence) = blocking(move || {
        let kept = engine.keep_evidence_file(&keeper, &body, &evidence, Timestamp::now())?;
        Ok((kept, evidence))
    })
    .await?;
    let (sha256, size) = kept;
    let write = MemberWrite::Evidence {
        sha256,
        size,
        evidence,
    };
    crate::members::perform(&state, caller, write).await
}

fn checked(sha256: &str) -> Result<(), AppError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "sha256",
            "a SHA-256 in lowercase hex (64 digits)",
        ))
    }
}

/// `GET /api/evidence/{sha256}`: the file, as the center holds it, with the media type it was
/// handed in as; served as an attachment, never rendered in the dashboard's origin. Any
/// member. 404 when the record has no hand-in of it.
pub async fn file(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked(&sha256)?;
    let engine = state.engine.clone();
    let (media_type, bytes) = blocking(move || {
        let custody = engine.custody(&sha256)?;
        let Some((row, _)) = custody.first() else {
            return Err(AppError::not_found(format!("no evidence {sha256}")));
        };
        let bytes = engine.with_evidence_files(|files| {
            if !files.any() {
                return Err(AppError::not_found("this center keeps no evidence folder"));
            }
            files
                .read_checked(&sha256)
                .map_err(AppError::internal)?
                .ok_or_else(|| {
                    AppError::internal(format!(
                        "the record says the center holds {sha256}, and {} has no such file",
                        files.describe()
                    ))
                })
        })?;
        Ok((row.media_type.clone(), bytes))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/evidence/{sha256}/custody`: every hand-in of the file, oldest first, each as its
/// entry says: who, which monitor, when the center received it, and (apart) what the client
/// claimed about its capture. Any member. 404 when there is none.
pub async fn custody(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked(&sha256)?;
    let engine = state.engine.clone();
    let links = blocking(move || {
        let custody = engine.custody(&sha256)?;
        if custody.is_empty() {
            return Err(AppError::not_found(format!("no evidence {sha256}")));
        }
        Ok(custody
            .into_iter()
            .filter_map(|(row, body)| match body {
                EntryBody::Evidence {
                    size,
                    media_type,
                    name,
                    derived_from,
                    capture,
                    by,
                    monitor,
                    channel,
                    received_at,
                    ..
                } => Some(json!({
                    "entry": row.entry,
                    "by": by,
                    "monitor": monitor,
                    "channel": channel,
                    "received_at": received_at.to_string(),
                    "size": size,
                    "media_type": media_type,
                    "name": name,
                    "derived_from": derived_from,
                    "claimed": capture,
                })),
                _ => None,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "custody": links })).into_response())
}
