//! `truce migrate --from DIR --to postgres://…`: copies a data folder's record into PostgreSQL
//! and checks it there.

use super::evidence_files;
use crate::data_dir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitCode;
use truce_engine::StoreSource;
use truce_store::{Durability, EvidenceDir, FileCheck, PgStore, PgTarget, SqliteStore, Store};

/// Copies the record of data folder `from` (stop its server first) into the empty PostgreSQL
/// schema `to`, then checks the target: same size, chain and root, the same checkpoints and
/// cosignatures, members who keep signing in, and copies the evidence files the record names
/// into it. Keys stay in the folder.
pub fn run(from: &Path, to: &str) -> Result<ExitCode> {
    if !data_dir::exists(from) {
        bail!("{} holds no truce data (no truce.sqlite)", from.display());
    }
    let source = SqliteStore::open(&data_dir::db_path(from), Durability::Full)
        .with_context(|| format!("opening {}", from.display()))?;
    let target_at = PgTarget::parse(to).context("--to")?;
    // Looked at without taking the sequencer's role, so a live record is left alone.
    if let Ok(existing) = PgStore::open_reader(&target_at) {
        let there = existing.head()?.size;
        if there != 0 {
            bail!(
                "{target_at} already holds a record of {there} entries; migrate into an empty \
                 schema (add ?schema=NAME to the URL)"
            );
        }
    }
    // As every writing command: refused while another process sequences the target.
    data_dir::take_lead(&target_at)?;
    let target = PgStore::open(&target_at, Durability::Full)
        .with_context(|| format!("opening {target_at}"))?;
    if target.head()?.size != 0 {
        bail!("{target_at} received a record meanwhile; nothing was copied");
    }
    let size = source.head()?.size;
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let done = truce_engine::migrate(&source, &target, &mut |b| bar.inc(b.entries.len() as u64))?;
    bar.finish_and_clear();
    let root: String = done.head.root.iter().map(|b| format!("{b:02x}")).collect();
    println!(
        "copied {} entries to {target_at} in {:.1} s and checked them there: same size, same \
         root {root}",
        done.head.size,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} checkpoints with {} cosignatures; {} members keep their tokens",
        done.checkpoints, done.cosignatures, done.members_with_tokens
    );
    // The files the record names go into the database too, each checked against its hash, so
    // that every node of several serves them.
    // A file the folder lost or holds altered is named and left (the record moved all the
    // same; `truce verify` names it too), never copied as it is.
    let named = evidence_files::named(&StoreSource::new(&source))?;
    let folder = EvidenceDir::existing(data_dir::evidence_path(from));
    let mut copied = 0;
    for (sha256, size) in &named {
        let bytes = folder.read(sha256)?;
        match FileCheck::of(sha256, *size, bytes.as_deref()) {
            FileCheck::Intact => {
                target.put_evidence_file(sha256, bytes.as_deref().unwrap_or_default())?;
                copied += 1;
            }
            fault => eprintln!(
                "evidence {sha256} not copied: {fault:?} in {}",
                folder.root().display()
            ),
        }
    }
    println!(
        "{copied} of {} evidence files copied, each checked against its hash",
        named.len()
    );
    // From now on the folder's SQLite file must not be served: the key would sign two trees.
    std::fs::write(
        data_dir::moved_marker(from),
        format!(
            "{target_at}\nmoved by truce migrate at {}; truce refuses to open truce.sqlite here \
             (kept as a copy) and opens the record with --store.\n",
            truce_core::Timestamp::now()
        ),
    )
    .with_context(|| format!("marking {} as moved", from.display()))?;
    println!(
        "serve it with: truce --store URL serve --data {} (the URL of {target_at})",
        from.display()
    );
    Ok(ExitCode::SUCCESS)
}
