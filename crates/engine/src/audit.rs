//! Auditing a record from its entries alone: the hash chain, the Merkle tree, every checkpoint's
//! signature (against the agreement's log key, `verify_strict`), that each checkpoint's root is
//! the root of the entries it counts, and every cosignature. Trusts nothing the store derived.

mod pages;

use crate::LedgerKeys;
use std::collections::{BTreeMap, HashMap};
use truce_core::Kind;
use truce_core::access::{Role, Verdict, assessment_statement, derive_status, statement_time};
use truce_core::agreement::Agreement;
use truce_core::entry::{EntryBody, Hash, chain_hash, sha256_hex};
use truce_core::incident::Status;
use truce_ledger::note::{NoteVerifier, verify_checkpoint};
use truce_ledger::tree::Frontier;
use truce_store::{
    AgreementVersion, AnnotationRow, AssessmentRow, ChainFault, EvidenceRow, Head, IncidentRow,
    Member, ObservationRow, Store, StoredCheckpoint, TrackRow,
};

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
    /// Assessment entries whose monitor signature verified, by monitor.
    pub signed_assessments: BTreeMap<String, u64>,
    /// Every distinct evidence file the entries name (SHA-256 in hex, size), in entry order:
    /// what the center must hold (in its store or evidence folder).
    pub evidence_files: Vec<(String, u64)>,
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
    /// An issued report claims figures from a record it precedes.
    #[error("entry {index}: issued report: {message}")]
    Report {
        /// The entry.
        index: u64,
        /// What is wrong.
        message: String,
    },
    /// An assessment's signed note does not verify with its monitor's key, or does not sign
    /// what the entry says.
    #[error("entry {index}: assessment by {monitor}: {message}")]
    Assessment {
        /// The entry.
        index: u64,
        /// The monitor it claims to be from.
        monitor: String,
        /// What failed.
        message: String,
    },
    /// An evidence file the record names is missing or does not hash to its name.
    #[error("{0}")]
    Evidence(String),
    /// A stored tree hash is not the one the entries give.
    #[error("tree hash {index}: differs from the one recomputed from the entries")]
    TreeHash {
        /// Its stored-hash index.
        index: u64,
    },
    /// A derived table disagrees with the entries.
    #[error("{table} row {id}: {field} is not what the entries say")]
    Projection {
        /// The table: `observations`, `incidents`, `agreements`, `assessments`,
        /// `annotations`, `members`, `tracks`, `evidence` or `log_head`.
        table: &'static str,
        /// The row's id (observation, incident or agreement version).
        id: u64,
        /// The column that differs, or `row` when it is missing or extra.
        field: &'static str,
    },
    /// Cosignatures stored for no checkpoint: moved off the checkpoint they sign.
    #[error("{count} cosignature(s) are stored for no checkpoint: moved off the one they sign")]
    OrphanCosignatures {
        /// How many.
        count: u64,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] truce_store::StoreError),
}

/// One entry as an audit source gives it: index, bytes, and the chain hash if it keeps one.
pub type AuditEntry = (u64, Vec<u8>, Option<[u8; 32]>);

