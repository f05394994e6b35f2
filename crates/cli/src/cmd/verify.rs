//! `truce verify BUNDLE | --data DIR` and `truce ledger export`: the outside auditor's side.

use crate::{bundle, data_dir};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use std::path::Path;
use std::process::ExitCode;
use truce_core::agreement::Agreement;
use truce_engine::{AuditFault, AuditReport};

/// Audits a bundle or a data folder; prints a one-line verdict; exit 1 names the first
/// discrepancy.
pub fn run(bundle: Option<&Path>, data: Option<&Path>) -> Result<ExitCode> {
    let result: Result<AuditReport, AuditFault> = match (bundle, data) {
        (Some(b), None) => {
            let mut source = bundle::Bundle::open(b)?;
            let agreement = source.agreement()?;
            truce_engine::audit_source(&mut source, &agreement)
        }
        (None, Some(d)) => {
            let store = data_dir::open_store(d)?;
            let (_, doc) = store
                .agreement()?
                .context("the record holds no agreement")?;
            let agreement = Agreement::from_doc(doc, "stored agreement")?;
            truce_engine::audit(store.as_ref(), &agreement)
        }
        _ => {
            bail!("give a bundle (truce verify BUNDLE) or a data folder (truce verify --data DIR)")
        }
    };
    match result {
        Ok(r) => {
            let signers = if r.signed_assessments.is_empty() {
                "no assessments".to_string()
            } else {
                let list: Vec<String> = r
                    .signed_assessments
                    .iter()
                    .map(|(m, n)| format!("{m} ({n})"))
                    .collect();
                format!("assessments signed by {}", list.join(", "))
            };
            println!(
                "ok: {} entries ({} observations, {} incident revisions), root {}, {} checkpoints verified, agreed size {}, {signers}",
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

/// `truce ledger export --data DIR --out BUNDLE`.
pub fn export(data: &Path, out: &Path) -> Result<ExitCode> {
    let store = data_dir::open_store(data)?;
    let n = bundle::export(store.as_ref(), out)?;
    println!(
        "exported {n} entries to {}; check it with: truce verify {}",
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
