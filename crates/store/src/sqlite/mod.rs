//! The embedded store: one SQLite file in WAL mode, one writer connection and a small pool of
//! readers.

mod read;
mod schema;
mod write;
mod writer_lock;

use crate::Store;
use crate::error::{Context, StoreError};
use crate::model::{
    AgreementVersion, AnnotationRow, AppendBatch, AppendReceipt, AssessmentRow, ClientRecord,
    Durability, EvidenceRow, Head, IncidentFilter, IncidentRow, Member, ObservationRow,
    StoredCheckpoint, StoredEntry, StoredObservation, TrackRow,
};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use truce_core::agreement::AgreementDoc;
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::{Incident, IncidentId, Kind, ObservationId};
use uuid::Uuid;

/// Readers kept open between queries; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// A truce store in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    /// The one connection that writes: holding its lock is holding the right to append.
    writer: Mutex<write::Writer>,
    /// The exclusive lock on the record (`FILE.lock`) while this store may write; `None` when
    /// opened for reading beside a process that holds it.
    writer_lock: Option<std::fs::File>,
    /// For a store opened for reading: one connection holding a read transaction, so every
    /// read sees the record as it was when the store was opened, however a server beside it
    /// appends meanwhile (an audit or an export is of one record, not of two).
    snapshot: Option<Mutex<Connection>>,
    /// Idle read-only connections.
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if absent) the store at `path` for writing, migrating its schema to
    /// this version. Only one process at a time: it holds an exclusive lock on `PATH.lock`
    /// while the store is open, and refuses ([`StoreError::InUse`], naming the holder) when
    /// another process holds it.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let lock = writer_lock::take(path)?;
        let mut store = Self::open_unlocked(path, durability, true)?;
        store.writer_lock = Some(lock);
        Ok(store)
    }

    /// Opens the store at `path` for reading, beside a running writer or not: it never keeps
    /// the writer's lock, refuses every write ([`StoreError::ReadOnly`]), and reads one
    /// snapshot: the record as it was when opened. A schema older than this build's is first
    /// migrated, under the lock, when no process holds it; one newer is refused.
    pub fn open_reading(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let migrate = schema::needs_migration(path)?;
        let mut store = if migrate {
            let lock = writer_lock::take(path)?;
            let store = Self::open_unlocked(path, durability, true)?;
            drop(lock);
            store
        } else {
            Self::open_unlocked(path, durability, false)?
        };
        let snapshot = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context("opening a reader")?;
        snapshot
            .busy_timeout(std::time::Duration::from_secs(10))
            .context("configuring a reader")?;
        // A read transaction starts at its first read: the head is read inside it.
        snapshot
            .execute_batch("BEGIN")
            .context("starting a snapshot")?;
        let head = write::load_head(&snapshot)?;
        store.writer()?.set_head(head)?;
        store.snapshot = Some(Mutex::new(snapshot));
        Ok(store)
    }

    fn open_unlocked(
        path: &Path,
        durability: Durability,
        migrate: bool,
    ) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).context("opening the database file")?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Process => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {sync};
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;"
        ))
        .context("configuring the database")?;
        if migrate {
            schema::migrate(&mut conn)?;
        }
        let head = write::load_head(&conn)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(write::Writer::new(conn, head)?),
            writer_lock: None,
            snapshot: None,
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a read-only connection from the pool.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(snapshot) = &self.snapshot {
            let conn = snapshot
                .lock()
                .map_err(|_| StoreError::Corrupt("a reader panicked mid-read".into()))?;
            return f(&conn);
        }
        let pooled = self.readers.lock().ok().and_then(|mut r| r.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .context("opening a reader")?;
                c.busy_timeout(std::time::Duration::from_secs(10))
                    .context("configuring a reader")?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        result
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, write::Writer>, StoreError> {
        self.writer
            .lock()
            .map_err(|_| StoreError::Corrupt("a writer panicked mid-transaction".into()))
    }

    /// The writer, to write with: refused when this store was opened for reading only.
    fn writing(&self) -> Result<std::sync::MutexGuard<'_, write::Writer>, StoreError> {
        if self.writer_lock.is_none() {
            return Err(StoreError::ReadOnly(format!(
                "{} is open for reading only here",
                self.path.display()
            )));
        }
        self.writer()
    }
}