/// Where an audit reads a record from: a store, or an exported bundle. Everything it gives is
/// checked against what the entries alone imply.
pub trait AuditSource {
    /// Entries `from..from+limit` in order: (index, bytes, chain hash if the source keeps one).
    fn entries(&self, from: u64, limit: u64) -> Result<Vec<AuditEntry>, AuditFault>;
    /// Called, in order, with every stored tree hash the entries give; the source compares it
    /// with what it holds.
    fn check_tree_hash(&mut self, index: u64, hash: &[u8; 32]) -> Result<(), AuditFault>;
    /// Checks the type the source keeps beside entry `index` (if it keeps one) is
    /// `type_name`, the entry's own; called for every entry in order.
    fn check_entry_type(&mut self, index: u64, type_name: &str) -> Result<(), AuditFault> {
        let _ = (index, type_name);
        Ok(())
    }
    /// Called after the last entry with the next stored-hash index: the source must hold
    /// nothing beyond.
    fn finish_tree(&mut self, next_index: u64) -> Result<(), AuditFault>;
    /// Observation rows with id > `after`, in id order, at most `limit`.
    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, AuditFault>;
    /// Incident rows with id > `after`, in id order, at most `limit`.
    fn incident_rows(&self, after: u64, limit: u64) -> Result<Vec<IncidentRow>, AuditFault>;
    /// Agreement versions with their documents.
    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, AuditFault>;
    /// Checkpoints with their cosignatures, oldest first.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditFault>;
    /// Every `assessments` row, if the source carries that table.
    fn assessment_rows(&self) -> Result<Option<Vec<AssessmentRow>>, AuditFault> {
        Ok(None)
    }
    /// How many cosignatures the source holds of no checkpoint, if it can hold such.
    fn orphan_cosignatures(&self) -> Result<Option<u64>, AuditFault> {
        Ok(None)
    }
    /// Every `annotations` row, if the source carries that table.
    fn annotation_rows(&self) -> Result<Option<Vec<AnnotationRow>>, AuditFault> {
        Ok(None)
    }
    /// The head row kept beside the entries, if the source keeps one.
    fn stored_head(&self) -> Result<Option<Head>, AuditFault> {
        Ok(None)
    }
    /// The first incident whose geometry columns do not match its row and entry, if the
    /// source keeps geometry.
    fn geometry_fault(&self) -> Result<Option<(u64, &'static str)>, AuditFault> {
        Ok(None)
    }
    /// Whether entries exist from index `from` on (the record grew while it was audited).
    fn has_entries_from(&self, from: u64) -> Result<bool, AuditFault> {
        Ok(!self.entries(from, 1)?.is_empty())
    }
    /// Every member, if the source carries that table.
    fn members(&self) -> Result<Option<Vec<Member>>, AuditFault> {
        Ok(None)
    }
    /// Every `tracks` row, if the source carries that table.
    fn track_rows(&self) -> Result<Option<Vec<TrackRow>>, AuditFault> {
        Ok(None)
    }
    /// Every `evidence` row, if the source carries that table.
    fn evidence_rows(&self) -> Result<Option<Vec<EvidenceRow>>, AuditFault> {
        Ok(None)
    }
}

/// A store as an audit source: its tree hashes and entry types are compared page by page.
pub struct StoreSource<'a> {
    store: &'a dyn Store,
    page: Vec<(u64, Hash)>,
    pos: usize,
    next: u64,
    types: Vec<(u64, String)>,
    types_pos: usize,
}

impl<'a> StoreSource<'a> {
    /// Audits `store`.
    pub fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            page: Vec::new(),
            pos: 0,
            next: 0,
            types: Vec::new(),
            types_pos: 0,
        }
    }
}

