//! Evidence handed in: the file is kept (in the store when it keeps files, else in the
//! evidence folder), then an `evidence` entry goes on the record (who, when, hash, size, the
//! client's capture claims). An observation may only cite files the record says the center
//! holds.

use crate::{Caller, Engine, EngineError, Written};
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::entry::EntryBody;
use truce_core::error::FieldError;
use truce_core::evidence::{Capture, check_file, check_name};
use truce_store::{
    AppendBatch, EvidenceDir, EvidenceFiles, EvidenceRow, FileCheck, NewEntry, Projection,
    is_sha256_hex,
};

/// A file handed in, with what the client states about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceIn {
    /// The media type the client declares (checked against the bytes).
    pub media_type: String,
    /// The file's name as the client knew it.
    pub name: Option<String>,
    /// The file it was derived from, by SHA-256 (the center must hold it).
    pub derived_from: Option<String>,
    /// The capture claims.
    pub capture: Capture,
}

/// What handing a file in did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceReceipt {
    /// The file's SHA-256.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// The entry that records this member's hand-in.
    pub entry: u64,
    /// False when this member had already handed in this very file: nothing was added.
    pub created: bool,
}

/// The names of the fields evidence checks can fault.
fn field(e: &FieldError) -> &'static str {
    match e.field.as_str() {
        "media_type" => "media_type",
        "file" => "file",
        "name" => "name",
        "lat" => "lat",
        "lon" => "lon",
        "accuracy_m" => "accuracy_m",
        "captured_at" => "captured_at",
        "device" => "device",
        _ => "evidence",
    }
}

fn invalid(e: FieldError) -> EngineError {
    EngineError::invalid(field(&e), e.message)
}

/// What a hand-in must be: `caller` an observer or an officer, the file (when given) of the
/// media type it is declared as, a valid name, capture claims in range at `now`, a parent
/// named by a SHA-256. Checked in that order, so the first fault named is the same on every
/// node.
fn check_hand_in(
    caller: &Caller,
    evidence: &EvidenceIn,
    bytes: Option<&[u8]>,
    now: Timestamp,
) -> Result<(), EngineError> {
    if !matches!(caller.role, Role::Observer | Role::Officer) {
        return Err(EngineError::Forbidden(format!(
            "{} is {}, and only an observer or an officer hands in evidence",
            caller.user,
            caller.role.as_str()
        )));
    }
    if let Some(bytes) = bytes {
        check_file(&evidence.media_type, bytes).map_err(invalid)?;
    }
    if let Some(name) = &evidence.name {
        check_name(name).map_err(invalid)?;
    }
    evidence.capture.check(now).map_err(invalid)?;
    if let Some(parent) = &evidence.derived_from
        && !is_sha256_hex(parent)
    {
        return Err(EngineError::invalid(
            "derived_from",
            "a SHA-256 in lowercase hex (64 digits)",
        ));
    }
    Ok(())
}

impl Engine {
    /// Uses `dir` as this center's evidence folder (a data folder's `evidence/`).
    pub fn set_evidence_dir(&self, dir: EvidenceDir) {
        *self
            .evidence_dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(dir);
    }

