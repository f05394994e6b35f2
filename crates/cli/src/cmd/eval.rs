//! `truce eval --truth FILE --data DIR`: how right the center's incidents are.

use crate::{data_dir, evaluate};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use truce_core::IncidentId;
use truce_fusion::measure::Measure;
use truce_sim::TruthEvent;
use uuid::Uuid;

/// Largest truth file read, bytes.
const MAX_TRUTH_BYTES: u64 = 4 << 30;

/// Prints per-estimator accuracy, coverage, association and attribution, ending with the
/// one-line summary.
pub fn run(truth_file: &Path, data: &Path) -> Result<ExitCode> {
    let truth = read_truth(truth_file)?;
    let store = data_dir::open_store(data)?;
    let default_temperature_c = store
        .agreement()?
        .map(|(_, doc)| doc.default_temperature_c)
        .context("the record holds no agreement")?;
    let wanted: Vec<Uuid> = truth
        .iter()
        .flat_map(|t| t.observations.iter().copied())
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
            "none of the {} observations of {} is in {}: submit them first (truce submit)",
            wanted.len(),
            truth_file.display(),
            data.display()
        );
    }
    let incidents: HashMap<IncidentId, _> = store
        .latest_estimates()?
        .into_iter()
        .map(|(id, _, e)| (id, e))
        .collect();
    let ev = evaluate::evaluate(&truth, &decided, &incidents, default_temperature_c);
    print_report(&ev, wanted.len(), decided.len());
    Ok(ExitCode::SUCCESS)
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
