//! `GET /api/reports/daily`: the daily report, every number from the record.

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use axum::extract::{Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use truce_core::access::Role;
use truce_engine::{Caller, MemberWrite};
use truce_report::{Format, Request};

/// The request the query parameters make.
fn request(params: Vec<(String, String)>) -> Result<(Request, Format), AppError> {
    let (mut date, mut cutoff, mut lang) = (None, None, "en".to_owned());
    let mut format = Format::Html;
    for (key, value) in params {
        match key.as_str() {
            // The token, for clients that cannot send a header (auth reads it).
            "access_token" => {}
            "date" => date = Some(value),
            "cutoff" => cutoff = Some(value),
            "lang" => lang = value,
            "format" => {
                format = Format::from_name(&value).ok_or_else(|| {
                    AppError::invalid("format", format!("{value:?} is not html or pdf"))
                })?;
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
    let request = Request::parse(&date, cutoff.as_deref(), &lang)?;
    Ok((request, format))
}

/// The report `request` asks for, rendered as `format`. Its figures are read while nothing is
/// appended, so they are the record's at one size and the report can be made again from it;
/// the rendering runs after, without holding intake.
fn render(
    engine: &truce_engine::Engine,
    request: &Request,
    format: Format,
) -> Result<(truce_report::Report, Vec<u8>), AppError> {
    let report = engine.read_still(|store| truce_report::build(store, request))??;
    let bytes = truce_report::render(&report, format).map_err(AppError::internal)?;
    Ok((report, bytes))
}

/// `GET /api/reports/daily?date=YYYY-MM-DD&cutoff=HH:MM&lang=en|ru&format=html|pdf`. Any
/// member.
pub async fn daily(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (request, format) = request(params)?;
    let engine = state.engine.clone();
    let (_, bytes) = blocking(move || render(&engine, &request, format)).await?;
    let name = format!(
        "inline; filename=\"daily-report-{}-{}.{}\"",
        request.date_text(),
        request.lang.code(),
        format.name()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type().to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/reports/daily?date=…`: issues the report, as the calling officer: the
/// `report` entry with the file's SHA-256 and the record it was computed from goes on the
/// record. 201 with the entry's index, the SHA-256 and the record size. On a node of several
/// the node renders it (from one snapshot of the record) and the sequencer records the entry.
pub async fn issue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    crate::auth::require_role(&caller, &[Role::Officer], "issuing a report")?;
    let (request, format) = request(params)?;
    let engine = state.engine.clone();
    // Nothing is recorded until the report is issued: a fault while reading its figures is a
    // read's.
    let report = blocking(move || {
        let (report, bytes) = render(&engine, &request, format).map_err(AppError::into_read)?;
        Ok(truce_report::issued(&request, &report, format, &bytes))
    })
    .await?;
    crate::members::perform(&state, caller, MemberWrite::IssueReport { report }).await
}
