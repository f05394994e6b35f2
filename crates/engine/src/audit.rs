//! Auditing a record from its entries alone: the hash chain, the Merkle tree, every checkpoint's
//! signature (against the agreement's log key, `verify_strict`), that each checkpoint's root is
//! the root of the entries it counts, and every cosignature. Trusts nothing the store derived.

use crate::LedgerKeys;
use truce_core::agreement::Agreement;
use truce_ledger::Hash;
use truce_ledger::note::verify_checkpoint;
use truce_ledger::tree::Frontier;
use truce_store::{ChainFault, Store, verify_chain};

/// What an audit found when everything checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Observation entries among them.
    pub observations: u64,
    /// Incident revision entries among them.
    pub incident_revisions: u64,
    /// The Merkle root over all entries.
    pub root: [u8; 32],
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The largest checkpoint cosigned by every listed witness, if any.
    pub agreed_size: Option<u64>,
}

/// The first discrepancy an audit found.
#[derive(Debug, thiserror::Error)]
pub enum AuditFault {
    /// The chain or an entry is wrong.
    #[error(transparent)]
    Chain(#[from] ChainFault),
    /// A checkpoint's signature or a cosignature does not verify.
    #[error("checkpoint of size {size}: {message}")]
    Signature {
        /// The checkpoint's size.
        size: u64,
        /// What failed.
        message: String,
    },
    /// A checkpoint commits to a root the entries do not have.
    #[error(
        "checkpoint of size {size}: its root is not the root of entries 0..{size}; \
         the record was changed after it was signed"
    )]
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// A checkpoint counts more entries than the record holds.
    #[error(
        "checkpoint of size {size}: the record holds only {entries} entries (it was truncated)"
    )]
    Truncated {
        /// The checkpoint's size.
        size: u64,
        /// Entries present.
        entries: u64,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] truce_store::StoreError),
}

/// Audits `store` against `agreement`'s keys.
pub fn audit(store: &dyn Store, agreement: &Agreement) -> Result<AuditReport, AuditFault> {
    let chain = verify_chain(store)?;
    let keys = LedgerKeys::from_agreement(agreement).map_err(|e| AuditFault::Signature {
        size: 0,
        message: e.to_string(),
    })?;
    let checkpoints = store.checkpoints()?;
    // Roots at every checkpointed size, recomputed from the entries.
    let mut wanted: Vec<u64> = checkpoints.iter().map(|c| c.size).collect();
    wanted.sort_unstable();
    let mut roots = std::collections::HashMap::new();
    let mut frontier = Frontier::new();
    let mut next = 0usize;
    let mut from = 0u64;
    loop {
        let page = store.entries(from, 10_000)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            frontier.append(&e.bytes);
            while next < wanted.len() && wanted[next] == frontier.size() {
                roots.insert(wanted[next], frontier.root());
                next += 1;
            }
        }
        from += page.len() as u64;
    }
    let mut agreed = None;
    for cp in &checkpoints {
        let Some(keys) = &keys else {
            return Err(AuditFault::Signature {
                size: cp.size,
                message: "the agreement lists no log key to check it with".into(),
            });
        };
        let verified = verify_checkpoint(&cp.cosigned_note(), &keys.log, &keys.witness_verifiers())
            .map_err(|e| AuditFault::Signature {
                size: cp.size,
                message: e.to_string(),
            })?;
        if verified.size != cp.size || verified.origin != keys.origin {
            return Err(AuditFault::Signature {
                size: cp.size,
                message: "the note's origin or size is not the stored one".into(),
            });
        }
        let Some(root) = roots.get(&cp.size) else {
            return Err(AuditFault::Truncated {
                size: cp.size,
                entries: chain.size,
            });
        };
        if *root != verified.root {
            return Err(AuditFault::RootMismatch { size: cp.size });
        }
        let all_cosigned = keys
            .witnesses
            .iter()
            .all(|(_, v)| verified.cosigners.iter().any(|(n, _)| n == v.name()));
        if all_cosigned {
            agreed = Some(cp.size);
        }
    }
    let root: Hash = frontier.root();
    Ok(AuditReport {
        entries: chain.size,
        observations: chain.observations,
        incident_revisions: chain.incident_revisions,
        root: root.0,
        checkpoints: checkpoints.len(),
        agreed_size: agreed,
    })
}
