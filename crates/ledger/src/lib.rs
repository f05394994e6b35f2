//! The shared record's cryptography, adopting the standards and inventing nothing:
//!
//! - [`tree`]: the RFC 9162 Merkle tree (leaf `SHA-256(0x00‖d)`, node `SHA-256(0x01‖l‖r)`),
//!   appended through a frontier of at most 64 subtree roots, with hashes addressed by the
//!   stored-hash index of Go's `sumdb/tlog` (ported in the `tlog_tiles` crate, which also gives
//!   inclusion and consistency proofs and the C2SP tlog-tiles layout);
//! - [`note`]: C2SP signed-note keys and C2SP tlog-checkpoint signing and verification, with
//!   Ed25519 verified by `verify_strict`;
//! - [`proof`]: the C2SP tlog-proof text format.
//!
//! Architecture invariant: no IO and no knowledge of what entries mean. Callers give bytes and
//! hashes, and get hashes, proofs and notes back.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod note;
pub mod proof;
pub mod tiles;
pub mod tree;
pub mod witness;

pub use tlog_tiles::{Checkpoint, Error as TlogError, Hash, HashReader, Tile};

/// The `sumdb/tlog` proof functions of `tlog_tiles`, re-exported: RFC 9162 inclusion
/// (`prove_record`, `check_record`) and consistency (`prove_tree`, `check_tree`) proofs and tree
/// hashes over stored hashes.
pub mod tlog {
    pub use tlog_tiles::{
        check_record, check_tree, prove_record, prove_tree, split_stored_hash_index,
        stored_hash_index, tree_hash,
    };
}
