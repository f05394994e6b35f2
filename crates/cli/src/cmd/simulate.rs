//! `truce simulate`: a scenario's events with ground truth, and the reports made of them.

use crate::demo_files;
use anyhow::{Context, Result, bail};
use rand::{RngExt, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use truce_core::Timestamp;
use truce_fusion::Rules;
use truce_sim::{Generator, Scenario, SimEvent};

/// What to simulate.
pub struct SimulateArgs<'a> {
    /// The scenario's TOML (the demo's when absent).
    pub scenario: Option<&'a Path>,
    /// The agreement whose sides' areas decide who acted (the demo's when absent).
    pub agreement: Option<&'a Path>,
    /// Seed: the same seed gives the same files.
    pub seed: u64,
    /// Events to simulate.
    pub events: u64,
    /// Time of the first event.
    pub start: Timestamp,
    /// Mean seconds between events (exponentially distributed).
    pub interval_s: f64,
    /// Where the reports go, one JSON observation per line, in time order.
    pub observations: &'a Path,
    /// Where the truth goes, one JSON event per line.
    pub truth: &'a Path,
}

/// Simulates `events` events from `start`, spaced by exponential gaps of mean `interval_s`
/// drawn from `seed` (the same seed gives the same times), handing each to `each`; returns
/// the time after the last. `truce simulate` and `truce eval --scenario` both run this, so
/// they make the same stream.
pub fn for_each_event(
    generator: &mut Generator,
    seed: u64,
    start: Timestamp,
    events: u64,
    interval_s: f64,
    mut each: impl FnMut(SimEvent) -> Result<()>,
) -> Result<Timestamp> {
    let mut spacing = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut t = start;
    for _ in 0..events {
        each(generator.simulate(t))?;
        let u: f64 = spacing.random_range(1e-12..1.0);
        t = t.plus_seconds(-interval_s * u.ln());
    }
    Ok(t)
}

/// Writes the reports and the truth; prints a one-line summary.
pub fn run(args: &SimulateArgs) -> Result<ExitCode> {
    if args.events == 0 || args.events > 10_000_000 {
        bail!("--events must be 1 to 10,000,000, got {}", args.events);
    }
    if !(0.001..=86_400.0).contains(&args.interval_s) {
        bail!(
            "--interval must be 0.001 to 86400 seconds, got {}",
            args.interval_s
        );
    }
    let scenario = match args.scenario {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Scenario::from_toml(&text).with_context(|| p.display().to_string())?
        }
        None => Scenario::from_toml(demo_files::SCENARIO_TOML)?,
    };
    let agreement = match args.agreement {
        Some(p) => crate::data_dir::read_agreement(p)?,
        None => demo_files::agreement()?,
    };
    let rules = Rules::new(Arc::new(agreement));
    let mut generator =
        Generator::new(scenario, args.seed).with_sides(Box::new(move |p| rules.side_at(p)));
    let mut truth_out = BufWriter::new(
        std::fs::File::create(args.truth)
            .with_context(|| format!("creating {}", args.truth.display()))?,
    );
    let mut reports = Vec::new();
    let t = for_each_event(
        &mut generator,
        args.seed,
        args.start,
        args.events,
        args.interval_s,
        |ev| {
            serde_json::to_writer(&mut truth_out, &ev.truth)?;
            truth_out.write_all(b"\n")?;
            reports.extend(ev.observations);
            Ok(())
        },
    )?;
    truth_out.flush()?;
    // Reports reach the center in the order they were made.
    reports.sort_by_key(|o| o.observed_at);
    let mut obs_out = BufWriter::new(
        std::fs::File::create(args.observations)
            .with_context(|| format!("creating {}", args.observations.display()))?,
    );
    for o in &reports {
        serde_json::to_writer(&mut obs_out, o)?;
        obs_out.write_all(b"\n")?;
    }
    obs_out.flush()?;
    println!(
        "{} events, {} observations ({} to {}): {} and {}",
        args.events,
        reports.len(),
        args.start,
        t,
        args.observations.display(),
        args.truth.display()
    );
    Ok(ExitCode::SUCCESS)
}
