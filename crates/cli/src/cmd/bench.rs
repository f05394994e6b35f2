//! `truce bench intake`: sustained intake on a fresh store, in-process and over HTTP: a SQLite
//! file, or with `--store postgres://…` fresh schemas of that database (dropped afterwards).
//!
//! The observations come from the demo scenario's simulator (events with one to several reports
//! each), serialised to JSON batches before the clock starts. The in-process figure counts
//! parsing, validation, sequencing, fusion and the durable append — everything the HTTP path
//! does except the network. The last line is `observations_per_second=<in-process figure>`.
//!
//! In the same run (issue 13): the store's **bare ceiling**, the very batches the full path
//! appended (rebuilt from its record by `truce_engine::replay_observed`) appended again to a
//! fresh file with the same durability, with no parsing, validation or fusion; and, with
//! `--sweep`, the full path at 1×, 10× and 100× the default density of events in time (the
//! same number of observations, at most 20,000, packed into a tenth and a hundredth of the
//! span).

use crate::{data_dir, demo_files, serve};
use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use truce_core::Timestamp;
use truce_core::intake::{ParseLimits, parse_observations};
use truce_engine::Engine;
use truce_sim::{Generator, Scenario};
use truce_store::{Durability, PgStore, PgTarget, SqliteStore, Store};

/// Where the benchmark makes its fresh stores: SQLite files in a scratch folder, or fresh
/// schemas in the PostgreSQL database `--store` names, dropped when the run ends.
struct Scratch {
    dir: tempfile::TempDir,
    postgres: Option<PgTarget>,
    made: std::sync::Mutex<Vec<PgTarget>>,
}

