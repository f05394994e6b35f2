//! The dashboard's files, built from `web/` by `build.rs` and embedded in the binary: served
//! at `/`, `/app.js`, `/sw.js`, `/app.css` and `/countries.json` without a token (they hold no data; the
//! page asks for a member's token before it reads any).

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!(concat!(env!("OUT_DIR"), "/web/index.html"));
const APP_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/app.js"));
const SW_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/sw.js"));
const APP_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/app.css"));
const COUNTRIES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/countries.json"));

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the dashboard page.
pub async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX.as_bytes())
}

/// `GET /app.js`: the dashboard's script (TypeScript and MapLibre GL, bundled).
pub async fn app_js() -> Response {
    file("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /sw.js`: the service worker that keeps the page for use without a network.
pub async fn sw_js() -> Response {
    file("text/javascript; charset=utf-8", SW_JS)
}

/// `GET /app.css`: the dashboard's styles.
pub async fn app_css() -> Response {
    file("text/css; charset=utf-8", APP_CSS)
}

/// `GET /countries.json`: Natural Earth 1:50m country outlines (world-atlas), as GeoJSON.
pub async fn countries() -> Response {
    file("application/geo+json", COUNTRIES)
}
