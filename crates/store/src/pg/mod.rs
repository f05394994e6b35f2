//! The scale-out store: PostgreSQL with PostGIS, one schema per record.
//!
//! One connection appends (the sequencer's), a small pool reads. Every append locks the head
//! row (`log_head`: size, chain, root, epoch) and checks that it is where this sequencer left
//! it, in the same transaction that writes the entries; opening a store as sequencer starts a
//! new epoch. So a sequencer that another one replaced gets [`StoreError::Fenced`] on its next
//! append or checkpoint, never a second tree.

mod geometry;
mod read;
mod schema;
mod write;

use crate::Store;
use crate::error::{Context, StoreError};
use crate::model::{
    AgreementVersion, AnnotationRow, AppendBatch, AppendReceipt, AssessmentRow, ClientRecord,
    Durability, EvidenceRow, Head, IncidentFilter, IncidentRow, IntakeSettle, Member,
    ObservationRow, PendingIntake, StoredCheckpoint, StoredEntry, StoredObservation, TrackRow,
};
use postgres::{Client, Config, NoTls};
use std::sync::{Mutex, MutexGuard};
use truce_core::agreement::AgreementDoc;
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::{Incident, IncidentId, Kind, ObservationId, Timestamp};
use uuid::Uuid;

/// Readers kept open between queries; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// Most reading connections one store opens at once; beyond, a query waits for one
/// ([`READER_WAIT`] at most), so a burst never exhausts the server's `max_connections`.
const MAX_READERS: usize = 32;

/// How long a query waits for a reading connection before it fails.
const READER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a PostgreSQL store lives: a libpq connection string (URL or `key=value` form) plus
/// truce's own settings, taken from the URL's query: `schema` (default `truce`) and
/// `app_role` (a role to grant the server's rights to when migrating).
#[derive(Clone)]
pub struct PgTarget {
    config: Config,
    schema: String,
    app_role: Option<String>,
    shown: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgTarget {
    /// Parses `url`: `postgres://user@host/db?schema=truce&app_role=truce_app` (other query
    /// parameters go to the driver, e.g. `host=/var/run/postgresql`), or a `key=value` string.
    /// The error names what is wrong; the password is never echoed.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let mut schema = "truce".to_string();
        let mut app_role = None;
        let conn = match url.split_once('?') {
            Some((base, query)) if url.starts_with("postgres") => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    match pair.split_once('=') {
                        Some(("schema", v)) => schema = v.to_string(),
                        Some(("app_role", v)) => app_role = Some(v.to_string()),
                        _ => kept.push(pair),
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            _ => url.to_string(),
        };
        let mut config: Config = conn.parse().map_err(|e: postgres::Error| {
            StoreError::Config(format!("the PostgreSQL address does not parse: {e}"))
        })?;
        // A server that stops answering is noticed in seconds, not after the system's two
        // hours of TCP silence.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(10))
            .tcp_user_timeout(std::time::Duration::from_secs(20));
        let schema = schema::checked_name(&schema, "the schema")?;
        if let Some(role) = &app_role {
            schema::checked_name(role, "the application role")?;
        }
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                postgres::config::Host::Tcp(t) => t.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_default();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        // Never the password.
        let shown = format!(
            "postgres://{}@{host}:{port}/{}?schema={schema}",
            config.get_user().unwrap_or("?"),
            config.get_dbname().unwrap_or("")
        );
        Ok(Self {
            config,
            schema,
            app_role,
            shown,
        })
    }

    /// The schema the record lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The same database with schema `name` (checked as [`PgTarget::parse`] checks it).
    pub fn with_schema(&self, name: &str) -> Result<Self, StoreError> {
        let schema = schema::checked_name(name, "the schema")?;
        let shown = match self.shown.rsplit_once("?schema=") {
            Some((base, _)) => format!("{base}?schema={schema}"),
            None => self.shown.clone(),
        };
        Ok(Self {
            schema,
            shown,
            ..self.clone()
        })
    }

    /// Drops the schema and everything in it: for the scratch schemas of a benchmark, never a
    /// record anyone keeps (the owner's DROP is one thing the database cannot refuse; the
    /// witnesses' cosigned checkpoints are what would show such a record gone).
    pub fn drop_scratch_schema(&self) -> Result<(), StoreError> {
        let mut client = self.connect()?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                schema::ident(&self.schema)
            ))
            .context(&format!("dropping scratch schema {}", self.schema))
    }

    /// A new connection with its search path on the record's schema.
    fn connect(&self) -> Result<Client, StoreError> {
        let mut client = self
            .config
            .connect(NoTls)
            .context(&format!("connecting to {}", self.shown))?;
        client
            .batch_execute(&format!(
                "SET search_path TO {}, public; SET client_min_messages TO warning",
                schema::ident(&self.schema)
            ))
            .context("setting the search path")?;
        Ok(client)
    }
}

