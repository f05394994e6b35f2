//! `truce demo`: the illustrative agreement, the API and a simulated stream of reports.

use crate::{data_dir, demo_files, serve};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use truce_core::Timestamp;
use truce_core::validate::validate;
use truce_engine::Engine;
use truce_sim::{Generator, Scenario};

/// Creates the folder when absent, serves it and feeds simulated reports until Ctrl-C.
pub fn run(data: &Path, http: SocketAddr, interval_s: f64) -> Result<ExitCode> {
    if !(0.05..=3600.0).contains(&interval_s) {
        anyhow::bail!("--interval must be from 0.05 to 3600 seconds, got {interval_s}");
    }
    let fresh = !data_dir::exists(data);
    if fresh {
        let agreement = demo_files::agreement().context("the built-in demo agreement")?;
        data_dir::init(data, &agreement)?;
        std::fs::write(data.join("agreement.toml"), demo_files::AGREEMENT_TOML)?;
        std::fs::write(data.join("zones.geojson"), demo_files::ZONES_GEOJSON)?;
    }
    let engine = data_dir::open_engine(data)?;
    let scenario = Scenario::from_toml(demo_files::SCENARIO_TOML)?;
    let rt = serve::runtime()?;
    rt.block_on(async move {
        let bound = serve::bind(engine.clone(), http).await?;
        let addr = bound.local_addr()?;
        let doc = &engine.agreement().doc;
        println!("truce demo — {}{}", doc.name, if doc.illustrative { " (ILLUSTRATIVE)" } else { "" });
        println!(
            "  data folder: {} ({})",
            data.display(),
            if fresh { "created" } else { "reused" }
        );
        println!("  open:        http://{addr}/");
        println!("  incidents:   http://{addr}/api/incidents   (GeoJSON: -H 'Accept: application/geo+json')");
        println!("  live feed:   curl -N http://{addr}/api/events");
        println!("  API doc:     http://{addr}/api/openapi.json");
        println!("  verify:      truce verify --data {}", data.display());
        println!("A simulated stream of reports from both monitors' posts is feeding it. Ctrl-C stops.");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let feeder = tokio::spawn(feed(engine, scenario, interval_s, stop_rx));
        bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await?;
        let _ = feeder.await;
        anyhow::Ok(())
    })?;
    println!("stopped cleanly; start again to continue with the same data");
    Ok(ExitCode::SUCCESS)
}

/// Submits one simulated event's reports at random intervals averaging `interval_s`.
async fn feed(
    engine: Arc<Engine>,
    scenario: Scenario,
    interval_s: f64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let seed = Timestamp::now().unix_millis() as u64;
    let mut generator = Generator::new(scenario, seed);
    let mut step = 0u64;
    loop {
        // A deterministic jitter around the mean keeps the stream lively without a second RNG.
        let wait = interval_s * (0.5 + ((step.wrapping_mul(2_654_435_761) % 1000) as f64) / 1000.0);
        step += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = stop.changed() => return,
        }
        let now = Timestamp::now();
        let reports = generator.event(now.plus_seconds(-5.0));
        let engine = engine.clone();
        let result = tokio::task::spawn_blocking(move || {
            let batch = reports
                .into_iter()
                .map(|o| validate(o, now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("simulated report invalid: {e}"))?;
            engine.submit(batch, now).map_err(anyhow::Error::from)
        })
        .await;
        match result {
            Ok(Ok(outcome)) => tracing::debug!(new = outcome.new, "simulated event recorded"),
            Ok(Err(e)) => tracing::warn!(error = %e, "simulated event not recorded"),
            Err(e) => tracing::warn!(error = %e, "simulator task failed"),
        }
    }
}
