//! Storage for truce: the shared record and the tables derived from it, behind [`Store`].
//!
//! The record is one ordered table of entries (canonical bytes, each chained to the one before by
//! SHA-256; see [`truce_core::entry`]). Every other table — observations, incidents, blobs — is a
//! projection written in the *same transaction* as the entries it derives from, so a reader never
//! sees an observation without its entry, and a crash leaves either both or neither.
//!
//! Architecture invariant: nothing here updates or deletes an entry. Projections (the current
//! state of an incident) are updated; the entries that justify them are only ever appended.
//!
//! [`SqliteStore`] is the embedded implementation (one file, WAL); [`PgStore`] keeps the same
//! record in PostgreSQL with PostGIS, for a mission that outgrows one machine. Callers hold a
//! `dyn Store`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod assemble;
#[cfg(test)]
mod conformance;
mod error;
mod evidence_dir;
mod evidence_files;
mod model;
mod pg;
mod sqlite;
mod verify;

pub use error::{StorageFault, StoreError};
pub use evidence_dir::{EvidenceDir, FileCheck, is_sha256_hex};
pub use evidence_files::EvidenceFiles;
pub use model::{
    AgreementVersion, AnnotationRow, AppendBatch, AppendReceipt, AssessmentRow, ClientRecord,
    Durability, EvidenceRow, Head, IncidentFilter, IncidentRow, IntakeRequest, IntakeSettle,
    Member, NewEntry, ObservationRow, PendingIntake, Projection, StoredCheckpoint, StoredEntry,
    StoredObservation, TrackRow,
};
pub use pg::{LEASE, Leadership, PgStore, PgTarget, RENEW_EVERY};
pub use sqlite::SqliteStore;

pub use verify::{ChainFault, ChainReport, verify_chain};

use truce_core::agreement::AgreementDoc;
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::{Incident, IncidentId, Kind, ObservationId, Timestamp};
use uuid::Uuid;

/// What every storage backend provides. Methods take `&self`: implementations serialise writers
/// internally and let readers run concurrently.
pub trait Store: Send + Sync {
    /// Appends `batch` atomically: all its entries and projections, or nothing.
    fn append(&self, batch: &AppendBatch) -> Result<AppendReceipt, StoreError>;

    /// [`Store::append`], recording `settle` as an intake item's answer in the same
    /// transaction; refused when the item was answered already. Stores without an intake queue
    /// refuse any `settle`.
    fn append_settling(
        &self,
        batch: &AppendBatch,
        settle: Option<&IntakeSettle>,
    ) -> Result<AppendReceipt, StoreError> {
        match settle {
            None => self.append(batch),
            Some(s) => Err(StoreError::Config(format!(
                "this store has no intake queue (item {})",
                s.id
            ))),
        }
    }

    /// Runs `read`, during which every read this thread makes of this store sees the record
    /// as it stood at one moment, whatever is appended meanwhile, by this process or another:
    /// for figures that must all come from one record size (an issued report's). The default
    /// only runs `read`: right for a store whose every writer is in this process, held still
    /// by the caller (SQLite's, one writer a record).
    fn read_at_one_moment(&self, read: &mut dyn FnMut()) -> Result<(), StoreError> {
        read();
        Ok(())
    }

    /// Whether this store keeps evidence files itself (PostgreSQL, so that every node of
    /// several reaches them); when not, the center keeps them in its evidence folder.
    fn keeps_evidence_files(&self) -> bool {
        false
    }

    /// This store's intake queue, which nodes put submissions in for the sequencer to record
    /// (PostgreSQL's); `None` for a store only one process uses.
    fn intake_queue(&self) -> Option<&dyn IntakeQueue> {
        None
    }

    /// Keeps `bytes` as the evidence file `sha256` (their SHA-256, which the caller computed):
    /// committed when this returns; the same file again changes nothing. Refused by a store
    /// that keeps no files.
    fn put_evidence_file(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let _ = bytes;
        Err(StoreError::Config(format!(
            "this store keeps no evidence files ({sha256}); they go in the evidence folder"
        )))
    }

