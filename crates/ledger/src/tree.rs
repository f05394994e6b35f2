//! Appending to the RFC 9162 Merkle tree through its frontier.
//!
//! The frontier is the list of roots of the complete subtrees that make up the tree, largest
//! first (one per set bit of the size, so at most 64). Appending a leaf combines it with the
//! frontier's smallest roots while they pair up, and yields every node hash that became
//! permanent — the "stored hashes" of `sumdb/tlog`, addressed by [`stored_hash_index`]. Storing
//! those is enough to serve any tile, inclusion proof or consistency proof later.

use tlog_tiles::{EMPTY_HASH, Hash, node_hash, record_hash, stored_hash_index};

/// The right edge of a tree: its size and the roots of its complete subtrees.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frontier {
    size: u64,
    /// Roots of complete subtrees, largest (leftmost) first.
    roots: Vec<Hash>,
}

/// Where in the stored-hash order the frontier roots of a tree of `size` leaves are, largest
/// first: for each set bit of `size`, the subtree at that level.
pub fn frontier_indexes(size: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push(stored_hash_index(level, start >> level));
            start += width;
        }
    }
    out
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of a tree of `size` leaves whose roots (at [`frontier_indexes`]) are
    /// `roots`; `None` if their number does not match the size.
    pub fn from_roots(size: u64, roots: Vec<Hash>) -> Option<Self> {
        (roots.len() == size.count_ones() as usize).then_some(Self { size, roots })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf with entry bytes `data`; returns the stored hashes it made permanent, as
    /// (stored-hash index, hash), the leaf hash first.
    pub fn append(&mut self, data: &[u8]) -> Vec<(u64, Hash)> {
        self.append_leaf_hash(record_hash(data))
    }

    /// Appends a leaf whose RFC 9162 leaf hash is `leaf`.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> Vec<(u64, Hash)> {
        let index = self.size;
        let mut out = vec![(stored_hash_index(0, index), leaf)];
        let mut hash = leaf;
        let mut level = 0u8;
        let mut n = index;
        while n & 1 == 1 {
            let Some(left) = self.roots.pop() else {
                break; // unreachable: a set bit always has its subtree root
            };
            hash = node_hash(left, hash);
            level += 1;
            n >>= 1;
            out.push((stored_hash_index(level, n), hash));
        }
        self.roots.push(hash);
        self.size += 1;
        out
    }

    /// The tree's root hash (RFC 9162 MTH); the hash of the empty string for an empty tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.roots.iter().rev();
        let Some(last) = iter.next() else {
            return EMPTY_HASH;
        };
        iter.fold(*last, |acc, left| node_hash(*left, acc))
    }
}

#[cfg(test)]
mod tests;
