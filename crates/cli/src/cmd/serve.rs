//! `truce serve --data DIR [--http ADDR]`.

use crate::{data_dir, serve};
use anyhow::Result;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

/// Serves the data folder until Ctrl-C.
pub fn run(data: &Path, http: SocketAddr) -> Result<ExitCode> {
    let engine = data_dir::open_engine(data)?;
    let rt = serve::runtime()?;
    rt.block_on(async {
        let bound = serve::bind(engine.clone(), http).await?;
        let addr = bound.local_addr()?;
        println!(
            "truce serving {} on http://{addr}/ — Ctrl-C to stop",
            data.display()
        );
        // Checkpoints are signed each second in which the record grew.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let checkpointer =
            serve::spawn_checkpointer(engine, std::time::Duration::from_secs(1), stop_rx);
        let served = bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await;
        let _ = checkpointer.await;
        served
    })?;
    println!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
