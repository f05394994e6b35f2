//! `truce --store postgres://… serve --node`: one of several nodes on one PostgreSQL record.
//!
//! Every node serves the API over a reader of the store: submissions go through the intake
//! queue (committed = acknowledged), reads come from the database, and the live feed follows
//! the record. One node at a time sequences: it holds an advisory lock (released by the server
//! when its connection ends, so a killed node's role is free at once), opens the store as
//! sequencer (a new epoch, which fences out any earlier one), rebuilds fusion from the store,
//! then drains the queue and signs checkpoints. The others ask for the role every
//! [`ELECTION_EVERY`].

use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use truce_core::intake::ParseLimits;
use truce_engine::Engine;
use truce_server::intake::ChargesOwed;
use truce_store::{Durability, IntakeQueue, PgStore, PgTarget, Store};

/// How often a node that does not sequence asks for the role.
pub const ELECTION_EVERY: Duration = Duration::from_millis(500);

/// How often the live feed looks for entries another node appended.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// How long the sequencer waits when the queue is empty.
const IDLE: Duration = Duration::from_millis(5);

/// How long the sequencer waits after a storage fault (a full disk, writes refused) before it
/// tries the queue again, keeping its role.
const FAULT_BACKOFF: Duration = Duration::from_secs(1);

/// The reader engine this node serves through, and its part in the cluster.
pub struct NodeParts {
    /// The engine over a reader of the store.
    pub engine: Arc<Engine>,
    /// The queue and the sequencing flag, for the HTTP state.
    pub node: truce_server::Node,
}

/// Opens this node's reader engine over the record `--store` named.
pub fn open(data: &Path) -> Result<NodeParts> {
    let Some(target) = data_dir::postgres() else {
        bail!("--node needs the record in PostgreSQL: truce --store postgres://… serve --node");
    };
    data_dir::check_record_place(data)?;
    let store =
        Arc::new(PgStore::open_reader(target).with_context(|| format!("opening {target}"))?);
    let engine = data_dir::engine_over(store.clone() as Arc<dyn Store>, data)?;
    Ok(NodeParts {
        engine,
        node: truce_server::Node {
            intake: store as Arc<dyn IntakeQueue>,
            sequencing: Arc::new(AtomicBool::new(false)),
        },
    })
}

/// Runs the live feed and the election until `stop` turns true: two threads, joined by the
/// returned handles.
pub fn start(
    data: &Path,
    parts: &NodeParts,
    checkpoint_every: Duration,
    stop: Arc<AtomicBool>,
) -> Result<Vec<std::thread::JoinHandle<()>>> {
    let target = data_dir::postgres()
        .context("--node needs --store")?
        .clone();
    let follower = {
        let engine = parts.engine.clone();
        let stop = stop.clone();
        let from = engine.store().head()?.size;
        std::thread::Builder::new()
            .name("follow".into())
            .spawn(move || follow(&engine, from, &stop))?
    };
    let sequencer = {
        let data = data.to_path_buf();
        let flag = parts.node.sequencing.clone();
        std::thread::Builder::new()
            .name("sequence".into())
            .spawn(move || elect(&target, &data, checkpoint_every, &flag, &stop))?
    };
    Ok(vec![follower, sequencer])
}

/// Tells the reader engine's subscribers of every entry appended from `from` on.
fn follow(engine: &Engine, mut from: u64, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match engine.follow(from) {
            Ok(next) => from = next,
            Err(e) => tracing::warn!(error = %e, "following the record"),
        }
        std::thread::sleep(FOLLOW_EVERY);
    }
}

/// Asks for the sequencer's role until `stop`; sequences while it holds it.
fn elect(
    target: &PgTarget,
    data: &Path,
    checkpoint_every: Duration,
    sequencing: &AtomicBool,
    stop: &AtomicBool,
) {
    // Kept across terms: a term that ended with the database away may owe an item its attempt.
    let owed = ChargesOwed::default();
    while !stop.load(Ordering::SeqCst) {
        match target.try_lead() {
            Ok(Some(lead)) => {
                // A panic gives the role up like an error: the lock's connection is dropped
                // with `lead`, and another node (or this one, later) takes over.
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sequence(
                        target,
                        data,
                        lead,
                        checkpoint_every,
                        sequencing,
                        stop,
                        &owed,
                    )
                }));
                sequencing.store(false, Ordering::SeqCst);
                match run {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "stopped sequencing"),
                    Err(_) => tracing::error!("the sequencer panicked; the role is given up"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not ask for the sequencer's role"),
        }
        std::thread::sleep(ELECTION_EVERY);
    }
}

/// Sequences while `lead` holds: a new epoch, fusion rebuilt from the store, then the queue
/// drained in commit order (attempts the database's faults charged are `owed`) and
/// checkpoints signed every `checkpoint_every`.
fn sequence(
    target: &PgTarget,
    data: &Path,
    lead: truce_store::Leadership,
    checkpoint_every: Duration,
    sequencing: &AtomicBool,
    stop: &AtomicBool,
    owed: &ChargesOwed,
) -> Result<()> {
    let started = Instant::now();
    let store = Arc::new(PgStore::open(target, Durability::Full)?);
    let engine = data_dir::engine_over(store.clone() as Arc<dyn Store>, data)?;
    sequencing.store(true, Ordering::SeqCst);
    tracing::info!(
        size = store.head()?.size,
        ready_ms = started.elapsed().as_millis() as u64,
        "this node sequences the record"
    );
    let limits = ParseLimits::default();
    let mut last_check = Instant::now();
    let mut last_checkpoint = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let answered = match truce_server::intake::drain(&engine, store.as_ref(), &limits, owed) {
            Ok(answered) => answered,
            // The role stays here: taken again by a new term, it would meet the same fault
            // after rebuilding everything from a database already in trouble.
            Err(e) if e.is_storage_fault() => {
                tracing::error!(error = %e, "queued submissions not answered; trying again shortly");
                std::thread::sleep(FAULT_BACKOFF);
                0
            }
            Err(e) => return Err(e.into()),
        };
        if last_checkpoint.elapsed() >= checkpoint_every {
            engine.sign_checkpoint()?;
            last_checkpoint = Instant::now();
        }
        if last_check.elapsed() >= ELECTION_EVERY {
            if !lead.held() {
                bail!("the sequencer's lock was lost");
            }
            store.still_sequencing()?;
            last_check = Instant::now();
        }
        if answered == 0 {
            std::thread::sleep(IDLE);
        }
    }
    Ok(())
}
