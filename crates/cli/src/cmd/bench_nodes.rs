//! `truce --store postgres://… bench nodes --nodes 3`: HTTP intake through one node and through
//! several (`serve --node`) on one PostgreSQL record (the goal: 3 nodes ≥ 1.5× one).
//!
//! Each run gets a scratch schema with the demo agreement and one observer, starts the nodes
//! as child processes of this binary on loopback ports, waits for one to sequence, then posts
//! the same simulated batches from two client threads per node, round robin over the nodes.
//! A batch counts when it is acknowledged (201/200: recorded; 202: committed to the queue).
//! The run ends when every batch is recorded. Every node, the sequencer's work, PostgreSQL
//! and the clients share this machine's cores.

use crate::{data_dir, demo_files};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use truce_core::Timestamp;
use truce_store::{Durability, IntakeQueue, PgStore, Store};

/// Runs one node, then `nodes`, on `count` observations in batches of `batch`.
pub fn run(nodes: usize, count: usize, batch: usize) -> Result<ExitCode> {
    if data_dir::postgres().is_none() {
        bail!("bench nodes needs a PostgreSQL database: truce --store postgres://… bench nodes");
    }
    if nodes == 0 || count == 0 || batch == 0 || batch > 10_000 {
        bail!("--nodes and --count must be positive, --batch from 1 to 10000");
    }
    eprintln!("generating {count} simulated observations…");
    let bodies = super::bench::generate(count, batch, super::bench::SPAN_S)?;
    let one = measure(1, &bodies)?;
    println!("1 node: {one:.0} obs/s acknowledged and recorded");
    if nodes > 1 {
        let many = measure(nodes, &bodies)?;
        println!(
            "{nodes} nodes: {many:.0} obs/s; {:.2}x one node (goal 1.5x)",
            many / one
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A node process, stopped when dropped.
struct NodeProcess {
    child: Child,
    url: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn measure(nodes: usize, bodies: &[Vec<u8>]) -> Result<f64> {
    let schema = format!("bench_nodes_{}_{nodes}", std::process::id());
    let url = data_dir::postgres_url_with_schema(&schema).context("--store")?;
    let target = data_dir::postgres()
        .context("--store")?
        .with_schema(&schema)?;
    target.drop_scratch_schema()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    let token = {
        let store: Arc<dyn Store> = Arc::new(PgStore::open(&target, Durability::Full)?);
        truce_engine::record_agreement(
            store.as_ref(),
            &demo_files::agreement()?,
            Timestamp::now(),
        )?;
        let engine = truce_engine::Engine::open(store)?;
        engine.add_member(
            "bench-observer",
            &engine.agreement().doc.monitors[0].id,
            truce_core::access::Role::Observer,
            "bench",
            Timestamp::now(),
        )?
    };
    let exe = std::env::current_exe()?;
    let running: Vec<NodeProcess> = (0..nodes)
        .map(|_| start(&exe, &url, &data))
        .collect::<Result<_>>()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running.iter().any(|n| sequencing(&n.url)) {
        if Instant::now() > deadline {
            bail!("no node took the sequencer's role");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let urls: Vec<String> = running.iter().map(|n| n.url.clone()).collect();
    let authorization = format!("Bearer {token}");
    let count: usize = bodies.iter().map(|b| super::bench::count_items(b)).sum();
    let threads = 2 * nodes;
    let start = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let urls = &urls;
                let authorization = &authorization;
                scope.spawn(move || -> Result<()> {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(60)))
                        .build()
                        .into();
                    for (i, body) in bodies.iter().enumerate().skip(t).step_by(threads) {
                        let url = format!("{}/api/observations", urls[i % urls.len()]);
                        let response = agent
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("authorization", authorization)
                            .send(&body[..])
                            .context("posting a batch")?;
                        if !(200..=202).contains(&response.status().as_u16()) {
                            bail!("a node answered {}", response.status());
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
    // Acknowledged is not yet recorded when a batch was answered 202: wait for the queue.
    let reader = PgStore::open_reader(&target)?;
    while !reader.pending(1)?.is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(running);
    drop(reader);
    target.drop_scratch_schema()?;
    Ok(count as f64 / elapsed)
}

fn start(exe: &std::path::Path, url: &str, data: &std::path::Path) -> Result<NodeProcess> {
    // The URL (and any password in it) goes by the environment, not the command line.
    let mut child = Command::new(exe)
        .env("TRUCE_STORE", url)
        .args(["serve", "--node", "--http", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting a node")?;
    let mut banner = String::new();
    BufReader::new(child.stdout.take().context("a node's output")?)
        .read_line(&mut banner)
        .context("a node's first line")?;
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .with_context(|| format!("no URL in {banner:?}"))?
        .trim_end_matches('/')
        .to_string();
    Ok(NodeProcess { child, url })
}

fn sequencing(url: &str) -> bool {
    ureq::get(&format!("{url}/healthz"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok())
        .and_then(|v| v["sequencing"].as_bool())
        .unwrap_or(false)
}
