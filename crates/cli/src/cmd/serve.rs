//! `truce serve --data DIR [--http ADDR] [--cot-tcp ADDR] [--cot-udp ADDR] [--cot-member USER]
//! [--mqtt URL --mqtt-topic PATTERN --mqtt-member USER]`.

use crate::cot::CotFlags;
use crate::mqtt::MqttFlags;
use crate::{cot, data_dir, mqtt, serve};
use anyhow::Result;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

/// Serves the data folder until Ctrl-C, signing a checkpoint every `checkpoint_interval_s`
/// seconds in which the record grew, with the TAK listeners `cot` and the MQTT subscription
/// `mqtt` ask for.
pub fn run(
    data: &Path,
    http: SocketAddr,
    checkpoint_interval_s: f64,
    cot: &CotFlags,
    mqtt: &MqttFlags,
) -> Result<ExitCode> {
    if !(0.05..=86_400.0).contains(&checkpoint_interval_s) {
        anyhow::bail!(
            "--checkpoint-interval must be from 0.05 to 86400 seconds, got {checkpoint_interval_s}"
        );
    }
    cot.check()?;
    mqtt.check()?;
    let interval = std::time::Duration::from_secs_f64(checkpoint_interval_s);
    let engine = data_dir::open_engine(data)?;
    let rt = serve::runtime()?;
    rt.block_on(async {
        let bound = serve::bind(engine.clone(), http).await?;
        let addr = bound.local_addr()?;
        println!(
            "truce serving {} on http://{addr}/ — Ctrl-C to stop",
            data.display()
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let status = bound.status();
        let mut listeners = cot::start(&engine, cot, &stop_rx, &status).await?.tasks;
        listeners.extend(mqtt::start(&engine, mqtt, &stop_rx, &status)?);
        let checkpointer = serve::spawn_checkpointer(engine, interval, stop_rx);
        let served = bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await;
        let _ = checkpointer.await;
        for l in listeners {
            let _ = l.await;
        }
        served
    })?;
    println!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
