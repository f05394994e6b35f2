//! C2SP tlog-proof: an offline proof that one entry is in the log, anchored in a checkpoint
//! with its cosignatures.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <N>
//! <base64 hash>          (the inclusion path, leaf's sibling first)
//! ...
//!
//! <checkpoint note, verbatim>
//! ```

use crate::note::{NoteError, NoteVerifier, VerifiedCheckpoint, verify_checkpoint};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;
use tlog_tiles::{Hash, check_record, record_hash};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An offline inclusion proof.
#[derive(Debug, Clone, PartialEq)]
pub struct TlogProof {
    /// Unauthenticated application data, if any.
    pub extra: Option<Vec<u8>>,
    /// The entry's zero-based index.
    pub index: u64,
    /// The inclusion path, from the leaf's sibling up.
    pub hashes: Vec<Hash>,
    /// The checkpoint note the path leads to, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a proof was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    /// The text is not a tlog-proof.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The checkpoint does not verify.
    #[error(transparent)]
    Checkpoint(#[from] NoteError),
    /// The path does not lead from the entry to the checkpoint's root.
    #[error("entry {index} is not in the checkpointed tree of size {size}")]
    NotIncluded {
        /// The entry's index.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
}

impl TlogProof {
    /// The proof's text.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&format!("{}\n", B64.encode(h.0)));
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Parses a proof's text.
    pub fn parse(text: &[u8]) -> Result<Self, ProofError> {
        let bad = |m: &str| ProofError::Malformed(m.to_string());
        let split = text
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let head = std::str::from_utf8(&text[..split]).map_err(|_| bad("not UTF-8"))?;
        let checkpoint = text[split + 2..].to_vec();
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let digits = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("expected `index N`"))?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return Err(bad("the index must be decimal without leading zeroes"));
        }
        let index = digits.parse().map_err(|_| bad("the index is too large"))?;
        let hashes = lines
            .map(|l| {
                let raw = B64
                    .decode(l)
                    .map_err(|_| bad("a proof hash is not base64"))?;
                let arr: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| bad("a proof hash is not 32 bytes"))?;
                Ok(Hash(arr))
            })
            .collect::<Result<Vec<_>, ProofError>>()?;
        if hashes.len() > 64 {
            return Err(bad("more than 64 proof hashes"));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint,
        })
    }

    /// Checks that `entry` (its bytes) is at `index` in the tree of the checkpoint, and that the
    /// checkpoint is signed by `log` (and by the listed witnesses whose signatures it carries).
    pub fn verify(
        &self,
        entry: &[u8],
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
    ) -> Result<VerifiedCheckpoint, ProofError> {
        let cp = verify_checkpoint(&self.checkpoint, log, witnesses)?;
        if self.index >= cp.size
            || check_record(
                &self.hashes,
                cp.size,
                cp.root,
                self.index,
                record_hash(entry),
            )
            .is_err()
        {
            return Err(ProofError::NotIncluded {
                index: self.index,
                size: cp.size,
            });
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{NoteSigner, TYPE_ED25519, sign_checkpoint};
    use crate::tree::Frontier;
    use std::collections::HashMap;
    use tlog_tiles::{HashReader, prove_record};

    struct Memory(HashMap<u64, Hash>);
    impl HashReader for Memory {
        fn read_hashes(&self, idx: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            idx.iter()
                .map(|i| {
                    self.0
                        .get(i)
                        .copied()
                        .ok_or(tlog_tiles::Error::IndexesNotInTree)
                })
                .collect()
        }
    }

    #[test]
    fn a_proof_round_trips_and_verifies_offline_and_tampering_fails() {
        let entries: Vec<Vec<u8>> = (0..13).map(|i| format!("entry {i}").into_bytes()).collect();
        let mut f = Frontier::new();
        let mut m = Memory(HashMap::new());
        for e in &entries {
            m.0.extend(f.append(e));
        }
        let log = NoteSigner::generate("truce.example/log", TYPE_ED25519).unwrap();
        let lv = NoteVerifier::from_text(&log.verifier_text()).unwrap();
        let checkpoint = sign_checkpoint(&log, "truce.example/log", 13, &f.root()).unwrap();
        let proof = TlogProof {
            extra: Some(b"ctx".to_vec()),
            index: 5,
            hashes: prove_record(13, 5, &m).unwrap(),
            checkpoint,
        };
        let text = proof.to_text();
        assert!(text.starts_with(b"c2sp.org/tlog-proof@v1\nextra Y3R4\nindex 5\n"));
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(parsed, proof);
        assert_eq!(parsed.verify(&entries[5], &lv, &[]).unwrap().size, 13);
        assert_eq!(
            parsed.verify(&entries[6], &lv, &[]),
            Err(ProofError::NotIncluded { index: 5, size: 13 })
        );
        let moved = TlogProof {
            index: 6,
            ..parsed.clone()
        };
        assert!(moved.verify(&entries[5], &lv, &[]).is_err());
        assert!(TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 05\n\nx").is_err());
        assert!(TlogProof::parse(b"tlog-proof\nindex 5\n\nx").is_err());
    }
}
