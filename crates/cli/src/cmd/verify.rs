//! `truce verify --data DIR`: recompute the record's hash chain from its entries alone.

use crate::data_dir;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use truce_core::entry::hex;

/// Prints a one-line verdict; exit 2 names the first discrepancy.
pub fn run(data: &Path) -> Result<ExitCode> {
    let store = data_dir::open_store(data)?;
    match truce_store::verify_chain(store.as_ref()) {
        Ok(r) => {
            println!(
                "ok: {} entries ({} observations, {} incident revisions), chain {}",
                r.size,
                r.observations,
                r.incident_revisions,
                hex(&r.chain)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::from(2))
        }
    }
}
