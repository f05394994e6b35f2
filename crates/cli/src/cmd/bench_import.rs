//! `truce bench import --rows N`: an ACLED CSV of N rows into a fresh record, parse and
//! append timed apart. The goal (issue 12): 100,000 rows in at most 10 s, every bad row named.

use crate::demo_files;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use truce_core::Timestamp;
use truce_engine::Engine;
use truce_import::{Format, Provenance};
use truce_store::{Durability, SqliteStore, Store};

/// Runs the import benchmark.
pub fn run(rows: usize) -> Result<ExitCode> {
    // Rows spread over the demo area and over a year of days, kinds in turn, a tenth with
    // fatalities: the shape of an ACLED export of a conflict area.
    let kinds = [
        "Shelling/artillery/missile attack",
        "Armed clash",
        "Air/drone strike",
        "Remote explosive/landmine/IED",
        "Disrupted weapons use",
    ];
    let mut csv = String::from(
        "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n",
    );
    let start = Timestamp::parse("2025-01-01T00:00:00Z")?;
    for n in 0..rows {
        let day = &start.plus_seconds((n % 365) as f64 * 86_400.0).to_string()[..10];
        let lat = 39.4 + (n * 7919 % 10_000) as f64 / 10_000.0 * 1.1;
        let lon = 46.0 + (n * 104_729 % 10_000) as f64 / 10_000.0 * 1.3;
        let _ = writeln!(
            csv,
            "BEN{n},{day},2025,1,Political violence,Battles,{},Unidentified Armed Group,,,,,,,,31,,,,,,Place {},{lat:.4},{lon:.4},{},Local media,Other,\"Reported at {day}, row {n}\",{},,{}",
            kinds[n % kinds.len()],
            n % 97,
            1 + n % 3,
            if n % 10 == 0 { 1 } else { 0 },
            1_735_000_000 + n
        );
    }
    let bytes = csv.into_bytes();
    let provenance = Provenance::of(&bytes, Format::AcledCsv);
    let now = Timestamp::now();
    let t = Instant::now();
    let parsed = truce_import::parse(Format::AcledCsv, &bytes, &provenance, now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_s = t.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Full)?;
    truce_engine::record_agreement(&store, &demo_files::agreement()?, start)?;
    let engine = Arc::new(Engine::open(Arc::new(store) as Arc<dyn Store>)?);
    let count = parsed.observations.len();
    let t = Instant::now();
    let outcome = engine.submit(parsed.observations, now)?;
    let append_s = t.elapsed().as_secs_f64();
    let total = parse_s + append_s;
    let goal_s = 10.0 * rows as f64 / 100_000.0;
    println!(
        "{rows} ACLED rows ({:.1} MB) -> {count} observations ({} new): parse and validate {parse_s:.2} s, fuse and append (one transaction) {append_s:.2} s, total {total:.2} s = {:.2}x the goal ({goal_s:.1} s for {rows} rows)",
        bytes.len() as f64 / 1e6,
        outcome.new,
        total / goal_s,
    );
    // Every bad row named: the same file with a bad row in every thousand.
    let spoiled: String = String::from_utf8_lossy(&bytes)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && i % 1000 == 0 {
                l.replacen(",1,Political", ",3,Political", 1)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let t = Instant::now();
    let refused = truce_import::parse(Format::AcledCsv, spoiled.as_bytes(), &provenance, now);
    let named = match refused {
        Err(truce_import::ImportError::Rows(r)) => r.len(),
        _ => 0,
    };
    println!(
        "the same rows with {} spoiled: {named} bad rows named in {:.2} s, nothing taken",
        rows / 1000,
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
