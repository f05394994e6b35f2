//! Several nodes, one sequencer (PostgreSQL): any node validates a submission and commits it to
//! the intake queue, which is its acknowledgement; the node that holds the sequencer's role
//! takes the queue in commit order (two items under way at once, one at a time around a
//! membership change), records each item and writes its answer in the same transaction; the
//! node that took the item waits for that answer and gives it to the client unchanged, or, if
//! the sequencer is slow or changing hands, answers 202 with the item's number: committed, to
//! be sequenced.

use crate::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use truce_core::Timestamp;
use truce_core::intake::{ParseLimits, parse_observations};
use truce_engine::MemberWrite;
use truce_engine::{Engine, EngineError};
use truce_store::{IntakeQueue, IntakeRequest, IntakeSettle, PendingIntake, StoreError};

/// How long the node that took a submission waits for the sequencer's answer.
pub use truce_engine::queued::ANSWER_WAIT;

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
/// one before it commits; two reports taken together may be recorded in either order. When an
/// item pending was taken up before and not answered (a sequencer died on it), items go one at
/// a time, so only the item at fault is charged its attempts; and so they do when a member is
/// admitted or revoked among them, so that change is recorded in its place. Answers how many
/// items were answered. Stops at the first item it could not answer: that item stays pending
/// for whoever sequences next. When the reason is not the item's (the role lost, the store
/// failing) its attempt is taken back (or, with the database away, owed in `owed`: the
/// item's next try here is not charged); otherwise the attempt counts towards
/// [`MAX_ATTEMPTS`]. A panic stops the other worker and goes on to the caller, as it would
/// without workers.
pub fn drain(
    engine: &Engine,
    queue: &dyn IntakeQueue,
    limits: &ParseLimits,
    owed: &ChargesOwed,
) -> Result<usize, DrainError> {
    let items = queue.pending(TAKE)?;
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let answered = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let work = || -> Result<(), DrainError> {
        let _stop_on_panic = StopOnPanic(&stop);
        while !stop.load(Ordering::Acquire) && started.elapsed() <= DRAIN_BUDGET {
            let Some(item) = items.get(next.fetch_add(1, Ordering::AcqRel)) else {
                break;
            };
            if let Err(e) = answer(engine, queue, limits, item, owed) {
                stop.store(true, Ordering::Release);
                return Err(e);
            }
            answered.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    };
    let suspect = items.iter().any(|item| item.attempts > 0);
    // A membership change alters what the items after it mean (a member revoked, then
    // admitted again; a revocation, then that member's reports): in their order, one at a time.
    let membership = items.iter().any(changes_membership);
    let workers = if suspect || membership || items.len() < 2 {
        1
    } else {
        DRAIN_WORKERS
    };
    let outcomes: Vec<Result<(), DrainError>> = std::thread::scope(|scope| {
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

/// Why a drain stopped before the queue was empty: the item it names, or the next, stays
/// pending.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The queue or the record could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sequencer could not record the item for a reason of its own (the evidence folder
    /// unusable, an internal error), not the submission's.
    #[error("intake item {item} left pending: {message}")]
    Item {
        /// The item's number.
        item: u64,
        /// Why.
        message: String,
    },
}

impl DrainError {
    /// Whether the drain stopped on a fault of the storage beneath the record (a full disk,
    /// writes refused, the database busy or away) that clears without the sequencer changing:
    /// the sequencer keeps its role and tries again shortly.
    pub fn is_storage_fault(&self) -> bool {
        match self {
            DrainError::Store(e) => {
                e.storage_fault().is_some()
                    || matches!(e, StoreError::Busy(_) | StoreError::Unreachable(_))
            }
            DrainError::Item { .. } => false,
        }
    }
}

/// Whether `item` admits or revokes a member (a change that must keep its place in the order).
fn changes_membership(item: &PendingIntake) -> bool {
    item.request == IntakeRequest::Write
        && matches!(
            serde_json::from_slice::<MemberWrite>(&item.body),
            Ok(MemberWrite::AddMember { .. } | MemberWrite::Revoke { .. })
        )
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

/// Attempts counted at items whose try ended in a fault not of the item (the database away,
/// the role lost) and could not be taken back then. The item's next try by this process is
/// not charged again: what fails an item is [`MAX_ATTEMPTS`] tries that died on it or
/// failed by its own fault, not a database restart that outlasted three tries.
#[derive(Debug, Default)]
pub struct ChargesOwed(Mutex<HashSet<u64>>);

/// Items owed at most: past this, the oldest debts are forgotten (each at worst counts one
/// attempt too many), so a queue answered elsewhere cannot grow the set for ever.
const MOST_OWED: usize = 4096;

impl ChargesOwed {
    /// Records that item `id` was charged for a try that was not its fault.
    fn owe(&self, id: u64) {
        let mut owed = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if owed.len() >= MOST_OWED {
            owed.clear();
        }
        owed.insert(id);
    }

    /// Whether item `id`'s next try is already paid for (the debt is then settled).
    fn settle(&self, id: u64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
    }
}

/// Records intake item `item` and answers it. Its attempt is counted first (so a sequencer
/// that dies on it has charged it), and taken back when the try ends in a fault that is not
/// the item's: the database away or refusing writes, or the sequencer's role lost.
fn answer(
    engine: &Engine,
    queue: &dyn IntakeQueue,
    limits: &ParseLimits,
    item: &PendingIntake,
    owed: &ChargesOwed,
) -> Result<(), DrainError> {
    let was_owed = owed.settle(item.id);
    let attempts = if was_owed {
        item.attempts
    } else {
        match queue.attempt(item.id) {
            Ok(attempts) => attempts,
            Err(e) => {
                // The count may have been committed with its reply lost: owed, so this
                // process does not charge the next try (at worst one try goes uncounted).
                if is_blameless(&e) {
                    owed.owe(item.id);
                }
                return Err(e.into());
            }
        }
    };
    match try_item(engine, queue, limits, item, attempts) {
        Ok(()) => Ok(()),
        Err(Unanswered { error, blameless }) => {
            if blameless {
                if was_owed {
                    // This try made no charge: the one owed still covers the next.
                    owed.owe(item.id);
                } else if let Err(e) = queue.release(item.id) {
                    tracing::warn!(item = item.id, "its attempt is owed back: {e}");
                    owed.owe(item.id);
                }
            }
            Err(error)
        }
    }
}

/// Why an item was left pending.
struct Unanswered {
    /// What failed.
    error: DrainError,
    /// Whether the fault is the store's or the role's, not the item's.
    blameless: bool,
}

impl From<StoreError> for Unanswered {
    fn from(error: StoreError) -> Self {
        let blameless = is_blameless(&error);
        Unanswered {
            error: error.into(),
            blameless,
        }
    }
}

/// Whether `error` is a fault of the store or of the sequencer's role, not of an item.
fn is_blameless(error: &StoreError) -> bool {
    error.storage_fault().is_some()
        || matches!(
            error,
            StoreError::Fenced(_)
                | StoreError::Busy(_)
                | StoreError::Moved(_)
                | StoreError::InUse(_)
                | StoreError::ReadOnly(_)
                | StoreError::Unreachable(_)
        )
}

/// Records intake item `item`, at its `attempts`-th attempt, and answers it.
fn try_item(
    engine: &Engine,
    queue: &dyn IntakeQueue,
    limits: &ParseLimits,
    item: &PendingIntake,
    attempts: u32,
) -> Result<(), Unanswered> {
    if attempts > MAX_ATTEMPTS {
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
        queue.settle(&settling(item, &failed))?;
        return Ok(());
    }
    let received = Timestamp::from_unix_nanos(i128::from(item.received_ns))
        .ok_or_else(|| StoreError::Corrupt(format!("intake item {}: time", item.id)))?;
    let outcome = match item.request {
        IntakeRequest::Observations => record_observations(engine, limits, item, received)?,
        IntakeRequest::Write => record_write(engine, item, received)?,
    };
    match outcome {
        // Answered in the transaction that recorded it.
        Answer::Recorded => {}
        Answer::Settle(s) => queue.settle(&s)?,
        // Unavailable (503) is the server's (the evidence folder); any other server error
        // may be the item's, and counts.
        Answer::Refused(e) if e.status.is_server_error() => {
            return Err(Unanswered {
                error: DrainError::Item {
                    item: item.id,
                    message: e.message,
                },
                blameless: e.status == StatusCode::SERVICE_UNAVAILABLE,
            });
        }
        Answer::Refused(e) => queue.settle(&settling(item, &e))?,
    }
    Ok(())
}

/// How an intake item was answered, or is to be.
enum Answer {
    /// Its answer was recorded with its entries.
    Recorded,
    /// Nothing new to record: this answer.
    Settle(IntakeSettle),
    /// Refused: a client's error is its answer; a server's leaves the item pending.
    Refused(AppError),
}

/// `error` as item `item`'s answer.
fn settling(item: &PendingIntake, error: &AppError) -> IntakeSettle {
    IntakeSettle {
        id: item.id,
        status: error.status.as_u16(),
        outcome: error.body().to_string(),
    }
}

/// Records the observations item `item` submitted, as they validated when received.
fn record_observations(
    engine: &Engine,
    limits: &ParseLimits,
    item: &PendingIntake,
    received: Timestamp,
) -> Result<Answer, StoreError> {
    // The member may have been revoked since the node took the submission.
    let member = engine
        .member_as_recorded(&item.member)
        .map_err(store_fault)?;
    if member.is_none_or(|m| m.role != truce_core::access::Role::Observer) {
        return Ok(Answer::Refused(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} is no longer an active observer", item.member),
        )));
    }
    let is_array = item.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let batch = match parse_observations(&item.body, limits, received) {
        Ok(batch) => batch,
        Err(e) => return Ok(Answer::Refused(AppError::from(e))),
    };
    let done = match engine.submit_settling(batch, received, Some(item.id)) {
        Ok(done) => done,
        // The store's own error: it tells what failed, and whether the item is to blame.
        Err(EngineError::Store(e)) => return Err(e),
        Err(e) => {
            let mut error = AppError::from(e);
            if !is_array {
                error.index = None;
            }
            return Ok(Answer::Refused(error));
        }
    };
    Ok(if done.new > 0 {
        Answer::Recorded
    } else {
        Answer::Settle(IntakeSettle {
            id: item.id,
            status: 200,
            outcome: json!({ "accepted": done.accepted }).to_string(),
        })
    })
}

/// An engine error met while reading who the member is: the item stays pending.
fn store_fault(e: EngineError) -> StoreError {
    match e {
        EngineError::Store(e) => e,
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// Records the member's write item `item` carries, by the member as they stand now (revoked
/// since, or their role changed: refused as on the one server), at the time it was received.
fn record_write(
    engine: &Engine,
    item: &PendingIntake,
    received: Timestamp,
) -> Result<Answer, StoreError> {
    // As their membership entry records them: a role put in the database acts for no one.
    let Some(caller) = engine
        .member_as_recorded(&item.member)
        .map_err(store_fault)?
    else {
        return Ok(Answer::Refused(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} is no longer an active member", item.member),
        )));
    };
    let write: MemberWrite = match serde_json::from_slice(&item.body) {
        Ok(w) => w,
        Err(e) => {
            // Only a node of another build could queue this.
            return Ok(Answer::Refused(AppError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the queued write could not be read by the sequencer: {e}"),
            )));
        }
    };
    Ok(
        match engine.perform(&caller, &write, received, Some(item.id)) {
            Ok(written) if written.settled => Answer::Recorded,
            // Nothing recorded (reports or a hand-in already in the record): answered now.
            Ok(written) => Answer::Settle(written.settling(item.id)),
            Err(EngineError::Store(e)) => return Err(e),
            Err(e) => Answer::Refused(AppError::from(e)),
        },
    )
}

/// The sequencer's answer to intake item `id`, which this node committed, as the API gives
/// it; or 202 with the item's number once [`ANSWER_WAIT`] has passed without one.
pub async fn await_answer(
    node: &crate::Node,
    id: u64,
    request: IntakeRequest,
) -> Result<Response, AppError> {
    match await_outcome(node, id).await {
        Some((status, answer)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok((status, [(header::CONTENT_TYPE, "application/json")], answer).into_response())
        }
        None => {
            let (status, answer) = queued(id, request);
            Ok((status, Json(answer)).into_response())
        }
    }
}

/// The sequencer's answer to intake item `id` (HTTP status and JSON text), or `None` when
/// [`ANSWER_WAIT`] passed without one (see [`truce_engine::queued::answer_to`]).
pub async fn await_outcome(node: &crate::Node, id: u64) -> Option<(u16, String)> {
    truce_engine::queued::answer_to(node.intake.clone(), id).await
}

/// The answer to a request committed as intake item `id` that the sequencer has not
/// answered within [`ANSWER_WAIT`].
pub fn queued(id: u64, request: IntakeRequest) -> (StatusCode, serde_json::Value) {
    let then = match request {
        IntakeRequest::Observations => {
            "send it again with the same client ids to learn its outcome (observations without \
             a client_id would be recorded again: read the incidents to see them recorded)"
        }
        IntakeRequest::Write => {
            "read the incident (or import the file or hand the evidence in again: what is \
             recorded is recognised; or read the record's entries for an issued report) to see \
             it recorded; do not send a verdict, note, merge, split or report issue again, or \
             it is recorded twice"
        }
    };
    (
        StatusCode::ACCEPTED,
        json!({
            "queued": id,
            "message": format!(
                "committed to the intake queue, not yet recorded; the sequencer's own checks may \
                 still refuse it: {then}"
            ),
        }),
    )
}