/// The sequencer's role for one record, held as a PostgreSQL session-level advisory lock on a
/// connection of its own, as a lease: the server ends that session (and the lock with it) when
/// it stays idle for [`LEASE`], or at once when its connection closes. A keeper thread renews
/// the lease every [`RENEW_EVERY`], however long the sequencer's own work takes (rebuilding
/// fusion from a large record); a process that dies, freezes or is cut off stops renewing it.
/// Holding it only chooses which node sequences; what keeps the record one tree is the epoch
/// every append checks ([`PgStore::open`]).
pub struct Leadership {
    held: std::sync::Arc<std::sync::atomic::AtomicBool>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Leadership")
    }
}

/// How long the sequencer's role outlives its holder's silence.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the holder renews the lease.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl PgTarget {
    /// Takes the sequencer's role for this record if no other session holds it.
    pub fn try_lead(&self) -> Result<Option<Leadership>, StoreError> {
        let mut client = self.connect()?;
        client
            .batch_execute(&format!(
                "SET idle_session_timeout = {}; SET statement_timeout = 5000",
                LEASE.as_millis()
            ))
            .context("setting the lease")?;
        let won: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext('truce sequencer ' || $1))",
                &[&self.schema],
            )
            .context("asking for the sequencer's role")?
            .get(0);
        if !won {
            return Ok(None);
        }
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = held.clone();
        let keeper = std::thread::Builder::new()
            .name("lease".into())
            .spawn(move || {
                use std::sync::atomic::Ordering;
                while flag.load(Ordering::SeqCst) {
                    std::thread::park_timeout(RENEW_EVERY);
                    if !flag.load(Ordering::SeqCst) {
                        break;
                    }
                    if client.is_closed() || client.simple_query("SELECT 1").is_err() {
                        flag.store(false, Ordering::SeqCst);
                    }
                }
                // Dropping the connection ends the session and frees the lock.
                drop(client);
            })
            .map_err(|e| StoreError::Config(format!("starting the lease keeper: {e}")))?;
        Ok(Some(Leadership {
            held,
            keeper: Some(keeper),
        }))
    }
}

impl Leadership {
    /// Whether the role is still held: the keeper's last renewal succeeded.
    pub fn held(&self) -> bool {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Leadership {
    /// Gives the role up: the keeper closes the lock's connection.
    fn drop(&mut self) {
        self.held.store(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(keeper) = self.keeper.take() {
            keeper.thread().unpark();
            let _ = keeper.join();
        }
    }
}

/// Sets how the writer's connection `client` commits (with `Durability::Process` a commit
/// returns before the server has flushed it: it survives this process, not the server), and
/// that the server ends a transaction of it left idle for the [`LEASE`].
fn set_commits(client: &mut Client, durability: Durability) -> Result<(), StoreError> {
    // A sequencer that hangs inside an append (stopped, swapped out) would hold its row locks
    // on the head for as long as it hangs, and the next sequencer's new epoch would wait on
    // them: the server ends such a transaction once it has been idle for the lease.
    client
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {}",
            LEASE.as_millis()
        ))
        .context("bounding a transaction left open")?;
    if durability == Durability::Process {
        client
            .batch_execute("SET synchronous_commit TO off")
            .context("configuring commits")?;
    }
    Ok(())
}

thread_local! {
    /// The reader in a snapshot transaction that [`Store::read_at_one_moment`] holds on this
    /// thread, with the address of the store it reads.
    static SNAPSHOT: std::cell::RefCell<Option<(usize, Client)>> =
        const { std::cell::RefCell::new(None) };
}

/// Puts the snapshot's reader back in the pool when [`Store::read_at_one_moment`] ends,
/// however it ends (a panic in the read included), so no later read on this thread uses it.
struct SnapshotGuard<'a> {
    store: &'a PgStore,
}