impl AuditSource for StoreSource<'_> {
    fn entries(&self, from: u64, limit: u64) -> Result<Vec<AuditEntry>, AuditFault> {
        Ok(self
            .store
            .entries(from, limit)?
            .into_iter()
            .map(|e| (e.index, e.bytes, Some(e.chain)))
            .collect())
    }
    fn check_tree_hash(&mut self, index: u64, hash: &[u8; 32]) -> Result<(), AuditFault> {
        if self.pos == self.page.len() {
            self.page = self.store.tree_hash_page(self.next, PAGE)?;
            self.pos = 0;
        }
        match self.page.get(self.pos) {
            Some((i, h)) if *i == index && h == hash => {}
            _ => return Err(AuditFault::TreeHash { index }),
        }
        self.pos += 1;
        self.next = index + 1;
        Ok(())
    }
    fn check_entry_type(&mut self, index: u64, type_name: &str) -> Result<(), AuditFault> {
        if self.types_pos == self.types.len() {
            self.types = self.store.entry_types(index, PAGE)?;
            self.types_pos = 0;
        }
        match self.types.get(self.types_pos) {
            Some((i, t)) if *i == index && t == type_name => {}
            found => {
                return Err(ChainFault::BadEntry {
                    index,
                    message: format!(
                        "its type column says {:?}, the entry is {type_name:?}",
                        found.map_or("", |(_, t)| t.as_str())
                    ),
                }
                .into());
            }
        }
        self.types_pos += 1;
        Ok(())
    }
    fn finish_tree(&mut self, next_index: u64) -> Result<(), AuditFault> {
        if self.pos < self.page.len() || !self.store.tree_hash_page(next_index, 1)?.is_empty() {
            return Err(AuditFault::TreeHash { index: next_index });
        }
        Ok(())
    }
    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, AuditFault> {
        Ok(self.store.observation_rows(after, limit)?)
    }
    fn incident_rows(&self, after: u64, limit: u64) -> Result<Vec<IncidentRow>, AuditFault> {
        Ok(self.store.incident_rows(after, limit)?)
    }
    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, AuditFault> {
        Ok(self.store.agreement_versions()?)
    }
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditFault> {
        Ok(self.store.checkpoints()?)
    }
    fn assessment_rows(&self) -> Result<Option<Vec<AssessmentRow>>, AuditFault> {
        Ok(Some(self.store.assessment_rows(-1, u64::MAX >> 1)?))
    }
    fn annotation_rows(&self) -> Result<Option<Vec<AnnotationRow>>, AuditFault> {
        Ok(Some(self.store.annotation_rows(-1, u64::MAX >> 1)?))
    }
    fn orphan_cosignatures(&self) -> Result<Option<u64>, AuditFault> {
        Ok(Some(self.store.orphan_cosignatures()?))
    }
    fn stored_head(&self) -> Result<Option<Head>, AuditFault> {
        Ok(self.store.stored_head()?)
    }
    fn geometry_fault(&self) -> Result<Option<(u64, &'static str)>, AuditFault> {
        Ok(self.store.geometry_fault()?)
    }
    fn members(&self) -> Result<Option<Vec<Member>>, AuditFault> {
        Ok(Some(self.store.members(None)?))
    }
    fn track_rows(&self) -> Result<Option<Vec<TrackRow>>, AuditFault> {
        Ok(Some(self.store.track_rows(
            -1,
            i64::MIN,
            i64::MAX,
            u64::MAX >> 1,
        )?))
    }
    fn evidence_rows(&self) -> Result<Option<Vec<EvidenceRow>>, AuditFault> {
        Ok(Some(self.store.evidence_rows(None, -1, u64::MAX >> 1)?))
    }
}

/// What the entries say each derived row must be.
#[derive(Default)]
struct Expected {
    observations: foldhash::HashMap<u64, ObservationRow>,
    incidents: foldhash::HashMap<u64, IncidentRow>,
    /// Agreement version → (entry index, document SHA-256 hex).
    agreements: HashMap<u32, (u64, String)>,
    /// Every assessment, in entry order.
    assessments: Vec<AssessmentRow>,
    /// Every analyst's note, in entry order.
    annotations: Vec<AnnotationRow>,
    /// Every track point, in entry order.
    tracks: Vec<TrackRow>,
    /// Every evidence hand-in, in entry order.
    evidence: Vec<EvidenceRow>,
    /// Each incident's current verdict per monitor.
    verdicts: HashMap<u64, BTreeMap<String, Verdict>>,
    /// Each incident's kind as an analyst corrected it.
    corrected: HashMap<u64, Kind>,
    /// Each member: (monitor, role, active, entry, the credential's SHA-256 it commits to).
    members: BTreeMap<String, (String, Role, bool, u64, Option<String>)>,
    /// Assessment keys by monitor, and the record's origin, to check signatures with.
    assessment_keys: HashMap<String, NoteVerifier>,
    origin: String,
    monitors: usize,
    /// Verified assessments by monitor.
    signed: BTreeMap<String, u64>,
}

