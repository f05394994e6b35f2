//! Who is calling: every endpoint but `/healthz`, the API description and the ledger's public
//! reads needs `Authorization: Bearer <token>` (or `?access_token=`, for clients that cannot
//! send a header, such as a browser's event stream). No token or a wrong one is 401; a client whose tokens
//! fail too often is held off with 429 (and `Retry-After`) for a minute.

use crate::AppState;
use crate::error::AppError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use truce_core::access::Role;
use truce_engine::Caller;

/// Failed attempts one client may make per window.
pub const MAX_FAILURES: usize = 10;
/// The window failed attempts are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Recent failed attempts, per client address, and how many a window allows.
#[derive(Debug)]
pub struct Guard {
    failures: Mutex<HashMap<Option<IpAddr>, Vec<Instant>>>,
    limit: usize,
}

impl Default for Guard {
    fn default() -> Self {
        Self::with_limit(MAX_FAILURES)
    }
}

impl Guard {
    /// A guard that holds a client off after `limit` failed sign-ins in a window (at least 1).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            failures: Mutex::default(),
            limit: limit.max(1),
        }
    }

    /// Failed sign-ins a client may make per window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn blocked(&self, client: Option<IpAddr>) -> bool {
        let mut map = lock(&self.failures);
        let Some(list) = map.get_mut(&client) else {
            return false;
        };
        list.retain(|t| t.elapsed() < FAILURE_WINDOW);
        let blocked = list.len() >= self.limit;
        if list.is_empty() {
            // Only clients with recent failures are remembered.
            map.remove(&client);
        }
        blocked
    }

    fn failed(&self, client: Option<IpAddr>) {
        lock(&self.failures)
            .entry(client)
            .or_default()
            .push(Instant::now());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Middleware: authenticates the request and hands the [`Caller`] to the handler as an
/// extension; answers 401 or 429 itself.
pub async fn require_member(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(token) = token_of(&request) else {
        return Err(unauthorized(
            "no token: send Authorization: Bearer <token> (truce user add prints one)",
        ));
    };
    // Only requests that try a token are held off (a request without one guesses nothing),
    // and all of them while the client is held off: each check costs an argon2 hash.
    if state.guard.blocked(client) {
        let mut response = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "{} failed sign-ins in {} s from this address; wait a minute",
                state.guard.limit(),
                FAILURE_WINDOW.as_secs()
            ),
        )
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(FAILURE_WINDOW.as_secs()),
        );
        return Ok(response);
    }
    let engine = state.engine.clone();
    let caller = tokio::task::spawn_blocking(move || engine.authenticate(&token))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::from)?;
    let Some(caller) = caller else {
        state.guard.failed(client);
        return Err(unauthorized("the token is not an active member's"));
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

fn token_of(request: &Request) -> Option<String> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        return text
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
    }
    request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("access_token="))
            .map(str::to_string)
    })
}

fn unauthorized(message: &str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// 403 unless the caller has one of `roles`.
pub fn require_role(caller: &Caller, roles: &[Role], what: &str) -> Result<(), AppError> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} is {}; {what} needs {}",
                caller.user,
                caller.role.as_str(),
                allowed.join(" or ")
            ),
        ))
    }
}
