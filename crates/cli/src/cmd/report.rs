//! `truce report daily --data DIR --date YYYY-MM-DD [--cutoff HH:MM] [--lang en|ru] --out FILE`:
//! the daily report, every number from the record.

use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitCode;
use truce_report::{Format, Request};
use truce_store::{Durability, SqliteStore};

/// Writes the daily report `date`, `cutoff`, `lang` asks for to `out` (HTML or PDF, by its
/// extension); with `issue_as`
/// (an officer), also appends the `report` entry that makes it provable.
pub fn daily(
    data: &Path,
    date: &str,
    cutoff: Option<&str>,
    lang: &str,
    out: &Path,
    issue_as: Option<&str>,
) -> Result<ExitCode> {
    let request = Request::parse(date, cutoff, lang).map_err(|e| {
        let flag = match &e {
            truce_report::ReportError::Invalid { field, .. } => format!("--{field}"),
            _ => String::new(),
        };
        anyhow::anyhow!("{flag} {e}")
    })?;
    let Some(format) = out
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Format::from_name)
    else {
        bail!("--out {}: name an .html or a .pdf file", out.display());
    };
    // Issuing opens the sequencer's engine below; the figures are read without the role.
    let store = data_dir::open_store_reading(data)?;
    let report = truce_report::build(store.as_ref(), &request)?;
    let bytes = truce_report::render(&report, format)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    if let Some(user) = issue_as {
        let engine = data_dir::open_engine(data)?;
        let member = engine
            .store()
            .member(user)?
            .filter(|m| m.active)
            .ok_or_else(|| anyhow::anyhow!("--issue-as: no active member {user:?}"))?;
        let caller = truce_engine::Caller {
            user: member.user,
            monitor: member.monitor,
            role: member.role,
        };
        let issued = truce_report::issued(&request, &report, format, &bytes);
        let sha = issued.sha256.clone();
        let index = engine.issue_report(&caller, issued, truce_core::Timestamp::now())?;
        eprintln!("issued as entry {index} of the record: sha256 {sha}");
    }
    eprintln!(
        "{}: daily report {:03}/{}, {} incidents, record size {}",
        out.display(),
        report.number.0,
        report.number.1,
        report.annex.len(),
        report.anchor.size
    );
    Ok(ExitCode::SUCCESS)
}

/// What one `report` entry says, as read back for verification.
pub struct Issued {
    /// The entry.
    pub index: u64,
    /// The day.
    pub date: String,
    cutoff: String,
    /// The language.
    pub lang: String,
    /// The format.
    pub format: String,
    /// The file's SHA-256.
    pub sha256: String,
    record_size: u64,
    record_root: String,
    checkpoint_size: Option<u64>,
    cosigned_by: Vec<String>,
    /// What made the file (empty for reports issued before truce recorded it).
    pub generator: String,
    by: String,
    recorded_at: truce_core::Timestamp,
}

/// Every `report` entry whose SHA-256 is `digest` (every one, for `None`), oldest first.
pub fn issued_as(store: &dyn truce_store::Store, digest: Option<&str>) -> Result<Vec<Issued>> {
    let size = store.head()?.size;
    let mut found = Vec::new();
    let mut from = 0;
    while from < size {
        let page = store.entries(from, 10_000)?;
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        for entry in page {
            if let Ok(truce_core::entry::EntryBody::Report {
                sha256,
                date,
                cutoff,
                lang,
                format,
                record_size,
                record_root,
                checkpoint_size,
                cosigned_by,
                generator,
                by,
                recorded_at,
                ..
            }) = truce_core::entry::EntryBody::decode(&entry.bytes)
                && digest.is_none_or(|d| d == sha256)
            {
                found.push(Issued {
                    index: entry.index,
                    sha256,
                    date,
                    cutoff,
                    lang,
                    format,
                    record_size,
                    record_root,
                    checkpoint_size,
                    cosigned_by,
                    generator,
                    by,
                    recorded_at,
                });
            }
        }
    }
    Ok(found)
}

