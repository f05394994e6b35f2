//! Recording the agreement a data folder monitors.

use crate::EngineError;
use truce_core::Timestamp;
use truce_core::agreement::Agreement;
use truce_core::entry::{EntryBody, sha256_hex};
use truce_store::{AppendBatch, NewEntry, Projection, Store};

/// What [`record_agreement`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// The agreement was recorded as version 1.
    Recorded,
    /// The same agreement was already in force; nothing was written.
    AlreadyPresent,
}

/// Records `agreement` as the first version in an empty store; on a store that already holds
/// the same document, does nothing; on one holding another, refuses (amendments are a later
/// feature and will be new versions, never edits).
pub fn record_agreement(
    store: &dyn Store,
    agreement: &Agreement,
    now: Timestamp,
) -> Result<InitOutcome, EngineError> {
    let document = serde_json_canonical(agreement)?;
    if let Some((version, doc)) = store.agreement()? {
        if serde_json_canonical_doc(&doc)? == document {
            return Ok(InitOutcome::AlreadyPresent);
        }
        return Err(EngineError::AgreementDiffers {
            version,
            name: doc.name,
        });
    }
    let body = EntryBody::Agreement {
        version: 1,
        document_sha256: sha256_hex(&document),
        name: agreement.doc.name.clone(),
        recorded_at: now,
    };
    let batch = AppendBatch {
        entries: vec![NewEntry {
            bytes: body.canonical_bytes()?,
            type_name: body.type_name(),
            projection: Projection::Agreement {
                version: 1,
                document,
            },
        }],
    };
    store.append(&batch)?;
    Ok(InitOutcome::Recorded)
}

fn serde_json_canonical(agreement: &Agreement) -> Result<Vec<u8>, EngineError> {
    serde_json_canonical_doc(&agreement.doc)
}

fn serde_json_canonical_doc(
    doc: &truce_core::agreement::AgreementDoc,
) -> Result<Vec<u8>, EngineError> {
    truce_core::entry::canonical_json(doc).map_err(EngineError::Entry)
}
