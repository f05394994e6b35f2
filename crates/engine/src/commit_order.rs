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

    /// `ids` are sequenced and wait for their commit.
    pub(crate) fn hold(&self, ids: &[Uuid]) {
        if !ids.is_empty() {
            self.in_flight().extend(ids.iter().copied());
        }
    }

    /// `ids` are committed or will never be.
    pub(crate) fn release(&self, ids: &[Uuid]) {
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
        order.hold(&[a]);
        assert!(order.any_in_flight(&[b, a]));
        assert!(!order.any_in_flight(&[b]));
        order.release(&[a]);
        assert!(!order.any_in_flight(&[a]));
    }
}
