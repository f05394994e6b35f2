//! A data folder: `truce.sqlite` (or, with `--store postgres://…`, a PostgreSQL schema that
//! holds the record and the evidence files instead), the center's keys and its evidence folder.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use truce_core::Timestamp;
use truce_core::agreement::Agreement;
use truce_engine::{Engine, InitOutcome, record_agreement};
use truce_store::{Durability, Leadership, PgStore, PgTarget, SqliteStore, Store};

/// The PostgreSQL record every command of this process uses instead of the folder's SQLite
/// file, when `--store` named one.
static POSTGRES: OnceLock<PgTarget> = OnceLock::new();

/// The URL `--store` was given as, for child processes.
static POSTGRES_URL: OnceLock<String> = OnceLock::new();

/// Keeps the record at `url` (PostgreSQL) for every data folder this process opens, with the
/// evidence files handed in from then on; keys stay in the folder.
pub fn use_postgres(url: &str) -> Result<()> {
    let target = PgTarget::parse(url).context("--store")?;
    let _ = POSTGRES_URL.set(url.to_string());
    POSTGRES
        .set(target)
        .map_err(|_| anyhow::anyhow!("--store was given twice"))
}

/// The `--store` URL with its schema set to `schema` (for a child process on a scratch schema).
pub fn postgres_url_with_schema(schema: &str) -> Option<String> {
    let url = POSTGRES_URL.get()?;
    let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("schema="))
        .collect();
    let param = format!("schema={schema}");
    kept.push(&param);
    Some(format!("{base}?{}", kept.join("&")))
}

/// The PostgreSQL record this process uses, if any.
pub fn postgres() -> Option<&'static PgTarget> {
    POSTGRES.get()
}

/// Whether this process holds the sequencer's role (a keeper thread holds it from the first
/// writing command on, for as long as the process runs).
static LEADING: OnceLock<()> = OnceLock::new();