impl Store for SqliteStore {
    fn append(&self, batch: &AppendBatch) -> Result<AppendReceipt, StoreError> {
        self.writing()?.append(batch)
    }

    fn head(&self) -> Result<Head, StoreError> {
        Ok(self.writer()?.head())
    }

    fn client_records(&self, ids: &[Uuid]) -> Result<Vec<ClientRecord>, StoreError> {
        // A reader sees every committed append, and does not wait for the one under way (the
        // engine keeps client ids of uncommitted batches itself).
        self.read(|c| read::client_records(c, ids))
    }

    fn observation(&self, id: ObservationId) -> Result<Option<StoredObservation>, StoreError> {
        self.read(|c| read::observation(c, id))
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        self.read(|c| read::incident(c, id))
    }

    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        self.read(|c| read::incidents(c, filter))
    }

    fn latest_estimates(&self) -> Result<Vec<(IncidentId, u32, IncidentEstimate)>, StoreError> {
        self.read(read::latest_estimates)
    }

    fn agreement(&self) -> Result<Option<(u32, AgreementDoc)>, StoreError> {
        self.read(read::agreement)
    }

    fn entries(&self, from: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
        self.read(|c| read::entries(c, from, limit))
    }

    fn max_ids(&self) -> Result<(ObservationId, IncidentId), StoreError> {
        self.read(read::max_ids)
    }

    fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        self.read(|c| read::tree_hashes(c, indexes))
    }

    fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.writing()?.add_checkpoint(size, note)
    }

    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.writing()?.add_cosignature(size, witness, line)
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.read(|c| read::checkpoints(c, true))?.pop())
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.read(|c| read::checkpoints(c, false))
    }

    fn agreed_checkpoint(
        &self,
        witnesses: &[String],
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.read(|c| read::agreed_checkpoint(c, witnesses))
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.read(|c| read::checkpoint_of(c, size))
    }

    fn latest_cosigned(&self, witness: &str) -> Result<Option<u64>, StoreError> {
        self.read(|c| read::latest_cosigned(c, witness))
    }

    fn tree_hash_page(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.read(|c| read::tree_hash_page(c, from, limit))
    }

    fn orphan_cosignatures(&self) -> Result<u64, StoreError> {
        self.read(read::orphan_cosignatures)
    }

    fn entry_types(&self, from: u64, limit: u64) -> Result<Vec<(u64, String)>, StoreError> {
        self.read(|c| read::entry_types(c, from, limit))
    }

    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, StoreError> {
        self.read(|c| read::observation_rows(c, after, limit))
    }

    fn incident_rows(&self, after: u64, limit: u64) -> Result<Vec<IncidentRow>, StoreError> {
        self.read(|c| read::incident_rows(c, after, limit))
    }

    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, StoreError> {
        self.read(read::agreement_versions)
    }

    fn member(&self, user: &str) -> Result<Option<Member>, StoreError> {
        self.read(|c| read::member(c, user))
    }

    fn members(&self, monitor: Option<&str>) -> Result<Vec<Member>, StoreError> {
        self.read(|c| read::members(c, monitor))
    }

    fn assessment_rows(&self, after: i64, limit: u64) -> Result<Vec<AssessmentRow>, StoreError> {
        self.read(|c| read::assessment_rows(c, after, limit))
    }

    fn annotation_rows(&self, after: i64, limit: u64) -> Result<Vec<AnnotationRow>, StoreError> {
        self.read(|c| read::annotation_rows(c, after, limit))
    }

    fn incidents_by_id(
        &self,
        filter: &IncidentFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        self.read(|c| read::incidents_by_id(c, filter, after, limit))
    }

    fn observations_by_id(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.read(|c| read::observations_by_id(c, after, limit))
    }

    fn track_rows(
        &self,
        after: i64,
        since_ns: i64,
        until_ns: i64,
        limit: u64,
    ) -> Result<Vec<TrackRow>, StoreError> {
        self.read(|c| read::track_rows(c, after, since_ns, until_ns, limit))
    }

    fn evidence_rows(
        &self,
        sha256: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.read(|c| read::evidence_rows(c, sha256, after, limit))
    }

    fn corrected_kinds(&self) -> Result<Vec<(IncidentId, Kind)>, StoreError> {
        self.read(read::corrected_kinds)
    }
}

#[cfg(test)]
mod tests;