    /// This center's evidence folder, if it keeps one.
    pub fn evidence_dir(&self) -> Option<EvidenceDir> {
        self.evidence_dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Where this center's evidence files are read from: its store when the store keeps them
    /// (PostgreSQL), then its evidence folder.
    pub fn with_evidence_files<T>(&self, read: impl FnOnce(EvidenceFiles<'_>) -> T) -> T {
        let dir = self.evidence_dir();
        read(EvidenceFiles::new(
            Some(self.store().as_ref()),
            dir.as_ref(),
        ))
    }

    /// Takes `bytes` in as evidence from `caller` (an observer or an officer): checks the
    /// file and the claims (the error names the field), stores the file durably under its
    /// SHA-256, then appends the `evidence` entry. The same member handing in the same file
    /// with the same claims again adds nothing and gets the first entry back; another member
    /// handing it in, or the same member with other claims, is another link of its custody
    /// and gets its own entry.
    pub fn record_evidence(
        &self,
        caller: &Caller,
        bytes: &[u8],
        evidence: EvidenceIn,
        now: Timestamp,
    ) -> Result<EvidenceReceipt, EngineError> {
        let (sha256, size) = self.keep_evidence_file(caller, bytes, &evidence, now)?;
        self.record_kept_evidence(caller, &sha256, size, evidence, now, None)
    }

    /// The first half of a hand-in, done by whichever node took it: checks the file and the
    /// claims for `caller` at `now` (the error names the field) and keeps the file durably
    /// where every node reads it (the store when it keeps files, else the evidence folder).
    /// Returns its SHA-256 and size; nothing is recorded
    /// ([`Engine::record_kept_evidence`] records the hand-in).
    pub fn keep_evidence_file(
        &self,
        caller: &Caller,
        bytes: &[u8],
        evidence: &EvidenceIn,
        now: Timestamp,
    ) -> Result<(String, u64), EngineError> {
        check_hand_in(caller, evidence, Some(bytes), now)?;
        // Nothing is kept for a hand-in that would be refused.
        self.check_parent_held(evidence)?;
        let store = self.store();
        if store.keeps_evidence_files() {
            let sha256 = truce_core::entry::sha256_hex(bytes);
            store.put_evidence_file(&sha256, bytes)?;
            return Ok((sha256, bytes.len() as u64));
        }
        let dir = self.evidence_dir().ok_or_else(|| {
            EngineError::Unavailable("this center keeps no evidence folder".into())
        })?;
        let sha256 = dir
            .put(bytes)
            .map_err(|e| EngineError::Unavailable(format!("storing the file: {e}")))?;
        Ok((sha256, bytes.len() as u64))
    }

    /// Records `caller`'s hand-in of the file `sha256` (`size` bytes), kept already
    /// ([`Engine::keep_evidence_file`]), as [`Engine::record_evidence`] does. For intake item
    /// `intake` (a hand-in a node queued) the kept file is read and checked as the node
    /// checked it (refused 422 `sha256` when it is not kept intact), and the answer goes in
    /// the transaction that records the entry; without one, the file is the one this process
    /// has just kept and checked.
    pub(crate) fn record_kept_evidence(
        &self,
        caller: &Caller,
        sha256: &str,
        size: u64,
        evidence: EvidenceIn,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<EvidenceReceipt, EngineError> {
        if intake.is_some() {
            let bytes = self
                .with_evidence_files(|files| files.read(sha256))
                .map_err(|e| match e.downcast::<truce_store::StoreError>() {
                    // The database's own error, so a storage fault is told from a damaged row.
                    Ok(store) => EngineError::Store(store),
                    Err(io) => EngineError::Unavailable(format!("reading the file {sha256}: {io}")),
                })?;
            let kept = FileCheck::of(sha256, size, bytes.as_deref());
            if kept != FileCheck::Intact {
                return Err(EngineError::invalid(
                    "sha256",
                    format!("the center keeps no intact file {sha256} of {size} bytes ({kept:?})"),
                ));
            }
            check_hand_in(caller, &evidence, bytes.as_deref(), now)?;
            self.check_parent_held(&evidence)?;
        }
        let _seq = self.lock_sequencer()?;
        // The same member, the same file, the same claims: nothing new. Other claims (a
        // corrected capture time, another name) are another link, recorded.
        let held = self
            .store()
            .evidence_rows(Some(sha256), -1, u64::MAX >> 1)?;
        for row in held.iter().filter(|r| r.user == caller.user) {
            let Some(entry) = self.store().entries(row.entry, 1)?.into_iter().next() else {
                continue;
            };
            if let EntryBody::Evidence {
                media_type,
                name,
                derived_from,
                capture,
                ..
            } = EntryBody::decode(&entry.bytes)?
                && media_type == evidence.media_type
                && name == evidence.name
                && derived_from == evidence.derived_from
                && capture == evidence.capture
            {
                return Ok(EvidenceReceipt {
                    sha256: sha256.to_owned(),
                    size,
                    entry: row.entry,
                    created: false,
                });
            }
        }
        // Under the sequencer lock nothing else appends: the entry goes at the head.
        let receipt = EvidenceReceipt {
            sha256: sha256.to_owned(),
            size,
            entry: self.store().head()?.size,
            created: true,
        };
        let answer = intake.map(|id| Written::evidence(&receipt).settling(id));
        let body = EntryBody::Evidence {
            sha256: sha256.to_owned(),
            size,
            media_type: evidence.media_type,
            name: evidence.name,
            derived_from: evidence.derived_from,
            capture: evidence.capture,
            by: caller.user.clone(),
            monitor: caller.monitor.clone(),
            channel: "upload".into(),
            received_at: now,
        };
        let row = EvidenceRow::of(0, &body)
            .ok_or_else(|| EngineError::invalid("evidence", "not an evidence entry"))?;
        let appended = self.append_answering(
            &AppendBatch {
                entries: vec![NewEntry {
                    bytes: body.canonical_bytes()?,
                    type_name: body.type_name(),
                    projection: Projection::Evidence { row },
                }],
            },
            answer.as_ref(),
        )?;
        Ok(EvidenceReceipt {
            entry: appended.first_index,
            ..receipt
        })
    }

    /// Refuses (422 `derived_from`) a hand-in whose parent file the record does not hold.
    fn check_parent_held(&self, evidence: &EvidenceIn) -> Result<(), EngineError> {
        match &evidence.derived_from {
            Some(parent) if self.store().evidence_rows(Some(parent), -1, 1)?.is_empty() => Err(
                EngineError::invalid("derived_from", format!("the center holds no file {parent}")),
            ),
            _ => Ok(()),
        }
    }

    /// Every hand-in of the file `sha256`, oldest first, with its entry: the file's chain of
    /// custody as the record tells it. Empty when the center holds no such file.
    pub fn custody(&self, sha256: &str) -> Result<Vec<(EvidenceRow, EntryBody)>, EngineError> {
        let rows = self.store().evidence_rows(Some(sha256), -1, 10_000)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let entry = self
                .store()
                .entries(row.entry, 1)?
                .into_iter()
                .next()
                .ok_or_else(|| EngineError::NotFound(format!("entry {}", row.entry)))?;
            out.push((row, EntryBody::decode(&entry.bytes)?));
        }
        Ok(out)
    }

    /// Checks that every file the observations of a batch cite is held by the center: the
    /// first one that is not is named (item, evidence index, hash).
    pub(crate) fn check_evidence_held<'a>(
        &self,
        cited: impl Iterator<Item = (usize, &'a [truce_core::observation::Evidence])>,
    ) -> Result<(), EngineError> {
        for (index, evidence) in cited {
            for (position, e) in evidence.iter().enumerate() {
                let held = self.store().evidence_rows(Some(&e.sha256), -1, 1)?;
                if held.is_empty() {
                    return Err(EngineError::EvidenceNotHeld {
                        index,
                        position,
                        sha256: e.sha256.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
