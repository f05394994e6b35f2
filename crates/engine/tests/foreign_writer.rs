//! A record written by another process past the writer's lock (its lock file deleted): the
//! engine's next write records nothing and says why, and whatever it writes next — a note
//! first, then observations — continues the record as it now is, with no number used twice.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use truce_core::access::Role;
use truce_core::agreement::parse_toml;
use truce_core::intake::parse_one;
use truce_core::{IncidentId, Timestamp, ValidObservation};
use truce_engine::{Caller, Engine, EngineError, audit, record_agreement};
use truce_store::{Durability, SqliteStore, Store, StoreError};

const AGREEMENT: &str = r#"
name = "Foreign writer test agreement"
sides = [{ id = "a", name = "Side A" }, { id = "b", name = "Side B" }]
monitors = [{ id = "m1", name = "Monitor 1" }]
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

fn reports(now: Timestamp, lats: &[f64]) -> Vec<ValidObservation> {
    lats.iter()
        .map(|lat| {
            let json = format!(
                r#"{{"kind":"explosion","observed_at":"2026-11-20T10:00:00Z","reporter":"op","geometry":{{"type":"position","lat":{lat},"lon":46.0,"accuracy_m":50}}}}"#
            );
            parse_one(&json, now, None).unwrap()
        })
        .collect()
}

#[test]
fn after_another_process_wrote_the_record_every_writer_goes_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truce.sqlite");
    let agreement = parse_toml(AGREEMENT, "t.toml", &|_| Err("none".into())).unwrap();
    let now = Timestamp::parse("2026-11-20T12:00:00Z").unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, Durability::Process).unwrap());
    record_agreement(store.as_ref(), &agreement, now).unwrap();
    let engine = Engine::open(store.clone()).unwrap();
    engine
        .add_member("m1-analyst", "m1", Role::Analyst, "test", now)
        .unwrap();
    let analyst = Caller {
        user: "m1-analyst".into(),
        monitor: "m1".into(),
        role: Role::Analyst,
    };
    let first = engine.submit(reports(now, &[39.6, 40.3]), now).unwrap();
    assert_eq!(first.accepted[1].id.0, 2);

    // Another process, past the lock, records an observation of its own.
    std::fs::remove_file(dir.path().join("truce.sqlite.lock")).unwrap();
    {
        let other: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&path, Durability::Process).unwrap());
        let theirs = Engine::open(other).unwrap();
        let out = theirs.submit(reports(now, &[39.9]), now).unwrap();
        assert_eq!(out.accepted[0].id.0, 3);
    }

    // This engine's next write, a note, records nothing and says why.
    let refused = engine
        .annotate(&analyst, IncidentId(1), "seen twice", None, now)
        .unwrap_err();
    assert!(
        matches!(refused, EngineError::Store(StoreError::Moved(_))),
        "{refused:?}"
    );
    // Then intake goes on from the record as it is: no observation or incident number
    // taken twice, and the record verifies.
    let next = engine.submit(reports(now, &[39.7]), now).unwrap();
    assert_eq!(next.accepted[0].id.0, 4);
    assert!(next.accepted[0].incident_id.0 > 3, "{next:?}");
    engine
        .annotate(&analyst, IncidentId(1), "seen twice", None, now)
        .unwrap();
    let report = audit(store.as_ref(), &agreement).unwrap();
    assert_eq!(report.observations, 4);
}
