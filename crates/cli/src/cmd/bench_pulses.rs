//! `truce bench pulses`: intake of acoustic pulses under rapid fire, the cost of associating
//! one pulse as the density of fire in one network grows.
//!
//! The stream is `scenarios/rapid-fire-urban.toml` (20 sensors over 10 km, bursts of 1–30
//! rounds 0.1–3 s apart, echoes, late paths, noise) with one event every `base_interval`
//! seconds at 1×, and the same number of events `k` times as dense at k×. Pulses go through
//! the engine in gateway-sized batches (parse, validate, sequence, associate, append to a
//! fresh SQLite record); the clock runs only around the engine. Each line gives pulses per
//! second and microseconds per pulse, and its ratio to the 1× cost.

use crate::{data_dir, demo_files};
use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use truce_core::Timestamp;
use truce_core::intake::{ParseLimits, parse_observations};
use truce_engine::Engine;
use truce_sim::{Generator, Scenario};
use truce_store::{Durability, SqliteStore, Store};

/// The rapid-fire scenario shipped in the repository.
const SCENARIO: &str = include_str!("../../../../scenarios/rapid-fire-urban.toml");

/// Pulses per request, as a sensor gateway batches them.
const BATCH: usize = 50;

/// Runs the benchmark: `events` bursts at each density factor of `densities`.
pub fn run(events: u64, base_interval_s: f64, densities: &[f64]) -> Result<ExitCode> {
    if events == 0 || densities.is_empty() || densities.iter().any(|d| d.is_nan() || *d < 1.0) {
        bail!("--events must be positive and every density at least 1");
    }
    let mut base_cost = None;
    for &density in densities {
        let scenario = Scenario::from_toml(SCENARIO)?;
        let mut generator = Generator::new(scenario, 2026);
        let interval = base_interval_s / density;
        let start = Timestamp::now().plus_seconds(-(events as f64 * interval) - 600.0);
        let mut reports = Vec::new();
        for i in 0..events {
            reports.extend(generator.event(start.plus_seconds(i as f64 * interval)));
        }
        reports.sort_by_key(|o| o.observed_at);
        let bodies: Vec<Vec<u8>> = reports
            .chunks(BATCH)
            .map(|c| serde_json::to_vec(c).context("serialising a batch"))
            .collect::<Result<_>>()?;
        let dir = tempfile::tempdir().context("creating a scratch folder")?;
        let store = SqliteStore::open(&data_dir::db_path(dir.path()), Durability::Full)?;
        truce_engine::record_agreement(&store, &demo_files::agreement()?, Timestamp::now())?;
        let store: Arc<dyn Store> = Arc::new(store);
        let engine = Engine::open(store)?;
        let limits = ParseLimits::default();
        let now = Timestamp::now();
        let clock = Instant::now();
        for body in &bodies {
            let parsed = parse_observations(body, &limits, now)
                .map_err(|e| anyhow::anyhow!("a simulated pulse was refused: {e:?}"))?;
            engine.submit(parsed, now)?;
        }
        let elapsed = clock.elapsed().as_secs_f64();
        let pulses = reports.len();
        let per_pulse_us = elapsed / pulses as f64 * 1e6;
        let base = *base_cost.get_or_insert(per_pulse_us);
        println!(
            "density {density:>5}x: {events} bursts, one every {interval:.2} s, {pulses} pulses \
             ({:.0} a minute in one network) in {elapsed:.2} s = {:.0} pulses/s, \
             {per_pulse_us:.0} µs/pulse = {:.2}x the 1x cost",
            pulses as f64 / (events as f64 * interval / 60.0),
            pulses as f64 / elapsed,
            per_pulse_us / base,
        );
    }
    Ok(ExitCode::SUCCESS)
}
