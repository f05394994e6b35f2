//! A monitor's witness: follows the center's log, mirrors every entry, recomputes the tree
//! itself, and cosigns a checkpoint only when the mirror's root matches it and it is consistent
//! with the last one cosigned (C2SP tlog-witness's rules, `truce_ledger::witness`).
//!
//! State in its folder: `state` (origin, size, root of the last cosigned checkpoint, and the
//! cosignature line given for it) and `entries` (the mirrored entries, each prefixed by its u16
//! length). Both are written and flushed to disk *before* the cosignature is handed to the
//! center, so a restart never forgets what it signed; and a witness that stopped between the
//! two hands its last cosignature over again when the center's checkpoint lacks it.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use truce_ledger::Hash;
use truce_ledger::note::{NoteSigner, NoteVerifier, verify_checkpoint};
use truce_ledger::tiles::{TILE_WIDTH, TilePath};
use truce_ledger::tree::Frontier;
use truce_ledger::witness::{AddCheckpoint, WitnessState, add_checkpoint};

/// A witness following one log.
pub struct Witness {
    log_url: String,
    monitor: String,
    signer: NoteSigner,
    log_key: NoteVerifier,
    state_dir: PathBuf,
    state: WitnessState,
    /// The cosignature line of the checkpoint at `state.size`, once one was given.
    cosignature: Option<String>,
    mirror: Frontier,
    agent: ureq::Agent,
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    if response.status().as_u16() != 200 {
        bail!("GET {url}: {}", response.status());
    }
    Ok(response
        .body_mut()
        .with_config()
        .limit(32 << 20)
        .read_to_vec()?)
}

impl Witness {
    /// Opens (or starts) the witness in `state_dir` for the log at `log_url`, reading the
    /// origin, the log's key and this witness's monitor from the log's agreement.
    pub fn open(log_url: &str, signer: NoteSigner, state_dir: &Path) -> Result<Self> {
        let agent = crate::http_client::agent(Duration::from_secs(30))?;
        let log_url = log_url.trim_end_matches('/').to_string();
        let ledger: Value =
            serde_json::from_slice(&get(&agent, &format!("{log_url}/api/ledger/keys"))?)
                .context("the log's ledger keys are not JSON")?;
        let ledger = &ledger;
        let origin = ledger["origin"]
            .as_str()
            .context("the log's agreement lists no ledger keys")?
            .to_string();
        let log_key = NoteVerifier::from_text(ledger["log_key"].as_str().unwrap_or(""))?;
        let mine = signer.verifier_text();
        let monitor = ledger["witnesses"]
            .as_object()
            .and_then(|w| w.iter().find(|(_, k)| k.as_str() == Some(mine.as_str())))
            .map(|(m, _)| m.clone())
            .with_context(|| {
                format!(
                    "the agreement does not list this witness key ({})",
                    signer.name()
                )
            })?;
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let (state, cosignature) = read_state(state_dir, &origin)?;
        let mirror = read_mirror(state_dir)?;
        Ok(Self {
            log_url,
            monitor,
            signer,
            log_key,
            state_dir: state_dir.to_path_buf(),
            state,
            cosignature,
            mirror,
            agent,
        })
    }

    /// The monitor this witness signs for.
    pub fn monitor(&self) -> &str {
        &self.monitor
    }

    /// The size of the last checkpoint it cosigned.
    pub fn cosigned_size(&self) -> u64 {
        self.state.size
    }

