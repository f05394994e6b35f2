//! `POST /api/imports?format=&name=`: an outside file's rows as observations, all or nothing.

use crate::AppState;
use crate::auth::require_role;
use crate::blocking;
use crate::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::validate::ValidObservation;
use truce_engine::{Caller, MemberWrite};
use truce_import::{Format, ImportError, Provenance};
use truce_store::IntakeRequest;

/// `POST /api/imports?format=acled-csv|geojson|kml|cot&name=FILE`: the body is the file (at most
/// the server's body limit; larger files go through `truce import`). An observer's. 201 with
/// how many observations were new, 200 when none were; 422 naming the first bad row's place
/// (`index` its line, `field` its column) with every bad row in the message. On a node of
/// several, the rows are committed to the intake queue and the sequencer's answer awaited (202
/// after 10 s, as for any queued write).
pub async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Vec<(String, String)>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Observer], "importing observations")?;
    let (mut format, mut name) = (None, "upload".to_owned());
    for (key, value) in params {
        match key.as_str() {
            "format" => {
                format = Some(Format::from_name(&value).ok_or_else(|| {
                    AppError::invalid(
                        "format",
                        format!("{value:?} is not acled-csv, geojson, kml or cot"),
                    )
                })?)
            }
            "name" if !value.is_empty() && value.len() <= 64 => name = value,
            "name" => return Err(AppError::invalid("name", "must be 1 to 64 bytes")),
            "access_token" => {}
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use format, name",
                ));
            }
        }
    }
    let format = format
        .ok_or_else(|| AppError::invalid("format", "required: acled-csv, geojson, kml or cot"))?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "body is over {} bytes; import a larger file with `truce import`",
                    state.limits.max_bytes
                ),
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
        }
    })?;
    let engine = state.engine.clone();
    let user = caller.user.clone();
    let node = state.node.clone();
    let (outcome, total, passed_over, sha256) = blocking(move || {
        let provenance = Provenance::of(&body, format);
        let now = Timestamp::now();
        let parsed = truce_import::parse(format, &body, &provenance, now).map_err(|e| match e {
            ImportError::Rows(rows) => {
                let first = &rows[0];
                let mut error =
                    AppError::invalid("file", ImportError::Rows(rows.clone()).to_string());
                error.field = first.column.clone().or(Some("file".into()));
                error.index = usize::try_from(first.line).ok();
                error
            }
            ImportError::File(message) => AppError::invalid("file", message),
        })?;
        let total = parsed.observations.len();
        let outcome = match &node {
            // On a node of several, committed to the intake queue; the sequencer records it.
            Some(node) => {
                let write = MemberWrite::Reports {
                    observations: parsed
                        .observations
                        .into_iter()
                        .map(ValidObservation::into_inner)
                        .collect(),
                };
                let body = serde_json::to_vec(&write).map_err(|e| {
                    AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?;
                Imported::Queued(node.intake.put(IntakeRequest::Write, &user, &body, now)?)
            }
            None => Imported::Recorded(engine.submit(parsed.observations, now)?.new),
        };
        Ok((outcome, total, parsed.passed_over, provenance.sha256))
    })
    .await?;
    let new = match (outcome, &state.node) {
        (Imported::Recorded(new), _) => new,
        (Imported::Queued(id), Some(node)) => match crate::intake::await_outcome(node, id).await {
            Some((200 | 201, answer)) => serde_json::from_str::<Value>(&answer)
                .ok()
                .and_then(|a| a["new"].as_u64())
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    AppError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        format!("the sequencer's answer to the import has no count: {answer}"),
                    )
                })?,
            // A refusal of the sequencer's own, as it gave it.
            Some((status, answer)) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Ok(
                    (status, [(header::CONTENT_TYPE, "application/json")], answer).into_response(),
                );
            }
            None => {
                let (status, answer) = crate::intake::queued(id, IntakeRequest::Write);
                return Ok((status, Json(answer)).into_response());
            }
        },
        (Imported::Queued(_), None) => {
            return Err(AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an import was queued on a server that is no node".to_string(),
            ));
        }
    };
    // Who imported which file: the log's (the record's `via` names the bytes, so that the
    // same file imported by anyone is recognised).
    tracing::info!(user = %caller.user, file = %name, %sha256, new, "file imported");
    let status = if new == 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({
            "imported": total,
            "new": new,
            "passed_over": passed_over,
            "sha256": sha256,
        })),
    )
        .into_response())
}

/// What became of an import's observations.
enum Imported {
    /// Recorded here: how many were new.
    Recorded(usize),
    /// Committed to a node's intake queue as this item.
    Queued(u64),
}
