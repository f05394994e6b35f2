//! The outside auditor's bundle: a folder with the record in standard layouts, which
//! `truce verify BUNDLE` recomputes from the entries alone, trusting no party.
//!
//! ```text
//! BUNDLE/manifest.json            sizes and where things are (untrusted: only locates files)
//! BUNDLE/agreements/<v>.json      each agreement version's document
//! BUNDLE/tile/entries/<N>[.p/<W>] the entries (C2SP tlog-tiles entry bundles)
//! BUNDLE/tile/<L>/<N>[.p/<W>]     hash tiles of the latest checkpoint's tree
//! BUNDLE/checkpoint               the latest checkpoint with its cosignatures
//! BUNDLE/checkpoints.jsonl        every checkpoint: log-signed note and each cosignature line
//! BUNDLE/observations.jsonl       the center's observations table, as it claims it
//! BUNDLE/incidents.jsonl          the center's incidents table, as it claims it
//! ```

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use truce_core::entry::hex;
use truce_engine::{AuditEntry, AuditFault, AuditSource, StoreHashReader};
use truce_ledger::tiles::{TILE_WIDTH, TilePath};
use truce_store::{AgreementVersion, IncidentRow, ObservationRow, Store, StoredCheckpoint};

fn write_file(root: &Path, relative: &str, bytes: &[u8]) -> Result<()> {
    let path = root.join(relative);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    truce_core::entry::hex_decode(text)
}