impl Expected {
    /// Takes in entry `index`, as the decoding kept it (see `pages`).
    fn learn(&mut self, index: u64, kept: pages::Kept) -> Result<(), AuditFault> {
        let body = match kept {
            pages::Kept::Observation(row) => {
                let row = row.map_err(|e| ChainFault::BadEntry {
                    index,
                    message: e.to_string(),
                })?;
                self.observations.insert(row.id, row);
                return Ok(());
            }
            pages::Kept::Revision {
                added,
                mut row,
                status,
            } => {
                for o in added {
                    if let Some(observation) = self.observations.get_mut(&o.0) {
                        observation.incident_id = row.id;
                    }
                }
                self.adjust(&mut row, status);
                self.incidents.insert(row.id, *row);
                return Ok(());
            }
            pages::Kept::Other(body) => *body,
        };
        match body {
            bulk @ (EntryBody::Observation { .. } | EntryBody::IncidentRevision { .. }) => {
                self.learn(index, pages::Kept::of(index, bulk))?;
            }
            EntryBody::Membership {
                user,
                monitor,
                role,
                active,
                credential_sha256,
                ..
            } => {
                self.members
                    .insert(user, (monitor, role, active, index, credential_sha256));
            }
            EntryBody::Assessment {
                incident_id,
                monitor,
                verdict,
                reason,
                user,
                recorded_at,
                signed_note,
            } => {
                let fault = |message: String| AuditFault::Assessment {
                    index,
                    monitor: monitor.clone(),
                    message,
                };
                let key = self
                    .assessment_keys
                    .get(&monitor)
                    .ok_or_else(|| fault("the agreement lists no assessment key for it".into()))?;
                let text = truce_ledger::note::verify_note(signed_note.as_bytes(), key)
                    .map_err(|e| fault(format!("the signed note does not verify: {e}")))?;
                let signed_at = statement_time(&text)
                    .ok_or_else(|| fault("the signed statement has no time".into()))?;
                let statement = assessment_statement(
                    &self.origin,
                    incident_id,
                    &monitor,
                    verdict,
                    &reason,
                    &user,
                    signed_at,
                );
                if text != statement.as_bytes() {
                    return Err(fault(
                        "the signed statement is not what the entry says (incident, verdict, reason or officer \
                         differ)"
                            .into(),
                    ));
                }
                *self.signed.entry(monitor.clone()).or_default() += 1;
                self.assessments.push(AssessmentRow {
                    entry: index,
                    incident_id: incident_id.0,
                    monitor: monitor.clone(),
                    verdict: verdict.as_str().to_string(),
                    reason,
                    user,
                    at_ns: recorded_at.unix_nanos() as i64,
                });
                self.verdicts
                    .entry(incident_id.0)
                    .or_default()
                    .insert(monitor, verdict);
                if let Some(mut row) = self.incidents.remove(&incident_id.0) {
                    let base = if row.status == Status::Merged.as_str() {
                        Status::Merged
                    } else {
                        Status::Reported
                    };
                    self.adjust(&mut row, base);
                    self.incidents.insert(incident_id.0, row);
                }
            }
            EntryBody::Annotation {
                incident_id,
                user,
                text,
                corrected_kind,
                recorded_at,
            } => {
                self.annotations.push(AnnotationRow {
                    entry: index,
                    incident_id: incident_id.0,
                    user,
                    text,
                    corrected_kind: corrected_kind.map(|k| k.as_str().to_string()),
                    at_ns: recorded_at.unix_nanos() as i64,
                });
                if let Some(kind) = corrected_kind {
                    self.corrected.insert(incident_id.0, kind);
                    if let Some(row) = self.incidents.get_mut(&incident_id.0) {
                        row.kind = kind.as_str().to_string();
                    }
                }
            }
            EntryBody::Agreement {
                version,
                document_sha256,
                ..
            } => {
                self.agreements.insert(version, (index, document_sha256));
            }
            EntryBody::Report { record_size, .. } if record_size > index => {
                return Err(AuditFault::Report {
                    index,
                    message: format!(
                        "it says its figures come from the record at size {record_size}, which this entry precedes"
                    ),
                });
            }
            EntryBody::Report { .. } => {}
            EntryBody::Evidence { .. } => {
                self.evidence.extend(EvidenceRow::of(index, &body));
            }
            EntryBody::Track { monitor, point, .. } => {
                self.tracks.push(TrackRow::of(index, &monitor, &point));
            }
        }
        Ok(())
    }

