//! `truce verify BUNDLE | --data DIR` and `truce ledger export`: the outside auditor's side.

use crate::{bundle, data_dir};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use truce_core::agreement::Agreement;
use truce_engine::{AuditFault, AuditReport, StoreSource};
use truce_store::{EvidenceDir, EvidenceFiles, Store};

use super::evidence_files;

/// Where a record's evidence files should be: a data folder must hold every one the entries
/// name; a bundle holds them only when exported `--with-evidence`.
struct Files {
    dir: Option<EvidenceDir>,
    /// The record's store, when it keeps the files itself (PostgreSQL).
    store: Option<Arc<dyn Store>>,
    required: bool,
}

impl Files {
    fn places(&self) -> EvidenceFiles<'_> {
        EvidenceFiles::new(self.store.as_deref(), self.dir.as_ref())
    }
}

/// Audits a bundle or a data folder, then checks every evidence file against its hash; prints
/// a verdict; exit 1 names the first discrepancy.
pub fn run(bundle: Option<&Path>, data: Option<&Path>, reports: bool) -> Result<ExitCode> {
    let (result, files): (Result<AuditReport, AuditFault>, Files) = match (bundle, data) {
        (Some(b), None) => {
            let mut source = bundle::Bundle::open(b)?;
            let agreement = source.agreement()?;
            let result = truce_engine::audit_source(&mut source, &agreement);
            let evidence = b.join("evidence");
            let files = Files {
                dir: evidence.is_dir().then(|| EvidenceDir::existing(&evidence)),
                store: None,
                required: evidence.is_dir(),
            };
            (result, files)
        }
        (None, Some(d)) => {
            let store = data_dir::open_store_reading(d)?;
            let (_, doc) = store
                .agreement()?
                .context("the record holds no agreement")?;
            let agreement = Agreement::from_doc(doc, "stored agreement")?;
            let result = truce_engine::audit(store.as_ref(), &agreement);
            let files = Files {
                dir: Some(EvidenceDir::existing(data_dir::evidence_path(d))),
                store: Some(store.clone()),
                required: true,
            };
            (result, files)
        }
        _ => {
            bail!("give a bundle (truce verify BUNDLE) or a data folder (truce verify --data DIR)")
        }
    };
    let result = result.and_then(|report| {
        let places = files.places();
        if !files.required || !places.any() {
            return Ok(report);
        }
        let (_, faults) = evidence_files::check(&report.evidence_files, places)
            .map_err(|e| AuditFault::Evidence(format!("reading {}: {e}", places.describe())))?;
        match faults.first() {
            Some(first) => Err(AuditFault::Evidence(format!(
                "{first} ({} of {} files at fault)",
                faults.len(),
                report.evidence_files.len()
            ))),
            None => Ok(report),
        }
    });
    match result {
        Ok(r) => {
            let named = r.evidence_files.len();
            let evidence_line = match (&files.dir, files.required) {
                _ if named == 0 => "no evidence files".to_owned(),
                (Some(_), true) => format!("{named} evidence files intact"),
                _ => format!(
                    "{named} evidence files named, not in this bundle (export it --with-evidence to check them)"
                ),
            };
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
            println!("{evidence_line}");
            if let (true, Some(d)) = (reports, data) {
                return remake_reports(d);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Makes every issued report of the data folder `data` again and compares it with its entry's
/// SHA-256; exit 1 when one differs or cannot be made.
fn remake_reports(data: &Path) -> Result<ExitCode> {
    let store = data_dir::open_store_reading(data)?;
    let issued = super::report::issued_as(store.as_ref(), None)?;
    let mut failed = 0;
    for r in &issued {
        let verdict = match super::report::remake(store.as_ref(), r) {
            Ok(sha) if sha == r.sha256 => "remade byte-identical".to_owned(),
            Ok(sha) => {
                failed += 1;
                format!(
                    "DIFFERS: remade as sha256 {sha}, issued as {}; {}",
                    r.sha256,
                    super::report::why_different(r)
                )
            }
            Err(e) => {
                failed += 1;
                format!("FAILED to remake: {e:#}")
            }
        };
        println!(
            "report entry {} ({} {} {}): {verdict}",
            r.index, r.date, r.lang, r.format
        );
    }
    println!(
        "{} issued reports, {failed} not remade identically",
        issued.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `truce ledger export --data DIR --out BUNDLE [--with-evidence]`.
pub fn export(data: &Path, out: &Path, with_evidence: bool) -> Result<ExitCode> {
    let store = data_dir::open_store_reading(data)?;
    let n = bundle::export(store.as_ref(), out)?;
    println!(
        "exported {n} entries to {}; check it with: truce verify {}",
        out.display(),
        out.display()
    );
    if with_evidence {
        let named = evidence_files::named(&StoreSource::new(store.as_ref()))?;
        let folder = EvidenceDir::existing(data_dir::evidence_path(data));
        let from = EvidenceFiles::new(Some(store.as_ref()), Some(&folder));
        let to = EvidenceDir::open(out.join("evidence"))?;
        evidence_files::copy(&named, from, &mut |_, bytes| {
            to.put(bytes).map(|_| ()).map_err(anyhow::Error::from)
        })?;
        println!(
            "with {} evidence files, each checked against its hash",
            named.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
