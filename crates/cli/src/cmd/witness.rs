//! `truce witness --key FILE --log URL --state DIR`: one monitor's witness.

use crate::{keys, serve, witness};
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Follows the log until Ctrl-C.
pub fn run(key: &Path, log: &str, state: &Path, interval: f64) -> Result<ExitCode> {
    let signer = keys::read(key)?;
    let w = witness::Witness::open(log, signer, state)?;
    println!(
        "witness for {} following {log}, state in {} (cosigned up to {}); Ctrl-C stops",
        w.monitor(),
        state.display(),
        w.cosigned_size()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        witness::run_loop(
            w,
            Duration::from_secs_f64(interval.clamp(0.1, 3600.0)),
            flag,
        )
    });
    serve::runtime()?.block_on(serve::stop_signal());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = handle.join();
    println!("witness stopped");
    Ok(ExitCode::SUCCESS)
}
