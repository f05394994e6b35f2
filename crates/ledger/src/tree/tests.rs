//! The frontier against RFC 9162 / RFC 6962 published roots, a naive recursive MTH, and the
//! proofs of `tlog_tiles` over the stored hashes it yields.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;
use tlog_tiles::{HashReader, check_record, check_tree, prove_record, prove_tree, tree_hash};

/// The eight leaves of the RFC 6962 / certificate-transparency Merkle test vectors (hex).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// The published roots of the first 1..=8 of those leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(h: &Hash) -> String {
    h.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stored hashes kept in memory, as the store keeps them in a table.
#[derive(Default)]
struct Memory(HashMap<u64, Hash>);

impl HashReader for Memory {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn build(leaves: &[Vec<u8>]) -> (Frontier, Memory) {
    let mut f = Frontier::new();
    let mut m = Memory::default();
    for leaf in leaves {
        m.0.extend(f.append(leaf));
    }
    (f, m)
}

/// RFC 9162 §2.1.1, written out recursively.
fn naive_root(leaves: &[Vec<u8>]) -> Hash {
    match leaves.len() {
        0 => EMPTY_HASH,
        1 => record_hash(&leaves[0]),
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(naive_root(&leaves[..k]), naive_root(&leaves[k..]))
        }
    }
}

#[test]
fn roots_match_the_published_vectors() {
    let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|l| unhex(l)).collect();
    let mut f = Frontier::new();
    assert_eq!(
        hex(&f.root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (i, leaf) in leaves.iter().enumerate() {
        f.append(leaf);
        assert_eq!(hex(&f.root()), ROOTS[i], "root of {} leaves", i + 1);
    }
}

#[test]
fn inclusion_and_consistency_proofs_over_the_vectors_verify() {
    let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|l| unhex(l)).collect();
    let (f, m) = build(&leaves[..7]);
    let root = f.root();
    // RFC 9162's 7-leaf example: the inclusion path of d0 has three hashes.
    let proof = prove_record(7, 0, &m).unwrap();
    assert_eq!(proof.len(), 3);
    check_record(&proof, 7, root, 0, record_hash(&leaves[0])).unwrap();
    // PROOF(3, D[7]) is a consistency proof of at most ⌈log2 7⌉ + 1 hashes.
    let old = naive_root(&leaves[..3]);
    let consistency = prove_tree(7, 3, &m).unwrap();
    assert!(consistency.len() <= 4);
    check_tree(&consistency, 7, root, 3, old).unwrap();
    // A proof for the wrong leaf or a forked old root fails.
    assert!(check_record(&proof, 7, root, 0, record_hash(&leaves[1])).is_err());
    assert!(check_tree(&consistency, 7, root, 3, naive_root(&leaves[1..4])).is_err());
}

#[test]
fn frontier_restored_from_its_stored_roots_continues_identically() {
    let leaves: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let (mut f, m) = build(&leaves[..157]);
    let roots = m.read_hashes(&frontier_indexes(157)).unwrap();
    let mut g = Frontier::from_roots(157, roots).unwrap();
    for leaf in &leaves[157..] {
        assert_eq!(f.append(leaf), g.append(leaf));
    }
    assert_eq!(f.root(), g.root());
    assert!(Frontier::from_roots(157, vec![]).is_none());
}

proptest! {
    /// For any number of leaves, the frontier's root equals the recursive definition and
    /// `tlog_tiles::tree_hash` over the stored hashes, and every inclusion and consistency
    /// proof from those stored hashes verifies.
    #[test]
    fn frontier_agrees_with_the_definition(n in 1usize..300, pick in 0usize..1000, old in 1usize..300) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        let (f, m) = build(&leaves);
        let root = naive_root(&leaves);
        prop_assert_eq!(f.root(), root);
        prop_assert_eq!(tree_hash(n as u64, &m).unwrap(), root);
        let i = pick % n;
        let proof = prove_record(n as u64, i as u64, &m).unwrap();
        prop_assert!(check_record(&proof, n as u64, root, i as u64, record_hash(&leaves[i])).is_ok());
        let old = old.min(n);
        let c = prove_tree(n as u64, old as u64, &m).unwrap();
        prop_assert!(check_tree(&c, n as u64, root, old as u64, naive_root(&leaves[..old])).is_ok());
    }
}
