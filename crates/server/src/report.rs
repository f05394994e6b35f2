//! `GET /api/reports/daily`: the daily report, every number from the record.

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use truce_report::{ReportError, Request};

/// `GET /api/reports/daily?date=YYYY-MM-DD&cutoff=HH:MM&lang=en|ru&format=html`. Any member.
pub async fn daily(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (mut date, mut cutoff, mut lang) = (None, None, "en".to_owned());
    for (key, value) in params {
        match key.as_str() {
            // The token, for clients that cannot send a header (auth reads it).
            "access_token" => {}
            "date" => date = Some(value),
            "cutoff" => cutoff = Some(value),
            "lang" => lang = value,
            "format" if value == "html" => {}
            "format" => {
                return Err(AppError::invalid(
                    "format",
                    format!("{value:?}: only html is built yet (it prints to A4 from a browser)"),
                ));
            }
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use date, cutoff, lang, format",
                ));
            }
        }
    }
    let date = date.ok_or_else(|| AppError::invalid("date", "required: YYYY-MM-DD"))?;
    let request = Request::parse(&date, cutoff.as_deref(), &lang).map_err(|e| match e {
        ReportError::Invalid { field, message } => AppError::invalid(field, message),
        other => AppError::internal(other),
    })?;
    let engine = state.engine.clone();
    let html = blocking(move || {
        let report =
            truce_report::build(engine.store().as_ref(), &request).map_err(AppError::internal)?;
        Ok(truce_report::html(&report))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}