/// Set once this process learns it was fenced: it must not hold the role again.
static GIVEN_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets the sequencer's role go for good, once this process was fenced (another took the
/// record over with a new epoch): holding it again would only keep whoever sequences next
/// from taking over when the present sequencer dies, while this process can append nothing.
pub fn give_up_lead() {
    GIVEN_UP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// How long a writing command waits for the sequencer's role before it is refused.
const LEAD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes the sequencer's role of `target` for the rest of this process, as nodes take it:
/// refused, with nothing recorded, while another process holds it (a running `truce serve`, or
/// a node of several that sequences), as a second writer on a data folder is refused, instead
/// of fencing that server out. A keeper thread holds the role; when its connection drops (a
/// database restart, a cut), it takes the role again as soon as it can, so that a second
/// writer is still refused afterwards.
pub fn take_lead(target: &PgTarget) -> Result<()> {
    if LEADING.get().is_some() {
        return Ok(());
    }
    // Asked for a little while: a command that just ended frees the role as soon as the
    // database sees its connection close, a running server never.
    let deadline = std::time::Instant::now() + LEAD_WAIT;
    let lead = loop {
        let lead = target
            .try_lead()
            .with_context(|| format!("asking for the sequencer's role of {target}"))?;
        match lead {
            Some(lead) => break lead,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            None => bail!(
                "another process sequences {target} now (a `truce serve` on it, or a node of \
                 several): stop it first, or make this change through its API; nothing was \
                 recorded"
            ),
        }
    };
    if LEADING.set(()).is_ok() {
        let target = target.clone();
        std::thread::Builder::new()
            .name("sequencer-role".into())
            .spawn(move || keep_leading(&target, lead))
            .context("starting the thread that holds the sequencer's role")?;
    }
    Ok(())
}

/// Holds `lead` for the rest of the process, taking the role again whenever it is lost, until
/// [`give_up_lead`]. The record stays one tree either way (every append checks the epoch);
/// holding the role is what refuses a second writer.
fn keep_leading(target: &PgTarget, lead: Leadership) {
    let mut lead = Some(lead);
    let mut lost_to_another = false;
    loop {
        std::thread::sleep(truce_store::RENEW_EVERY);
        if GIVEN_UP.load(std::sync::atomic::Ordering::SeqCst) {
            drop(lead);
            tracing::warn!(%target, "the sequencer's role is let go: this process was fenced");
            return;
        }
        if lead.as_ref().is_some_and(Leadership::held) {
            continue;
        }
        lead = None;
        match target.try_lead() {
            Ok(Some(again)) => {
                tracing::warn!(%target, "the sequencer's role was lost (its connection closed) and is held again");
                lead = Some(again);
                lost_to_another = false;
            }
            Ok(None) if !lost_to_another => {
                tracing::error!(
                    %target,
                    "another process took the sequencer's role: this one's appends are refused \
                     once that one starts its epoch"
                );
                lost_to_another = true;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(%target, "asking for the sequencer's role again: {e}"),
        }
    }
}

/// Opens the record at `target` as its sequencer (a new epoch), holding the sequencer's role
/// for the rest of this process ([`take_lead`]).
fn open_postgres(target: &PgTarget) -> Result<Arc<dyn Store>> {
    take_lead(target)?;
    let store =
        PgStore::open(target, Durability::Full).with_context(|| format!("opening {target}"))?;
    Ok(Arc::new(store))
}

/// The database file inside a data folder.
pub fn db_path(data: &Path) -> PathBuf {
    data.join("truce.sqlite")
}

/// Whether `data` already holds a store.
pub fn exists(data: &Path) -> bool {
    db_path(data).is_file()
}

/// The file `truce migrate` (or `init --store`) leaves in a data folder whose record is kept in
/// PostgreSQL.
pub fn moved_marker(data: &Path) -> PathBuf {
    data.join("RECORD-MOVED-TO-POSTGRESQL.txt")
}

/// Refuses to open a record in the wrong place, which would let the center's key sign two
/// trees: the folder's SQLite file once its record moved to PostgreSQL, or a PostgreSQL record
/// for a folder whose SQLite record was never moved.
pub fn check_record_place(data: &Path) -> Result<()> {
    let moved = moved_marker(data);
    match postgres() {
        None if moved.is_file() => {
            let note = std::fs::read_to_string(&moved).unwrap_or_default();
            bail!(
                "the record of {} was moved to PostgreSQL ({}); open it with --store URL (or \
                 TRUCE_STORE), never a truce.sqlite here",
                data.display(),
                note.lines().next().unwrap_or("see the file").trim()
            )
        }
        Some(target) if exists(data) && !moved.is_file() => bail!(
            "{} holds its record in truce.sqlite; move it with `truce migrate --from {} --to URL` \
             before serving {target}",
            data.display(),
            data.display()
        ),
        _ => Ok(()),
    }
}

/// Opens the store of an existing data folder (or the PostgreSQL record `--store` named).
pub fn open_store(data: &Path) -> Result<Arc<dyn Store>> {
    check_record_place(data)?;
    if let Some(target) = postgres() {
        return open_postgres(target);
    }
    if !exists(data) {
        bail!(
            "{} holds no truce data (no truce.sqlite); create it with `truce init --data {} --agreement FILE.toml`",
            data.display(),
            data.display()
        );
    }
    let store = SqliteStore::open(&db_path(data), Durability::Full)
        .with_context(|| format!("opening {}", db_path(data).display()))?;
    Ok(Arc::new(store))
}

/// Opens the store of an existing data folder for reading: on PostgreSQL this never takes the
/// sequencer's role from a running server (an audit or an export beside it).
pub fn open_store_reading(data: &Path) -> Result<Arc<dyn Store>> {
    check_record_place(data)?;
    match postgres() {
        Some(target) => Ok(Arc::new(
            PgStore::open_reader(target).with_context(|| format!("opening {target}"))?,
        )),
        None => {
            if !exists(data) {
                return open_store(data);
            }
            // Beside a running server: without the writer's lock, writing nothing.
            let store = SqliteStore::open_reading(&db_path(data), Durability::Full)
                .with_context(|| format!("opening {}", db_path(data).display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// Creates (or reopens) the data folder and records `agreement` in it.
pub fn init(data: &Path, agreement: &Agreement) -> Result<InitOutcome> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    check_record_place(data)?;
    let store: Arc<dyn Store> = match postgres() {
        Some(target) => {
            let store = open_postgres(target)?;
            // The folder says where its record is, so that it is never served from SQLite.
            let marker = moved_marker(data);
            if !marker.is_file() {
                std::fs::write(
                    &marker,
                    format!("{target}\nthe record of this folder is kept in PostgreSQL.\n"),
                )
                .with_context(|| format!("writing {}", marker.display()))?;
            }
            store
        }
        None => Arc::new(
            SqliteStore::open(&db_path(data), Durability::Full)
                .with_context(|| format!("creating {}", db_path(data).display()))?,
        ),
    };
    Ok(record_agreement(
        store.as_ref(),
        agreement,
        Timestamp::now(),
    )?)
}

/// Where a data folder keeps evidence files.
pub fn evidence_path(data: &Path) -> PathBuf {
    data.join("evidence")
}

/// Where the center's checkpoint key is kept in a data folder.
pub fn log_key_path(data: &Path) -> PathBuf {
    data.join("keys").join("log.key")
}

/// Where a monitor's assessment key is kept when the monitor deposits it with the center.
pub fn assessment_key_path(data: &Path, monitor: &str) -> PathBuf {
    data.join("keys").join(format!("assess-{monitor}.key"))
}

/// Opens the engine of an existing data folder, with the checkpoint key when the folder has it.
pub fn open_engine(data: &Path) -> Result<Arc<Engine>> {
    let store = open_store(data)?;
    engine_over(store, data)
}

/// The engine over `store` with the data folder's evidence files and keys.
pub fn engine_over(store: Arc<dyn Store>, data: &Path) -> Result<Arc<Engine>> {
    let engine = Engine::open(store).with_context(|| format!("opening {}", data.display()))?;
    let evidence = evidence_path(data);
    engine.set_evidence_dir(
        truce_store::EvidenceDir::open(&evidence)
            .with_context(|| format!("opening {}", evidence.display()))?,
    );
    let key = log_key_path(data);
    if key.is_file() {
        engine.set_log_signer(crate::keys::read(&key)?)?;
    } else if engine.ledger_keys().is_some() {
        tracing::warn!(
            "{} is missing: checkpoints will not be signed by this process",
            key.display()
        );
    }
    let monitors: Vec<String> = engine
        .agreement()
        .doc
        .monitors
        .iter()
        .map(|m| m.id.clone())
        .collect();
    for monitor in monitors {
        let key = assessment_key_path(data, &monitor);
        if key.is_file() {
            engine
                .set_assessment_signer(&monitor, crate::keys::read(&key)?)
                .with_context(|| format!("{}", key.display()))?;
        }
    }
    Ok(Arc::new(engine))
}

/// Reads an agreement file, resolving its zones file relative to it.
pub fn read_agreement(file: &Path) -> Result<Agreement> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the agreement {}", file.display()))?;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let load = |relative: &str| {
        std::fs::read_to_string(dir.join(relative)).map_err(|e| format!("cannot read it: {e}"))
    };
    Ok(truce_core::agreement::parse_toml(
        &text,
        &file.display().to_string(),
        &load,
    )?)
}