    /// The status and kind an incident row has once verdicts and corrections are counted.
    fn adjust(&self, row: &mut IncidentRow, base: Status) {
        let verdicts: Vec<Verdict> = self
            .verdicts
            .get(&row.id)
            .map(|v| v.values().copied().collect())
            .unwrap_or_default();
        row.status = derive_status(base, self.monitors, &verdicts)
            .as_str()
            .to_string();
        if let Some(kind) = self.corrected.get(&row.id) {
            row.kind = kind.as_str().to_string();
        }
    }

    fn check(mut self, store: &dyn AuditSource) -> Result<(), AuditFault> {
        let bad = |table, id, field| AuditFault::Projection { table, id, field };
        let mut after = 0;
        loop {
            let rows = store.observation_rows(after, PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                let want = self
                    .observations
                    .remove(&row.id)
                    .ok_or_else(|| bad("observations", row.id, "row"))?;
                let field = if row.entry != want.entry {
                    Some("entry")
                } else if row.incident_id != want.incident_id {
                    Some("incident_id")
                } else if row.kind != want.kind {
                    Some("kind")
                } else if row.observed_ns != want.observed_ns {
                    Some("observed_ns")
                } else if row.client_id != want.client_id {
                    Some("client_id")
                } else if row.content_hash != want.content_hash {
                    Some("content_hash")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("observations", row.id, f));
                }
            }
        }
        if let Some(id) = self.observations.keys().min() {
            return Err(bad("observations", *id, "row"));
        }
        let mut after = 0;
        loop {
            let rows = store.incident_rows(after, PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows {
                let want = self
                    .incidents
                    .remove(&row.id)
                    .ok_or_else(|| bad("incidents", row.id, "row"))?;
                let field = if row.revision != want.revision {
                    Some("revision")
                } else if row.entry != want.entry {
                    Some("entry")
                } else if row.kind != want.kind {
                    Some("kind")
                } else if row.status != want.status {
                    Some("status")
                } else if row.side != want.side {
                    Some("side")
                } else if row.clauses != want.clauses {
                    Some("clauses")
                } else if row.first_seen_ns != want.first_seen_ns {
                    Some("first_seen_ns")
                } else if row.last_seen_ns != want.last_seen_ns {
                    Some("last_seen_ns")
                } else if row.lat.map(f64::to_bits) != want.lat.map(f64::to_bits) {
                    Some("lat")
                } else if row.lon.map(f64::to_bits) != want.lon.map(f64::to_bits) {
                    Some("lon")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("incidents", row.id, f));
                }
            }
        }
        if let Some(id) = self.incidents.keys().min() {
            return Err(bad("incidents", *id, "row"));
        }
        for v in store.agreement_versions()? {
            let (entry, digest) = self
                .agreements
                .remove(&v.version)
                .ok_or_else(|| bad("agreements", u64::from(v.version), "row"))?;
            if v.entry != entry {
                return Err(bad("agreements", u64::from(v.version), "entry"));
            }
            if sha256_hex(&v.document) != digest {
                return Err(bad("agreements", u64::from(v.version), "document"));
            }
        }
        if let Some(v) = self.agreements.keys().min() {
            return Err(bad("agreements", u64::from(*v), "row"));
        }
        if let Some(rows) = store.assessment_rows()? {
            let mut want = self.assessments.iter();
            for row in &rows {
                let Some(w) = want.next() else {
                    return Err(bad("assessments", row.entry, "row"));
                };
                if row != w {
                    let field = if row.entry != w.entry {
                        "row"
                    } else if row.verdict != w.verdict {
                        "verdict"
                    } else if row.reason != w.reason {
                        "reason"
                    } else {
                        "monitor, user, incident or time"
                    };
                    return Err(bad("assessments", w.entry, field));
                }
            }
            if let Some(w) = want.next() {
                return Err(bad("assessments", w.entry, "row"));
            }
        }
        if let Some(rows) = store.annotation_rows()? {
            let mut want = self.annotations.iter();
            for row in &rows {
                let Some(w) = want.next() else {
                    return Err(bad("annotations", row.entry, "row"));
                };
                let field = if row.entry != w.entry {
                    Some("row")
                } else if row.incident_id != w.incident_id {
                    Some("incident_id")
                } else if row.user != w.user {
                    Some("user")
                } else if row.text != w.text {
                    Some("text")
                } else if row.corrected_kind != w.corrected_kind {
                    Some("corrected_kind")
                } else if row.at_ns != w.at_ns {
                    Some("at_ns")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("annotations", w.entry, f));
                }
            }
            if let Some(w) = want.next() {
                return Err(bad("annotations", w.entry, "row"));
            }
        }
        if let Some(members) = store.members()? {
            for m in &members {
                let Some((monitor, role, active, entry, credential)) = self.members.remove(&m.user)
                else {
                    return Err(bad("members", m.entry, "row"));
                };
                let stored = m.token_hash.as_deref().map(|t| sha256_hex(t.as_bytes()));
                // A revoked member keeps no credential; a member whose entry commits to one
                // keeps that one or none (a replayed record keeps no tokens: no one signs in
                // with it), never another (entries before the commitment say nothing of it).
                let credential_differs = if active {
                    credential.is_some() && stored.is_some() && stored != credential
                } else {
                    stored.is_some()
                };
                let field = if m.monitor != monitor {
                    Some("monitor")
                } else if m.role != role {
                    Some("role")
                } else if m.active != active {
                    Some("active")
                } else if m.entry != entry {
                    Some("entry")
                } else if credential_differs {
                    Some("token_hash")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("members", entry, f));
                }
            }
            if let Some((_, (_, _, _, entry, _))) = self.members.iter().next() {
                return Err(bad("members", *entry, "row"));
            }
        }
        if let Some(rows) = store.track_rows()? {
            let mut want = self.tracks.iter();
            for row in &rows {
                let Some(w) = want.next() else {
                    return Err(bad("tracks", row.entry, "row"));
                };
                let field = if row.entry != w.entry {
                    Some("row")
                } else if row.monitor != w.monitor {
                    Some("monitor")
                } else if (&row.device, &row.callsign, &row.platform)
                    != (&w.device, &w.callsign, &w.platform)
                {
                    Some("device, callsign or platform")
                } else if row.at_ns != w.at_ns {
                    Some("at_ns")
                } else if row.lat.to_bits() != w.lat.to_bits()
                    || row.lon.to_bits() != w.lon.to_bits()
                {
                    Some("lat or lon")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("tracks", w.entry, f));
                }
            }
            if let Some(w) = want.next() {
                return Err(bad("tracks", w.entry, "row"));
            }
        }
        if let Some(rows) = store.evidence_rows()? {
            let mut want = self.evidence.iter();
            for row in &rows {
                let Some(w) = want.next() else {
                    return Err(bad("evidence", row.entry, "row"));
                };
                let field = if row.entry != w.entry {
                    Some("row")
                } else if row.sha256 != w.sha256 {
                    Some("sha256")
                } else if row.size != w.size {
                    Some("size")
                } else if row.media_type != w.media_type {
                    Some("media_type")
                } else if (&row.user, &row.monitor) != (&w.user, &w.monitor) {
                    Some("user or monitor")
                } else if row.received_ns != w.received_ns {
                    Some("received_ns")
                } else {
                    None
                };
                if let Some(f) = field {
                    return Err(bad("evidence", w.entry, f));
                }
            }
            if let Some(w) = want.next() {
                return Err(bad("evidence", w.entry, "row"));
            }
        }
        Ok(())
    }
}

