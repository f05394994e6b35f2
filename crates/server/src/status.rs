//! `GET /api/status`: the record's size and what each listener (TAK, MQTT) has done, counted,
//! so an operator sees what was refused, what was dropped of the relay, and that nothing of
//! the record was.

use crate::error::AppError;
use crate::{AppState, blocking};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};

/// Reads one listener's counters as name and value.
pub type Counters = Arc<dyn Fn() -> Vec<(&'static str, u64)> + Send + Sync>;

/// The listeners whose counters `/api/status` shows, registered as they start.
#[derive(Default)]
pub struct StatusBoard {
    sources: Mutex<Vec<(String, Counters)>>,
}

impl StatusBoard {
    /// Shows `counters` under `name` (e.g. `cot`, `mqtt`).
    pub fn register(&self, name: &str, counters: Counters) {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((name.to_owned(), counters));
    }

    fn snapshot(&self) -> Map<String, Value> {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sources
            .iter()
            .map(|(name, counters)| {
                let values: Map<String, Value> = counters()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), json!(v)))
                    .collect();
                (name.clone(), Value::Object(values))
            })
            .collect()
    }
}

/// `GET /api/status`: any member.
pub async fn status(State(state): State<AppState>) -> Result<Response, AppError> {
    let engine = state.engine.clone();
    let head = blocking(move || Ok(engine.store().head()?)).await?;
    Ok(Json(json!({
        "record_size": head.size,
        "listeners": state.status.snapshot(),
    }))
    .into_response())
}
