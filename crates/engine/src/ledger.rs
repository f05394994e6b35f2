//! The record's checkpoints: the center signs one whenever the record has grown, witnesses'
//! cosignatures are checked and collected, and the agreed size is the largest checkpoint every
//! monitor's witness has cosigned.

use crate::{Engine, EngineError};
use serde::Serialize;
use truce_core::agreement::Agreement;
use truce_ledger::Hash;
use truce_ledger::note::{NoteSigner, NoteVerifier, sign_checkpoint, verify_checkpoint};
use truce_store::StoredCheckpoint;

/// The ledger keys the agreement lists, parsed and checked.
#[derive(Debug, Clone)]
pub struct LedgerKeys {
    /// The origin line of every checkpoint.
    pub origin: String,
    /// The center's checkpoint key.
    pub log: NoteVerifier,
    /// Each monitor's witness key, by monitor id, in the agreement's order.
    pub witnesses: Vec<(String, NoteVerifier)>,
}

impl LedgerKeys {
    /// The keys of `agreement`, or `None` when it lists none.
    pub fn from_agreement(agreement: &Agreement) -> Result<Option<Self>, EngineError> {
        let Some(doc) = &agreement.doc.ledger else {
            return Ok(None);
        };
        let bad = |what: &str, e: truce_ledger::note::NoteError| {
            EngineError::Ledger(format!("the agreement's {what}: {e}"))
        };
        let log = NoteVerifier::from_text(&doc.log_key).map_err(|e| bad("log_key", e))?;
        let witnesses = doc
            .witnesses
            .iter()
            .map(|(m, k)| {
                NoteVerifier::from_text(k)
                    .map(|v| (m.clone(), v))
                    .map_err(|e| bad(&format!("witness key of {m}"), e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self {
            origin: doc.origin.clone(),
            log,
            witnesses,
        }))
    }

    /// Just the witness verifiers.
    pub fn witness_verifiers(&self) -> Vec<NoteVerifier> {
        self.witnesses.iter().map(|(_, v)| v.clone()).collect()
    }
}

/// One monitor's witness as the center sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WitnessStatus {
    /// The monitor.
    pub monitor: String,
    /// The largest checkpoint size it has cosigned, if any.
    pub cosigned_size: Option<u64>,
    /// Entries it lags behind the latest checkpoint.
    pub lag: u64,
}

/// Where the record and its checkpoints stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerStatus {
    /// Entries in the record.
    pub size: u64,
    /// The Merkle root of those entries, base64.
    pub root: String,
    /// The log's origin line, when the agreement lists ledger keys.
    pub origin: Option<String>,
    /// Size of the latest signed checkpoint.
    pub checkpoint_size: Option<u64>,
    /// Size of the latest checkpoint every monitor's witness has cosigned.
    pub agreed_size: Option<u64>,
    /// Each witness.
    pub witnesses: Vec<WitnessStatus>,
}

impl Engine {
    /// The ledger keys of the agreement in force, if it lists them.
    pub fn ledger_keys(&self) -> Option<&LedgerKeys> {
        self.ledger_keys.as_ref()
    }

    /// Gives the engine the center's checkpoint-signing key, which must match the agreement's
    /// `log_key`.
    pub fn set_log_signer(&self, signer: NoteSigner) -> Result<(), EngineError> {
        let keys = self.ledger_keys.as_ref().ok_or_else(|| {
            EngineError::Ledger("the agreement lists no ledger keys to sign for".into())
        })?;
        let expected = self
            .agreement()
            .doc
            .ledger
            .as_ref()
            .map(|l| l.log_key.trim());
        if expected != Some(signer.verifier_text().as_str()) {
            return Err(EngineError::Ledger(format!(
                "the key {:?} is not the agreement's log key ({})",
                signer.name(),
                keys.log.name()
            )));
        }
        *self
            .log_signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(signer);
        Ok(())
    }

    /// Signs a checkpoint of the current record if it has grown since the last one (and the
    /// engine has the log key); returns the new checkpoint.
    pub fn sign_checkpoint(&self) -> Result<Option<StoredCheckpoint>, EngineError> {
        let Some(keys) = &self.ledger_keys else {
            return Ok(None);
        };
        let signer = self
            .log_signer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let Some(signer) = signer else {
            return Ok(None);
        };
        // Under the sequencer lock the head cannot move while it is signed.
        let _seq = self.lock_sequencer()?;
        let head = self.store().head()?;
        let last = self
            .store()
            .latest_checkpoint()?
            .map(|c| c.size)
            .unwrap_or(0);
        if head.size <= last {
            return Ok(None);
        }
        let note = sign_checkpoint(&signer, &keys.origin, head.size, &Hash(head.root))
            .map_err(|e| EngineError::Ledger(e.to_string()))?;
        self.store().add_checkpoint(head.size, &note)?;
        Ok(Some(StoredCheckpoint {
            size: head.size,
            note,
            cosignatures: Vec::new(),
        }))
    }

