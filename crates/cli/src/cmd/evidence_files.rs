//! The evidence files behind a record: which ones its entries name, copying them into a
//! bundle, and checking each against its hash.

use anyhow::{Context, Result};
use truce_core::entry::EntryBody;
use truce_engine::AuditSource;
use truce_store::{EvidenceFiles, FileCheck};

/// Every distinct file the record's `evidence` entries name, with its size, in entry order.
pub fn named(source: &dyn AuditSource) -> Result<Vec<(String, u64)>> {
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::new();
    let mut from = 0u64;
    loop {
        let page = source
            .entries(from, 10_000)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(last) = page.last() else { break };
        from = last.0 + 1;
        for (_, bytes, _) in &page {
            if let Ok(EntryBody::Evidence { sha256, size, .. }) = EntryBody::decode(bytes)
                && seen.insert(sha256.clone())
            {
                files.push((sha256, size));
            }
        }
    }
    Ok(files)
}

/// Copies every file in `files` from `from` with `put` (its SHA-256 and bytes), checking each
/// on the way: a file the record names and `from` does not hold intact stops the copy.
pub fn copy(
    files: &[(String, u64)],
    from: EvidenceFiles<'_>,
    put: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<()> {
    for (sha256, size) in files {
        let bytes = from
            .read(sha256)?
            .with_context(|| format!("evidence {sha256}: not in {}", from.describe()))?;
        match FileCheck::of(sha256, *size, Some(&bytes)) {
            FileCheck::Intact => {}
            other => anyhow::bail!("evidence {sha256} in {}: {other:?}", from.describe()),
        }
        put(sha256, &bytes).with_context(|| format!("copying evidence {sha256}"))?;
    }
    Ok(())
}

/// What checking the files found: how many are intact, and a line for each that is not.
pub fn check(files: &[(String, u64)], places: EvidenceFiles<'_>) -> Result<(usize, Vec<String>)> {
    let mut intact = 0;
    let mut faults = Vec::new();
    for (sha256, size) in files {
        match places.check(sha256, *size)? {
            FileCheck::Intact => intact += 1,
            FileCheck::Missing => faults.push(format!("evidence {sha256}: missing")),
            FileCheck::Altered {
                found_sha256,
                found_size,
            } => faults.push(format!(
                "evidence {sha256}: altered (its bytes hash to {found_sha256}, {found_size} bytes; the record says {size})"
            )),
        }
    }
    Ok((intact, faults))
}
