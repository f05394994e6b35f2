//! `truce bench export --incidents N`: how long an export of N incidents takes, per format.
//!
//! A scratch record is filled with simulated events of the demo scenario, far enough apart in
//! time that each becomes its own incident (not timed). Then, timed: reading the selection
//! (incidents, their observations, the zones) once, and writing each format from it. The goal
//! (issue 12): 100,000 incidents exported in at most 5 s, reading included.

use crate::demo_files;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use truce_core::Timestamp;
use truce_core::validate::validate;
use truce_engine::Engine;
use truce_export::{Dataset, Format, Selection};
use truce_sim::{Generator, Scenario};
use truce_store::{Durability, SqliteStore, Store};

/// Seconds between simulated events: beyond any association window, so none merge.
const SPACING_S: f64 = 600.0;

/// Runs the export benchmark on `incidents` simulated incidents.
pub fn run(incidents: usize) -> Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Process)?;
    let agreement = demo_files::agreement()?;
    let start = Timestamp::now().plus_seconds(-(incidents as f64 + 1.0) * SPACING_S);
    truce_engine::record_agreement(&store, &agreement, start)?;
    let engine = Arc::new(Engine::open(Arc::new(store) as Arc<dyn Store>)?);
    let scenario = Scenario::from_toml(demo_files::SCENARIO_TOML)?;
    let mut generator = Generator::new(scenario, 12);
    eprintln!("recording {incidents} simulated events (not timed)…");
    let filling = Instant::now();
    let mut batch = Vec::new();
    for n in 0..incidents {
        let t = start.plus_seconds(n as f64 * SPACING_S);
        for o in generator.event(t) {
            batch.push(validate(o, t.plus_seconds(30.0))?);
        }
        if batch.len() >= 500 || n + 1 == incidents {
            engine.submit(std::mem::take(&mut batch), t.plus_seconds(30.0))?;
        }
    }
    eprintln!("recorded in {:.1} s", filling.elapsed().as_secs_f64());

    let read = Instant::now();
    let data = Dataset::load(
        engine.store().as_ref(),
        &engine.agreement().doc,
        &Selection::default(),
    )?;
    let read_s = read.elapsed().as_secs_f64();
    println!(
        "read: {} incidents, {} observations in {read_s:.2} s",
        data.incidents.len(),
        data.observations.len()
    );
    for format in Format::ALL {
        let t = Instant::now();
        let path = dir.path().join(format!("bench.{}", format.extension()));
        if format == Format::Gpkg {
            truce_export::write_gpkg_file(&data, &path)?;
        } else {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            truce_export::write_to(format, &data, &mut out)?;
            std::io::Write::flush(&mut out)?;
        }
        let bytes = std::fs::metadata(&path)?.len() as usize;
        std::fs::remove_file(&path)?;
        let write_s = t.elapsed().as_secs_f64();
        let total = read_s + write_s;
        // The goal is 5 s for 100,000: scaled linearly to the incidents measured.
        let goal_s = 5.0 * data.incidents.len() as f64 / 100_000.0;
        println!(
            "{:<10} write {write_s:.2} s, {:.1} MB to a file; read and write {total:.2} s = {:.2}x the goal ({goal_s:.2} s for {} incidents)",
            format.name(),
            bytes as f64 / 1e6,
            total / goal_s,
            data.incidents.len(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