/// Entries, tree hashes and rows read at a time.
const PAGE: u64 = 10_000;

/// The audit's pass over the entries, in order: what it has computed so far.
struct Walk {
    frontier: Frontier,
    chain: [u8; 32],
    /// Checkpoint sizes, ascending, and the next one whose root is still to be taken.
    wanted: Vec<u64>,
    next_checkpoint: usize,
    roots: HashMap<u64, truce_ledger::Hash>,
    next_hash_index: u64,
    observations: u64,
    revisions: u64,
    evidence_files: Vec<(String, u64)>,
    evidence_seen: std::collections::HashSet<String>,
    expected: Expected,
}

impl Walk {
    /// Checks the entries of `page` (decoded as `decoded`) in order, against the chain, the
    /// tree hashes and entry types `store` keeps, and learns what they imply.
    fn page(
        &mut self,
        store: &mut dyn AuditSource,
        page: Vec<AuditEntry>,
        decoded: Vec<pages::Decoded>,
    ) -> Result<(), AuditFault> {
        for ((found, _, stored_chain), decoded) in page.into_iter().zip(decoded) {
            let index = self.frontier.size();
            if found != index {
                return Err(ChainFault::Gap {
                    expected: index,
                    found,
                }
                .into());
            }
            let kept = decoded.body.map_err(|err| ChainFault::BadEntry {
                index,
                message: err.to_string(),
            })?;
            match &kept {
                pages::Kept::Observation(_) => self.observations += 1,
                pages::Kept::Revision { .. } => self.revisions += 1,
                pages::Kept::Other(body)
                    if let EntryBody::Evidence { sha256, size, .. } = &**body =>
                {
                    if self.evidence_seen.insert(sha256.clone()) {
                        self.evidence_files.push((sha256.clone(), *size));
                    }
                }
                pages::Kept::Other(_) => {}
            }
            self.chain = chain_hash(&self.chain, &decoded.leaf);
            if stored_chain.is_some_and(|c| c != self.chain) {
                return Err(ChainFault::ChainMismatch { index }.into());
            }
            store.check_entry_type(index, kept.type_name())?;
            self.expected.learn(index, kept)?;
            for (hash_index, hash) in self
                .frontier
                .append_leaf_hash(truce_ledger::Hash(decoded.leaf))
            {
                store.check_tree_hash(hash_index, &hash.0)?;
                self.next_hash_index = hash_index + 1;
            }
            while self.wanted.get(self.next_checkpoint) == Some(&self.frontier.size()) {
                self.roots
                    .insert(self.wanted[self.next_checkpoint], self.frontier.root());
                self.next_checkpoint += 1;
            }
        }
        Ok(())
    }
}

