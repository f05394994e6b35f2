//! A listener's write on a node of several (a TAK client's report or track point, an MQTT
//! sensor's detections): committed to the intake queue in PostgreSQL (the node's
//! acknowledgement), recorded by whichever node sequences, and its answer read back, as an
//! HTTP submission's is.

use crate::MemberWrite;
use std::sync::Arc;
use std::time::{Duration, Instant};
use truce_core::Timestamp;
use truce_store::{IntakeQueue, IntakeRequest};

/// How long a node waits for the sequencer's answer to an item it committed, before it
/// answers that the item is queued.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// How often it looks for the answer.
const POLL: Duration = Duration::from_millis(5);

/// What became of a write sent through the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    /// The sequencer's answer: HTTP status and JSON body, as the API gives them.
    Answered(u16, serde_json::Value),
    /// Committed as this intake item, not answered within [`ANSWER_WAIT`]: the sequencer will
    /// record it (or refuse it by its own checks) when it gets to it.
    Waiting(u64),
    /// Not committed: the queue could not be written (nothing was recorded).
    Failed(String),
}

/// Commits `write` by `member` to `queue` and waits for the sequencer's answer.
pub async fn through_queue(
    queue: Arc<dyn IntakeQueue>,
    member: &str,
    write: &MemberWrite,
) -> Queued {
    let body = match serde_json::to_vec(write) {
        Ok(b) => b,
        Err(e) => return Queued::Failed(format!("the write could not be encoded: {e}")),
    };
    let (q, who) = (queue.clone(), member.to_string());
    let put = tokio::task::spawn_blocking(move || {
        q.put(IntakeRequest::Write, &who, &body, Timestamp::now())
    })
    .await;
    let id = match put {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return Queued::Failed(e.to_string()),
        Err(e) => return Queued::Failed(format!("the queue write did not finish: {e}")),
    };
    match answer_to(queue, id).await {
        Some((status, body)) => Queued::Answered(
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        ),
        None => Queued::Waiting(id),
    }
}

/// The sequencer's answer to intake item `id` (HTTP status and JSON text), or `None` when
/// [`ANSWER_WAIT`] passed without one. The item is committed already: a failed read of the
/// answer is logged and read again, never reported as the write's failure (sent again, a
/// write would be recorded twice).
pub async fn answer_to(queue: Arc<dyn IntakeQueue>, id: u64) -> Option<(u16, String)> {
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        let q = queue.clone();
        match tokio::task::spawn_blocking(move || q.outcome(id)).await {
            Ok(Ok(Some(answer))) => return Some(answer),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(item = id, "reading a queued answer: {e}"),
            Err(e) => tracing::warn!(item = id, "reading a queued answer: {e}"),
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The `error` object's field and message of an answer's body (empty when absent).
pub fn error_of(body: &serde_json::Value) -> (String, String) {
    let text = |key: &str| {
        body["error"][key]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default()
    };
    (text("field"), text("message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_gives_its_field_and_message() {
        let body = serde_json::json!({"error": {"code": "invalid", "field": "geometry.lat",
            "message": "must be within ±90", "index": null}});
        assert_eq!(
            error_of(&body),
            ("geometry.lat".to_string(), "must be within ±90".to_string())
        );
        assert_eq!(
            error_of(&serde_json::Value::Null),
            (String::new(), String::new())
        );
    }
}