impl Drop for SnapshotGuard<'_> {
    fn drop(&mut self) {
        if let Some((_, mut client)) = SNAPSHOT.with(|slot| slot.borrow_mut().take()) {
            // Read-only: ending it changes nothing; a failed end closes the connection.
            if client.batch_execute("COMMIT").is_err() {
                drop(client);
                if let Ok(mut r) = self.store.readers.lock() {
                    r.open = r.open.saturating_sub(1);
                }
                self.store.returned.notify_one();
                return;
            }
            self.store.give_back(client);
        }
    }
}

/// A truce store in a PostgreSQL schema.
pub struct PgStore {
    target: PgTarget,
    /// The sequencer's connection; `None` when opened for reading only.
    writer: Option<Mutex<write::Writer>>,
    /// How the writer commits (kept to set a new connection the same way).
    durability: Durability,
    /// When connecting the writer again last failed: requests within a second of it fail at
    /// once, instead of each waiting out a connection timeout in turn behind the writer.
    reconnect_failed: Mutex<Option<std::time::Instant>>,
    readers: Mutex<Readers>,
    /// Signalled when a reader is given back.
    returned: std::sync::Condvar,
}

/// The reading connections: idle ones, and how many are open in all (idle or in use).
#[derive(Default)]
struct Readers {
    idle: Vec<Client>,
    open: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish()
    }
}

impl PgStore {
    /// Opens the record at `target` (creating and migrating its schema when needed) and takes
    /// the sequencer's role: a new epoch begins, and any earlier sequencer is fenced out.
    pub fn open(target: &PgTarget, durability: Durability) -> Result<Self, StoreError> {
        let mut client = target.connect()?;
        set_commits(&mut client, durability)?;
        let current = schema_is_current(&mut client, &target.schema)?;
        if !current || target.app_role.is_some() {
            let mut tx = client.transaction().context("starting a migration")?;
            schema::migrate(&mut tx, &target.schema, target.app_role.as_deref())?;
            tx.commit().context("committing the migration")?;
        }
        Ok(Self {
            target: target.clone(),
            writer: Some(Mutex::new(write::Writer::take_over(client)?)),
            durability,
            reconnect_failed: Mutex::new(None),
            readers: Mutex::new(Readers::default()),
            returned: std::sync::Condvar::new(),
        })
    }

    /// Opens the record at `target` for reading (an audit, an export, a node that does not
    /// sequence): it never starts an epoch, so the running sequencer keeps its role. Appends
    /// and checkpoints are refused; cosignatures may be recorded. The schema must exist at
    /// this build's version.
    pub fn open_reader(target: &PgTarget) -> Result<Self, StoreError> {
        let mut client = target.connect()?;
        if !schema_is_current(&mut client, &target.schema)? {
            return Err(StoreError::Config(format!(
                "{target} holds no truce record at this version: open it once as sequencer \
                 (`truce init` or `truce migrate`) to create or migrate it"
            )));
        }
        Ok(Self {
            target: target.clone(),
            writer: None,
            durability: Durability::Full,
            reconnect_failed: Mutex::new(None),
            readers: Mutex::new(Readers {
                idle: vec![client],
                open: 1,
            }),
            returned: std::sync::Condvar::new(),
        })
    }

