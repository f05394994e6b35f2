//! A witness's decision on a checkpoint, as C2SP tlog-witness specifies its add-checkpoint
//! exchange: the request is `old <size>\n`, up to 63 consistency-proof lines, a blank line, then
//! the checkpoint note. The witness cosigns only a checkpoint consistent with the last one it
//! cosigned, so a log that forks its history is caught by every honest witness.
//!
//! This module decides and signs; persisting the new state *before* answering, and making the
//! size check and the update atomic, is the caller's part (see `truce witness`).

use crate::note::{NoteError, NoteSigner, NoteVerifier, verify_checkpoint};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;
use tlog_tiles::{Hash, check_tree};

/// Most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// What a witness remembers: the last checkpoint it cosigned for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessState {
    /// The log's origin.
    pub origin: String,
    /// Size of the last cosigned tree (0 before the first).
    pub size: u64,
    /// Its root hash (the empty tree's hash before the first).
    pub root: [u8; 32],
}

/// A refusal, with the HTTP status tlog-witness assigns it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status}: {message}")]
pub struct WitnessError {
    /// 400, 403, 404, 409 or 422.
    pub status: u16,
    /// Why; for 409 on a size mismatch, the body is the size the witness has.
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> WitnessError {
    WitnessError {
        status,
        message: message.into(),
    }
}

/// A parsed add-checkpoint request.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness last cosigned.
    pub old: u64,
    /// Consistency proof from `old` to the new checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint note.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Parses a request body (400 when malformed).
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        let split = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| refuse(400, "no blank line before the checkpoint"))?;
        let head = std::str::from_utf8(&body[..split]).map_err(|_| refuse(400, "not UTF-8"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| refuse(400, "the first line must be `old <size>`"))?;
        let proof = lines
            .map(|l| {
                let raw = B64
                    .decode(l)
                    .map_err(|_| refuse(400, "a proof line is not base64"))?;
                let arr: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| refuse(400, "a proof line is not a 32-byte hash"))?;
                Ok(Hash(arr))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(refuse(400, "more than 63 consistency-proof lines"));
        }
        Ok(Self {
            old,
            proof,
            checkpoint: body[split + 2..].to_vec(),
        })
    }
}

/// Decides on `request` for a witness in `state` that trusts `log`, and on success returns the
/// new state and the cosignature line (signed by `signer` at Unix time `now`).
pub fn add_checkpoint(
    state: &WitnessState,
    request: &AddCheckpoint,
    log: &NoteVerifier,
    signer: &NoteSigner,
    now: u64,
) -> Result<(WitnessState, String), WitnessError> {
    let cp = verify_checkpoint(&request.checkpoint, log, &[]).map_err(|e| match e {
        NoteError::Checkpoint(m) | NoteError::Note(m) => refuse(400, m),
        other => refuse(403, format!("the log's signature does not verify: {other}")),
    })?;
    if cp.origin != state.origin {
        return Err(refuse(404, format!("unknown log origin {:?}", cp.origin)));
    }
    if request.old > cp.size {
        return Err(refuse(
            400,
            format!(
                "old {} is larger than the checkpoint's {}",
                request.old, cp.size
            ),
        ));
    }
    if request.old != state.size {
        return Err(refuse(409, state.size.to_string()));
    }
    if cp.size == state.size {
        if cp.root.0 != state.root {
            return Err(refuse(
                409,
                "same size, different root: the log forked its history",
            ));
        }
    } else if state.size > 0
        && check_tree(
            &request.proof,
            cp.size,
            cp.root,
            state.size,
            Hash(state.root),
        )
        .is_err()
    {
        return Err(refuse(
            422,
            format!(
                "the consistency proof from {} to {} does not verify",
                state.size, cp.size
            ),
        ));
    }
    let line = signer.signature_line(&cp.body, now);
    Ok((
        WitnessState {
            origin: state.origin.clone(),
            size: cp.size,
            root: cp.root.0,
        },
        line,
    ))
}

#[cfg(test)]
mod tests;