/// Why a remade report may differ from the one issued.
pub fn why_different(issued: &Issued) -> String {
    if issued.generator != truce_report::GENERATOR {
        format!(
            "it was made by {}, and this is {}: the same bytes are promised only by the same makers",
            if issued.generator.is_empty() {
                "an earlier truce"
            } else {
                &issued.generator
            },
            truce_report::GENERATOR
        )
    } else {
        "the same makers made it, so its figures were read from a record that changed while it was read (a second process writing the data folder), or the record's tables were changed".to_owned()
    }
}

/// Makes the report `issued` names again from the record as it stood at its size (the first
/// `record_size` entries replayed into a scratch store) and returns its SHA-256.
pub fn remake(store: &dyn truce_store::Store, issued: &Issued) -> Result<String> {
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let target = SqliteStore::open(&scratch.path().join("truce.sqlite"), Durability::Process)?;
    let head = truce_engine::replay(store, issued.record_size, &target)?;
    let root = truce_core::entry::hex(&head.root);
    if root != issued.record_root {
        bail!(
            "the record's first {} entries have root {root}, not {} as the report entry says",
            issued.record_size,
            issued.record_root
        );
    }
    let request = Request::parse(&issued.date, Some(&issued.cutoff), &issued.lang)
        .map_err(|e| anyhow::anyhow!("the report entry's request: {e}"))?;
    let format = Format::from_name(&issued.format)
        .with_context(|| format!("the report entry's format {:?}", issued.format))?;
    let checkpoint = match issued.checkpoint_size {
        Some(size) => {
            // The root is the tree's own at that size, recomputed from the replayed entries;
            // the stored checkpoint must agree, or its table was changed.
            let reader = truce_engine::StoreHashReader(&target);
            let root = truce_ledger::tlog::tree_hash(size, &reader)
                .map(|h| truce_core::entry::hex(&h.0))
                .map_err(|e| anyhow::anyhow!("the tree at size {size}: {e}"))?;
            let stored = truce_report::checkpoint_root(store, size)?.with_context(|| {
                format!("the record holds no checkpoint of size {size}, which the report names")
            })?;
            if stored != root {
                bail!(
                    "the stored checkpoint of size {size} names root {stored}; the entries give {root}"
                );
            }
            Some((size, root, issued.cosigned_by.clone()))
        }
        None => None,
    };
    let report = truce_report::build_with(
        &target,
        &request,
        truce_report::CheckpointChoice::Given(checkpoint),
    )?;
    let bytes = truce_report::render(&report, format)?;
    Ok(truce_core::entry::sha256_hex(&bytes))
}

/// Finds the `report` entries of the record whose SHA-256 is `file`'s (proof that the center
/// issued exactly this file, and from which record), then makes each report again from the
/// record as it stood at its size and compares the bytes. Exit 0 when the file was issued and
/// is remade identically.
pub fn verify(data: &Path, file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let digest = truce_core::entry::sha256_hex(&bytes);
    let store = data_dir::open_store_reading(data)?;
    let found = issued_as(store.as_ref(), Some(&digest))?;
    if found.is_empty() {
        println!(
            "{}: sha256 {digest} is not a report this record says it issued",
            file.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut all_identical = true;
    for issued in &found {
        println!(
            "{}: issued as entry {} by {} at {}: daily report for {} (cut-off {}, {}, {}), computed from the record at size {}, root {}",
            file.display(),
            issued.index,
            issued.by,
            issued.recorded_at,
            issued.date,
            issued.cutoff,
            issued.lang,
            issued.format,
            issued.record_size,
            issued.record_root
        );
        match remake(store.as_ref(), issued) {
            Ok(remade) if remade == digest => println!(
                "  remade from the record's first {} entries: byte-identical",
                issued.record_size
            ),
            Ok(remade) => {
                all_identical = false;
                println!(
                    "  remade from the record's first {} entries: DIFFERS (sha256 {remade}); {}",
                    issued.record_size,
                    why_different(issued)
                );
            }
            Err(e) => {
                all_identical = false;
                println!("  could not be remade: {e:#}");
            }
        }
    }
    Ok(if all_identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