/// Writes the bundle of `store` into the new folder `out`; returns the entries written.
pub fn export(store: &dyn Store, out: &Path) -> Result<u64> {
    if out.exists() {
        bail!("{} exists; export into a new folder", out.display());
    }
    std::fs::create_dir_all(out)?;
    let mut agreements = Vec::new();
    for v in store.agreement_versions()? {
        write_file(out, &format!("agreements/{}.json", v.version), &v.document)?;
        agreements.push(json!({"version": v.version, "entry": v.entry}));
    }
    // Entries, in bundles of 256.
    let mut size = 0u64;
    let mut bundle = Vec::new();
    let mut in_bundle = 0u64;
    loop {
        let page = store.entries(size, 10_240)?;
        if page.is_empty() {
            break;
        }
        for e in page {
            bundle.extend_from_slice(&(e.bytes.len() as u16).to_be_bytes());
            bundle.extend_from_slice(&e.bytes);
            in_bundle += 1;
            size += 1;
            if in_bundle == TILE_WIDTH {
                let path = TilePath::Entries {
                    index: size / TILE_WIDTH - 1,
                    width: 256,
                }
                .to_path();
                write_file(out, &path, &bundle)?;
                bundle.clear();
                in_bundle = 0;
            }
        }
    }
    if in_bundle > 0 {
        let path = TilePath::Entries {
            index: size / TILE_WIDTH,
            width: in_bundle as u32,
        }
        .to_path();
        write_file(out, &path, &bundle)?;
    }
    // Checkpoints, and the hash tiles of the latest one's tree.
    let checkpoints = store.checkpoints()?;
    let mut lines = Vec::new();
    for c in &checkpoints {
        let cosignatures: Vec<Value> = c
            .cosignatures
            .iter()
            .map(|(m, l)| json!({"monitor": m, "line": l}))
            .collect();
        lines.push(json!({"size": c.size, "note": String::from_utf8_lossy(&c.note), "cosignatures": cosignatures}).to_string());
    }
    write_file(
        out,
        "checkpoints.jsonl",
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    let published = checkpoints.last().map(|c| c.size).unwrap_or(0);
    if let Some(last) = checkpoints.last() {
        write_file(out, "checkpoint", &last.cosigned_note())?;
    }
    for tile in hash_tiles(published) {
        let TilePath::Hashes {
            level,
            index,
            width,
        } = tile
        else {
            continue;
        };
        let data = truce_ledger::Tile::new(8, level, index, width, false)
            .read_data(&StoreHashReader(store))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", tile.to_path()))?;
        write_file(out, &tile.to_path(), &data)?;
    }
    // The tables the center derives, as it holds them.
    let mut f = std::fs::File::create(out.join("observations.jsonl"))?;
    let mut after = 0;
    loop {
        let rows = store.observation_rows(after, 10_000)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in rows {
            writeln!(
                f,
                "{}",
                json!({
                    "id": r.id, "entry": r.entry, "incident_id": r.incident_id, "kind": r.kind,
                    "observed_ns": r.observed_ns, "client_id": r.client_id.map(|b| hex(&b)),
                    "content_hash": r.content_hash.map(|b| hex(&b)),
                })
            )?;
        }
    }
    let mut f = std::fs::File::create(out.join("incidents.jsonl"))?;
    let mut after = 0;
    loop {
        let rows = store.incident_rows(after, 10_000)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in rows {
            writeln!(
                f,
                "{}",
                json!({
                    "id": r.id, "revision": r.revision, "entry": r.entry, "kind": r.kind,
                    "status": r.status, "side": r.side, "clauses": r.clauses,
                    "first_seen_ns": r.first_seen_ns, "last_seen_ns": r.last_seen_ns,
                    "lat": r.lat, "lon": r.lon,
                })
            )?;
        }
    }
    let manifest = json!({
        "format": "truce-bundle/v1",
        "size": size,
        "checkpoint_size": published,
        "agreements": agreements,
    });
    write_file(
        out,
        "manifest.json",
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(size)
}

/// The hash tiles of a tree of `size` leaves: full ones, and the partial right edge per level.
fn hash_tiles(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for level in 0..8u8 {
        let n = size >> (8 * u32::from(level));
        if n == 0 {
            break;
        }
        for index in 0..n / TILE_WIDTH {
            out.push(TilePath::Hashes {
                level,
                index,
                width: 256,
            });
        }
        if !n.is_multiple_of(TILE_WIDTH) {
            out.push(TilePath::Hashes {
                level,
                index: n / TILE_WIDTH,
                width: (n % TILE_WIDTH) as u32,
            });
        }
    }
    out
}

/// A bundle read for an audit.
pub struct Bundle {
    root: PathBuf,
    entries: Vec<Vec<u8>>,
    published: u64,
    /// Tree hashes at tile levels recomputed from the entries: (level, index) → hash.
    recomputed: HashMap<(u8, u64), [u8; 32]>,
    agreements: Vec<(u32, u64)>,
}

impl Bundle {
    /// Reads the bundle in `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(root.join("manifest.json")).context("reading manifest.json")?,
        )
        .context("manifest.json is not JSON")?;
        let size = manifest["size"].as_u64().context("manifest: size")?;
        let published = manifest["checkpoint_size"]
            .as_u64()
            .context("manifest: checkpoint_size")?;
        let mut entries = Vec::with_capacity(size as usize);
        let mut index = 0;
        while (entries.len() as u64) < size {
            let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u32;
            let path = TilePath::Entries { index, width }.to_path();
            let bytes =
                std::fs::read(root.join(&path)).with_context(|| format!("reading {path}"))?;
            let split = truce_ledger::tiles::split_entry_bundle(&bytes)
                .with_context(|| format!("reading {path}"))?;
            let n = split.len();
            entries.extend(split.into_iter().map(<[u8]>::to_vec));
            if n != width as usize {
                bail!("{path}: holds {n} entries, not {width}");
            }
            index += 1;
        }
        let agreements = manifest["agreements"]
            .as_array()
            .context("manifest: agreements")?
            .iter()
            .map(|a| {
                Ok((
                    a["version"].as_u64().context("version")? as u32,
                    a["entry"].as_u64().context("entry")?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            root: root.to_path_buf(),
            entries,
            published,
            recomputed: HashMap::new(),
            agreements,
        })
    }

    /// The latest agreement document in the bundle.
    pub fn agreement(&self) -> Result<truce_core::Agreement> {
        let (v, _) = self
            .agreements
            .last()
            .context("the bundle holds no agreement")?;
        let bytes = std::fs::read(self.root.join(format!("agreements/{v}.json")))?;
        let doc = serde_json::from_slice(&bytes).context("the agreement document")?;
        Ok(truce_core::Agreement::from_doc(doc, "bundle agreement")?)
    }

    fn jsonl(&self, name: &str) -> Result<Vec<Value>, AuditFault> {
        let text = std::fs::read_to_string(self.root.join(name))
            .map_err(|e| fault(name, &e.to_string()))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| fault(name, &e.to_string())))
            .collect()
    }
}

fn fault(what: &str, message: &str) -> AuditFault {
    AuditFault::Signature {
        size: 0,
        message: format!("{what}: {message}"),
    }
}

fn bytes_field(v: &Value) -> Option<Vec<u8>> {
    v.as_str().and_then(unhex)
}

