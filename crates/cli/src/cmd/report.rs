//! `truce report daily --data DIR --date YYYY-MM-DD [--cutoff HH:MM] [--lang en|ru] --out FILE`:
//! the daily report, every number from the record.

use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitCode;
use truce_report::{Format, Request};

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
    let store = data_dir::open_store(data)?;
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

/// Finds the `report` entries of the record whose SHA-256 is `file`'s: proof that the center
/// issued exactly this file, and from which record.
pub fn verify(data: &Path, file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let digest = truce_core::entry::sha256_hex(&bytes);
    let store = data_dir::open_store(data)?;
    let size = store.head()?.size;
    let mut found = 0;
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
                record_size,
                record_root,
                by,
                recorded_at,
                ..
            }) = truce_core::entry::EntryBody::decode(&entry.bytes)
                && sha256 == digest
            {
                found += 1;
                println!(
                    "{}: issued as entry {} by {by} at {recorded_at}: daily report for {date} (cut-off {cutoff}, {lang}), computed from the record at size {record_size}, root {record_root}",
                    file.display(),
                    entry.index
                );
            }
        }
    }
    if found == 0 {
        println!(
            "{}: sha256 {digest} is not a report this record says it issued",
            file.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
