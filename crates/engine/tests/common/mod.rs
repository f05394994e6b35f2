//! The record the tamper tests change: every kind of entry and projection row, on any store.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use truce_core::access::{Role, Verdict};
use truce_core::agreement::{Agreement, LedgerDoc, parse_toml};
use truce_core::intake::parse_one;
use truce_core::{IncidentId, Timestamp};
use truce_engine::{Caller, Engine, record_agreement};
use truce_ledger::note::{NoteSigner, TYPE_COSIGNATURE, TYPE_ED25519};
use truce_ledger::witness::{AddCheckpoint, WitnessState, add_checkpoint};
use truce_store::{EvidenceDir, Store};

pub const AGREEMENT: &str = r#"
name = "Tamper test agreement"
sides = [{ id = "a", name = "Side A" }, { id = "b", name = "Side B" }]
monitors = [{ id = "m1", name = "Monitor 1" }, { id = "m2", name = "Monitor 2" }]
[[clauses]]
id = "1"
title = "Ceasefire"
text = "No fire."
rule = "ceasefire"
[zones]
geojson = '''
{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"a-area","kind":"controlled_by","side":"a"},
  "geometry":{"type":"Polygon","coordinates":[[[45.5,39.5],[46.5,39.5],[46.5,40.5],[45.5,40.5],[45.5,39.5]]]}}
]}
'''
"#;

/// A small deterministic generator (xorshift64*), so every run tampers the same way.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `user` made a member of `monitor` with `role`, as a caller.
pub fn add_member(
    engine: &Engine,
    user: &str,
    monitor: &str,
    role: Role,
    now: Timestamp,
) -> Caller {
    engine.add_member(user, monitor, role, "test", now).unwrap();
    Caller {
        user: user.into(),
        monitor: monitor.into(),
        role,
    }
}

