//! The order in which sequenced batches are committed, so that fusing one batch and encoding
//! another overlap the store's commit of the one before them.
//!
//! A submission holds the sequencer lock while it numbers and fuses its batch, then takes a
//! **ticket** for its turn (this module's queue) *before* it lets go of the sequencer lock. It
//! encodes its entries holding nothing, then waits for its **turn** and appends holding only
//! that. Turns come in ticket order, so the record's order is still the sequencer's order,
//! while the next batch is already being fused.
//!
//! What that costs, and how it is paid:
//! - Memory may run ahead of the record by the batches waiting for their turn. If an append
//!   fails, every batch sequenced on top of it is **stale**: at its turn it appends nothing and
//!   starts over, and the fusion state is rebuilt from the store (holding the sequencer lock
//!   and a turn, so no append is under way) before anything is sequenced again.
//! - A client id in a batch not yet committed is **in flight**: a later batch repeating it waits
//!   for the commits before it, then finds it stored, so a resent item still gets its original
//!   ids and is never recorded twice.
//! - A ticket given up unused (an error, a panic unwinding) still waits for its turn and passes
//!   it on, so no later batch waits for ever.
//!
//! Lock order, everywhere: the sequencer lock, then a ticket (taken under it; waiting for the
//! turn under it too is allowed, since no turn needs that lock to end), then (briefly, nothing
//! else taken while held) the in-flight set.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use uuid::Uuid;

/// Turns, the generation below which sequenced state is stale, and the client ids in flight.
#[derive(Debug, Default)]
pub(crate) struct CommitOrder {
    /// The next ticket to hand out.
    next_ticket: AtomicU64,
    /// The ticket whose turn it is.
    serving: Mutex<u64>,
    /// Woken when a turn passes on.
    passed: Condvar,
    /// A batch sequenced in a generation below this must not be appended.
    stale_below: AtomicU64,
    in_flight: Mutex<HashSet<Uuid>>,
}

/// A place in the order of turns, taken under the sequencer lock. Dropped unused, it waits for
/// its turn and passes it on.
pub(crate) struct Ticket<'a> {
    order: &'a CommitOrder,
    number: u64,
    used: bool,
}

impl<'a> Ticket<'a> {
    /// Waits until every ticket before this one has passed its turn on.
    pub(crate) fn wait(mut self) -> Turn<'a> {
        self.used = true;
        self.order.wait_for(self.number);
        Turn {
            order: self.order,
            number: self.number,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.used {
            self.order.wait_for(self.number);
            self.order.pass_on(self.number);
        }
    }
}

/// Holding it, this caller is the only one appending; every batch given a ticket before it has
/// committed or failed. Dropped, it passes the turn on.
pub(crate) struct Turn<'a> {
    order: &'a CommitOrder,
    number: u64,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.order.pass_on(self.number);
    }
}

/// A batch between fusion and its commit: memory is ahead of the record by it. Dropped without
/// [`Unrecorded::recorded`] — an error, or a panic unwinding — it makes its generation stale
/// *before* it gives up its turn, so no batch is ever appended on top of it, and the state is
/// rebuilt by the next caller that takes the sequencer lock. Its client ids leave the in-flight
/// set either way.
pub(crate) struct Unrecorded<'a> {
    order: &'a CommitOrder,
    generation: u64,
    held: Vec<Uuid>,
    ticket: Option<Ticket<'a>>,
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
            ticket: None,
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

    /// Takes the batch's place in the order of turns; the caller still holds the sequencer
    /// lock, so turns follow the sequencer's order.
    pub(crate) fn take_ticket(&mut self) {
        self.ticket = Some(self.order.ticket());
    }

    /// Waits for the batch's turn (with the ticket taken before, or else one taken now).
    pub(crate) fn wait_turn(&mut self) {
        let ticket = self.ticket.take().unwrap_or_else(|| self.order.ticket());
        self.turn = Some(ticket.wait());
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
        // A batch given up before its turn waits for it first: the batches ahead of it, of the
        // same state, must still be appended, not made stale by a failure after them.
        if let Some(ticket) = self.ticket.take() {
            self.turn = Some(ticket.wait());
        }
        if !self.recorded {
            self.order.failed(self.generation);
        }
        self.order.release(&self.held);
        // Only now may the next batch take the turn.
        self.turn.take();
    }
}

