//! Security headers on every response: a Content Security Policy the dashboard passes (only
//! its own scripts; MapLibre's worker starts from a `blob:` URL; inline styles for the report,
//! which the dashboard opens from a `blob:` URL and which therefore inherits the page's policy),
//! no MIME sniffing, no referrer, no framing, and HSTS when served over HTTPS.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of every response. `'unsafe-inline'` is for styles only: the daily report
/// carries its stylesheet inside the file so that a saved report is one self-contained
/// document; no script runs but the dashboard's own `app.js` and MapLibre's worker.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    worker-src 'self' blob:; child-src 'self' blob:; img-src 'self' data: blob:; \
    style-src 'self' 'unsafe-inline'; font-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One year, this host only (a mission's other services on sibling names are not forced to
/// HTTPS by it): sent only when the server itself speaks HTTPS.
const HSTS: &str = "max-age=31536000";

/// Middleware: sets the security headers on the response, keeping any a handler set itself.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), payment=(), usb=()",
        ),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if state.https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
    response
}