    /// Where the store lives.
    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    /// The ids of the incidents `filter` selects, in the order [`Store::incidents`] lists
    /// them, without reading their entries: the spatial and time index path alone.
    pub fn incident_ids(&self, filter: &IncidentFilter) -> Result<Vec<u64>, StoreError> {
        self.read(|c| read::incident_ids(c, filter))
    }

    /// Runs `sql` (statements without results) on a pooled connection in the record's
    /// schema: for benchmarks that fill scratch schemas in bulk.
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        self.read(|c| {
            c.batch_execute(sql)
                .context("running a batch of statements")
        })
    }

    /// Whether this store still sequences (no other node took over since it opened).
    pub fn still_sequencing(&self) -> Result<(), StoreError> {
        self.writer()?.still_sequencing()
    }

    /// The writer, connected again first if its connection was lost (a database restart): the
    /// request that found the connection lost failed; a later one connects again (at most one
    /// attempt a second) and goes on, unless the head moved meanwhile (see
    /// [`write::Writer::reconnect`]).
    fn writer(&self) -> Result<MutexGuard<'_, write::Writer>, StoreError> {
        let mut writer = self
            .writer
            .as_ref()
            .ok_or_else(|| {
                StoreError::Fenced(format!("{} was opened for reading only", self.target))
            })?
            .lock()
            .map_err(|_| StoreError::Corrupt("a writer panicked mid-transaction".into()))?;
        if writer.client().is_closed() {
            let mut failed = self
                .reconnect_failed
                .lock()
                .map_err(|_| StoreError::Corrupt("the reconnect clock was poisoned".into()))?;
            if failed.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1)) {
                return Err(StoreError::Unreachable(format!(
                    "{}: the connection that appends was lost, and connecting again failed \
                     less than a second ago",
                    self.target
                )));
            }
            tracing::warn!(store = %self.target, "the connection that appends was lost; connecting again");
            let connected = self.target.connect().and_then(|mut client| {
                set_commits(&mut client, self.durability)?;
                Ok(client)
            });
            match connected {
                Ok(client) => {
                    *failed = None;
                    writer.reconnect(client)?;
                }
                Err(e) => {
                    *failed = Some(std::time::Instant::now());
                    return Err(e);
                }
            }
        }
        Ok(writer)
    }

    /// Runs `f` on this thread's snapshot of this store when [`Store::read_at_one_moment`]
    /// holds one, else on a pooled reader; a connection that failed is not put back.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut f = Some(f);
        let pinned = SNAPSHOT.with(|slot| match slot.borrow_mut().as_mut() {
            Some((store, client)) if *store == self.address() => f.take().map(|f| f(client)),
            _ => None,
        });
        if let Some(result) = pinned {
            return result;
        }
        let Some(f) = f else {
            return Err(StoreError::Corrupt("a read ran twice".into()));
        };
        let mut client = self.take_reader()?;
        let result = f(&mut client);
        self.give_back(client);
        result
    }

    /// This store's identity among those a thread may read from, for [`SNAPSHOT`].
    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Gives a reader back to the pool (or closes it when the pool is full or it failed).
    fn give_back(&self, client: Client) {
        if let Ok(mut readers) = self.readers.lock() {
            if !client.is_closed() && readers.idle.len() < IDLE_READERS {
                readers.idle.push(client);
            } else {
                readers.open = readers.open.saturating_sub(1);
            }
        }
        self.returned.notify_one();
    }

    /// An idle reader, a new one while fewer than [`MAX_READERS`] are open, or the first one
    /// given back within [`READER_WAIT`].
    fn take_reader(&self) -> Result<Client, StoreError> {
        let poisoned = |_| StoreError::Corrupt("the reader pool was poisoned".into());
        let deadline = std::time::Instant::now() + READER_WAIT;
        let mut readers = self.readers.lock().map_err(poisoned)?;
        loop {
            while let Some(c) = readers.idle.pop() {
                if !c.is_closed() {
                    return Ok(c);
                }
                readers.open = readers.open.saturating_sub(1);
            }
            if readers.open < MAX_READERS {
                readers.open += 1;
                drop(readers);
                return self.target.connect().inspect_err(|_| {
                    if let Ok(mut r) = self.readers.lock() {
                        r.open = r.open.saturating_sub(1);
                    }
                });
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy(format!(
                    "all {MAX_READERS} connections to {} stayed busy for {READER_WAIT:?}",
                    self.target
                )));
            }
            readers = self
                .returned
                .wait_timeout(readers, left)
                .map_err(|_| StoreError::Corrupt("the reader pool was poisoned".into()))?
                .0;
        }
    }
}

