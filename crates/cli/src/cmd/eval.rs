//! `truce eval --truth FILE --data DIR`: how right the center's incidents are; and
//! `truce eval --scenario FILE…`: each scenario simulated, submitted through the engine into a
//! scratch record, and scored, one row per scenario.

use crate::evaluate_rounds::{RoundScore, evaluate_rounds};
use crate::{data_dir, demo_files, evaluate};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use truce_core::agreement::Agreement;
use truce_core::intake::{ParseLimits, parse_observations};
use truce_core::{IncidentId, Timestamp};
use truce_engine::Engine;
use truce_fusion::Rules;
use truce_fusion::measure::Measure;
use truce_sim::{Generator, Scenario, TruthEvent};
use truce_store::{Durability, SqliteStore, Store};
use uuid::Uuid;

/// Largest truth file read, bytes.
const MAX_TRUTH_BYTES: u64 = 4 << 30;

/// Prints per-estimator accuracy, coverage, association and attribution, ending with the
/// one-line summary.
pub fn run(truth_file: &Path, data: &Path) -> Result<ExitCode> {
    let truth = read_truth(truth_file)?;
    let store = data_dir::open_store_reading(data)?;
    let scored = score(&truth, store.as_ref()).with_context(|| {
        format!(
            "scoring {} against {}",
            data.display(),
            truth_file.display()
        )
    })?;
    if !scored.fire_only {
        print_report(&scored.events, scored.wanted, scored.found);
    }
    if scored.rounds.rounds > 0 {
        print_rounds_header();
        print_rounds_row(&truth_file.display().to_string(), &scored.rounds);
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything one evaluation found.
struct Scored {
    /// Whether every event of the truth is fire (scored by round, not by event).
    fire_only: bool,
    events: evaluate::Evaluation,
    rounds: RoundScore,
    wanted: usize,
    found: usize,
}

fn score(truth: &[TruthEvent], store: &dyn Store) -> Result<Scored> {
    let default_temperature_c = store
        .agreement()?
        .map(|(_, doc)| doc.default_temperature_c)
        .context("the record holds no agreement")?;
    let wanted: Vec<Uuid> = truth
        .iter()
        .flat_map(|t| t.observations.iter().chain(&t.noise).copied())
        .collect();
    let mut decided = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(10_000) {
        for r in store.client_records(chunk)? {
            let measure = store
                .observation(r.observation_id)?
                .and_then(|o| Measure::of(&o.observation));
            decided.insert(
                r.client_id,
                evaluate::Decided {
                    observation_id: r.observation_id,
                    incident_id: r.incident_id,
                    measure,
                },
            );
        }
    }
    if decided.is_empty() {
        bail!(
            "none of the {} observations is in the record: submit them first (truce submit)",
            wanted.len(),
        );
    }
    let incidents: HashMap<IncidentId, _> = store
        .latest_estimates()?
        .into_iter()
        .map(|(id, _, e)| (id, e))
        .collect();
    let events = evaluate::evaluate(truth, &decided, &incidents, default_temperature_c);
    let rounds = evaluate_rounds(truth, &decided, &incidents, default_temperature_c);
    Ok(Scored {
        fire_only: !truth.is_empty() && truth.iter().all(|t| !t.rounds.is_empty()),
        events,
        rounds,
        wanted: wanted.len(),
        found: decided.len(),
    })
}

/// What `truce eval --scenario` simulates.
pub struct ScenarioRuns<'a> {
    /// Scenario files.
    pub scenarios: &'a [PathBuf],
    /// The agreement (the demo's when absent).
    pub agreement: Option<&'a Path>,
    /// Seed of the first scenario (each next one adds one); with several seeds, the first
    /// seed of every scenario.
    pub seed: u64,
    /// Seeds each scenario runs with (1: one run per scenario, its seed as above).
    pub seeds: u64,
    /// Events per scenario.
    pub events: u64,
    /// Mean seconds between events.
    pub interval_s: f64,
}

/// Most seeds one `truce eval` runs each scenario with.
const MAX_SEEDS: u64 = 100;

/// Simulates each scenario (with each seed asked for), submits its reports in time order
/// through the engine into a scratch record (as a gateway would, in batches of up to 100),
/// and prints one row per run, and with several seeds one summary row per scenario.
pub fn run_scenarios(runs: &ScenarioRuns) -> Result<ExitCode> {
    if runs.events == 0 || runs.events > 1_000_000 {
        bail!("--events must be 1 to 1,000,000, got {}", runs.events);
    }
    if runs.seeds == 0 || runs.seeds > MAX_SEEDS {
        bail!("--seeds must be 1 to {MAX_SEEDS}, got {}", runs.seeds);
    }
    let agreement = match runs.agreement {
        Some(p) => data_dir::read_agreement(p)?,
        None => demo_files::agreement()?,
    };
    let mut rows = Vec::new();
    for (i, path) in runs.scenarios.iter().enumerate() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let scenario = Scenario::from_toml(&text).with_context(|| path.display().to_string())?;
        for k in 0..runs.seeds {
            let seed = if runs.seeds == 1 {
                runs.seed + i as u64
            } else {
                runs.seed + k
            };
            let scored = run_scenario(&scenario, &agreement, seed, runs)?;
            eprintln!(
                "{} (seed {seed}): {} events, {} reports submitted",
                path.display(),
                runs.events,
                scored.wanted
            );
            let name = if runs.seeds == 1 {
                path.display().to_string()
            } else {
                format!("{} #{seed}", path.display())
            };
            rows.push((i, name, scored));
        }
    }
    for (_, name, s) in &rows {
        println!("== {name}");
        if s.fire_only {
            // Every event is rounds of fire, each round its own incident: the event-level
            // association and accuracy would only count that as splitting.
            println!(
                "{} events of fire, {} of {} pulses found in the record: scored by round below",
                s.events.events, s.found, s.wanted
            );
        } else {
            print_report(&s.events, s.wanted, s.found);
        }
    }
    if rows.iter().any(|(_, _, s)| s.rounds.rounds > 0) {
        print_rounds_header();
        for (_, name, s) in &rows {
            print_rounds_row(name, &s.rounds);
        }
        if runs.seeds > 1 {
            println!(
                "over seeds: scenario                              runs f1_mean f1_worst rmse/crlb worst_rmse/crlb coverage95 gross incident_gross unresolved"
            );
            for (i, path) in runs.scenarios.iter().enumerate() {
                let scores: Vec<&RoundScore> = rows
                    .iter()
                    .filter(|(j, _, _)| *j == i)
                    .map(|(_, _, s)| &s.rounds)
                    .collect();
                print_summary_row(&path.display().to_string(), &scores);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One simulation of `scenario` with `seed`, submitted through the engine into a scratch
/// record and scored.
fn run_scenario(
    scenario: &Scenario,
    agreement: &Agreement,
    seed: u64,
    runs: &ScenarioRuns,
) -> Result<Scored> {
    let rules = Rules::new(Arc::new(agreement.clone()));
    let mut generator =
        Generator::new(scenario.clone(), seed).with_sides(Box::new(move |p| rules.side_at(p)));
    let now = Timestamp::now();
    // Exponential spacing sums to about events × interval: start well before, so no report
    // lies in the future.
    let span = 2.0 * runs.events as f64 * runs.interval_s + 3_600.0;
    let mut truth = Vec::new();
    let mut reports = Vec::new();
    crate::cmd::simulate::for_each_event(
        &mut generator,
        seed,
        now.plus_seconds(-span),
        runs.events,
        runs.interval_s,
        |ev| {
            truth.push(ev.truth);
            reports.extend(ev.observations);
            Ok(())
        },
    )?;
    reports.sort_by_key(|o| o.observed_at);
    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let store = SqliteStore::open(&data_dir::db_path(dir.path()), Durability::Process)?;
    truce_engine::record_agreement(&store, agreement, Timestamp::now())?;
    let store: Arc<dyn Store> = Arc::new(store);
    let engine = Engine::open(store.clone())?;
    let limits = ParseLimits::default();
    for chunk in reports.chunks(100) {
        let body = serde_json::to_vec(chunk)?;
        let parsed = parse_observations(&body, &limits, Timestamp::now())
            .map_err(|e| anyhow::anyhow!("a simulated report was refused: {e:?}"))?;
        engine.submit(parsed, Timestamp::now())?;
    }
    score(&truth, store.as_ref())
}

/// One scenario's runs over several seeds.
#[derive(Debug, Clone, PartialEq)]
struct OverSeeds {
    runs: usize,
    /// Pulse F1's mean and worst.
    f1_mean: f64,
    f1_worst: f64,
    /// RMSE over the bound, both pooled over every located round of every run.
    rmse_over_crlb: f64,
    /// The worst run's RMSE over its bound.
    worst_rmse_over_crlb: f64,
    /// 95% coverage pooled over every located round.
    coverage95: f64,
    /// Gross errors of rounds, of incidents, and unresolved pulses, summed.
    gross: usize,
    incident_gross: usize,
    unresolved: usize,
}

impl OverSeeds {
    fn of(scores: &[&RoundScore]) -> Self {
        let runs = scores.len().max(1) as f64;
        let located = scores.iter().map(|s| s.located).sum::<usize>().max(1) as f64;
        let pooled = |f: fn(&RoundScore) -> f64| {
            (scores
                .iter()
                .map(|s| f(s) * f(s) * s.located as f64)
                .sum::<f64>()
                / located)
                .sqrt()
        };
        OverSeeds {
            runs: scores.len(),
            f1_mean: scores.iter().map(|s| s.pair_f1).sum::<f64>() / runs,
            f1_worst: scores
                .iter()
                .map(|s| s.pair_f1)
                .fold(f64::INFINITY, f64::min),
            rmse_over_crlb: pooled(|s| s.rmse_m) / pooled(|s| s.crlb_m),
            worst_rmse_over_crlb: scores
                .iter()
                .map(|s| s.rmse_m / s.crlb_m)
                .fold(0.0, f64::max),
            coverage95: scores
                .iter()
                .map(|s| s.coverage95 * s.located as f64)
                .sum::<f64>()
                / located,
            gross: scores.iter().map(|s| s.gross).sum(),
            incident_gross: scores.iter().map(|s| s.incident_gross).sum(),
            unresolved: scores.iter().map(|s| s.unresolved).sum(),
        }
    }
}

fn print_summary_row(name: &str, scores: &[&RoundScore]) {
    let o = OverSeeds::of(scores);
    println!(
        "over seeds: {:<40} {:>5} {:>7.4} {:>8.4} {:>9.3} {:>15.3} {:>10.3} {:>5} {:>14} {:>10}",
        short_name(name),
        o.runs,
        o.f1_mean,
        o.f1_worst,
        o.rmse_over_crlb,
        o.worst_rmse_over_crlb,
        o.coverage95,
        o.gross,
        o.incident_gross,
        o.unresolved,
    );
}

/// The last 40 characters of a scenario's name.
fn short_name(name: &str) -> String {
    name.chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn print_rounds_header() {
    println!(
        "rounds: scenario                                  rounds heard5 located%  pulse_f1 f1_ceiling  rmse_m  crlb_m rmse/crlb  nrmse coverage95 gross incident_gross count_err incident_rmse_m median_m peer_rmse_m peer_median_m rmse/peer peer_far unresolved"
    );
}

fn print_rounds_row(name: &str, r: &RoundScore) {
    let short = short_name(name);
    println!(
        "rounds: {short:<40} {:>7} {:>6} {:>8.1} {:>9.4} {:>10.4} {:>7.2} {:>7.2} {:>9.3} {:>6.3} {:>10.3} {:>5} {:>14} {:>9.3} {:>15.2} {:>8.2} {:>11.2} {:>13.2} {:>9.2} {:>8} {:>10}",
        r.rounds,
        r.heard,
        100.0 * r.located as f64 / r.heard.max(1) as f64,
        r.pair_f1,
        r.pair_f1_ceiling,
        r.rmse_m,
        r.crlb_m,
        r.rmse_m / r.crlb_m,
        r.normalised_rmse,
        r.coverage95,
        r.gross,
        r.incident_gross,
        r.count_error,
        r.incident_rmse_m,
        r.median_m,
        r.peer_rmse_m,
        r.peer_median_m,
        r.rmse_m / r.peer_rmse_m,
        r.peer_far,
        r.unresolved,
    );
}

fn read_truth(path: &Path) -> Result<Vec<TruthEvent>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    if file.metadata()?.len() > MAX_TRUTH_BYTES {
        bail!(
            "{} is larger than {} bytes",
            path.display(),
            MAX_TRUTH_BYTES
        );
    }
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: TruthEvent = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        out.push(event);
    }
    Ok(out)
}

fn print_report(ev: &evaluate::Evaluation, wanted: usize, found: usize) {
    println!(
        "{} events, {} located; {found} of {wanted} observations found in the record",
        ev.events, ev.located
    );
    println!("estimator            events   rmse_m   crlb_m  rmse/crlb  coverage95");
    for (method, s) in &ev.by_method {
        println!(
            "{method:<20} {:>6} {:>8.1} {:>8.1} {:>10.3} {:>11.3}",
            s.events,
            s.rmse_m,
            s.crlb_m,
            s.rmse_m / s.crlb_m,
            s.coverage95
        );
    }
    println!(
        "association: precision {:.4} recall {:.4} f1 {:.4}",
        ev.precision, ev.recall, ev.f1
    );
    let a = ev.bearings_set_aside;
    println!(
        "bearings set aside: {} another event's, {} misread, {} sound (set aside wrongly)",
        a.another_event, a.misread, a.sound
    );
    println!("attribution (acting side → attributed): events");
    for ((truth, said), n) in &ev.attribution {
        println!("  {truth:>10} → {said:<12} {n}");
    }
    for (event, incident, truth, said) in &ev.wrong_examples {
        println!(
            "  wrong: event {event} (acting side {truth}) is incident {incident} attributed to {said}"
        );
    }
    println!(
        "rmse_crlb_ratio={:.3} coverage95={:.3} association_f1={:.4} wrong_attributions={}",
        ev.rmse_crlb_ratio, ev.coverage95, ev.f1, ev.wrong_attributions
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f1: f64, located: usize, rmse_m: f64, crlb_m: f64, coverage95: f64) -> RoundScore {
        RoundScore {
            located,
            pair_f1: f1,
            rmse_m,
            crlb_m,
            coverage95,
            gross: 1,
            incident_gross: 2,
            unresolved: 3,
            ..RoundScore::default()
        }
    }

    #[test]
    fn runs_over_seeds_pool_their_rounds_and_keep_the_worst() {
        // 100 rounds at 6 m against a 5 m bound, 300 at 12 m against 5 m.
        let (a, b) = (
            run(0.99, 100, 6.0, 5.0, 0.9),
            run(0.95, 300, 12.0, 5.0, 0.98),
        );
        let o = OverSeeds::of(&[&a, &b]);
        assert_eq!(o.runs, 2);
        assert!((o.f1_mean - 0.97).abs() < 1e-12);
        assert_eq!(o.f1_worst, 0.95);
        // sqrt((100·36 + 300·144) / 400) / 5 = sqrt(117) / 5
        assert!((o.rmse_over_crlb - 117f64.sqrt() / 5.0).abs() < 1e-12);
        assert!((o.worst_rmse_over_crlb - 2.4).abs() < 1e-12);
        assert!((o.coverage95 - 0.96).abs() < 1e-12);
        assert_eq!((o.gross, o.incident_gross, o.unresolved), (2, 4, 6));
    }
}
