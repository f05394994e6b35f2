//! `POST /api/imports?format=&name=`: an outside file's rows as observations, all or nothing.

use crate::AppState;
use crate::auth::require_role;
use crate::blocking;
use crate::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_engine::Caller;
use truce_import::{Format, ImportError, Provenance};

/// `POST /api/imports?format=acled-csv|geojson|kml|cot&name=FILE`: the body is the file (at most
/// the server's body limit; larger files go through `truce import`). An observer's. 201 with
/// how many observations were new, 200 when none were; 422 naming the first bad row's place
/// (`index` its line, `field` its column) with every bad row in the message.
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
        let outcome = engine.submit(parsed.observations, now)?;
        Ok((outcome, total, parsed.passed_over, provenance.sha256))
    })
    .await?;
    // Who imported which file: the log's (the record's `via` names the bytes, so that the
    // same file imported by anyone is recognised).
    tracing::info!(%user, file = %name, %sha256, new = outcome.new, "file imported");
    let status = if outcome.new == 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({
            "imported": total,
            "new": outcome.new,
            "passed_over": passed_over,
            "sha256": sha256,
        })),
    )
        .into_response())
}