/// Whether `schema` exists at this build's version (read without any DDL, so a role without
/// CREATE rights can open a migrated store).
fn schema_is_current(client: &mut Client, schema: &str) -> Result<bool, StoreError> {
    let exists = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{}.schema_version", schema::ident(schema))],
        )
        .context("looking for the schema")?
        .get::<_, bool>(0);
    if !exists {
        return Ok(false);
    }
    let version: Option<i32> = client
        .query_opt(
            &format!(
                "SELECT version FROM {}.schema_version",
                schema::ident(schema)
            ),
            &[],
        )
        .context("reading the schema version")?
        .map(|r| r.get(0));
    let found = i64::from(version.unwrap_or(0));
    let known = schema::MIGRATION_COUNT as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    Ok(found == known)
}

impl Store for PgStore {
    fn append(&self, batch: &AppendBatch) -> Result<AppendReceipt, StoreError> {
        self.writer()?.append(batch, None)
    }

    fn append_settling(
        &self,
        batch: &AppendBatch,
        settle: Option<&IntakeSettle>,
    ) -> Result<AppendReceipt, StoreError> {
        self.writer()?.append(batch, settle)
    }

    /// One `REPEATABLE READ, READ ONLY` transaction on one reader serves every read `read`
    /// makes on this thread: PostgreSQL's snapshot, taken at its first query, is the record
    /// at one size whatever the sequencer appends meanwhile. Reads of the writer's own head
    /// are the exception (the sequencer holds its appends still around such a read).
    fn read_at_one_moment(&self, read: &mut dyn FnMut()) -> Result<(), StoreError> {
        if SNAPSHOT.with(|slot| slot.borrow().is_some()) {
            return Err(StoreError::Config(
                "a read at one moment was asked for inside another".into(),
            ));
        }
        let mut client = self.take_reader()?;
        let begun = client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .context("starting a snapshot read");
        if let Err(e) = begun {
            self.give_back(client);
            return Err(e);
        }
        SNAPSHOT.with(|slot| *slot.borrow_mut() = Some((self.address(), client)));
        let _guard = SnapshotGuard { store: self };
        read();
        Ok(())
    }

    fn keeps_evidence_files(&self) -> bool {
        true
    }

    fn intake_queue(&self) -> Option<&dyn crate::IntakeQueue> {
        Some(self)
    }

    /// On any node, sequencer or not: on a connection of the pool (never a snapshot's, which
    /// reads only), committed at once.
    fn put_evidence_file(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut client = self.take_reader()?;
        let kept = client
            .execute(
                "INSERT INTO evidence_files (sha256, bytes) VALUES ($1, $2) \
                 ON CONFLICT (sha256) DO NOTHING",
                &[&sha256, &bytes],
            )
            .context(&format!("keeping evidence file {sha256}"))
            .map(|_| ());
        self.give_back(client);
        kept
    }

