//! The shared record over HTTP: the latest checkpoint with its cosignatures (`/checkpoint`), the
//! C2SP tlog-tiles layout (`/tile/…`), offline inclusion proofs, consistency proofs and the
//! ledger's status. These reads are public: an outside auditor needs no account.

use crate::AppState;
use crate::blocking;
use crate::error::AppError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use truce_engine::{Anchor, EngineError};
use truce_ledger::tiles::{TILE_WIDTH, TilePath, parse_tile_path};

fn ledger_error(e: EngineError) -> AppError {
    match e {
        EngineError::Ledger(message) => {
            AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message)
        }
        other => AppError::from(other),
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// `GET /checkpoint`: the latest checkpoint, signed by the center, with every cosignature
/// collected so far.
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let engine = state.engine.clone();
    let latest = blocking(move || Ok(engine.store().latest_checkpoint()?)).await?;
    let cp = latest.ok_or_else(|| AppError::not_found("no checkpoint has been signed yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        cp.cosigned_note(),
    )
        .into_response())
}

/// `GET /agreed/checkpoint`: the latest checkpoint every monitor's witness has cosigned, with
/// all its cosignatures; 404 until there is one. With `/agreed/tile/…` serving the same tiles as
/// `/tile/…`, `/agreed/` is a tlog-tiles prefix whose checkpoint every monitor has vouched for.
pub async fn agreed_checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let engine = state.engine.clone();
    let agreed = blocking(move || engine.agreed_checkpoint().map_err(ledger_error)).await?;
    let cp = agreed.ok_or_else(|| {
        AppError::not_found("no checkpoint has been cosigned by every monitor's witness yet")
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        cp.cosigned_note(),
    )
        .into_response())
}

/// `GET /tile/{*path}`: hash tiles and entry bundles of the checkpointed tree.
pub async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
) -> Result<Response, AppError> {
    let path = format!("tile/{rest}");
    let tile = parse_tile_path(&path).ok_or_else(|| {
        AppError::not_found(format!(
            "{path:?} is not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])"
        ))
    })?;
    let engine = state.engine.clone();
    let data = blocking(move || engine.tile(tile).map_err(ledger_error))
        .await?
        .ok_or_else(|| AppError::not_found(format!("{path} is beyond the latest checkpoint")))?;
    let full = match tile {
        TilePath::Hashes { width, .. } | TilePath::Entries { width, .. } => {
            u64::from(width) == TILE_WIDTH
        }
    };
    // A full tile never changes; a partial one is replaced by a wider one as the log grows.
    let cache = if full {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=1"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        data,
    )
        .into_response())
}

/// `GET /api/ledger`: size, root, latest and agreed checkpoints, witnesses and their lag.
pub async fn status(State(state): State<AppState>) -> Result<Response, AppError> {
    let engine = state.engine.clone();
    let status = blocking(move || engine.ledger_status().map_err(ledger_error)).await?;
    Ok(Json(status).into_response())
}

/// `GET /api/ledger/keys`: the agreement's ledger keys (origin, the center's checkpoint key,
/// each monitor's witness and assessment keys) — public, so witnesses and auditors need no
/// member's token to learn what to verify with. 404 when the agreement lists none.
pub async fn keys(State(state): State<AppState>) -> Result<Response, AppError> {
    match &state.engine.agreement().doc.ledger {
        Some(ledger) => Ok(Json(ledger).into_response()),
        None => Err(AppError::not_found("the agreement lists no ledger keys")),
    }
}

fn number(params: &[(String, String)], key: &str) -> Result<Option<u64>, AppError> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| {
            v.parse::<u64>()
                .map_err(|_| AppError::invalid(key, format!("{v:?} is not a whole number")))
        })
        .transpose()
}

fn only_known(params: &[(String, String)], known: &[&str]) -> Result<(), AppError> {
    match params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(AppError::invalid(
            k,
            format!("unknown parameter; use {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// `GET /api/ledger/proof?index=N[&anchor=agreed|latest]`: a C2SP tlog-proof of entry N.
pub async fn proof(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    only_known(&params, &["index", "anchor"])?;
    let index = number(&params, "index")?
        .ok_or_else(|| AppError::invalid("index", "is required: the entry's zero-based index"))?;
    let anchor = match params
        .iter()
        .find(|(k, _)| k == "anchor")
        .map(|(_, v)| v.as_str())
    {
        None | Some("agreed") => Anchor::Agreed,
        Some("latest") => Anchor::Latest,
        Some(other) => {
            return Err(AppError::invalid(
                "anchor",
                format!("{other:?} is not agreed or latest"),
            ));
        }
    };
    let engine = state.engine.clone();
    let proof = blocking(move || engine.inclusion_proof(index, anchor).map_err(ledger_error))
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no {} checkpoint includes entry {index} yet",
                if anchor == Anchor::Agreed {
                    "agreed"
                } else {
                    "signed"
                }
            ))
        })?;
    Ok(([(header::CONTENT_TYPE, TEXT)], proof.to_text()).into_response())
}

/// `GET /api/ledger/consistency?old=&new=`: the RFC 9162 consistency proof between two sizes.
pub async fn consistency(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    only_known(&params, &["old", "new"])?;
    let old = number(&params, "old")?.ok_or_else(|| AppError::invalid("old", "is required"))?;
    let new = number(&params, "new")?.ok_or_else(|| AppError::invalid("new", "is required"))?;
    let engine = state.engine.clone();
    let (old_root, new_root, proof) =
        blocking(move || engine.consistency_proof(old, new).map_err(ledger_error)).await?;
    Ok(Json(json!({
        "old": old,
        "new": new,
        "old_root": B64.encode(old_root.0),
        "new_root": B64.encode(new_root.0),
        "proof": proof.iter().map(|h| B64.encode(h.0)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// A witness's cosignature, as `POST /api/ledger/cosignatures` takes it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignatureBody {
    /// The monitor whose witness signed.
    pub monitor: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The signature line (`— name base64`).
    pub line: String,
}

/// `POST /api/ledger/cosignatures`: a witness hands in its cosignature. The signature is the
/// authentication: it is kept only if it verifies with that monitor's witness key from the
/// agreement over the center's checkpoint of that size.
pub async fn cosign(
    State(state): State<AppState>,
    body: Result<Json<CosignatureBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) =
        body.map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()))?;
    if body.line.chars().count() > 1024 {
        return Err(AppError::invalid("line", "at most 1,024 characters"));
    }
    if body.monitor.chars().count() > 128 {
        return Err(AppError::invalid("monitor", "at most 128 characters"));
    }
    let engine = state.engine.clone();
    blocking(move || {
        engine
            .add_cosignature(&body.monitor, body.size, &body.line)
            .map_err(ledger_error)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
