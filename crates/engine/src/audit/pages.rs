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

/// Entries a thread claims at a time: enough to make the counter's cost nothing, few enough
/// that the threads finish within a few entries of each other.
const RUN: usize = 64;

/// One entry decoded: its body (checked canonical), its RFC 9162 leaf hash and, for an
/// observation sent with a client id, the hash of its content the store keeps beside it.
pub(super) struct Decoded {
    /// The entry, or why its bytes are not one in canonical form.
    pub(super) body: Result<EntryBody, EntryError>,
    /// SHA-256(0x00 || bytes).
    pub(super) leaf: Hash,
    /// The observation's content hash, when it has a client id.
    pub(super) content_hash: Option<Result<Hash, EntryError>>,
}

fn decode_one(bytes: &[u8]) -> Decoded {
    let body = EntryBody::from_canonical_bytes(bytes);
    let content_hash = match &body {
        Ok(EntryBody::Observation { observation, .. }) if observation.client_id.is_some() => {
            Some(crate::sequencer::content_hash(observation))
        }
        _ => None,
    };
    Decoded {
        body,
        leaf: leaf_hash(bytes),
        content_hash,
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
            for (slot, (_, bytes, _)) in self.done[start..end].iter().zip(&self.page[start..end]) {
                // Each index is claimed by one thread only, so the slot is always empty here.
                let _ = slot.set(decode_one(bytes));
            }
        }
    }

    /// Every entry decoded, in page order. Call once every helping thread has returned; an
    /// entry no thread reached (none, then) is decoded here.
    pub(super) fn finish(self) -> Vec<Decoded> {
        self.done
            .into_iter()
            .zip(self.page)
            .map(|(slot, (_, bytes, _))| slot.into_inner().unwrap_or_else(|| decode_one(bytes)))
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
