//! The audit's costliest step, decoding each entry and proving its bytes canonical, done on
//! every core while the audit's sequential work goes on.
//!
//! The audit reads its entries a page at a time. While the calling thread checks page `n` in
//! order (the chain, the tree, the derived rows: work that cannot be split), the other cores
//! decode page `n + 1`; once done with page `n`, the calling thread joins them. Each thread
//! claims entries in small runs from one counter, so the threads finish together however the
//! work falls.

use super::AuditEntry;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use truce_core::entry::{EntryBody, EntryError, Hash, leaf_hash};
use truce_core::ids::ObservationId;
use truce_core::incident::Status;
use truce_store::{IncidentRow, ObservationRow};

/// Entries a thread claims at a time: enough to make the counter's cost nothing, few enough
/// that the threads finish within a few entries of each other.
const RUN: usize = 64;

/// One entry decoded: what the audit keeps of it (its bytes checked canonical) and its RFC 9162
/// leaf hash.
pub(super) struct Decoded {
    /// What the audit keeps of the entry, or why its bytes are not one in canonical form.
    pub(super) body: Result<Kept, EntryError>,
    /// SHA-256(0x00 || bytes).
    pub(super) leaf: Hash,
}

/// What the audit keeps of an entry. Observations and incident revisions, the bulk of a record,
/// are reduced to the rows they project to on the decoding threads, which also free the rest;
/// every other entry is kept whole for the sequential pass.
pub(super) enum Kept {
    /// An observation's row (its incident not yet known), or why the content hash of an
    /// observation sent with a client id could not be made.
    Observation(Result<ObservationRow, EntryError>),
    /// An incident revision's row before verdicts and corrections are counted.
    Revision {
        /// The observations it adds to the incident.
        added: Vec<ObservationId>,
        /// The row its estimate projects to (boxed: it is the largest by far).
        row: Box<IncidentRow>,
        /// The status its estimate states.
        status: Status,
    },
    /// Any other entry.
    Other(Box<EntryBody>),
}

impl Kept {
    /// `body`, entry `index`, as the audit keeps it.
    pub(super) fn of(index: u64, body: EntryBody) -> Self {
        match body {
            EntryBody::Observation {
                id, observation, ..
            } => {
                let client = match &observation.client_id {
                    None => Ok((None, None)),
                    Some(c) => crate::sequencer::content_hash(&observation)
                        .map(|hash| (Some(c.as_bytes().to_vec()), Some(hash.to_vec()))),
                };
                Kept::Observation(client.map(|(client_id, content_hash)| {
                    ObservationRow {
                        id: id.0,
                        entry: index,
                        incident_id: 0,
                        kind: observation.kind.as_str().to_string(),
                        observed_ns: observation
                            .observed_at
                            .unix_nanos()
                            .clamp(i64::MIN as i128, i64::MAX as i128)
                            as i64,
                        client_id,
                        content_hash,
                    }
                }))
            }
            EntryBody::IncidentRevision {
                incident_id,
                revision,
                added_observation_ids,
                estimate,
                ..
            } => Kept::Revision {
                added: added_observation_ids,
                row: Box::new(IncidentRow::from_estimate(
                    incident_id.0,
                    revision,
                    index,
                    &estimate,
                )),
                status: estimate.status,
            },
            other => Kept::Other(Box::new(other)),
        }
    }

    /// The entry's type, as its `type` member names it.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Kept::Observation(_) => "observation",
            Kept::Revision { .. } => "incident_revision",
            Kept::Other(body) => body.type_name(),
        }
    }
}

fn decode_one(index: u64, bytes: &[u8]) -> Decoded {
    Decoded {
        body: EntryBody::from_canonical_bytes(bytes).map(|body| Kept::of(index, body)),
        leaf: leaf_hash(bytes),
    }
}

/// A page being decoded by any number of threads at once.
pub(super) struct PageDecode<'p> {
    page: &'p [AuditEntry],
    next: AtomicUsize,
    done: Vec<OnceLock<Decoded>>,
}

impl<'p> PageDecode<'p> {
    /// `page`, nothing decoded yet.
    pub(super) fn new(page: &'p [AuditEntry]) -> Self {
        Self {
            page,
            next: AtomicUsize::new(0),
            done: (0..page.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Decodes runs of entries no thread has claimed, until none is left.
    pub(super) fn help(&self) {
        loop {
            let start = self.next.fetch_add(RUN, Ordering::Relaxed);
            if start >= self.page.len() {
                return;
            }
            let end = (start + RUN).min(self.page.len());
            for (slot, (index, bytes, _)) in
                self.done[start..end].iter().zip(&self.page[start..end])
            {
                // Each index is claimed by one thread only, so the slot is always empty here.
                let _ = slot.set(decode_one(*index, bytes));
            }
        }
    }

    /// Every entry decoded, in page order. Call once every helping thread has returned; an
    /// entry no thread reached (none, then) is decoded here.
    pub(super) fn finish(self) -> Vec<Decoded> {
        self.done
            .into_iter()
            .zip(self.page)
            .map(|(slot, (index, bytes, _))| {
                slot.into_inner()
                    .unwrap_or_else(|| decode_one(*index, bytes))
            })
            .collect()
    }
}

/// Decodes `next` on `helpers` other threads and this one while `work` runs on this thread
/// first; returns what `work` returned and the decoded page.
pub(super) fn decode_beside<T>(
    next: &[AuditEntry],
    helpers: usize,
    work: impl FnOnce() -> T,
) -> (T, Vec<Decoded>) {
    let decoding = PageDecode::new(next);
    let out = std::thread::scope(|scope| {
        let helpers = if next.is_empty() { 0 } else { helpers };
        let threads: Vec<_> = (0..helpers)
            .map(|_| scope.spawn(|| decoding.help()))
            .collect();
        let out = work();
        decoding.help();
        for t in threads {
            if let Err(panic) = t.join() {
                // A panic in decoding is a bug; surface it where it happened.
                std::panic::resume_unwind(panic);
            }
        }
        out
    });
    (out, decoding.finish())
}
