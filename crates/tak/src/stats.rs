//! What the TAK listeners did, counted: for the log, and for status counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by every connection of the TAK listeners. Each only ever grows.
#[derive(Debug, Default)]
pub struct CotStats {
    /// Stream connections accepted.
    pub connections: AtomicU64,
    /// Stream connections refused (over the per-address cap).
    pub connections_refused: AtomicU64,
    /// TLS connections refused: no client certificate, one bound to no active member, or a
    /// handshake that failed or took too long.
    pub tls_refused: AtomicU64,
    /// Events and datagrams read, whatever became of them.
    pub messages: AtomicU64,
    /// Reports recorded (a resent one counts once, when first recorded).
    pub reports_recorded: AtomicU64,
    /// Reports already in the record, recognised by their uid and time.
    pub reports_repeated: AtomicU64,
    /// On a node of several: reports committed to the intake queue that the sequencer had not
    /// recorded within the wait (it records them when it gets to them).
    pub reports_queued: AtomicU64,
    /// Messages refused: unreadable, out of range, or a report the record refused.
    pub refused: AtomicU64,
    /// Valid reports the record could not take (the store failed); each logged as an error.
    pub not_recorded: AtomicU64,
    /// Events of types truce does not take.
    pub ignored: AtomicU64,
    /// Points of the monitors' own teams' tracks recorded (see [`crate::tracks`]).
    pub track_points_recorded: AtomicU64,
    /// Pings answered.
    pub pings: AtomicU64,
    /// Deletions (`t-x-d-d`) of an item, recognised and logged; the record keeps the item.
    pub deletions: AtomicU64,
    /// Streams switched to TAK protocol version 1.
    pub negotiated: AtomicU64,
    /// UDP datagrams dropped because they came faster than the rate cap.
    pub datagrams_over_rate: AtomicU64,
    /// Messages queued for clients (incidents, awareness, deletions), counted per client.
    pub relayed: AtomicU64,
    /// Clients dropped because their queue was full (they read too slowly). Only what is
    /// relayed is lost with them; nothing of the record.
    pub clients_dropped_slow: AtomicU64,
}

impl CotStats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as name and value, in a fixed order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connections", get(&self.connections)),
            ("connections_refused", get(&self.connections_refused)),
            ("tls_refused", get(&self.tls_refused)),
            ("messages", get(&self.messages)),
            ("reports_recorded", get(&self.reports_recorded)),
            ("reports_repeated", get(&self.reports_repeated)),
            ("reports_queued", get(&self.reports_queued)),
            ("refused", get(&self.refused)),
            ("not_recorded", get(&self.not_recorded)),
            ("ignored", get(&self.ignored)),
            ("track_points_recorded", get(&self.track_points_recorded)),
            ("pings", get(&self.pings)),
            ("deletions", get(&self.deletions)),
            ("negotiated", get(&self.negotiated)),
            ("datagrams_over_rate", get(&self.datagrams_over_rate)),
            ("relayed", get(&self.relayed)),
            ("clients_dropped_slow", get(&self.clients_dropped_slow)),
        ]
    }
}