    /// One round: fetch the latest checkpoint; if it is new, mirror up to it, check, cosign,
    /// persist, and hand the cosignature to the log; if it is the one cosigned last but does
    /// not carry this witness's cosignature (the witness stopped before handing it over), hand
    /// it over again. Returns the size cosigned or handed over, if any.
    pub fn step(&mut self, now_unix: u64) -> Result<Option<u64>> {
        let url = format!("{}/checkpoint", self.log_url);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None), // nothing signed yet
            other => bail!("GET {url}: {other}"),
        }
        let note = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()?;
        let cp = verify_checkpoint(&note, &self.log_key, &[])
            .context("the log's checkpoint does not verify")?;
        if cp.size < self.state.size {
            bail!(
                "the log's checkpoint has {} entries, fewer than the {} this witness cosigned: \
                 the record was truncated",
                cp.size,
                self.state.size
            );
        }
        if cp.size == self.state.size {
            if cp.root.0 != self.state.root {
                bail!(
                    "the log shows another root at size {}: its history forked",
                    cp.size
                );
            }
            return match &self.cosignature {
                Some(line) if !self.carries_mine(&note) => {
                    tracing::info!(
                        size = cp.size,
                        "the log's checkpoint lacks this witness's cosignature; handing it over again"
                    );
                    self.hand_over(cp.size, line)?;
                    Ok(Some(cp.size))
                }
                _ => Ok(None),
            };
        }
        self.mirror_to(cp.size)?;
        if self.mirror.root() != cp.root {
            bail!(
                "the entries the log serves do not hash to its checkpoint's root at size {}: \
                 data was withheld or altered",
                cp.size
            );
        }
        let proof = if self.state.size == 0 {
            Vec::new()
        } else {
            let url = format!(
                "{}/api/ledger/consistency?old={}&new={}",
                self.log_url, self.state.size, cp.size
            );
            let answer: Value = serde_json::from_slice(&get(&self.agent, &url)?)?;
            answer["proof"]
                .as_array()
                .context("no proof in the consistency answer")?
                .iter()
                .map(|h| {
                    let raw = B64.decode(h.as_str().unwrap_or(""))?;
                    let arr: [u8; 32] = raw.try_into().map_err(|_| anyhow::anyhow!("bad hash"))?;
                    Ok(Hash(arr))
                })
                .collect::<Result<Vec<_>>>()?
        };
        let request = AddCheckpoint {
            old: self.state.size,
            proof,
            checkpoint: note,
        };
        let (state, line) =
            add_checkpoint(&self.state, &request, &self.log_key, &self.signer, now_unix)
                .map_err(|e| anyhow::anyhow!("refused to cosign: {e}"))?;
        write_state(&self.state_dir, &state, &line)?;
        // State and line together, as on disk: a hand-over that fails is retried next round.
        self.state = state;
        self.cosignature = Some(line.clone());
        self.hand_over(cp.size, &line)?;
        Ok(Some(cp.size))
    }

    /// Whether the log's signed `note` carries a cosignature that verifies with this witness's
    /// own key (a line of another key of the same name does not count).
    fn carries_mine(&self, note: &[u8]) -> bool {
        let Ok(mine) = NoteVerifier::from_text(&self.signer.verifier_text()) else {
            return false;
        };
        verify_checkpoint(note, &self.log_key, &[mine]).is_ok_and(|cp| !cp.cosigners.is_empty())
    }

    /// Gives the log this witness's cosignature `line` of its checkpoint of `size`.
    fn hand_over(&self, size: u64, line: &str) -> Result<()> {
        let body = serde_json::json!({"monitor": self.monitor, "size": size, "line": line});
        let response = self
            .agent
            .post(&format!("{}/api/ledger/cosignatures", self.log_url))
            .send_json(&body)
            .context("handing the cosignature to the log")?;
        if response.status().as_u16() != 204 {
            bail!("the log refused the cosignature: {}", response.status());
        }
        Ok(())
    }

    /// Fetches entry bundles until the mirror holds `size` entries, appending them to disk.
    fn mirror_to(&mut self, size: u64) -> Result<()> {
        let path = self.state_dir.join("entries");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        while self.mirror.size() < size {
            let start = self.mirror.size();
            let index = start / TILE_WIDTH;
            let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u32;
            let tile = TilePath::Entries { index, width };
            let bundle = get(&self.agent, &format!("{}/{}", self.log_url, tile.to_path()))?;
            let entries = split_bundle(&bundle).with_context(|| tile.to_path())?;
            if entries.len() != width as usize {
                bail!(
                    "{} holds {} entries, not {width}",
                    tile.to_path(),
                    entries.len()
                );
            }
            for entry in entries.iter().skip((start - index * TILE_WIDTH) as usize) {
                file.write_all(&(entry.len() as u16).to_be_bytes())?;
                file.write_all(entry)?;
                self.mirror.append(entry);
            }
        }
        file.sync_all()?;
        Ok(())
    }
}