    /// Checks `line` as `monitor`'s witness cosignature of the checkpoint of `size` and keeps it.
    pub fn add_cosignature(&self, monitor: &str, size: u64, line: &str) -> Result<(), EngineError> {
        // Exactly one signature line: more would be kept with it and, unverified here, break
        // every later check of the checkpoint with all the witnesses' keys.
        let line = line.trim_end();
        if line.contains(['\n', '\r']) || !line.starts_with("\u{2014} ") {
            return Err(EngineError::Ledger(
                "a cosignature is one signature line (\u{2014} name signature)".into(),
            ));
        }
        let keys = self
            .ledger_keys
            .as_ref()
            .ok_or_else(|| EngineError::Ledger("the agreement lists no ledger keys".into()))?;
        let (_, verifier) = keys
            .witnesses
            .iter()
            .find(|(m, _)| m == monitor)
            .ok_or_else(|| EngineError::Ledger(format!("{monitor} has no witness key")))?;
        let checkpoint = self
            .store()
            .checkpoint(size)?
            .ok_or_else(|| EngineError::Ledger(format!("no checkpoint of size {size}")))?;
        let mut note = checkpoint.note.clone();
        note.extend_from_slice(line.as_bytes());
        note.push(b'\n');
        let verified = verify_checkpoint(&note, &keys.log, std::slice::from_ref(verifier))
            .map_err(|e| EngineError::Ledger(e.to_string()))?;
        if !verified.cosigners.iter().any(|(n, _)| n == verifier.name()) {
            return Err(EngineError::Ledger(format!(
                "the line is not a cosignature by {monitor}'s witness"
            )));
        }
        self.store()
            .add_cosignature(size, monitor, &format!("{}\n", line.trim_end()))?;
        Ok(())
    }

    /// The latest checkpoint every monitor's witness has cosigned (the latest checkpoint when
    /// the agreement lists no witnesses).
    pub fn agreed_checkpoint(&self) -> Result<Option<StoredCheckpoint>, EngineError> {
        Ok(self.store().agreed_checkpoint(&self.witness_monitors())?)
    }

