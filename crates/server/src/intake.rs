//! Several nodes, one sequencer (PostgreSQL): any node validates a submission and commits it to
//! the intake queue, which is its acknowledgement; the node that holds the sequencer's role
//! takes the queue in commit order (two items under way at once), records each item and writes its answer in the same
//! transaction; the node that took the item waits for that answer and gives it to the client
//! unchanged, or, if the sequencer is slow or changing hands, answers 202 with the item's
//! number: committed, to be sequenced.

use crate::AppError;
use axum::http::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use truce_core::Timestamp;
use truce_core::intake::{ParseLimits, parse_observations};
use truce_engine::Engine;
use truce_store::{IntakeQueue, IntakeSettle, PendingIntake, StoreError};

/// How long the node that took a submission waits for the sequencer's answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// Items taken from the queue at a time.
const TAKE: u32 = 64;

/// Items under way at once in a drain: one fuses while the one before it commits.
const DRAIN_WORKERS: usize = 2;

/// How long one drain takes items before it returns, so the sequencer renews its lease.
const DRAIN_BUDGET: Duration = Duration::from_secs(1);

/// Sequencers that may take up one item before it is answered as failed: an item that makes
/// the sequencer fail (or panic) every time must not block the queue behind it for ever.
pub const MAX_ATTEMPTS: u32 = 3;

/// Sequences the pending items of `queue` in about commit order: each is parsed as it was
/// received (against the time it was received, so it validates as it did then), recorded by
/// `engine` and answered. [`DRAIN_WORKERS`] items are under way at once, so one fuses while the
/// one before it commits; two items taken together may be recorded in either order. When an
/// item pending was taken up before and not answered (a sequencer died on it), items go one at
/// a time, so only the item at fault is charged its attempts. Answers how many items were
/// answered. Stops at the first item it could not answer for a reason of its own (the role
/// lost, the store failing): that item stays pending for whoever sequences next. A panic
/// stops the other worker and goes on to the caller, as it would without workers.
pub fn drain(
    engine: &Engine,
    queue: &dyn IntakeQueue,
    limits: &ParseLimits,
) -> Result<usize, StoreError> {
    let items = queue.pending(TAKE)?;
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let answered = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let work = || -> Result<(), StoreError> {
        let _stop_on_panic = StopOnPanic(&stop);
        while !stop.load(Ordering::Acquire) && started.elapsed() <= DRAIN_BUDGET {
            let Some(item) = items.get(next.fetch_add(1, Ordering::AcqRel)) else {
                break;
            };
            if let Err(e) = answer(engine, queue, limits, item) {
                stop.store(true, Ordering::Release);
                return Err(e);
            }
            answered.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    };
    let suspect = items.iter().any(|item| item.attempts > 0);
    let workers = if suspect || items.len() < 2 {
        1
    } else {
        DRAIN_WORKERS
    };
    let outcomes: Vec<Result<(), StoreError>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut outcomes = vec![work()];
        for helper in helpers {
            match helper.join() {
                Ok(outcome) => outcomes.push(outcome),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        outcomes
    });
    match outcomes.into_iter().find_map(Result::err) {
        Some(e) => Err(e),
        None => Ok(answered.load(Ordering::Acquire)),
    }
}

/// Sets the flag when dropped by a panic unwinding: the other worker stops taking items.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Records intake item `item` and answers it.
fn answer(
    engine: &Engine,
    queue: &dyn IntakeQueue,
    limits: &ParseLimits,
    item: &PendingIntake,
) -> Result<(), StoreError> {
    if queue.attempt(item.id)? > MAX_ATTEMPTS {
        tracing::error!(
            item = item.id,
            "an intake item failed {MAX_ATTEMPTS} sequencers"
        );
        let failed = AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "the sequencer failed on this submission {MAX_ATTEMPTS} times; nothing from \
                 it was recorded"
            ),
        );
        queue.settle(&IntakeSettle {
            id: item.id,
            status: failed.status.as_u16(),
            outcome: failed.body().to_string(),
        })?;
        return Ok(());
    }
    // The member may have been revoked since the node took the submission.
    let member = engine.store().member(&item.member)?;
    if !member.is_some_and(|m| m.active && m.role == truce_core::access::Role::Observer) {
        let refused = AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} is no longer an active observer", item.member),
        );
        queue.settle(&IntakeSettle {
            id: item.id,
            status: refused.status.as_u16(),
            outcome: refused.body().to_string(),
        })?;
        return Ok(());
    }
    let received = Timestamp::from_unix_nanos(i128::from(item.received_ns))
        .ok_or_else(|| StoreError::Corrupt(format!("intake item {}: time", item.id)))?;
    let is_array = item.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let outcome = parse_observations(&item.body, limits, received)
        .map_err(AppError::from)
        .and_then(|batch| {
            engine
                .submit_settling(batch, received, Some(item.id))
                .map_err(|e| {
                    let mut error = AppError::from(e);
                    if !is_array {
                        error.index = None;
                    }
                    error
                })
        });
    let settle = match outcome {
        // Answered in the transaction that recorded it.
        Ok(done) if done.new > 0 => None,
        Ok(done) => Some(IntakeSettle {
            id: item.id,
            status: 200,
            outcome: json!({ "accepted": done.accepted }).to_string(),
        }),
        Err(e) if e.status.is_server_error() => {
            return Err(StoreError::Fenced(format!(
                "intake item {} left pending: {}",
                item.id, e.message
            )));
        }
        Err(e) => Some(IntakeSettle {
            id: item.id,
            status: e.status.as_u16(),
            outcome: e.body().to_string(),
        }),
    };
    if let Some(s) = settle {
        queue.settle(&s)?;
    }
    Ok(())
}

/// The answer to a submission committed as intake item `id` that the sequencer has not
/// answered within [`ANSWER_WAIT`].
pub fn queued(id: u64) -> (StatusCode, serde_json::Value) {
    (
        StatusCode::ACCEPTED,
        json!({
            "queued": id,
            "message": "committed to the intake queue, not yet recorded; the sequencer's own \
                        checks may still refuse it: send it again with the same client ids to \
                        learn its outcome"
        }),
    )
}