fn split_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>> {
    Ok(truce_ledger::tiles::split_entry_bundle(bundle)?)
}

fn read_mirror(dir: &Path) -> Result<Frontier> {
    let path = dir.join("entries");
    let mut frontier = Frontier::new();
    let Ok(mut file) = std::fs::File::open(&path) else {
        return Ok(frontier);
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let entries = split_bundle(&bytes).with_context(|| format!("{} is damaged", path.display()))?;
    for e in entries {
        frontier.append(e);
    }
    Ok(frontier)
}

/// The state in `dir` and the cosignature line kept with it (none in a state written before
/// truce kept it, nor before the first cosignature).
fn read_state(dir: &Path, origin: &str) -> Result<(WitnessState, Option<String>)> {
    let path = dir.join("state");
    let Ok(text) = std::fs::read_to_string(&path) else {
        let empty = WitnessState {
            origin: origin.to_string(),
            size: 0,
            root: Frontier::new().root().0,
        };
        return Ok((empty, None));
    };
    let mut lines = text.lines();
    let (Some(o), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
        bail!("{} is damaged", path.display());
    };
    if o != origin {
        bail!("{} follows {o:?}, not this log ({origin:?})", dir.display());
    }
    let root: [u8; 32] = B64
        .decode(root)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} is damaged", path.display()))?;
    let state = WitnessState {
        origin: o.to_string(),
        size: size.parse().context("damaged state")?,
        root,
    };
    let cosignature = lines
        .next()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"));
    Ok((state, cosignature))
}

/// Writes the state and the cosignature `line` given for it atomically and durably: a
/// temporary file, flushed, renamed over the old.
fn write_state(dir: &Path, state: &WitnessState, line: &str) -> Result<()> {
    let tmp = dir.join("state.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    write!(
        f,
        "{}\n{}\n{}\n{}\n",
        state.origin,
        state.size,
        B64.encode(state.root),
        line.trim_end()
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join("state"))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Runs `witness` every `interval` until `stop` is set, logging each outcome.
pub fn run_loop(mut witness: Witness, interval: Duration, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match witness.step(now) {
            Ok(Some(size)) => tracing::debug!(monitor = witness.monitor(), size, "cosigned"),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(monitor = witness.monitor(), error = %format!("{e:#}"), "witness")
            }
        }
        let mut waited = Duration::ZERO;
        while waited < interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            waited += Duration::from_millis(50);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_keeps_its_cosignature_line_and_one_written_before_it_was_kept_still_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = WitnessState {
            origin: "example.invalid/log".into(),
            size: 7,
            root: [3; 32],
        };
        write_state(dir.path(), &state, "\u{2014} w1 AAAA\n").expect("write");
        let (read, line) = read_state(dir.path(), &state.origin).expect("read");
        assert_eq!((read.size, read.root), (7, [3; 32]));
        assert_eq!(line.as_deref(), Some("\u{2014} w1 AAAA\n"));
        let before = format!("example.invalid/log\n7\n{}\n", B64.encode([3u8; 32]));
        std::fs::write(dir.path().join("state"), before).expect("write");
        let (read, line) = read_state(dir.path(), &state.origin).expect("read");
        assert_eq!((read.size, line), (7, None));
    }
}
