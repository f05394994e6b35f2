//! Moving a record to another store (from the embedded SQLite file to PostgreSQL): every entry
//! byte for byte with its projections, the members' token hashes, every checkpoint and its
//! cosignatures; then a check that the target is the same record.

use crate::EngineError;
use crate::replay::replay_with;
use std::collections::HashMap;
use truce_store::{AppendBatch, Head, Store};

/// What a migration copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The target's head: the source's size, chain and root.
    pub head: Head,
    /// Checkpoints copied, with their cosignature lines.
    pub checkpoints: usize,
    /// Cosignature lines copied.
    pub cosignatures: usize,
    /// Members whose token hash was carried over (they sign in on the target as before).
    pub members_with_tokens: usize,
}

/// Copies the whole record of `source` into the empty `target` and checks it there: same size,
/// chain and Merkle root, the same checkpoints with the same cosignatures, and each member's
/// token hash. `observe` sees every batch as it is appended (for a progress bar). The source
/// should not be written meanwhile (the caller holds it: a stopped server's folder); a source
/// that grows during the copy is copied to the size it had when the copy began.
pub fn migrate(
    source: &dyn Store,
    target: &dyn Store,
    observe: &mut dyn FnMut(&AppendBatch),
) -> Result<Migrated, EngineError> {
    let expected = source.head()?;
    let members = source.members(None)?;
    let tokens: HashMap<u64, String> = members
        .iter()
        .filter(|m| m.active)
        .filter_map(|m| m.token_hash.clone().map(|h| (m.entry, h)))
        .collect();
    let head = replay_with(source, expected.size, target, tokens.clone(), observe)?;
    if head != expected {
        return Err(EngineError::invalid(
            "target",
            format!(
                "after copying {} entries the target's head differs from the source's \
                 (root {} against {})",
                expected.size,
                hex(&head.root),
                hex(&expected.root)
            ),
        ));
    }
    let checkpoints = source.checkpoints()?;
    let mut cosignatures = 0;
    for c in checkpoints.iter().filter(|c| c.size <= expected.size) {
        target.add_checkpoint(c.size, &c.note)?;
        for (witness, line) in &c.cosignatures {
            target.add_cosignature(c.size, witness, line)?;
            cosignatures += 1;
        }
    }
    let copied: Vec<_> = target.checkpoints()?;
    let wanted: Vec<_> = checkpoints
        .into_iter()
        .filter(|c| c.size <= expected.size)
        .collect();
    if copied != wanted {
        return Err(EngineError::invalid(
            "target",
            "the checkpoints read back from the target differ from the source's",
        ));
    }
    for m in &members {
        let there = target.member(&m.user)?;
        let carried = there.as_ref().map(|t| (&t.token_hash, t.active, t.entry));
        let want_token = if m.active { &m.token_hash } else { &None };
        if carried != Some((want_token, m.active, m.entry)) {
            return Err(EngineError::invalid(
                "target",
                format!("member {} differs on the target", m.user),
            ));
        }
    }
    Ok(Migrated {
        head,
        checkpoints: copied.len(),
        cosignatures,
        members_with_tokens: tokens.len(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
