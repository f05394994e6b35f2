//! `truce init --data DIR --agreement FILE.toml`.

use crate::data_dir;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use truce_engine::InitOutcome;

/// Creates the data folder and records the agreement; with `log_key`, keeps the center's
/// checkpoint key in the folder (it must be the agreement's `log_key`).
pub fn run(data: &Path, agreement_file: &Path, log_key: Option<&Path>) -> Result<ExitCode> {
    let agreement = data_dir::read_agreement(agreement_file)?;
    if let Some(key_file) = log_key {
        let signer = crate::keys::read(key_file)?;
        let listed = agreement
            .doc
            .ledger
            .as_ref()
            .map(|l| l.log_key.trim().to_string());
        if listed.as_deref() != Some(signer.verifier_text().as_str()) {
            anyhow::bail!(
                "{} is not the agreement's [ledger] log_key; list {} there",
                key_file.display(),
                signer.verifier_text()
            );
        }
        let target = data_dir::log_key_path(data);
        if !target.exists() {
            crate::keys::write(&signer, &target)?;
        }
    }
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
    match crate::data_dir::postgres() {
        Some(target) => println!(
            "the record is in {target}; serve it with: truce --store URL serve --data {}",
            data.display()
        ),
        None => println!("serve it with: truce serve --data {}", data.display()),
    }
    Ok(ExitCode::SUCCESS)
}
