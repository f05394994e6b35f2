//! `truce init --data DIR --agreement FILE.toml`.

use crate::data_dir;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use truce_engine::InitOutcome;

/// Creates the data folder and records the agreement.
pub fn run(data: &Path, agreement_file: &Path) -> Result<ExitCode> {
    let agreement = data_dir::read_agreement(agreement_file)?;
    match data_dir::init(data, &agreement)? {
        InitOutcome::Recorded => println!(
            "initialised {} with agreement {:?} ({} sides, {} monitors, {} clauses, {} zones)",
            data.display(),
            agreement.doc.name,
            agreement.doc.sides.len(),
            agreement.doc.monitors.len(),
            agreement.clauses.len(),
            agreement.zones.len()
        ),
        InitOutcome::AlreadyPresent => println!(
            "{} already holds this agreement; nothing changed",
            data.display()
        ),
    }
    println!("serve it with: truce serve --data {}", data.display());
    Ok(ExitCode::SUCCESS)
}