/// Compares the head row `source` keeps (if any) with the `size` entries audited, their last
/// chain hash (where the source keeps chain hashes) and their `root`. A head beyond the entries
/// read is only a fault if no entry has been appended since.
fn check_head(
    source: &dyn AuditSource,
    size: u64,
    chain: &[u8; 32],
    root: &[u8; 32],
) -> Result<(), AuditFault> {
    let Some(head) = source.stored_head()? else {
        return Ok(());
    };
    let field = if head.size > size && source.has_entries_from(size)? {
        return Ok(()); // the record grew while it was audited
    } else if head.size != size {
        "size"
    } else if head.root != *root {
        "root"
    } else if head.chain != *chain {
        "chain"
    } else {
        return Ok(());
    };
    Err(AuditFault::Projection {
        table: "log_head",
        id: 1,
        field,
    })
}

/// Audits `store` against `agreement`'s keys (what `truce verify --data` runs).
pub fn audit(store: &dyn Store, agreement: &Agreement) -> Result<AuditReport, AuditFault> {
    audit_source(&mut StoreSource::new(store), agreement)
}

/// Audits a record from `source` against `agreement`'s keys: recomputes the chain (where kept)
/// and the Merkle tree from the entries, compares every stored tree hash and every derived row
/// with what the entries say, and checks every checkpoint and cosignature. The first
/// discrepancy is returned.
pub fn audit_source(
    store: &mut dyn AuditSource,
    agreement: &Agreement,
) -> Result<AuditReport, AuditFault> {
    let keys = LedgerKeys::from_agreement(agreement).map_err(|e| AuditFault::Signature {
        size: 0,
        message: e.to_string(),
    })?;
    let checkpoints = store.checkpoints()?;
    if let Some(orphans) = store.orphan_cosignatures()?
        && orphans > 0
    {
        return Err(AuditFault::OrphanCosignatures { count: orphans });
    }
    let mut wanted: Vec<u64> = checkpoints.iter().map(|c| c.size).collect();
    wanted.sort_unstable();
    let mut expected = Expected {
        monitors: agreement.doc.monitors.len(),
        origin: agreement
            .doc
            .ledger
            .as_ref()
            .map(|l| l.origin.clone())
            .unwrap_or_else(|| agreement.doc.name.clone()),
        ..Expected::default()
    };
    if let Some(ledger) = &agreement.doc.ledger {
        for (monitor, text) in &ledger.assessment_keys {
            let key = NoteVerifier::from_text(text).map_err(|e| AuditFault::Assessment {
                index: 0,
                monitor: monitor.clone(),
                message: format!("its key in the agreement is unusable: {e}"),
            })?;
            expected.assessment_keys.insert(monitor.clone(), key);
        }
    }
    let mut walk = Walk {
        frontier: Frontier::new(),
        chain: [0u8; 32],
        wanted,
        next_checkpoint: 0,
        roots: HashMap::new(),
        next_hash_index: 0,
        observations: 0,
        revisions: 0,
        evidence_files: Vec::new(),
        evidence_seen: std::collections::HashSet::new(),
        expected,
    };
    // Page n is checked on this thread while the others decode page n + 1 (`pages`).
    let helpers = std::thread::available_parallelism().map_or(1, usize::from) - 1;
    let first = store.entries(0, PAGE)?;
    let (_, mut decoded) = pages::decode_beside(&first, helpers, || ());
    let mut page = first;
    while !page.is_empty() {
        let next_from = page.last().map_or(0, |(index, _, _)| index + 1);
        let next = match store.entries(next_from, PAGE) {
            Ok(next) => next,
            // Page n comes first in the record: a fault in it is named before a failure to
            // read what follows it.
            Err(unread) => {
                walk.page(store, page, decoded)?;
                return Err(unread);
            }
        };
        let (checked, next_decoded) =
            pages::decode_beside(&next, helpers, || walk.page(store, page, decoded));
        checked?;
        (page, decoded) = (next, next_decoded);
    }
    let Walk {
        frontier,
        chain,
        roots,
        next_hash_index,
        observations,
        revisions,
        evidence_files,
        expected,
        ..
    } = walk;
    store.finish_tree(next_hash_index)?;
    check_head(&*store, frontier.size(), &chain, &frontier.root().0)?;
    let signed_assessments = expected.signed.clone();
    expected.check(&*store)?;
    if let Some((id, field)) = store.geometry_fault()? {
        return Err(AuditFault::Projection {
            table: "incidents",
            id,
            field,
        });
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
                entries: frontier.size(),
            });
        };
        if *root != verified.root {
            return Err(AuditFault::RootMismatch { size: cp.size });
        }
        // Every stored cosignature must be its monitor's witness's, and verify.
        for (monitor, _) in &cp.cosignatures {
            let name = keys
                .witnesses
                .iter()
                .find(|(m, _)| m == monitor)
                .map(|(_, v)| v.name());
            if !name.is_some_and(|n| verified.cosigners.iter().any(|(c, _)| c == n)) {
                return Err(AuditFault::Signature {
                    size: cp.size,
                    message: format!("the cosignature stored for {monitor} does not verify"),
                });
            }
        }
        let all_cosigned = keys
            .witnesses
            .iter()
            .all(|(_, v)| verified.cosigners.iter().any(|(n, _)| n == v.name()));
        if all_cosigned {
            agreed = Some(cp.size);
        }
    }
    Ok(AuditReport {
        entries: frontier.size(),
        observations,
        incident_revisions: revisions,
        root: frontier.root().0,
        checkpoints: checkpoints.len(),
        agreed_size: agreed,
        signed_assessments,
        evidence_files,
    })
}
