//! The HTTP face of truce: `fn app(state) -> Router`, tested directly with `oneshot` and served
//! by the binary.
//!
//! Every handler answers errors through [`AppError`], which renders the contract's body
//! `{"error":{"code","message","field","index"}}` with 400, 401, 403, 404, 405, 413, 422, 429
//! or 500. Every route but the public ones (health, the API description, the ledger) needs a
//! member's token (`auth`). Work that
//! blocks — parsing a 16 MiB batch, the append's fsync, SQLite reads — runs on tokio's blocking
//! pool, never on the async workers.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth;
mod coverage;
mod dashboard;
mod error;
mod events;
mod evidence;
mod export;
mod geojson;
mod handlers;
mod headers;
mod import;
pub mod intake;
mod ledger;
mod members;
mod query;
mod report;
mod status;
mod tracks;

pub use auth::{FAILURE_WINDOW, Guard, MAX_FAILURES};
pub use error::AppError;
use error::blocking;
pub use headers::CONTENT_SECURITY_POLICY;
pub use status::{Counters, StatusBoard};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
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
    /// Failed sign-in attempts per client.
    pub guard: Arc<auth::Guard>,
    /// The listeners' counters shown by `/api/status`.
    pub status: Arc<StatusBoard>,
    /// On a node of several (PostgreSQL): the intake queue submissions are committed to, and
    /// whether this node sequences now. `None` when this process is the one sequencer.
    pub node: Option<Node>,
    /// Whether clients reach this server over HTTPS (its own TLS): responses then carry HSTS.
    pub https: bool,
}

/// What a node of several knows beyond the engine it reads through.
#[derive(Clone)]
pub struct Node {
    /// The queue submissions are committed to.
    pub intake: Arc<dyn truce_store::IntakeQueue>,
    /// Whether this node holds the sequencer's role now.
    pub sequencing: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// The state for `engine` with the default limits.
    pub fn new(engine: Arc<Engine>, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            engine,
            limits: ParseLimits::default(),
            shutdown,
            guard: Arc::default(),
            status: Arc::default(),
            node: None,
            https: false,
        }
    }
}

/// The router of the whole API.
pub fn app(state: AppState) -> Router {
    // One byte over the limit lets the handler tell "too large" itself, with the contract's body.
    let body_limit = state.limits.max_bytes + 1;
    // Members only: a valid token, then each handler checks the role.
    let members = Router::new()
        .route("/api/agreement", get(handlers::agreement))
        .route("/api/observations", post(handlers::submit))
        .route("/api/observations/{id}", get(handlers::observation))
        .route("/api/incidents", get(handlers::incidents))
        .route("/api/incidents/{id}", get(handlers::incident))
        .route("/api/incidents/{id}/assessments", post(members::assess))
        .route("/api/incidents/{id}/annotations", post(members::annotate))
        .route("/api/incidents/{id}/merge", post(members::merge))
        .route("/api/incidents/{id}/split", post(members::split))
        .route("/api/events", get(events::stream))
        .route("/api/me", get(members::me))
        .route("/api/status", get(status::status))
        .route("/api/tracks", get(tracks::tracks))
        .route("/api/coverage", get(coverage::coverage_layer))
        .route(
            "/api/evidence",
            post(evidence::hand_in).layer(DefaultBodyLimit::max(evidence::BODY_LIMIT)),
        )
        .route("/api/evidence/{sha256}", get(evidence::file))
        .route("/api/evidence/{sha256}/custody", get(evidence::custody))
        .route("/api/export", get(export::export))
        .route("/api/imports", post(import::import))
        .route("/api/reports/daily", get(report::daily).post(report::issue))
        .route("/api/users", get(members::list).post(members::add))
        .route("/api/users/{user}/revoke", post(members::revoke))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_member,
        ));
    // Public: health, the API's description, and the ledger, which anyone may audit. A
    // cosignature needs no token: its signature by the monitor's witness key is the credential.
    Router::new()
        .route("/", get(dashboard::index))
        .route("/app.js", get(dashboard::app_js))
        .route("/sw.js", get(dashboard::sw_js))
        .route("/app.css", get(dashboard::app_css))
        .route("/countries.json", get(dashboard::countries))
        .route("/healthz", get(handlers::healthz))
        .route("/api/openapi.json", get(handlers::openapi))
        .route("/api/ledger", get(ledger::status))
        .route("/api/ledger/keys", get(ledger::keys))
        .route("/api/ledger/proof", get(ledger::proof))
        .route("/api/ledger/consistency", get(ledger::consistency))
        .route("/api/ledger/cosignatures", post(ledger::cosign))
        .route("/checkpoint", get(ledger::checkpoint))
        .route("/tile/{*path}", get(ledger::tile))
        .route("/agreed/checkpoint", get(ledger::agreed_checkpoint))
        .route("/agreed/tile/{*path}", get(ledger::tile))
        .merge(members)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(error::reads_answer_as_reads))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