    /// The evidence file `sha256` as this store keeps it (not checked against its name), or
    /// `None` when it keeps no such file.
    fn evidence_file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = sha256;
        Ok(None)
    }

    /// The record's current size and chain hash.
    fn head(&self) -> Result<Head, StoreError>;

    /// The records of the given client ids that are already stored.
    fn client_records(&self, ids: &[Uuid]) -> Result<Vec<ClientRecord>, StoreError>;

    /// One observation with its entry index and incident.
    fn observation(&self, id: ObservationId) -> Result<Option<StoredObservation>, StoreError>;

    /// One incident in its latest revision.
    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError>;

    /// Incidents matching `filter`, most recent first.
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError>;

    /// Incidents matching `filter` (its limit aside) with id > `after`, in id order, at most
    /// `limit`: for exports that page through them all.
    fn incidents_by_id(
        &self,
        filter: &IncidentFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError>;

    /// Observations with id > `after`, in id order, at most `limit`.
    fn observations_by_id(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError>;

    /// Every incident's id, latest revision and estimate, for rebuilding fusion state.
    fn latest_estimates(&self) -> Result<Vec<(IncidentId, u32, IncidentEstimate)>, StoreError>;

    /// The agreement in force (its version and document), if one was recorded.
    fn agreement(&self) -> Result<Option<(u32, AgreementDoc)>, StoreError>;

    /// Entries `from..from+limit` of the record, in order.
    fn entries(&self, from: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError>;

    /// The highest observation and incident numbers used so far (0 when none).
    fn max_ids(&self) -> Result<(ObservationId, IncidentId), StoreError>;

    /// Merkle tree hashes by their stored-hash index (`sumdb/tlog` order), in the order asked.
    fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError>;

    /// Records a checkpoint the log signed for `size` entries. A checkpoint is never replaced:
    /// the same size again is refused.
    fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError>;

    /// Records (or replaces with a newer one) a witness's cosignature line for checkpoint `size`.
    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError>;

    /// The latest checkpoint with its cosignatures, if any.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Every checkpoint with its cosignatures, oldest first.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// The latest checkpoint that every one of `witnesses` has cosigned, with all its
    /// cosignatures (the latest checkpoint when `witnesses` is empty); `None` when there is
    /// none. Read from the newest checkpoint down, so it costs little while witnesses keep up.
    fn agreed_checkpoint(
        &self,
        witnesses: &[String],
    ) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// The checkpoint of `size` with its cosignatures, if one is stored.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// The size of the latest checkpoint `witness` has cosigned, if any.
    fn latest_cosigned(&self, witness: &str) -> Result<Option<u64>, StoreError>;

    /// The head as a head row keeps it beside the entries, for stores that keep one
    /// (PostgreSQL's `log_head`, which fences sequencers); `None` where the head is only ever
    /// derived from the entries (SQLite). The audit compares it with the entries.
    fn stored_head(&self) -> Result<Option<Head>, StoreError> {
        Ok(None)
    }

    /// The first incident, by id, whose geometry columns are not what its row's position and
    /// its revision entry's 95% ellipse make, as `(id, column)`, for stores that keep geometry
    /// (PostGIS); `None` when every one is, or the store keeps none.
    fn geometry_fault(&self) -> Result<Option<(u64, &'static str)>, StoreError> {
        Ok(None)
    }

    /// How many stored cosignatures belong to no stored checkpoint (the audit finds one moved
    /// off its checkpoint this way; a cosignature is only ever stored for a checkpoint).
    fn orphan_cosignatures(&self) -> Result<u64, StoreError>;

    /// Stored tree hashes with index ≥ `from`, in index order, at most `limit`.
    fn tree_hash_page(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError>;

    /// The type column stored beside each entry with index ≥ `from`, in index order, at most
    /// `limit` (what the audit compares with each entry's own type).
    fn entry_types(&self, from: u64, limit: u64) -> Result<Vec<(u64, String)>, StoreError>;

    /// `observations` rows with id > `after`, in id order, at most `limit`.
    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, StoreError>;

    /// `incidents` rows with id > `after`, in id order, at most `limit`.
    fn incident_rows(&self, after: u64, limit: u64) -> Result<Vec<IncidentRow>, StoreError>;

    /// Every recorded agreement version with its stored document.
    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, StoreError>;

    /// One member by name, active or revoked.
    fn member(&self, user: &str) -> Result<Option<Member>, StoreError>;

    /// The members of `monitor`, or of every monitor, by name.
    fn members(&self, monitor: Option<&str>) -> Result<Vec<Member>, StoreError>;

    /// `assessments` rows with entry > `after` (−1 for all), in entry order, at most `limit`.
    fn assessment_rows(&self, after: i64, limit: u64) -> Result<Vec<AssessmentRow>, StoreError>;

    /// `annotations` rows with entry > `after` (−1 for all), in entry order, at most `limit`.
    fn annotation_rows(&self, after: i64, limit: u64) -> Result<Vec<AnnotationRow>, StoreError>;

    /// `tracks` rows with entry > `after` (−1 for all) whose time is in `[since_ns,
    /// until_ns)`, in entry order, at most `limit`.
    fn track_rows(
        &self,
        after: i64,
        since_ns: i64,
        until_ns: i64,
        limit: u64,
    ) -> Result<Vec<TrackRow>, StoreError>;

    /// `evidence` rows (hand-ins of files) with entry > `after` (−1 for all), of the file
    /// `sha256` or of every file, in entry order, at most `limit`.
    fn evidence_rows(
        &self,
        sha256: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<EvidenceRow>, StoreError>;

    /// Every analyst's kind correction, in entry order: (incident, kind).
    fn corrected_kinds(&self) -> Result<Vec<(IncidentId, Kind)>, StoreError>;
}

/// Submissions committed before they are sequenced, so that any node can acknowledge them and
/// the one sequencer numbers them in commit order (PostgreSQL).
pub trait IntakeQueue: Send + Sync {
    /// Commits `body` (a `request`) from `member`, received at `received`; answers its number.
    fn put(
        &self,
        request: IntakeRequest,
        member: &str,
        body: &[u8],
        received: Timestamp,
    ) -> Result<u64, StoreError>;
    /// The answer item `id` got, once sequenced: (HTTP status, JSON body).
    fn outcome(&self, id: u64) -> Result<Option<(u16, String)>, StoreError>;
    /// Counts one more attempt at sequencing item `id`; answers the count so far.
    fn attempt(&self, id: u64) -> Result<u32, StoreError>;
    /// Takes back one attempt counted at item `id` while it is unanswered (never below
    /// zero): its try ended in a fault of the database or of the sequencer's role, not of the
    /// item, and must not count towards failing it.
    fn release(&self, id: u64) -> Result<(), StoreError>;
    /// Items not yet answered, in commit order, at most `limit`.
    fn pending(&self, limit: u32) -> Result<Vec<PendingIntake>, StoreError>;
    /// Records item `id`'s answer when no entries come with it (a refusal, a resubmission);
    /// refused when it was answered already.
    fn settle(&self, settle: &IntakeSettle) -> Result<(), StoreError>;
    /// Whether this handle may answer the queue: `Ok` while it sequences the record;
    /// [`StoreError::Fenced`] once another process took the sequencer's role from it (it must
    /// stop answering), another error when that cannot be told now (the database away).
    fn answering(&self) -> Result<(), StoreError>;
}