    fn evidence_file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT bytes FROM evidence_files WHERE sha256 = $1",
                &[&sha256],
            )
            .context(&format!("reading evidence file {sha256}"))
            .map(|row| row.map(|r| r.get(0)))
        })
    }

    fn head(&self) -> Result<Head, StoreError> {
        match &self.writer {
            Some(_) => Ok(self.writer()?.head()),
            None => self.read(read::head),
        }
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
        match &self.writer {
            Some(_) => read::max_ids(self.writer()?.client()),
            None => self.read(read::max_ids),
        }
    }

    fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        let indexes: Vec<i64> = indexes.iter().map(|&i| crate::assemble::clamp(i)).collect();
        self.read(|c| read::tree_hashes(c, &indexes))
    }

    fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.writer()?.add_checkpoint(size, note)
    }

    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.read(|c| write::add_cosignature(c, size, witness, line))
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

    fn stored_head(&self) -> Result<Option<Head>, StoreError> {
        self.read(read::head).map(Some)
    }

    fn geometry_fault(&self) -> Result<Option<(u64, &'static str)>, StoreError> {
        self.read(read::geometry_fault)
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

impl crate::IntakeQueue for PgStore {
    fn answering(&self) -> Result<(), StoreError> {
        self.still_sequencing()
    }

    fn put(
        &self,
        request: crate::IntakeRequest,
        member: &str,
        body: &[u8],
        received: Timestamp,
    ) -> Result<u64, StoreError> {
        self.read(|c| {
            let id: i64 = c
                .query_one(
                    "INSERT INTO intake (request, member, received_ns, body) VALUES ($1, $2, $3, $4)
                     RETURNING id",
                    &[
                        &request.as_str(),
                        &member,
                        &crate::assemble::nanos(received),
                        &body,
                    ],
                )
                .context("committing a submission to the intake queue")?
                .get(0);
            Ok(id as u64)
        })
    }

    fn outcome(&self, id: u64) -> Result<Option<(u16, String)>, StoreError> {
        self.read(|c| {
            let row = c
                .query_opt(
                    "SELECT status, outcome FROM intake WHERE id = $1 AND status IS NOT NULL",
                    &[&crate::assemble::clamp(id)],
                )
                .context("reading an intake item's answer")?;
            Ok(row.map(|r| {
                let status: i32 = r.get(0);
                let outcome: Option<String> = r.get(1);
                (
                    u16::try_from(status).unwrap_or(500),
                    outcome.unwrap_or_default(),
                )
            }))
        })
    }

    fn attempt(&self, id: u64) -> Result<u32, StoreError> {
        self.read(|c| {
            let n: i32 = c
                .query_one(
                    "UPDATE intake SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
                    &[&crate::assemble::clamp(id)],
                )
                .context("counting an attempt at an intake item")?
                .get(0);
            Ok(u32::try_from(n).unwrap_or(0))
        })
    }

    fn release(&self, id: u64) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE intake SET attempts = attempts - 1
                 WHERE id = $1 AND status IS NULL AND attempts > 0",
                &[&crate::assemble::clamp(id)],
            )
            .context("taking back an attempt at an intake item")?;
            Ok(())
        })
    }

    fn pending(&self, limit: u32) -> Result<Vec<PendingIntake>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT id, member, received_ns, body, attempts, request FROM intake
                 WHERE status IS NULL ORDER BY id LIMIT $1",
                &[&i64::from(limit)],
            )
            .context("reading the intake queue")?
            .iter()
            .map(|r| {
                let id = r.get::<_, i64>(0) as u64;
                let name: String = r.get(5);
                let request = crate::IntakeRequest::from_name(&name).ok_or_else(|| {
                    StoreError::Corrupt(format!("intake item {id} asks for {name:?}"))
                })?;
                Ok(PendingIntake {
                    id,
                    request,
                    member: r.get(1),
                    received_ns: r.get(2),
                    body: r.get(3),
                    attempts: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
                })
            })
            .collect::<Result<_, StoreError>>()
        })
    }

    fn settle(&self, settle: &IntakeSettle) -> Result<(), StoreError> {
        self.writer()?.settle(settle)
    }
}

#[cfg(test)]
mod tests;
