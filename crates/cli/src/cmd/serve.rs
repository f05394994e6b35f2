//! `truce serve --data DIR [--http ADDR] [--tls-cert FILE --tls-key FILE] [--cot-tcp ADDR] [--cot-udp ADDR] [--cot-member USER]
//! [--mqtt URL --mqtt-topic PATTERN --mqtt-member USER]`.

use crate::cot::CotFlags;
use crate::https::HttpFlags;
use crate::mqtt::MqttFlags;
use crate::{cot, data_dir, mqtt, serve};
use anyhow::Result;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

/// Serves the data folder until Ctrl-C, signing a checkpoint every `checkpoint_interval_s`
/// seconds in which the record grew, over HTTPS when `https` names a certificate, with the TAK
/// listeners `cot` and the MQTT subscription `mqtt` ask for.
pub fn run(
    data: &Path,
    http: SocketAddr,
    checkpoint_interval_s: f64,
    node: bool,
    https: &HttpFlags,
    cot: &CotFlags,
    mqtt: &MqttFlags,
) -> Result<ExitCode> {
    if !(0.05..=86_400.0).contains(&checkpoint_interval_s) {
        anyhow::bail!(
            "--checkpoint-interval must be from 0.05 to 86400 seconds, got {checkpoint_interval_s}"
        );
    }
    let tls = https.tls.config()?;
    let limit = https.sign_in.limit();
    cot.check()?;
    mqtt.check()?;
    let interval = std::time::Duration::from_secs_f64(checkpoint_interval_s);
    if node {
        return run_node(data, (http, limit), tls, interval, cot, mqtt);
    }
    let engine = data_dir::open_engine(data)?;
    let rt = serve::runtime()?;
    rt.block_on(async {
        let bound = serve::bind(engine.clone(), http)
            .await?
            .with_tls(tls)
            .with_max_failed_sign_ins(limit);
        let addr = bound.local_addr()?;
        println!(
            "truce serving {} on {}://{addr}/ — Ctrl-C to stop",
            data.display(),
            bound.scheme()
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let status = bound.status();
        let mut listeners = cot::start(&engine, cot, &stop_rx, &status).await?.tasks;
        listeners.extend(mqtt::start(&engine, mqtt, &stop_rx, &status).await?);
        // What nodes beside this server queue (PostgreSQL): answered here, the sequencer.
        let answerer = serve::spawn_queue_answerer(engine.clone(), stop_rx.clone());
        let checkpointer = serve::spawn_checkpointer(engine, interval, stop_rx);
        let served = bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await;
        let _ = checkpointer.await;
        if let Some(answerer) = answerer {
            let _ = answerer.await;
        }
        for l in listeners {
            let _ = l.await;
        }
        served
    })?;
    println!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

/// `serve --node`: the API (and the TAK and MQTT listeners) over a reader of the PostgreSQL
/// record, writes through its intake queue, and the sequencer's role taken when free.
fn run_node(
    data: &Path,
    (http, limit): (SocketAddr, usize),
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    interval: std::time::Duration,
    cot: &CotFlags,
    mqtt: &MqttFlags,
) -> Result<ExitCode> {
    let parts = crate::node::open(data)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads = crate::node::start(data, &parts, interval, stop.clone())?;
    let rt = serve::runtime()?;
    let served = rt.block_on(async {
        let bound = serve::bind(parts.engine.clone(), http)
            .await?
            .with_node(parts.node.clone())
            .with_tls(tls)
            .with_max_failed_sign_ins(limit);
        let addr = bound.local_addr()?;
        println!(
            "truce node serving {} on {}://{addr}/ — Ctrl-C to stop",
            data.display(),
            bound.scheme()
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let status = bound.status();
        let queue = parts.node.intake.clone();
        let mut listeners =
            cot::start_on_node(&parts.engine, queue.clone(), cot, &stop_rx, &status)
                .await?
                .tasks;
        // This node's MQTT session is named by its host and port, so it is its own and kept
        // across its restarts.
        let name = format!("{}-{}", host_name(), addr.port());
        listeners.extend(
            mqtt::start_on_node(&parts.engine, (queue, &name), mqtt, &stop_rx, &status).await?,
        );
        let served = bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await;
        for l in listeners {
            let _ = l.await;
        }
        served
    });
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    served?;
    println!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

/// This machine's name (for naming its node's MQTT session), or `node` when it has none.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .unwrap_or_else(|| "node".to_string())
}
