//! The order in which sequenced batches are committed, so that fusing one batch overlaps the
//! store's commit of the one before it.
//!
//! A submission holds the sequencer lock while it numbers and fuses its batch, then takes its
//! **turn** (this module's lock) *before* it lets go of the sequencer lock, and appends holding
//! only its turn. Turns are therefore taken in the order batches were sequenced, and the record's
//! order is still the sequencer's order, while the next batch is already being fused.
//!
//! What that costs, and how it is paid:
//! - Memory may run ahead of the record by the batches waiting for their turn. If an append
//!   fails, every batch sequenced on top of it is **stale**: at its turn it appends nothing and
//!   starts over, and the fusion state is rebuilt from the store (holding both locks, so no
//!   append is under way) before anything is sequenced again.
//! - A client id in a batch not yet committed is **in flight**: a later batch repeating it waits
//!   for the commits before it, then finds it stored, so a resent item still gets its original
//!   ids and is never recorded twice.
//!
//! Lock order, everywhere: the sequencer lock, then a turn, then (briefly, nothing else taken
//! while held) the in-flight set.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// Turns, the generation below which sequenced state is stale, and the client ids in flight.
#[derive(Debug, Default)]
pub(crate) struct CommitOrder {
    turn: Mutex<()>,
    /// A batch sequenced in a generation below this must not be appended.
    stale_below: AtomicU64,
    in_flight: Mutex<HashSet<Uuid>>,
}

/// Holding it, this caller is the only one appending; every batch sequenced before it took its
/// turn has committed or failed.
pub(crate) type Turn<'a> = MutexGuard<'a, ()>;

/// A batch between fusion and its commit: memory is ahead of the record by it. Dropped without
/// [`Unrecorded::recorded`] — an error, or a panic unwinding — it makes its generation stale
/// *before* it gives up its turn, so no batch is ever appended on top of it, and the state is
/// rebuilt by the next caller that takes the sequencer lock. Its client ids leave the in-flight
/// set either way.
pub(crate) struct Unrecorded<'a> {
    order: &'a CommitOrder,
    generation: u64,
    held: Vec<Uuid>,
    turn: Option<Turn<'a>>,
    recorded: bool,
}

impl<'a> Unrecorded<'a> {
    /// A batch of `generation` about to change the state.
    pub(crate) fn new(order: &'a CommitOrder, generation: u64) -> Self {
        Self {
            order,
            generation,
            held: Vec::new(),
            turn: None,
            recorded: false,
        }
    }

    /// The batch's new client ids are in flight from now until it is dropped.
    pub(crate) fn hold(&mut self, ids: Vec<Uuid>) {
        if !ids.is_empty() {
            self.order.in_flight().extend(ids.iter().copied());
        }
        self.held = ids;
    }

    /// Waits for the batch's turn; the caller still holds the sequencer lock, so turns follow
    /// the sequencer's order.
    pub(crate) fn take_turn(&mut self) {
        self.turn = Some(self.order.turn());
    }

    /// Whether the state this batch was built on may no longer be appended.
    pub(crate) fn is_stale(&self) -> bool {
        self.order.is_stale(self.generation)
    }

    /// The batch is in the record (or, stale, was never appended and changed nothing the
    /// rebuild will not undo): nothing to mark.
    pub(crate) fn recorded(mut self) {
        self.recorded = true;
    }
}

impl Drop for Unrecorded<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.order.failed(self.generation);
        }
        self.order.release(&self.held);
        // Only now may the next batch take the turn.
        self.turn.take();
    }
}

impl CommitOrder {
    /// Waits for this caller's turn to append.
    pub(crate) fn turn(&self) -> Turn<'_> {
        // A panic while appending leaves the store's transaction rolled back: the turn is free.
        self.turn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether state sequenced in `generation` may no longer be appended.
    pub(crate) fn is_stale(&self, generation: u64) -> bool {
        generation < self.stale_below.load(Ordering::Acquire)
    }

    /// The generation a rebuilt state starts.
    pub(crate) fn current_generation(&self) -> u64 {
        self.stale_below.load(Ordering::Acquire)
    }

    /// An append of state sequenced in `generation` failed: that state, and everything sequenced
    /// on top of it, is stale.
    pub(crate) fn failed(&self, generation: u64) {
        self.stale_below
            .fetch_max(generation.saturating_add(1), Ordering::AcqRel);
    }

    fn in_flight(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether any of `ids` belongs to a batch not yet committed.
    pub(crate) fn any_in_flight(&self, ids: &[Uuid]) -> bool {
        if ids.is_empty() {
            return false;
        }
        let in_flight = self.in_flight();
        ids.iter().any(|id| in_flight.contains(id))
    }

    /// `ids` are committed or will never be.
    fn release(&self, ids: &[Uuid]) {
        if !ids.is_empty() {
            let mut in_flight = self.in_flight();
            for id in ids {
                in_flight.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_makes_its_generation_and_earlier_ones_stale_only() {
        let order = CommitOrder::default();
        assert!(!order.is_stale(0));
        order.failed(3);
        assert!(order.is_stale(3) && order.is_stale(0));
        assert!(!order.is_stale(4));
        assert_eq!(order.current_generation(), 4);
        order.failed(1);
        assert_eq!(
            order.current_generation(),
            4,
            "an older failure never lowers it"
        );
    }

    #[test]
    fn client_ids_are_in_flight_between_hold_and_release() {
        let order = CommitOrder::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut batch = Unrecorded::new(&order, 0);
        batch.hold(vec![a]);
        assert!(order.any_in_flight(&[b, a]));
        assert!(!order.any_in_flight(&[b]));
        batch.recorded();
        assert!(!order.any_in_flight(&[a]));
        assert!(!order.is_stale(0), "a recorded batch marks nothing");
    }

    #[test]
    fn a_batch_dropped_unrecorded_makes_its_generation_stale_before_the_turn_is_free() {
        let order = CommitOrder::default();
        std::thread::scope(|s| {
            let mut batch = Unrecorded::new(&order, 5);
            batch.hold(vec![Uuid::from_u128(3)]);
            batch.take_turn();
            let next = s.spawn(|| {
                // The next batch's turn: by then the failed one must already be stale.
                let _turn = order.turn();
                order.is_stale(5)
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(batch);
            assert!(next.join().unwrap());
        });
        assert!(!order.any_in_flight(&[Uuid::from_u128(3)]));
    }

    #[test]
    fn a_panic_between_fusion_and_commit_makes_the_state_stale() {
        let order = CommitOrder::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _batch = Unrecorded::new(&order, 2);
            panic!("fusion panicked");
        }));
        assert!(caught.is_err());
        assert!(order.is_stale(2));
    }
}
