//! `truce bench ledger`: the record's cryptography against its limits, measured in one run.
//!
//! - SHA-256 of 65-byte node inputs (`0x01 ‖ left ‖ right`) per second: the ceiling for tree
//!   appends, since an append is one leaf hash plus on average one node hash;
//! - tree appends per second through the frontier (200-byte entries);
//! - inclusion and consistency proof latency over a tree of `--proof-entries` leaves (stored
//!   hashes in memory, so the figure is the algorithm's, not the database's);
//! - the audit (`truce verify --data`) of a record of `--audit-entries` entries, beside the time
//!   hashing those entries' bytes alone takes.

use crate::{data_dir, demo_files};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use truce_core::Timestamp;
use truce_core::agreement::Agreement;
use truce_core::intake::parse_one;
use truce_ledger::tlog::{prove_record, prove_tree};
use truce_ledger::tree::Frontier;
use truce_ledger::{Hash, HashReader, TlogError};
use truce_store::{Durability, SqliteStore, Store};

/// Stored hashes in a dense vector: the stored-hash index is the position.
struct Dense(Vec<Hash>);

impl HashReader for Dense {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize)
                    .copied()
                    .ok_or(TlogError::IndexesNotInTree)
            })
            .collect()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs the ledger benchmarks. The audit's record is made in `record_in` and kept there (a
/// record already there is topped up to `audit_entries` and audited against the agreement it
/// holds), else in a temporary folder.
pub fn run(proof_entries: u64, audit_entries: u64, record_in: Option<&Path>) -> Result<ExitCode> {
    // 1. The node-hash ceiling.
    let n = 5_000_000u64;
    let mut input = [0u8; 65];
    input[0] = 1;
    let start = Instant::now();
    let mut acc = [0u8; 32];
    for i in 0..n {
        input[1..9].copy_from_slice(&i.to_le_bytes());
        input[33..65].copy_from_slice(&acc);
        acc = truce_core::entry::sha256(&input);
    }
    let node_rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "sha256_node_hashes_per_second={node_rate:.0} (65-byte inputs, one thread; {})",
        acc[0]
    );

    // 2. Appends.
    let entry = [7u8; 200];
    let mut frontier = Frontier::new();
    let start = Instant::now();
    let appends = 3_000_000u64;
    let mut produced = 0usize;
    for _ in 0..appends {
        produced += frontier.append(&entry).len();
    }
    let append_rate = appends as f64 / start.elapsed().as_secs_f64();
    println!(
        "tree_appends_per_second={append_rate:.0} (200-byte entries, {:.2} stored hashes each) = {:.0}% of the node-hash rate",
        produced as f64 / appends as f64,
        100.0 * append_rate / node_rate
    );

    // 3. Proof latency on a large tree.
    eprintln!("building a tree of {proof_entries} leaves in memory…");
    let mut frontier = Frontier::new();
    let mut dense = Vec::with_capacity((2 * proof_entries) as usize);
    for i in 0..proof_entries {
        for (idx, h) in frontier.append(&i.to_le_bytes()) {
            debug_assert_eq!(idx as usize, dense.len());
            dense.push(h);
        }
    }
    let reader = Dense(dense);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for _ in 0..2000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let index = rng % proof_entries;
        let t = Instant::now();
        let p = prove_record(proof_entries, index, &reader).context("inclusion proof")?;
        inclusion.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(p);
        let old = 1 + rng % (proof_entries - 1);
        let t = Instant::now();
        let p = prove_tree(proof_entries, old, &reader).context("consistency proof")?;
        consistency.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(p);
    }
    inclusion.sort_by(f64::total_cmp);
    consistency.sort_by(f64::total_cmp);
    println!(
        "proof_latency_us at {proof_entries} entries: inclusion p50={:.1} p99={:.1}; consistency p50={:.1} p99={:.1}",
        percentile(&inclusion, 0.5),
        percentile(&inclusion, 0.99),
        percentile(&consistency, 0.5),
        percentile(&consistency, 0.99)
    );
    drop(reader);

    // 4. The audit against hashing alone, on a record of at least `audit_entries` entries:
    // the one in `record_in` (topped up if it holds fewer), or a temporary one.
    let temporary;
    let dir = match record_in {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            data_dir::check_record_place(dir)?;
            dir
        }
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path()
        }
    };
    let store = SqliteStore::open(&data_dir::db_path(dir), Durability::Process)
        .with_context(|| format!("opening the record in {}", dir.display()))?;
    let now = Timestamp::now();
    if store.head()?.size == 0 {
        truce_engine::record_agreement(&store, &demo_files::agreement()?, now)?;
    }
    // Audited against the agreement it holds, as `truce verify --data` does.
    let (_, doc) = store
        .agreement()?
        .context("the record holds no agreement")?;
    let agreement = Agreement::from_doc(doc, "stored agreement")?;
    let store: Arc<dyn Store> = Arc::new(store);
    let held = store.head()?.size;
    if held < audit_entries {
        eprintln!("recording until the record holds {audit_entries} entries or more…");
        record(&store, audit_entries, now)?;
    } else {
        eprintln!("auditing the {held} entries already in {}…", dir.display());
    }
    let size = store.head()?.size;
    let start = Instant::now();
    let mut hashed = 0u64;
    let mut from = 0;
    loop {
        let page = store.entries(from, 10_000)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            std::hint::black_box(truce_core::entry::leaf_hash(&e.bytes));
            hashed += 1;
        }
        from += page.len() as u64;
    }
    let hash_time = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = truce_engine::audit(store.as_ref(), &agreement)?;
    let audit_time = start.elapsed().as_secs_f64();
    println!(
        "audit of {size} entries: {audit_time:.2} s; reading and hashing them alone: {hash_time:.2} s; ratio {:.1}x ({} entries hashed, {} observations audited)",
        audit_time / hash_time,
        hashed,
        report.observations
    );
    Ok(ExitCode::SUCCESS)
}

/// Appends observations through the engine until `store` holds `entries` entries.
fn record(store: &Arc<dyn Store>, entries: u64, now: Timestamp) -> Result<()> {
    let engine = truce_engine::Engine::open(store.clone())?;
    let mut submitted = store.head()?.size;
    let mut k = 0u64;
    while submitted < entries {
        let batch = (0..1000)
            .map(|i| {
                k += 1;
                let json = format!(
                    r#"{{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","reporter":"bench","geometry":{{"type":"position","lat":{},"lon":{},"accuracy_m":30}}}}"#,
                    40.0 + (k % 1000) as f64 * 0.001,
                    46.0 + (i % 100) as f64 * 0.001
                );
                parse_one(&json, now, None)
            })
            .collect::<Result<Vec<_>, _>>()?;
        engine.submit(batch, now)?;
        submitted = store.head()?.size;
    }
    Ok(())
}