impl CommitOrder {
    /// A ticket: the next place in the order of turns.
    pub(crate) fn ticket(&self) -> Ticket<'_> {
        Ticket {
            order: self,
            number: self.next_ticket.fetch_add(1, Ordering::AcqRel),
            used: false,
        }
    }

    /// Waits for this caller's turn to append (a ticket waited for at once).
    pub(crate) fn turn(&self) -> Turn<'_> {
        self.ticket().wait()
    }

    fn serving(&self) -> MutexGuard<'_, u64> {
        // A panic while appending leaves the store's transaction rolled back, and unwinding
        // passes its turn on: the count stays right.
        self.serving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait_for(&self, number: u64) {
        let mut serving = self.serving();
        while *serving != number {
            serving = self
                .passed
                .wait(serving)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn pass_on(&self, number: u64) {
        let mut serving = self.serving();
        *serving = number + 1;
        self.passed.notify_all();
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
            batch.take_ticket();
            batch.wait_turn();
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

    #[test]
    fn turns_come_in_ticket_order_and_an_unused_ticket_passes_its_turn_on() {
        let _watchdog = Watchdog::new("ticket order", 20);
        let order = CommitOrder::default();
        let log = Mutex::new(Vec::new());
        let tickets: Vec<Ticket> = (0..4).map(|_| order.ticket()).collect();
        std::thread::scope(|s| {
            // Waited for last-first, each from its own thread; ticket 2 is given up unused.
            let mut tickets = tickets.into_iter().enumerate().rev();
            for (k, ticket) in tickets.by_ref() {
                let log = &log;
                s.spawn(move || {
                    if k == 2 {
                        // Had it not passed its turn on, ticket 3 would wait for ever.
                        drop(ticket);
                    } else {
                        let _turn = ticket.wait();
                        log.lock().unwrap().push(format!("{k}"));
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                });
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        assert_eq!(
            log.into_inner().unwrap(),
            ["0", "1", "3"],
            "turns in ticket order, whatever order they were waited for in"
        );
        // And the next turn is free at once.
        drop(order.turn());
    }

    #[test]
    fn a_batch_encoding_before_its_turn_waits_for_the_one_before_to_finish() {
        let _watchdog = Watchdog::new("encoding before its turn", 20);
        let order = CommitOrder::default();
        let (mut first, mut second) = two_ticketed(&order, 0);
        std::thread::scope(|s| {
            let waiting = s.spawn(move || {
                second.wait_turn();
                // By its turn the first is recorded, and nothing is stale.
                let stale = second.is_stale();
                second.recorded();
                stale
            });
            std::thread::sleep(std::time::Duration::from_millis(30));
            assert!(!waiting.is_finished(), "the second waits for the first");
            first.wait_turn();
            first.recorded();
            assert!(!waiting.join().unwrap());
        });
    }

    /// Two batches of `generation`, each with its ticket, in that order.
    fn two_ticketed(order: &CommitOrder, generation: u64) -> (Unrecorded<'_>, Unrecorded<'_>) {
        let mut first = Unrecorded::new(order, generation);
        first.take_ticket();
        let mut second = Unrecorded::new(order, generation);
        second.take_ticket();
        (first, second)
    }

    /// Ends the test process if the test it guards has not finished within `seconds`: a
    /// broken queue of turns hangs rather than fails, and must not hang the suite.
    struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Watchdog {
        fn new(what: &'static str, seconds: u64) -> Self {
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let seen = done.clone();
            std::thread::spawn(move || {
                for _ in 0..seconds * 10 {
                    if seen.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                eprintln!("{what}: still waiting for a turn after {seconds} s");
                std::process::abort();
            });
            Self(done)
        }
    }

    impl Drop for Watchdog {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }

    #[test]
    fn a_batch_failing_before_its_turn_leaves_the_batches_ahead_of_it_to_append() {
        let _watchdog = Watchdog::new("failing before its turn", 20);
        let order = CommitOrder::default();
        let (mut first, mut second) = two_ticketed(&order, 7);
        second.hold(vec![Uuid::from_u128(9)]);
        std::thread::scope(|s| {
            // Its encoding failed: dropped with its ticket unused, it waits for its turn.
            let failing = s.spawn(move || drop(second));
            std::thread::sleep(std::time::Duration::from_millis(30));
            assert!(
                !order.is_stale(7),
                "nothing is marked while the batch ahead has not appended"
            );
            first.wait_turn();
            assert!(!first.is_stale(), "the batch ahead appends");
            first.recorded();
            failing.join().unwrap();
        });
        assert!(order.is_stale(7), "the failure is marked at its turn");
        assert!(!order.any_in_flight(&[Uuid::from_u128(9)]));
        drop(order.turn());
    }
}