impl Scratch {
    fn new() -> Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir().context("creating a scratch folder")?,
            postgres: data_dir::postgres().cloned(),
            made: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The store kind, for the output.
    fn kind(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// A fresh, empty store called `name`.
    fn store(&self, name: &str, durability: Durability) -> Result<Arc<dyn Store>> {
        match &self.postgres {
            Some(base) => {
                let clean: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let schema = format!("bench_{}_{clean}", std::process::id());
                let target = base.with_schema(&schema)?;
                target.drop_scratch_schema()?;
                let store = PgStore::open(&target, durability)?;
                if let Ok(mut made) = self.made.lock() {
                    made.push(target);
                }
                Ok(Arc::new(store))
            }
            None => {
                let dir = self.dir.path().join(name);
                std::fs::create_dir_all(&dir)?;
                Ok(Arc::new(SqliteStore::open(
                    &data_dir::db_path(&dir),
                    durability,
                )?))
            }
        }
    }

    /// The size of store `name` on disk, MB, when it is a file.
    fn file_mb(&self, name: &str) -> Option<f64> {
        std::fs::metadata(data_dir::db_path(&self.dir.path().join(name)))
            .ok()
            .map(|m| m.len() as f64 / 1e6)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(made) = self.made.lock() {
            for target in made.iter() {
                if let Err(e) = target.drop_scratch_schema() {
                    eprintln!("could not drop {target}: {e}");
                }
            }
        }
    }
}

/// The span the default run's events are spread over, seconds (two days).
pub(crate) const SPAN_S: f64 = 2.0 * 86_000.0;

/// Runs the intake benchmark.
pub fn intake(
    count: usize,
    batch: usize,
    http: bool,
    relaxed: bool,
    sweep: bool,
    clients: usize,
) -> Result<ExitCode> {
    if count == 0 || batch == 0 || batch > 10_000 {
        bail!("--count must be positive and --batch from 1 to 10000");
    }
    let durability = if relaxed {
        Durability::Process
    } else {
        Durability::Full
    };
    eprintln!("generating {count} simulated observations…");
    let bodies = generate(count, batch, SPAN_S)?;
    let now = Timestamp::now();

    let scratch = Scratch::new()?;
    let engine = fresh_engine(&scratch, "inproc", durability)?;
    let start = Instant::now();
    let parse_time = submit_all(&engine, &bodies, now, clients)?;
    let elapsed = start.elapsed().as_secs_f64();
    let in_process = count as f64 / elapsed;
    let head = engine.store().head()?;
    let size = scratch
        .file_mb("inproc")
        .map(|mb| format!(", {mb:.0} MB"))
        .unwrap_or_default();
    println!(
        "in_process ({}, {clients} submitter{}): {count} observations in {elapsed:.2} s = {in_process:.0} obs/s \
         (parse+validate {:.2} s of CPU); record {} entries{size}; durability {}",
        scratch.kind(),
        if clients == 1 { "" } else { "s" },
        parse_time.as_secs_f64(),
        head.size,
        if relaxed {
            "process-crash"
        } else {
            "full (fsync per batch)"
        },
    );

    let ceiling = bare_ceiling(engine.store().as_ref(), &scratch, durability)?;
    println!(
        "ceiling: the same {} batches appended bare = {ceiling:.0} obs/s; the full path is {:.2}x the ceiling",
        bodies.len(),
        in_process / ceiling
    );
    if sweep {
        density_sweep(count, batch, durability, &scratch)?;
    }

    if http {
        let engine = fresh_engine(&scratch, "http", durability)?;
        let rate = http_run(engine, &bodies)?;
        println!(
            "http: {count} observations in batches of {batch} = {rate:.0} obs/s ({:.2}x the in-process rate)",
            rate / in_process
        );
    }
    println!("observations_per_second={in_process:.0}");
    Ok(ExitCode::SUCCESS)
}

/// Parses and submits `bodies` from `clients` threads at once, each taking the next body in
/// order; answers the CPU time spent parsing and validating.
fn submit_all(
    engine: &Engine,
    bodies: &[Vec<u8>],
    now: Timestamp,
    clients: usize,
) -> Result<Duration> {
    let limits = ParseLimits::default();
    let next = AtomicUsize::new(0);
    // Set when a submitter fails, so the others stop rather than submit the rest.
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<Duration> {
                    let mut parsing = Duration::ZERO;
                    while !failed.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(k) else {
                            break;
                        };
                        let t = Instant::now();
                        let submitted = parse_observations(body, &limits, now)
                            .map_err(anyhow::Error::from)
                            .and_then(|parsed| {
                                parsing += t.elapsed();
                                Ok(engine.submit(parsed, now)?)
                            });
                        if let Err(e) = submitted {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(parsing)
                })
            })
            .collect();
        let mut parsing = Duration::ZERO;
        for worker in workers {
            parsing += worker
                .join()
                .map_err(|_| anyhow::anyhow!("a submitter panicked"))??;
        }
        Ok(parsing)
    })
}

/// Observations per second when the batches `record` holds are appended again, as they are,
/// to a fresh store of the same kind with `durability`: the store's own speed for these rows.
fn bare_ceiling(record: &dyn Store, scratch: &Scratch, durability: Durability) -> Result<f64> {
    let rebuild = scratch.store("rebuild", Durability::Process)?;
    let mut batches = Vec::new();
    truce_engine::replay_observed(record, record.head()?.size, rebuild.as_ref(), &mut |b| {
        batches.push(b.clone());
    })?;
    let observations = batches
        .iter()
        .flat_map(|b| &b.entries)
        .filter(|e| e.type_name == "observation")
        .count();
    let target = scratch.store("ceiling", durability)?;
    let start = Instant::now();
    for batch in &batches {
        target.append(batch)?;
    }
    Ok(observations as f64 / start.elapsed().as_secs_f64())
}

