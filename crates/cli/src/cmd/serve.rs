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
        let bound = serve::bind(engine, http).await?;
        let addr = bound.local_addr()?;
        println!(
            "truce serving {} on http://{addr}/ — Ctrl-C to stop",
            data.display()
        );
        bound.serve_until(serve::stop_signal()).await
    })?;
    println!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
