//! The witness against honest growth, restarts, and every refusal tlog-witness names — above
//! all a log that signs two inconsistent checkpoints (a split view).

use super::*;
use crate::note::{TYPE_COSIGNATURE, TYPE_ED25519, sign_checkpoint, verify_checkpoint};
use crate::tree::Frontier;
use std::collections::HashMap;
use tlog_tiles::{HashReader, prove_tree};

const ORIGIN: &str = "truce.example/log";

struct Log {
    key: NoteSigner,
    frontier: Frontier,
    hashes: HashMap<u64, Hash>,
}

impl HashReader for Log {
    fn read_hashes(&self, i: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        i.iter()
            .map(|i| {
                self.hashes
                    .get(i)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl Log {
    fn new(key: NoteSigner) -> Self {
        Self {
            key,
            frontier: Frontier::new(),
            hashes: HashMap::new(),
        }
    }
    fn grow(&mut self, prefix: &str, n: usize) {
        for i in 0..n {
            self.hashes
                .extend(self.frontier.append(format!("{prefix}{i}").as_bytes()));
        }
    }
    fn request(&self, old: u64) -> AddCheckpoint {
        let size = self.frontier.size();
        AddCheckpoint {
            old,
            proof: if old == 0 || old == size {
                vec![]
            } else {
                prove_tree(size, old, self).unwrap()
            },
            checkpoint: sign_checkpoint(&self.key, ORIGIN, size, &self.frontier.root()).unwrap(),
        }
    }
}

fn fresh() -> WitnessState {
    WitnessState {
        origin: ORIGIN.into(),
        size: 0,
        root: Frontier::new().root().0,
    }
}

fn keys() -> (NoteSigner, NoteVerifier, NoteSigner, NoteVerifier) {
    let log = NoteSigner::generate(ORIGIN, TYPE_ED25519).unwrap();
    let lv = NoteVerifier::from_text(&log.verifier_text()).unwrap();
    let w = NoteSigner::generate("m1-witness", TYPE_COSIGNATURE).unwrap();
    let wv = NoteVerifier::from_text(&w.verifier_text()).unwrap();
    (log, lv, w, wv)
}

#[test]
fn honest_growth_is_cosigned_and_the_request_round_trips() {
    let (log_key, lv, w, wv) = keys();
    let mut log = Log::new(log_key);
    log.grow("a", 10);
    let req = log.request(0);
    assert_eq!(AddCheckpoint::parse(&req.to_text()).unwrap(), req);
    let (state, line) = add_checkpoint(&fresh(), &req, &lv, &w, 1000).unwrap();
    assert_eq!(state.size, 10);
    let mut note = req.checkpoint.clone();
    note.extend_from_slice(line.as_bytes());
    let cp = verify_checkpoint(&note, &lv, &[wv]).unwrap();
    assert_eq!(cp.cosigners, vec![("m1-witness".to_string(), 1000)]);
    log.grow("b", 7);
    let (state, _) = add_checkpoint(&state, &log.request(10), &lv, &w, 1001).unwrap();
    assert_eq!(state.size, 17);
}

#[test]
fn a_forked_history_is_refused_by_every_witness() {
    let (log_key, lv, _, _) = keys();
    let witnesses: Vec<NoteSigner> = (1..=2)
        .map(|i| NoteSigner::generate(&format!("m{i}"), TYPE_COSIGNATURE).unwrap())
        .collect();
    let mut honest = Log::new(log_key.clone());
    honest.grow("a", 10);
    let states: Vec<WitnessState> = witnesses
        .iter()
        .map(|w| {
            add_checkpoint(&fresh(), &honest.request(0), &lv, w, 1)
                .unwrap()
                .0
        })
        .collect();
    // The operator rewrites entry 3 and signs a checkpoint of the forked history.
    let mut f2 = Log::new(log_key);
    for i in 0..12 {
        let data = if i == 3 {
            "REWRITTEN0".to_string()
        } else {
            format!("a{i}")
        };
        f2.hashes.extend(f2.frontier.append(data.as_bytes()));
    }
    // Same size, different root.
    let mut same_size = Log::new(f2.key.clone());
    for i in 0..10 {
        let data = if i == 3 {
            "REWRITTEN0".to_string()
        } else {
            format!("a{i}")
        };
        same_size
            .hashes
            .extend(same_size.frontier.append(data.as_bytes()));
    }
    for (w, state) in witnesses.iter().zip(&states) {
        let e = add_checkpoint(state, &same_size.request(10), &lv, w, 2).unwrap_err();
        assert_eq!(e.status, 409, "{e}");
        // A longer forked tree: its consistency proof from 10 cannot verify against the root
        // the witness cosigned.
        let e = add_checkpoint(state, &f2.request(10), &lv, w, 2).unwrap_err();
        assert_eq!(e.status, 422, "{e}");
    }
}

#[test]
fn each_refusal_has_the_specified_status() {
    let (log_key, lv, w, _) = keys();
    let mut log = Log::new(log_key);
    log.grow("a", 5);
    let (state, _) = add_checkpoint(&fresh(), &log.request(0), &lv, &w, 1).unwrap();
    log.grow("b", 5);
    // The log thinks the witness is elsewhere: 409 with the witness's size.
    let e = add_checkpoint(&state, &log.request(3), &lv, &w, 2).unwrap_err();
    assert_eq!((e.status, e.message.as_str()), (409, "5"));
    // old beyond the checkpoint: 400.
    let mut req = log.request(5);
    req.old = 11;
    assert_eq!(
        add_checkpoint(&state, &req, &lv, &w, 2).unwrap_err().status,
        400
    );
    // Another origin: 404.
    let other = WitnessState {
        origin: "elsewhere".into(),
        ..state.clone()
    };
    assert_eq!(
        add_checkpoint(&other, &log.request(5), &lv, &w, 2)
            .unwrap_err()
            .status,
        404
    );
    // Not signed by the log: 403.
    let impostor = NoteSigner::generate(ORIGIN, TYPE_ED25519).unwrap();
    let mut req = log.request(5);
    req.checkpoint = sign_checkpoint(&impostor, ORIGIN, 10, &log.frontier.root()).unwrap();
    assert_eq!(
        add_checkpoint(&state, &req, &lv, &w, 2).unwrap_err().status,
        403
    );
    // A wrong proof: 422.
    let mut req = log.request(5);
    req.proof[0] = Hash([0; 32]);
    assert_eq!(
        add_checkpoint(&state, &req, &lv, &w, 2).unwrap_err().status,
        422
    );
    // Malformed: 400.
    assert_eq!(AddCheckpoint::parse(b"old x\n\n").unwrap_err().status, 400);
    assert_eq!(
        AddCheckpoint::parse(b"old 1\nnot-base64!\n\n")
            .unwrap_err()
            .status,
        400
    );
}
