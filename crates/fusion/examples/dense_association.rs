//! Times association alone (no parsing, no store) on the demo scenario's simulated stream at
//! several densities of events, and prints a fingerprint of what it decided.
//!
//! ```text
//! cargo run --release -p truce-fusion --example dense_association -- [--count 20000]
//!     [--density 1,10,100] [--batch 1000]
//! ```
//!
//! The stream is the one `truce bench intake --sweep` submits (seed 2020, 20,000 observations
//! over two days divided by the density), on a fixed clock so that runs compare: two builds
//! that decide alike print the same `decisions=` fingerprint (a hash of every batch's
//! incident ids and revisions' added observations), and two that also estimate alike to the
//! last bit the same `estimates=` fingerprint. Against the simulator's truth it prints the
//! pairwise precision and recall of the incidents (of pairs of observations put together,
//! the share that report one event; of pairs reporting one event, the share put together),
//! where an observation left in an incident marked `unresolved` is paired with none, as
//! `truce eval` counts; `unresolved=` is the share left there, and `left_alone=` the share of
//! reports association left alone in saturation (`saturated` incidents).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;
use truce_core::agreement::parse_toml;
use truce_core::validate::validate;
use truce_core::{ObservationId, Timestamp, ValidObservation};
use truce_fusion::{Fusion, Rules};
use truce_sim::{Generator, Scenario};

const SCENARIO: &str = include_str!("../testdata/scenario.toml");

const AGREEMENT: &str = r#"
name = "Synthetic test agreement"
sides = [{ id = "a", name = "Side A" }, { id = "b", name = "Side B" }]
monitors = [{ id = "m1", name = "Monitor 1" }]

[[clauses]]
id = "1"
title = "Ceasefire"
text = "No fire."
rule = "ceasefire"

[zones]
geojson = '''
{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"aor","kind":"area_of_responsibility","monitor":"m1"},
  "geometry":{"type":"Polygon","coordinates":[[[46.0,39.5],[47.5,39.5],[47.5,40.5],[46.0,40.5],[46.0,39.5]]]}}
]}
'''
"#;

/// Span of the 1x stream, seconds (as the intake benchmark's).
const SPAN_S: f64 = 2.0 * 86_000.0;

/// The stream's observations, each with the number of the true event it reports.
fn stream(count: usize, span_s: f64) -> Vec<(ValidObservation, u64)> {
    let scenario = Scenario::from_toml(SCENARIO).unwrap();
    let mut generator = Generator::new(scenario, 2020);
    let start = Timestamp::parse("2026-11-20T00:00:00Z").unwrap();
    let now = start.plus_seconds(span_s + 3600.0);
    let step = span_s / count as f64;
    let mut all = Vec::with_capacity(count);
    let mut t = start;
    while all.len() < count {
        let event = generator.simulate(t);
        let n = event.truth.event;
        all.extend(event.observations.into_iter().map(|o| (o, n)));
        t = t.plus_seconds(step);
    }
    all.truncate(count);
    all.into_iter()
        .map(|(o, n)| {
            (
                validate(o, now).expect("the simulator's reports are valid"),
                n,
            )
        })
        .collect()
}

/// Pairwise precision and recall of the incidents against the true events: of the pairs of
/// observations put in one incident, the share that report one event; of the pairs that report
/// one event, the share put in one incident. As `truce eval` counts, an observation left in an
/// incident marked unresolved (`unresolved` says which) is paired with none: its pairs count
/// against recall only.
fn pair_scores(
    assigned: &HashMap<u64, u64>,
    unresolved: &HashMap<u64, bool>,
    truth: &HashMap<u64, u64>,
) -> (f64, f64) {
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let mut cells: HashMap<(u64, u64), u64> = HashMap::new();
    let mut incidents: HashMap<u64, u64> = HashMap::new();
    let mut events: HashMap<u64, u64> = HashMap::new();
    for (obs, incident) in assigned {
        let event = truth[obs];
        *events.entry(event).or_default() += 1;
        if unresolved[incident] {
            continue;
        }
        *cells.entry((*incident, event)).or_default() += 1;
        *incidents.entry(*incident).or_default() += 1;
    }
    let both: u64 = cells.values().map(|&n| pairs(n)).sum();
    let together: u64 = incidents.values().map(|&n| pairs(n)).sum();
    let same: u64 = events.values().map(|&n| pairs(n)).sum();
    (both as f64 / together as f64, both as f64 / same as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let count: usize = arg("--count").map_or(20_000, |v| v.parse().unwrap());
    let batch: usize = arg("--batch").map_or(1_000, |v| v.parse().unwrap());
    let densities: Vec<f64> = arg("--density").map_or(vec![1.0, 10.0, 100.0], |v| {
        v.split(',').map(|d| d.parse().unwrap()).collect()
    });
    let agreement = parse_toml(AGREEMENT, "test.toml", &|_| Err("no files".into())).unwrap();
    let rules = Rules::new(Arc::new(agreement));
    for density in densities {
        let observations = stream(count, SPAN_S / density);
        let mut fusion = Fusion::new(rules.clone());
        let mut hasher = DefaultHasher::new();
        let mut estimates = DefaultHasher::new();
        let mut next = 1u64;
        let mut truth = HashMap::new();
        let mut assigned = HashMap::new();
        let mut unresolved = HashMap::new();
        let mut alone = 0usize;
        let mut elapsed = std::time::Duration::ZERO;
        for chunk in observations.chunks(batch) {
            let items: Vec<(ObservationId, &ValidObservation)> = chunk
                .iter()
                .map(|(o, event)| {
                    next += 1;
                    truth.insert(next, *event);
                    (ObservationId(next), o)
                })
                .collect();
            let start = Instant::now();
            let absorbed = fusion.absorb(&items);
            elapsed += start.elapsed();
            for r in &absorbed.revisions {
                for o in &r.added {
                    assigned.insert(o.0, r.incident_id.0);
                }
                unresolved.insert(r.incident_id.0, r.estimate.unresolved);
                if r.estimate.saturated.is_some() {
                    alone += r.added.len();
                }
            }
            absorbed.incident_ids.hash(&mut hasher);
            for r in &absorbed.revisions {
                (r.incident_id, r.revision, &r.added, &r.moved).hash(&mut hasher);
                estimates.write(format!("{:?}", r.estimate).as_bytes());
            }
        }
        let per_obs_us = elapsed.as_secs_f64() * 1e6 / count as f64;
        let left_unresolved = assigned.values().filter(|i| unresolved[*i]).count();
        let unresolved_share = left_unresolved as f64 / count as f64;
        let alone_share = alone as f64 / count as f64;
        let (precision, recall) = pair_scores(&assigned, &unresolved, &truth);
        println!(
            "density={density} per_obs_us={per_obs_us:.1} incidents={} pair_precision={precision:.4} \
             pair_recall={recall:.4} unresolved={unresolved_share:.3} \
             left_alone={alone_share:.3} decisions={:016x} estimates={:016x}",
            fusion.next_incident_id().0 - 1,
            hasher.finish(),
            estimates.finish()
        );
    }
}
