//! `GET /api/events`: server-sent events, one `incident` event per committed revision.
//!
//! A subscriber that falls more than the engine's buffer behind gets a `lagged` event with the
//! number of events it missed and should re-read `/api/incidents`. Streams end when the server
//! shuts down, so a graceful stop is never held open by a dashboard.

use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// The event stream.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.engine.subscribe();
    let shutdown = state.shutdown.clone();
    let events = stream::unfold((rx, shutdown), |(mut rx, mut shutdown)| async move {
        if *shutdown.borrow() {
            return None;
        }
        let event = tokio::select! {
            received = rx.recv() => match received {
                Ok(ev) => Event::default()
                    .event("incident")
                    .id(format!("{}", ev.entry_index))
                    .json_data(&*ev)
                    .unwrap_or_else(|_| Event::default().event("error")),
                Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
                Err(RecvError::Closed) => return None,
            },
            _ = shutdown.changed() => return None,
        };
        Some((Ok(event), (rx, shutdown)))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
