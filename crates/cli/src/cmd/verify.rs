//! `truce verify --data DIR`: audit the record from its entries alone.

use crate::data_dir;
use anyhow::{Context, Result};
use base64::Engine as _;
use std::path::Path;
use std::process::ExitCode;
use truce_core::agreement::Agreement;

/// Prints a one-line verdict; exit 1 names the first discrepancy.
pub fn run(data: &Path) -> Result<ExitCode> {
    let store = data_dir::open_store(data)?;
    let (_, doc) = store
        .agreement()?
        .context("the record holds no agreement")?;
    let agreement = Agreement::from_doc(doc, "stored agreement")?;
    match truce_engine::audit(store.as_ref(), &agreement) {
        Ok(r) => {
            println!(
                "ok: {} entries ({} observations, {} incident revisions), root {}, {} checkpoints verified, agreed size {}",
                r.entries,
                r.observations,
                r.incident_revisions,
                base64::engine::general_purpose::STANDARD.encode(r.root),
                r.checkpoints,
                r.agreed_size.map_or("none".to_string(), |s| s.to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
