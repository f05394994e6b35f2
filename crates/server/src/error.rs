//! [`AppError`]: every failure, rendered as the contract's JSON error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use truce_core::ParseError;
use truce_engine::EngineError;

/// An error answered to a client. Internal failures are logged in full and answered with a
/// generic message, so storage details never leak.
#[derive(Debug)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`invalid_value`, `not_found`, …).
    pub code: &'static str,
    /// For a person to read.
    pub message: String,
    /// The field at fault, if any.
    pub field: Option<String>,
    /// The batch index at fault, if any.
    pub index: Option<usize>,
    /// What a read (GET, HEAD) answers instead of `message`, where the two differ: a fault of
    /// the storage is the same fault for both, but only a write may have been recorded. The
    /// response carries it to [`reads_answer_as_reads`], which knows the request's method.
    pub read_message: Option<String>,
}

/// The message a read meets for a storage fault described by `fault`.
fn unreadable_message(fault: &str) -> String {
    format!("{fault}; the record could not be read: ask again once that is fixed")
}

impl AppError {
    /// 404 for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 422 about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message)
        }
    }

    /// An error with no field or index.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            index: None,
            read_message: None,
        }
    }

    /// 500, logging `detail` (never sent to the client).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; nothing from this request was recorded",
        )
    }
}

impl From<ParseError> for AppError {
    fn from(e: ParseError) -> Self {
        let status = match e {
            ParseError::Malformed { .. } => StatusCode::BAD_REQUEST,
            ParseError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ParseError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self {
            status,
            code: e.code(),
            message: e.message(),
            field: e.field().filter(|f| !f.is_empty()).map(str::to_string),
            index: e.index(),
            read_message: None,
        }
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::ClientIdConflict { index, .. } => Self {
                index: Some(index),
                ..Self::invalid("client_id", e.to_string())
            },
            EngineError::Invalid { field, message } => Self::invalid(field, message),
            EngineError::EvidenceNotHeld {
                index, position, ..
            } => Self {
                index: Some(index),
                ..Self::invalid(&format!("evidence[{position}].sha256"), e.to_string())
            },
            EngineError::Unavailable(message) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            EngineError::NotFound(message) => Self::not_found(message),
            EngineError::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            EngineError::Store(e) => Self::from(e),
            other => Self::internal(other),
        }
    }
}

impl From<truce_store::StoreError> for AppError {
    fn from(e: truce_store::StoreError) -> Self {
        match e {
            // Another node sequences now (or this one reads only): nothing was recorded here.
            truce_store::StoreError::Fenced(detail) => {
                tracing::warn!(%detail, "refused: this node does not sequence");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "this node does not sequence the record now; nothing was recorded",
                )
            }
            // The record changed under this server, or it may not write here: nothing was
            // recorded, and the reason says what to do.
            truce_store::StoreError::Moved(detail)
            | truce_store::StoreError::InUse(detail)
            | truce_store::StoreError::ReadOnly(detail) => {
                tracing::warn!(%detail, "refused: the record cannot be written here now");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &detail)
            }
            truce_store::StoreError::Busy(detail) => {
                tracing::warn!(%detail, "refused: the store is busy");
                Self {
                    read_message: Some("the store is busy; try again shortly".into()),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the store is busy; nothing was recorded, try again shortly",
                    )
                }
            }
            other => match other.storage_fault() {
                // The disk or the database server, not truce: say which, so the operator can
                // act, and the client can send again once it clears.
                Some(fault) => {
                    tracing::error!(error = %other, "refused: {}", fault.describe());
                    Self {
                        read_message: Some(unreadable_message(fault.describe())),
                        ..Self::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            format!(
                                "{}; this request is not acknowledged, and may or may not have \
                                 been recorded. Send it again once that is fixed: an \
                                 observation with a client_id is recorded once however often \
                                 it is sent",
                                fault.describe()
                            ),
                        )
                    }
                }
                None => Self::internal(other),
            },
        }
    }
}

/// An export that could not read the record is a storage fault like any other (a read's
/// wording of it comes from [`reads_answer_as_reads`]); anything else is the server's failure.
impl From<truce_export::ExportError> for AppError {
    fn from(e: truce_export::ExportError) -> Self {
        match e {
            truce_export::ExportError::Store(e) => Self::from(e),
            other => Self::internal(other),
        }
    }
}

/// A report: a request out of range is 422 naming the field, a record that could not be read
/// is a storage fault like any other, anything else is the server's failure.
impl From<truce_report::ReportError> for AppError {
    fn from(e: truce_report::ReportError) -> Self {
        match e {
            truce_report::ReportError::Invalid { field, message } => Self::invalid(field, message),
            truce_report::ReportError::Store(e) => Self::from(e),
            truce_report::ReportError::Export(e) => Self::from(e),
            other => Self::internal(other),
        }
    }
}

