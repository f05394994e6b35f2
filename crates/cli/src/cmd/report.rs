//! `truce report daily --data DIR --date YYYY-MM-DD [--cutoff HH:MM] [--lang en|ru] --out FILE`:
//! the daily report, every number from the record.

use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitCode;
use truce_report::Request;

/// Writes the daily report `date`, `cutoff`, `lang` asks for to `out` (HTML).
pub fn daily(
    data: &Path,
    date: &str,
    cutoff: Option<&str>,
    lang: &str,
    out: &Path,
) -> Result<ExitCode> {
    let request = Request::parse(date, cutoff, lang).map_err(|e| {
        let flag = match &e {
            truce_report::ReportError::Invalid { field, .. } => format!("--{field}"),
            _ => String::new(),
        };
        anyhow::anyhow!("{flag} {e}")
    })?;
    match out.extension().and_then(|e| e.to_str()) {
        Some("html") => {}
        Some("pdf") => bail!(
            "--out {}: the PDF is not built yet; write .html (it prints to A4 with page numbers from a browser)",
            out.display()
        ),
        _ => bail!("--out {}: name an .html file", out.display()),
    }
    let store = data_dir::open_store(data)?;
    let report = truce_report::build(store.as_ref(), &request)?;
    let html = truce_report::html(&report);
    std::fs::write(out, &html).with_context(|| format!("writing {}", out.display()))?;
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
