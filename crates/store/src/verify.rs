//! Recomputing the record's hash chain from its entries alone.

use crate::{Store, StoreError};
use truce_core::entry::{EntryBody, Hash, chain_hash, leaf_hash};

/// How many entries are read at a time.
const PAGE: u64 = 10_000;

/// What a successful check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries checked.
    pub size: u64,
    /// The chain hash after the last one.
    pub chain: Hash,
    /// Observation entries among them.
    pub observations: u64,
    /// Incident revision entries among them.
    pub incident_revisions: u64,
}

/// The first place the record disagrees with itself.
#[derive(Debug, thiserror::Error)]
pub enum ChainFault {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An entry's stored chain hash is not the one recomputed.
    #[error("entry {index}: chain hash differs from the one recomputed from the entries")]
    ChainMismatch {
        /// The entry's index.
        index: u64,
    },
    /// Entry indexes are not contiguous.
    #[error("entry {expected} is missing (found {found} next)")]
    Gap {
        /// The index expected.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// An entry's bytes are not a canonical entry.
    #[error("entry {index}: {message}")]
    BadEntry {
        /// The entry's index.
        index: u64,
        /// Why.
        message: String,
    },
}

/// Reads every entry in order, recomputes the chain, and checks each entry decodes canonically.
pub fn verify_chain(store: &dyn Store) -> Result<ChainReport, ChainFault> {
    let mut report = ChainReport {
        size: 0,
        chain: [0; 32],
        observations: 0,
        incident_revisions: 0,
    };
    loop {
        let page = store.entries(report.size, PAGE)?;
        if page.is_empty() {
            return Ok(report);
        }
        for entry in page {
            if entry.index != report.size {
                return Err(ChainFault::Gap {
                    expected: report.size,
                    found: entry.index,
                });
            }
            let body = EntryBody::from_canonical_bytes(&entry.bytes).map_err(|e| {
                ChainFault::BadEntry {
                    index: entry.index,
                    message: e.to_string(),
                }
            })?;
            match body {
                EntryBody::Observation { .. } => report.observations += 1,
                EntryBody::IncidentRevision { .. } => report.incident_revisions += 1,
                EntryBody::Agreement { .. }
                | EntryBody::Membership { .. }
                | EntryBody::Assessment { .. }
                | EntryBody::Annotation { .. }
                | EntryBody::Track { .. }
                | EntryBody::Evidence { .. }
                | EntryBody::Report { .. } => {}
            }
            let chain = chain_hash(&report.chain, &leaf_hash(&entry.bytes));
            if chain != entry.chain {
                return Err(ChainFault::ChainMismatch { index: entry.index });
            }
            report.chain = chain;
            report.size += 1;
        }
    }
}