impl AppError {
    /// This error worded as a read's, whatever the request's method: for a write that failed
    /// while it was still reading, before it recorded anything.
    pub fn into_read(mut self) -> Self {
        match self.read_message.take() {
            Some(message) => Self { message, ..self },
            None => self,
        }
    }

    /// The response body: `{"error": {code, message, field, index}}`.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "index": self.index,
        }})
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = self.body();
        let as_read = self.read_message.clone().map(|message| {
            ReadBody(
                Self {
                    message,
                    read_message: None,
                    field: self.field.clone(),
                    index: self.index,
                    ..Self::new(self.status, self.code, "")
                }
                .body(),
            )
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(as_read) = as_read {
            response.extensions_mut().insert(as_read);
        }
        response
    }
}

/// The body a read answers instead (see [`AppError::read_message`]).
#[derive(Clone)]
struct ReadBody(serde_json::Value);

/// Middleware: a read (GET, HEAD) that failed answers with the read's wording of its error,
/// where it has one; every other request keeps the body it was given.
pub async fn reads_answer_as_reads(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let read = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<ReadBody>() {
        Some(ReadBody(body)) if read => {
            let (mut parts, _) = response.into_parts();
            // The new body's length is not the old one's.
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(body.to_string()))
        }
        _ => response,
    }
}

/// Runs blocking work (parsing, SQLite, fsync, argon2) on tokio's blocking pool, never on the
/// async workers; a panic there is a 500.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_export::ExportError;
    use truce_report::ReportError;
    use truce_store::StoreError;

    #[test]
    fn reads_that_meet_a_storage_fault_are_503_naming_it_and_the_rest_keep_their_status() {
        let unreachable = || StoreError::Unreachable("connection closed".into());
        for e in [
            AppError::from(ExportError::Store(unreachable())),
            AppError::from(ReportError::Store(unreachable())),
            AppError::from(ReportError::Export(ExportError::Store(unreachable()))),
        ] {
            assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
            let read = e.read_message.as_deref().expect("a read's wording");
            assert!(read.contains("cannot be reached"), "{read}");
            assert!(read.contains("could not be read"), "{read}");
            assert!(!read.contains("recorded"), "a read records nothing: {read}");
        }
        let busy = AppError::from(ExportError::Store(StoreError::Busy("locked".into())));
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        let invalid = AppError::from(ReportError::Invalid {
            field: "date",
            message: "not a date".into(),
        });
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(invalid.field.as_deref(), Some("date"));
        let broken = AppError::from(ExportError::Gpkg("no space in the buffer".into()));
        assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_write_that_failed_while_reading_says_it_could_not_read() {
        let e = AppError::from(StoreError::Unreachable("connection closed".into())).into_read();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.message.contains("could not be read"), "{}", e.message);
        assert!(!e.message.contains("recorded"), "{}", e.message);
        assert!(
            e.read_message.is_none(),
            "nothing left for the middleware to swap"
        );
        let refused = AppError::from(StoreError::Moved("the record moved".into())).into_read();
        assert_eq!(refused.message, "the record moved");
    }

    /// What `method` on a router whose one route fails with `error()` answers: status and
    /// message.
    async fn answer(method: &str, error: fn() -> StoreError) -> (StatusCode, String) {
        use axum::routing::any;
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/x",
                any(move || async move { Err::<(), AppError>(AppError::from(error())) }),
            )
            .layer(axum::middleware::from_fn(reads_answer_as_reads));
        let request = axum::http::Request::builder()
            .method(method)
            .uri("/x")
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = app.oneshot(request).await.expect("an answer");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        let message = body["error"]["message"].as_str().expect("a message");
        (status, message.to_string())
    }

    #[tokio::test]
    async fn a_read_that_meets_a_storage_fault_says_it_could_not_read_and_a_write_that_it_may_have_recorded()
     {
        let unreachable = || StoreError::Unreachable("connection closed".into());
        let (status, read) = answer("GET", unreachable).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(read.contains("cannot be reached"), "{read}");
        assert!(read.contains("could not be read"), "{read}");
        assert!(!read.contains("recorded"), "a read records nothing: {read}");
        let (status, write) = answer("POST", unreachable).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(write.contains("cannot be reached"), "{write}");
        assert!(
            write.contains("may or may not have been recorded"),
            "{write}"
        );
        let (_, busy_read) = answer("GET", || StoreError::Busy("locked".into())).await;
        assert!(!busy_read.contains("recorded"), "{busy_read}");
        let (_, busy_write) = answer("PUT", || StoreError::Busy("locked".into())).await;
        assert!(busy_write.contains("nothing was recorded"), "{busy_write}");
        // Refusals that only a write meets keep their one wording.
        let (_, moved) = answer("GET", || StoreError::Moved("the record moved".into())).await;
        assert_eq!(moved, "the record moved");
    }
}