/// Builds a record of every kind of entry (members, one revoked; tracks; evidence; observations
/// in batches, each followed by both monitors' verdicts, an analyst's note and a checkpoint
/// both monitors' witnesses cosign) on `store`, keeping evidence files in `evidence` when the
/// store keeps none; returns the agreement and the engine that wrote it.
pub fn build_record(store: Arc<dyn Store>, evidence: Option<EvidenceDir>) -> (Agreement, Engine) {
    let log = NoteSigner::generate("tamper.test/log", TYPE_ED25519).unwrap();
    let w: Vec<NoteSigner> = ["m1", "m2"]
        .iter()
        .map(|m| NoteSigner::generate(&format!("witness-{m}"), TYPE_COSIGNATURE).unwrap())
        .collect();
    let a: Vec<NoteSigner> = ["m1", "m2"]
        .iter()
        .map(|m| NoteSigner::generate(&format!("assess-{m}"), TYPE_ED25519).unwrap())
        .collect();
    let mut agreement = parse_toml(AGREEMENT, "t.toml", &|_| Err("none".into())).unwrap();
    agreement.doc.ledger = Some(LedgerDoc {
        origin: "tamper.test/log".into(),
        log_key: log.verifier_text(),
        witnesses: [
            ("m1".to_string(), w[0].verifier_text()),
            ("m2".to_string(), w[1].verifier_text()),
        ]
        .into_iter()
        .collect(),
        assessment_keys: [
            ("m1".to_string(), a[0].verifier_text()),
            ("m2".to_string(), a[1].verifier_text()),
        ]
        .into_iter()
        .collect(),
    });
    let agreement = Agreement::from_doc(agreement.doc, "t").unwrap();
    let now = Timestamp::parse("2026-11-20T12:00:00Z").unwrap();
    record_agreement(store.as_ref(), &agreement, now).unwrap();
    let engine = Engine::open(store).unwrap();
    engine.set_log_signer(log.clone()).unwrap();
    for (m, key) in ["m1", "m2"].iter().zip(&a) {
        engine.set_assessment_signer(m, key.clone()).unwrap();
    }
    let officers: Vec<Caller> = ["m1", "m2"]
        .iter()
        .map(|m| add_member(&engine, &format!("{m}-officer"), m, Role::Officer, now))
        .collect();
    let analyst = add_member(&engine, "m1-analyst", "m1", Role::Analyst, now);
    // An observer who reports a patrol's track and hands in a photo, and a member revoked.
    let observer = add_member(&engine, "m2-observer", "m2", Role::Observer, now);
    engine
        .add_member("m1-gone", "m1", Role::Observer, "test", now)
        .unwrap();
    engine.revoke_member("m1-gone", "test", None, now).unwrap();
    if let Some(dir) = evidence {
        engine.set_evidence_dir(dir);
    }
    for k in 0..3 {
        engine
            .record_track(
                &observer,
                truce_core::track::TrackPoint {
                    device: "patrol-7".into(),
                    callsign: "Patrol 7".into(),
                    platform: truce_core::track::Platform::Ground,
                    lat: 39.7 + f64::from(k) * 0.001,
                    lon: 46.1,
                    hae_m: None,
                    accuracy_m: Some(10.0),
                    course_deg: None,
                    speed_mps: None,
                    observed_at: Timestamp::parse(&format!("2026-11-20T11:0{k}:00Z")).unwrap(),
                    via: "test".into(),
                },
                now,
            )
            .unwrap();
        let mut photo = b"\xFF\xD8\xFF\xE0 a photo ".to_vec();
        photo.push(k as u8);
        engine
            .record_evidence(
                &observer,
                &photo,
                truce_engine::EvidenceIn {
                    media_type: "image/jpeg".into(),
                    name: Some(format!("p{k}.jpg")),
                    derived_from: None,
                    capture: Default::default(),
                },
                now,
            )
            .unwrap();
    }
    let keys = engine.ledger_keys().unwrap().clone();
    let mut states: Vec<WitnessState> = (0..2)
        .map(|_| WitnessState {
            origin: "tamper.test/log".into(),
            size: 0,
            root: [0; 32],
        })
        .collect();
    for batch in 0..6 {
        let items = (0..8)
            .map(|i| {
                let n = batch * 8 + i;
                let json = format!(
                    r#"{{"client_id":"00000000-0000-4000-8000-{n:012}","kind":"shot","observed_at":"2026-11-20T10:{:02}:00Z","reporter":"op","geometry":{{"type":"position","lat":{},"lon":46.0,"accuracy_m":50}}}}"#,
                    n % 60,
                    39.6 + (n % 5) as f64 * 0.01
                );
                parse_one(&json, now, None).unwrap()
            })
            .collect();
        engine.submit(items, now).unwrap();
        // Each monitor assesses an incident of the batch.
        for (k, officer) in officers.iter().enumerate() {
            let verdict = [Verdict::Confirm, Verdict::Dispute][(batch + k) % 2];
            engine
                .assess(
                    officer,
                    IncidentId(1 + batch as u64),
                    verdict,
                    "seen",
                    None,
                    now,
                )
                .unwrap();
        }
        // And an analyst notes one, correcting its kind every other time.
        engine
            .annotate(
                &analyst,
                IncidentId(1 + batch as u64),
                &format!("note {batch}"),
                (batch % 2 == 0).then_some(truce_core::Kind::Burst),
                now,
            )
            .unwrap();
        let cp = engine.sign_checkpoint().unwrap().unwrap();
        for (k, signer) in w.iter().enumerate() {
            let old = states[k].size;
            let proof = if old == 0 {
                vec![]
            } else {
                let (_, _, p) = engine.consistency_proof(old, cp.size).unwrap();
                p
            };
            let req = AddCheckpoint {
                old,
                proof,
                checkpoint: cp.note.clone(),
            };
            let (state, line) =
                add_checkpoint(&states[k], &req, &keys.log, signer, 1_700_000_000).unwrap();
            states[k] = state;
            engine
                .add_cosignature(["m1", "m2"][k], cp.size, &line)
                .unwrap();
        }
    }
    (agreement, engine)
}
