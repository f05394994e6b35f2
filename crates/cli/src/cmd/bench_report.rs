//! `truce bench report --events N`: how long the daily report of a day with N simulated events
//! takes to make, as HTML and as PDF, and whether it is the same bytes when made twice.
//!
//! A scratch record is filled with N events of the demo scenario spread over one reporting
//! period, with a patrol track point a minute (not timed). Then, timed: reading the figures
//! from the record (`build`), rendering HTML, typesetting the PDF, each twice. The goal
//! (issue 12): a demo day's report (a few hundred incidents) in at most 1 s.

use crate::demo_files;
use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use truce_core::validate::validate;
use truce_engine::Engine;
use truce_report::{Format, Request};
use truce_sim::{Generator, Scenario};
use truce_store::{Durability, SqliteStore, Store};

/// The day the scratch report is for.
const DAY: &str = "2026-11-20";

/// Runs the report benchmark on a day of `events` simulated events.
pub fn run(events: usize) -> Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Process)?;
    let agreement = demo_files::agreement()?;
    let request = Request::parse(DAY, None, "en").map_err(|e| anyhow::anyhow!("{e}"))?;
    let end = request.period_end();
    let start = end.plus_seconds(-86_400.0);
    truce_engine::record_agreement(&store, &agreement, start.plus_seconds(-86_400.0))?;
    let engine = Arc::new(Engine::open(Arc::new(store) as Arc<dyn Store>)?);
    let scenario = Scenario::from_toml(demo_files::SCENARIO_TOML)?;
    let mut generator = Generator::new(scenario, 7);
    eprintln!("recording {events} simulated events over {DAY}'s period (not timed)…");
    let spacing = 86_000.0 / events.max(1) as f64;
    for n in 0..events {
        let t = start.plus_seconds(60.0 + n as f64 * spacing);
        let batch = generator
            .event(t)
            .into_iter()
            .map(|o| validate(o, t.plus_seconds(30.0)))
            .collect::<Result<Vec<_>, _>>()?;
        engine.submit(batch, t.plus_seconds(30.0))?;
    }
    let mut timings = Vec::new();
    let mut outputs: Vec<(Format, Vec<u8>)> = Vec::new();
    let mut incidents = 0;
    for round in 0..2 {
        let t = Instant::now();
        let report = truce_report::build(engine.store().as_ref(), &request)?;
        let build_s = t.elapsed().as_secs_f64();
        incidents = report.annex.len();
        for format in [Format::Html, Format::Pdf] {
            let t = Instant::now();
            let bytes = truce_report::render(&report, format)?;
            let render_s = t.elapsed().as_secs_f64();
            timings.push((round, format, build_s, render_s, bytes.len()));
            match outputs.iter().find(|(f, _)| *f == format) {
                Some((_, first)) if *first != bytes => {
                    bail!(
                        "{}: the second rendering differs from the first",
                        format.name()
                    )
                }
                Some(_) => {}
                None => outputs.push((format, bytes)),
            }
        }
    }
    println!("report of {DAY}: {incidents} incidents in the period");
    for (round, format, build_s, render_s, bytes) in timings {
        let total = build_s + render_s;
        println!(
            "run {}: {:<4} figures {build_s:.3} s + render {render_s:.3} s = {total:.3} s ({:.2}x the 1 s goal), {:.0} KB",
            round + 1,
            format.name(),
            total,
            bytes as f64 / 1000.0
        );
    }
    println!("byte-identical when made twice: html and pdf");
    Ok(ExitCode::SUCCESS)
}
