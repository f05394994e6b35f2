//! The HTTP face of truce: `fn app(state) -> Router`, tested directly with `oneshot` and served
//! by the binary.
//!
//! Every handler answers errors through [`AppError`], which renders the contract's body
//! `{"error":{"code","message","field","index"}}` with 400, 404, 405, 413, 422 or 500. Work that
//! blocks — parsing a 16 MiB batch, the append's fsync, SQLite reads — runs on tokio's blocking
//! pool, never on the async workers.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod events;
mod geojson;
mod handlers;
mod ledger;
mod query;

pub use error::AppError;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::sync::watch;
use truce_core::intake::ParseLimits;
use truce_engine::Engine;

/// The OpenAPI 3 document served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The sequencer and the store behind it.
    pub engine: Arc<Engine>,
    /// Size limits of a submission.
    pub limits: ParseLimits,
    /// Turns `true` when the server is stopping, so long-lived streams end.
    pub shutdown: watch::Receiver<bool>,
}

/// The router of the whole API.
pub fn app(state: AppState) -> Router {
    // One byte over the limit lets the handler tell "too large" itself, with the contract's body.
    let body_limit = state.limits.max_bytes + 1;
    Router::new()
        .route("/", get(handlers::index))
        .route("/healthz", get(handlers::healthz))
        .route("/api/openapi.json", get(handlers::openapi))
        .route("/api/agreement", get(handlers::agreement))
        .route("/api/observations", post(handlers::submit))
        .route("/api/observations/{id}", get(handlers::observation))
        .route("/api/incidents", get(handlers::incidents))
        .route("/api/incidents/{id}", get(handlers::incident))
        .route("/api/events", get(events::stream))
        .route("/api/ledger", get(ledger::status))
        .route("/api/ledger/proof", get(ledger::proof))
        .route("/api/ledger/consistency", get(ledger::consistency))
        .route("/api/ledger/cosignatures", post(ledger::cosign))
        .route("/checkpoint", get(ledger::checkpoint))
        .route("/tile/{*path}", get(ledger::tile))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
