//! `truce import --data DIR --format acled-csv|geojson|kml|cot --member USER FILE`: rows of an
//! outside file into the record as observations, all or nothing, each bad row named.

use crate::data_dir;
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use std::process::ExitCode;
use truce_core::Timestamp;
use truce_engine::Binding;
use truce_import::{Format, ImportError, Provenance};

/// Imports `file` as `format` on behalf of observer `member`.
pub fn run(data: &Path, format: &str, member: &str, file: &Path) -> Result<ExitCode> {
    let format = Format::from_name(format).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        anyhow!("--format {format:?} is not one of {}", names.join(", "))
    })?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > truce_import::MAX_BYTES as u64 {
        bail!(
            "{}: {size} bytes; an import is at most {}",
            file.display(),
            truce_import::MAX_BYTES
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let engine = data_dir::open_engine(data)?;
    let binding =
        Binding::to_member(&engine, "import", member).map_err(|e| anyhow!("--member: {e}"))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let provenance = Provenance::of(&bytes, format);
    let now = Timestamp::now();
    let parsed = match truce_import::parse(format, &bytes, &provenance, now) {
        Ok(p) => p,
        Err(ImportError::Rows(rows)) => {
            for row in &rows {
                eprintln!("{}: {row}", file.display());
            }
            bail!(
                "{}: {} bad rows; nothing was imported",
                file.display(),
                rows.len()
            );
        }
        Err(e) => bail!("{}: {e}", file.display()),
    };
    let total = parsed.observations.len();
    let outcome = engine.submit(parsed.observations, now)?;
    println!(
        "{} ({name}, imported as {}): {total} observations, {} new, {} already in the record, {} rows passed over as not observations (sha256 {})",
        file.display(),
        binding.member.user,
        outcome.new,
        total - outcome.new,
        parsed.passed_over,
        provenance.sha256
    );
    Ok(ExitCode::SUCCESS)
}
