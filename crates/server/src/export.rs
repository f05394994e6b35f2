//! `GET /api/export`: the record's incidents, observations and zones as a file for GIS tools.

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use crate::query::time;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use truce_export::{Dataset, Format, Selection};

/// The format `?format=` names, else the first the `Accept` header asks for.
fn format(params: &[(String, String)], headers: &HeaderMap) -> Result<Format, AppError> {
    let names = || {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some((_, value)) = params.iter().rev().find(|(k, _)| k == "format") {
        return Format::from_name(value).ok_or_else(|| {
            AppError::invalid("format", format!("{value:?} is not one of {}", names()))
        });
    }
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    accept
        .split(',')
        .map(|part| part.split(';').next().unwrap_or_default().trim())
        .find_map(|media| {
            Format::ALL
                .into_iter()
                .find(|f| f.media_type().split(';').next() == Some(media))
        })
        .ok_or_else(|| {
            AppError::invalid(
                "format",
                format!(
                    "say which: ?format= one of {}, or an Accept header with its media type",
                    names()
                ),
            )
        })
}

/// `GET /api/export?format=&since=&until=&bbox=`: the export as a download, its name saying
/// the record size it shows. Any member.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let format = format(&params, &headers)?;
    let mut selection = Selection::default();
    for (key, value) in &params {
        match key.as_str() {
            // The token, for clients that cannot send a header (auth reads it).
            "access_token" => {}
            "format" => {}
            "since" => selection.since = Some(time(key, value)?),
            "until" => selection.until = Some(time(key, value)?),
            "bbox" => {
                selection.bbox =
                    Some(Selection::parse_bbox(value).map_err(|m| AppError::invalid("bbox", m))?)
            }
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use format, since, until, bbox",
                ));
            }
        }
    }
    if let (Some(s), Some(u)) = (selection.since, selection.until)
        && s > u
    {
        return Err(AppError::invalid("since", "is after until"));
    }
    let engine = state.engine.clone();
    let (bytes, size) = blocking(move || {
        let data = Dataset::load(engine.store().as_ref(), &engine.agreement().doc, &selection)?;
        let bytes = truce_export::write(format, &data)?;
        Ok((bytes, data.anchor.size))
    })
    .await?;
    let disposition = format!(
        "attachment; filename=\"truce-{size}.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