/// The full in-process path at 1×, 10× and 100× the default density: microseconds per
/// observation, and each density's cost against the first.
fn density_sweep(
    count: usize,
    batch: usize,
    durability: Durability,
    scratch: &Scratch,
) -> Result<()> {
    // Dense runs are slow by nature (that is what the sweep shows): at most 20,000 each.
    let count = count.min(20_000);
    let limits = ParseLimits::default();
    let mut first = None;
    for factor in [1.0, 10.0, 100.0] {
        let bodies = generate(count, batch, SPAN_S / factor)?;
        let engine = fresh_engine(scratch, &format!("density-{factor}"), durability)?;
        let now = Timestamp::now();
        let start = Instant::now();
        for body in &bodies {
            engine.submit(parse_observations(body, &limits, now)?, now)?;
        }
        let per_obs_us = start.elapsed().as_secs_f64() * 1e6 / count as f64;
        let base = *first.get_or_insert(per_obs_us);
        let incidents = engine.store().max_ids()?.1.0;
        println!(
            "density {factor:>5}x: {per_obs_us:.1} µs per observation ({:.0} obs/s), {:.2}x the 1x cost; {incidents} incidents",
            1e6 / per_obs_us,
            per_obs_us / base
        );
    }
    Ok(())
}

fn fresh_engine(scratch: &Scratch, name: &str, durability: Durability) -> Result<Arc<Engine>> {
    let store = scratch.store(name, durability)?;
    let agreement = demo_files::agreement()?;
    truce_engine::record_agreement(store.as_ref(), &agreement, Timestamp::now())?;
    Ok(Arc::new(Engine::open(store)?))
}

/// JSON array bodies of `batch` simulated observations each, `count` in all, times spread over
/// the `span_s` seconds before now.
pub(crate) fn generate(count: usize, batch: usize, span_s: f64) -> Result<Vec<Vec<u8>>> {
    let scenario = Scenario::from_toml(demo_files::SCENARIO_TOML)?;
    let mut generator = Generator::new(scenario, 2020);
    // An event has one report or more, so `count` events at most: spaced this way, the run
    // spans at most two days, all of it in the past.
    let start = Timestamp::now().plus_seconds(-span_s - 400.0);
    let step = span_s / count as f64;
    let mut all = Vec::with_capacity(count);
    let mut t = start;
    while all.len() < count {
        all.extend(generator.event(t));
        t = t.plus_seconds(step);
    }
    all.truncate(count);
    all.chunks(batch)
        .map(|c| serde_json::to_vec(c).context("serialising a batch"))
        .collect()
}

/// Posts every body to a real server on a loopback port from two client threads.
fn http_run(engine: Arc<Engine>, bodies: &[Vec<u8>]) -> Result<f64> {
    let rt = serve::runtime()?;
    let token = engine.add_member(
        "bench-observer",
        &engine.agreement().doc.monitors[0].id,
        truce_core::access::Role::Observer,
        "bench",
        truce_core::Timestamp::now(),
    )?;
    let authorization = format!("Bearer {token}");
    let bound = rt.block_on(serve::bind(engine, "127.0.0.1:0".parse()?))?;
    let addr = bound.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(bound.serve_until(async move {
        let _ = stop_rx.await;
    }));
    let url = format!("http://{addr}/api/observations");
    let count: usize = bodies.iter().map(|b| count_items(b)).sum();
    let start = Instant::now();
    let halves: Vec<&[Vec<u8>]> = vec![&bodies[..bodies.len() / 2], &bodies[bodies.len() / 2..]];
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = halves
            .into_iter()
            .map(|part| {
                let url = url.clone();
                let authorization = authorization.clone();
                scope.spawn(move || -> Result<()> {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    for body in part {
                        let response = agent
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("authorization", &authorization)
                            .send(&body[..])
                            .context("posting a batch")?;
                        if response.status().as_u16() != 201 {
                            bail!("server answered {}", response.status());
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    rt.block_on(server)??;
    Ok(count as f64 / elapsed)
}

pub(crate) fn count_items(body: &[u8]) -> usize {
    serde_json::from_slice::<Vec<serde_json::value::Value>>(body)
        .map(|v| v.len())
        .unwrap_or(0)
}
