//! `truce export --data DIR --format F [--since T] [--until T] [--bbox W,S,E,N] --out FILE`:
//! the record's incidents, observations and zones for GIS tools and spreadsheets.

use crate::data_dir;
use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::process::ExitCode;
use truce_core::Timestamp;
use truce_export::{Dataset, Format, Selection};

/// What to export, as given on the command line.
pub struct Args<'a> {
    /// The data folder.
    pub data: &'a Path,
    /// The format's name.
    pub format: &'a str,
    /// `--since`, RFC 3339.
    pub since: Option<&'a str>,
    /// `--until`, RFC 3339.
    pub until: Option<&'a str>,
    /// `--bbox W,S,E,N`.
    pub bbox: Option<&'a str>,
    /// Where to write.
    pub out: &'a Path,
}

fn time(flag: &str, value: Option<&str>) -> Result<Option<Timestamp>> {
    value
        .map(|v| {
            Timestamp::parse(v).map_err(|e| {
                anyhow!("{flag} {v:?} is not an RFC 3339 time (2026-11-20T00:00:00Z): {e}")
            })
        })
        .transpose()
}

/// Writes the export to a file beside `out`, then renames it over `out`: a reader never sees
/// half a file.
pub fn run(args: &Args<'_>) -> Result<ExitCode> {
    let format = Format::from_name(args.format).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        anyhow!(
            "--format {:?} is not one of {}",
            args.format,
            names.join(", ")
        )
    })?;
    let selection = Selection {
        since: time("--since", args.since)?,
        until: time("--until", args.until)?,
        bbox: args
            .bbox
            .map(Selection::parse_bbox)
            .transpose()
            .map_err(|e| anyhow!("--bbox {e}"))?,
    };
    if let (Some(s), Some(u)) = (selection.since, selection.until)
        && s > u
    {
        anyhow::bail!("--since is after --until");
    }
    let store = data_dir::open_store_reading(args.data)?;
    let (_, agreement) = store
        .agreement()?
        .ok_or_else(|| anyhow!("{} holds no agreement", args.data.display()))?;
    let data = Dataset::load(store.as_ref(), &agreement, &selection)?;
    let partial = args.out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    if format == Format::Gpkg {
        truce_export::write_gpkg_file(&data, &partial)?;
    } else {
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut out = std::io::BufWriter::new(file);
        truce_export::write_to(format, &data, &mut out)?;
        std::io::Write::flush(&mut out)
            .with_context(|| format!("writing {}", partial.display()))?;
    }
    std::fs::rename(&partial, args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "{}: {} incidents, {} observations, {} zones as {}; record size {}, root {}",
        args.out.display(),
        data.incidents.len(),
        data.observations.len(),
        data.agreement.zones.features.len(),
        format.name(),
        data.anchor.size,
        data.anchor.root
    );
    Ok(ExitCode::SUCCESS)
}