    /// The monitors whose witnesses must cosign a checkpoint for it to be agreed.
    fn witness_monitors(&self) -> Vec<String> {
        self.ledger_keys
            .as_ref()
            .map(|k| k.witnesses.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default()
    }

    /// Where the record, its checkpoints and its witnesses stand.
    pub fn ledger_status(&self) -> Result<LedgerStatus, EngineError> {
        use base64::Engine as _;
        let head = self.store().head()?;
        let latest = self.store().latest_checkpoint()?.map(|c| c.size);
        let witnesses = self
            .witness_monitors()
            .into_iter()
            .map(|monitor| {
                let cosigned = self.store().latest_cosigned(&monitor)?;
                Ok(WitnessStatus {
                    monitor,
                    cosigned_size: cosigned,
                    lag: latest.unwrap_or(0).saturating_sub(cosigned.unwrap_or(0)),
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(LedgerStatus {
            size: head.size,
            root: base64::engine::general_purpose::STANDARD.encode(head.root),
            origin: self.ledger_keys.as_ref().map(|k| k.origin.clone()),
            checkpoint_size: latest,
            agreed_size: self.agreed_checkpoint()?.map(|c| c.size),
            witnesses,
        })
    }
}

/// Reads the Merkle tree's stored hashes from the store, for `tlog_tiles`' proofs and tiles.
pub struct StoreHashReader<'a>(pub &'a dyn truce_store::Store);

impl truce_ledger::HashReader for StoreHashReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, truce_ledger::TlogError> {
        self.0
            .tree_hashes(indexes)
            .map(|v| v.into_iter().map(Hash).collect())
            .map_err(|e| truce_ledger::TlogError::InvalidInput(e.to_string()))
    }
}

/// [`StoreHashReader`] that keeps the store's error, so a proof that failed because the store
/// did is told apart from one the tree refused.
pub(crate) struct KeepingReader<'a> {
    store: &'a dyn truce_store::Store,
    failed: std::cell::RefCell<Option<truce_store::StoreError>>,
}

impl truce_ledger::HashReader for KeepingReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, truce_ledger::TlogError> {
        self.store
            .tree_hashes(indexes)
            .map(|v| v.into_iter().map(Hash).collect())
            .map_err(|e| {
                let message = e.to_string();
                *self.failed.borrow_mut() = Some(e);
                truce_ledger::TlogError::InvalidInput(message)
            })
    }
}

impl Engine {
    /// `read` run over the store's tree hashes. Its failure is the store's error when reading
    /// the hashes failed (a storage fault answers 503, as any read's does), else the tree's.
    pub(crate) fn with_tree_hashes<T>(
        &self,
        read: impl FnOnce(&KeepingReader<'_>) -> Result<T, truce_ledger::TlogError>,
    ) -> Result<T, EngineError> {
        let reader = KeepingReader {
            store: self.store().as_ref(),
            failed: std::cell::RefCell::new(None),
        };
        read(&reader).map_err(|e| match reader.failed.into_inner() {
            Some(store) => EngineError::Store(store),
            None => EngineError::Ledger(e.to_string()),
        })
    }
}

/// Which checkpoint a proof is anchored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The latest checkpoint every monitor's witness has cosigned.
    Agreed,
    /// The latest checkpoint the center signed.
    Latest,
}

impl Engine {
    /// A C2SP tlog-proof of entry `index` in the checkpoint chosen by `anchor`; `None` when no
    /// such checkpoint includes the entry yet.
    pub fn inclusion_proof(
        &self,
        index: u64,
        anchor: Anchor,
    ) -> Result<Option<truce_ledger::proof::TlogProof>, EngineError> {
        let checkpoint = match anchor {
            Anchor::Agreed => self.agreed_checkpoint()?,
            Anchor::Latest => self.store().latest_checkpoint()?,
        };
        let Some(cp) = checkpoint.filter(|c| index < c.size) else {
            return Ok(None);
        };
        let hashes = self
            .with_tree_hashes(|reader| truce_ledger::tlog::prove_record(cp.size, index, reader))?;
        Ok(Some(truce_ledger::proof::TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: cp.cosigned_note(),
        }))
    }

    /// The RFC 9162 consistency proof from the tree of `old` entries to the tree of `new`
    /// (`old ≤ new ≤` the record's size), with both roots.
    pub fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<(Hash, Hash, Vec<Hash>), EngineError> {
        let size = self.store().head()?.size;
        if old == 0 || old > new || new > size {
            return Err(EngineError::Ledger(format!(
                "need 1 ≤ old ≤ new ≤ {size} (the record's size), got old={old} new={new}"
            )));
        }
        self.with_tree_hashes(|reader| {
            let old_root = truce_ledger::tlog::tree_hash(old, reader)?;
            let new_root = truce_ledger::tlog::tree_hash(new, reader)?;
            let proof = truce_ledger::tlog::prove_tree(new, old, reader)?;
            Ok((old_root, new_root, proof))
        })
    }

    /// The bytes of a tile of the tree as of the latest checkpoint, or `None` if that tree does
    /// not contain it (tiles beyond the latest checkpoint are not served: only checkpointed
    /// history is published).
    pub fn tile(
        &self,
        tile: truce_ledger::tiles::TilePath,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        use truce_ledger::tiles::{TILE_WIDTH, TilePath};
        let published = match self.store().latest_checkpoint()? {
            Some(c) => c.size,
            None => return Ok(None),
        };
        let Some(needed) = tile.leaves_needed().filter(|n| *n <= published) else {
            return Ok(None);
        };
        let _ = needed;
        match tile {
            TilePath::Hashes {
                level,
                index,
                width,
            } => {
                let t = truce_ledger::Tile::new(8, level, index, width, false);
                let data = self.with_tree_hashes(|reader| t.read_data(reader))?;
                Ok(Some(data))
            }
            TilePath::Entries { index, width } => {
                let entries = self.store().entries(index * TILE_WIDTH, u64::from(width))?;
                let bundle =
                    truce_ledger::tiles::entry_bundle(entries.iter().map(|e| e.bytes.as_slice()))
                        .map_err(|e| {
                        EngineError::Ledger(format!("entries from {}: {e}", index * TILE_WIDTH))
                    })?;
                Ok(Some(bundle))
            }
        }
    }
}