impl AuditSource for Bundle {
    fn entries(&self, from: u64, limit: u64) -> Result<Vec<AuditEntry>, AuditFault> {
        Ok(self
            .entries
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(limit as usize)
            .map(|(i, b)| (i as u64, b.clone(), None))
            .collect())
    }

    fn check_tree_hash(&mut self, index: u64, hash: &[u8; 32]) -> Result<(), AuditFault> {
        let (level, n) = truce_ledger::tlog::split_stored_hash_index(index);
        if level % 8 == 0 && level / 8 < 8 {
            self.recomputed.insert((level / 8, n), *hash);
        }
        Ok(())
    }

    fn finish_tree(&mut self, _next_index: u64) -> Result<(), AuditFault> {
        for tile in hash_tiles(self.published) {
            let TilePath::Hashes {
                level,
                index,
                width,
            } = tile
            else {
                continue;
            };
            let path = tile.to_path();
            let data =
                std::fs::read(self.root.join(&path)).map_err(|e| fault(&path, &e.to_string()))?;
            if data.len() != width as usize * 32 {
                return Err(fault(&path, "wrong length"));
            }
            for k in 0..u64::from(width) {
                let n = index * TILE_WIDTH + k;
                let want = self.recomputed.get(&(level, n));
                if want.map(|w| &w[..]) != Some(&data[(k * 32) as usize..(k * 32 + 32) as usize]) {
                    return Err(AuditFault::TreeHash {
                        index: truce_ledger::tlog::stored_hash_index(8 * level, n),
                    });
                }
            }
        }
        Ok(())
    }

    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, AuditFault> {
        if after > 0 {
            return Ok(Vec::new()); // all rows come in the first page
        }
        let _ = limit;
        self.jsonl("observations.jsonl")?
            .iter()
            .map(|v| {
                Ok(ObservationRow {
                    id: v["id"]
                        .as_u64()
                        .ok_or_else(|| fault("observations.jsonl", "id"))?,
                    entry: v["entry"]
                        .as_u64()
                        .ok_or_else(|| fault("observations.jsonl", "entry"))?,
                    incident_id: v["incident_id"]
                        .as_u64()
                        .ok_or_else(|| fault("observations.jsonl", "incident_id"))?,
                    kind: v["kind"].as_str().unwrap_or_default().to_string(),
                    observed_ns: v["observed_ns"]
                        .as_i64()
                        .ok_or_else(|| fault("observations.jsonl", "observed_ns"))?,
                    client_id: bytes_field(&v["client_id"]),
                    content_hash: bytes_field(&v["content_hash"]),
                })
            })
            .collect()
    }

    fn incident_rows(&self, after: u64, _limit: u64) -> Result<Vec<IncidentRow>, AuditFault> {
        if after > 0 {
            return Ok(Vec::new());
        }
        self.jsonl("incidents.jsonl")?
            .iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Ok(IncidentRow {
                    id: v["id"]
                        .as_u64()
                        .ok_or_else(|| fault("incidents.jsonl", "id"))?,
                    revision: v["revision"].as_u64().unwrap_or(0) as u32,
                    entry: v["entry"]
                        .as_u64()
                        .ok_or_else(|| fault("incidents.jsonl", "entry"))?,
                    kind: s("kind"),
                    status: s("status"),
                    side: s("side"),
                    clauses: s("clauses"),
                    first_seen_ns: v["first_seen_ns"].as_i64().unwrap_or(0),
                    last_seen_ns: v["last_seen_ns"].as_i64().unwrap_or(0),
                    lat: v["lat"].as_f64(),
                    lon: v["lon"].as_f64(),
                })
            })
            .collect()
    }

    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, AuditFault> {
        self.agreements
            .iter()
            .map(|(v, entry)| {
                let path = format!("agreements/{v}.json");
                Ok(AgreementVersion {
                    version: *v,
                    entry: *entry,
                    document: std::fs::read(self.root.join(&path))
                        .map_err(|e| fault(&path, &e.to_string()))?,
                })
            })
            .collect()
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, AuditFault> {
        self.jsonl("checkpoints.jsonl")?
            .iter()
            .map(|v| {
                Ok(StoredCheckpoint {
                    size: v["size"]
                        .as_u64()
                        .ok_or_else(|| fault("checkpoints.jsonl", "size"))?,
                    note: v["note"].as_str().unwrap_or_default().as_bytes().to_vec(),
                    cosignatures: v["cosignatures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            (
                                c["monitor"].as_str().unwrap_or_default().to_string(),
                                c["line"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                })
            })
            .collect()
    }
}
