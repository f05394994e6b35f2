//! Tests of the sequencer over a real SQLite store in a temporary folder: numbering, idempotent
//! resubmission and client id conflicts, one incident per event, restarts that continue the
//! numbering and the incidents, live events tied to committed entries, and recording the
//! agreement.
//!
//! The agreement is a minimal inline one (one area of responsibility, one ceasefire clause).
//! Observations are contract JSON validated by `truce_core::intake::parse_one`, at seconds after
//! 10:00:00 UTC on 2026-11-20, around three events kilometres apart.

use super::*;
use crate::{InitOutcome, record_agreement};
use tempfile::TempDir;
use tokio::sync::broadcast::error::TryRecvError;
use truce_core::intake::parse_one;
use truce_store::{Durability, SqliteStore, StoredEntry, verify_chain};

const AGREEMENT: &str = r#"
name = "Sequencer test agreement"
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
 {"type":"Feature","properties":{"id":"aor","kind":"area_of_responsibility","monitor":"m1"},
  "geometry":{"type":"Polygon","coordinates":[[[45.5,39.5],[46.5,39.5],[46.5,40.5],[45.5,40.5],[45.5,39.5]]]}}
]}
'''
"#;

fn agreement() -> Agreement {
    truce_core::agreement::parse_toml(AGREEMENT, "test.toml", &|_| Err("no files here".into()))
        .unwrap_or_else(|e| panic!("the test agreement is invalid: {e}"))
}

/// Three events, about 11 km apart: (latitude, longitude) in degrees.
const A: (f64, f64) = (40.0, 46.0);
const B: (f64, f64) = (40.1, 46.1);
const C: (f64, f64) = (39.9, 45.9);

fn base_time() -> Timestamp {
    Timestamp::parse("2026-11-20T10:00:00Z").unwrap()
}

/// The server's clock in these tests: two hours after the events.
fn now() -> Timestamp {
    base_time().plus_seconds(7200.0)
}

/// A data folder with the agreement recorded and an engine over it.
struct Fixture {
    dir: TempDir,
    store: Arc<dyn Store>,
    engine: Engine,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::open(dir, InitOutcome::Recorded)
    }

    /// Drops the engine and the store and opens both again on the same file, as after a
    /// restart.
    fn reopen(self) -> Self {
        let Self { dir, store, engine } = self;
        drop(engine);
        drop(store);
        Self::open(dir, InitOutcome::AlreadyPresent)
    }

    fn open(dir: TempDir, expected: InitOutcome) -> Self {
        let store = SqliteStore::open(&dir.path().join("truce.db"), Durability::Full).unwrap();
        assert_eq!(
            record_agreement(&store, &agreement(), now()).unwrap(),
            expected
        );
        let store: Arc<dyn Store> = Arc::new(store);
        let engine = Engine::open(store.clone()).unwrap();
        Self { dir, store, engine }
    }

    fn submit(&self, batch: &[ValidObservation]) -> SubmitOutcome {
        self.engine.submit(batch.to_vec(), now()).unwrap()
    }

    fn entries(&self) -> Vec<StoredEntry> {
        self.store.entries(0, u64::MAX).unwrap()
    }

    fn size(&self) -> u64 {
        self.store.head().unwrap().size
    }
}

/// An explosion reported at `secs` after 10:00:00 with `geometry`; `extra` is inserted as
/// further fields (`"client_id":"…",`).
fn report_with(secs: f64, geometry: &str, extra: &str) -> ValidObservation {
    let text = format!(
        r#"{{{extra}"kind":"explosion","observed_at":"{}","reporter":"op-1","geometry":{geometry}}}"#,
        base_time().plus_seconds(secs)
    );
    parse_one(&text, now(), None).unwrap_or_else(|e| panic!("fixture {text} is invalid: {e}"))
}

/// A position report of the event at `place`, `north_m` metres north of it, with a 95% radius
/// of 100 m.
fn at(place: (f64, f64), north_m: f64) -> String {
    // 111 km per degree of latitude is close enough for offsets of metres.
    format!(
        r#"{{"type":"position","lat":{},"lon":{},"accuracy_m":100}}"#,
        place.0 + north_m / 111_000.0,
        place.1
    )
}

/// A report of the event at `place`, `secs` after 10:00:00.
fn report(place: (f64, f64), secs: f64) -> ValidObservation {
    report_with(secs, &at(place, 0.0), "")
}

/// The same, under a client id, with `notes` telling content apart.
fn client_report(place: (f64, f64), secs: f64, client: Uuid, notes: &str) -> ValidObservation {
    report_with(
        secs,
        &at(place, 0.0),
        &format!(r#""client_id":"{client}","notes":"{notes}","#),
    )
}

/// A bearing with no distance from an observer 2 km south of `place`: it fixes no position, so
/// its incident has none.
fn bare_bearing(place: (f64, f64), secs: f64) -> ValidObservation {
    let geometry = format!(
        r#"{{"type":"bearing","observer":{{"lat":{},"lon":{},"accuracy_m":10}},
            "bearing_deg":0,"bearing_sigma_deg":2}}"#,
        place.0 - 2000.0 / 111_000.0,
        place.1
    );
    report_with(secs, &geometry, "")
}

/// A bearing with a 1000-1200 m range from an observer 1100 m south of `place`.
fn ranged_bearing(place: (f64, f64), secs: f64) -> ValidObservation {
    let geometry = format!(
        r#"{{"type":"bearing","observer":{{"lat":{},"lon":{},"accuracy_m":10}},
            "bearing_deg":0,"bearing_sigma_deg":1,"distance_min_m":1000,"distance_max_m":1200}}"#,
        place.0 - 1100.0 / 111_000.0,
        place.1
    );
    report_with(secs, &geometry, "")
}

fn accepted(pairs: &[(u64, u64)]) -> Vec<Accepted> {
    pairs
        .iter()
        .map(|&(id, incident)| Accepted {
            id: ObservationId(id),
            incident_id: IncidentId(incident),
        })
        .collect()
}

fn decode(entry: &StoredEntry) -> EntryBody {
    EntryBody::from_canonical_bytes(&entry.bytes).unwrap()
}

/// The revision entries of the record, as (incident, revision, added observation ids).
fn revisions(entries: &[StoredEntry]) -> Vec<(u64, u32, Vec<u64>)> {
    entries
        .iter()
        .filter_map(|e| match decode(e) {
            EntryBody::IncidentRevision {
                incident_id,
                revision,
                added_observation_ids,
                ..
            } => Some((
                incident_id.0,
                revision,
                added_observation_ids.iter().map(|o| o.0).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// The observation ids of the record's observation entries, in record order.
fn observation_ids(entries: &[StoredEntry]) -> Vec<u64> {
    entries
        .iter()
        .filter_map(|e| match decode(e) {
            EntryBody::Observation { id, .. } => Some(id.0),
            _ => None,
        })
        .collect()
}

#[test]
fn submit_accepts_each_item_in_order_numbered_from_one() {
    let f = Fixture::new();
    let batch = [report(A, 0.0), report(B, 1.0), report(C, 2.0)];
    let outcome = f.submit(&batch);
    assert_eq!(outcome.accepted, accepted(&[(1, 1), (2, 2), (3, 3)]));
    assert_eq!(outcome.new, 3);

    let entries = f.entries();
    let types: Vec<&str> = entries.iter().map(|e| decode(e).type_name()).collect();
    assert_eq!(
        types,
        [
            "agreement",
            "observation",
            "observation",
            "observation",
            "incident_revision",
            "incident_revision",
            "incident_revision"
        ]
    );
    for (k, entry) in entries[1..4].iter().enumerate() {
        match decode(entry) {
            EntryBody::Observation {
                id,
                recorded_at,
                observation,
            } => {
                assert_eq!(id, ObservationId(k as u64 + 1));
                assert_eq!(recorded_at, now());
                assert_eq!(observation, *batch[k]);
            }
            other => panic!("entry {} is {other:?}", k + 1),
        }
    }
    assert_eq!(
        revisions(&entries),
        vec![(1, 1, vec![1]), (2, 1, vec![2]), (3, 1, vec![3])]
    );
    let checked = verify_chain(f.store.as_ref()).unwrap();
    assert_eq!(checked.size, 7);
    assert_eq!(checked.observations, 3);
    assert_eq!(checked.incident_revisions, 3);
    assert_eq!(checked.chain, f.store.head().unwrap().chain);

    // The next batch continues the numbering.
    let outcome = f.submit(&[report(A, 3600.0), report(B, 3600.0)]);
    assert_eq!(outcome.accepted, accepted(&[(4, 4), (5, 5)]));
    assert_eq!(verify_chain(f.store.as_ref()).unwrap().size, 11);
    let stored = f.store.observation(ObservationId(5)).unwrap().unwrap();
    assert_eq!(stored.incident_id, IncidentId(5));
    assert_eq!(stored.entry_index, 8);
}

#[test]
fn resubmitting_the_same_client_ids_returns_the_original_ids_and_records_nothing() {
    let f = Fixture::new();
    let (x, y, z) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let batch = [
        client_report(A, 0.0, x, "first"),
        client_report(A, 4.0, y, "second"),
        client_report(B, 8.0, z, "third"),
    ];
    let first = f.submit(&batch);
    assert_eq!(first.accepted, accepted(&[(1, 1), (2, 1), (3, 2)]));
    assert_eq!(first.new, 3);
    let size = f.size();
    let entries = f.entries();

    let again = f.submit(&batch);
    assert_eq!(again.accepted, first.accepted);
    assert_eq!(again.new, 0);
    assert_eq!(f.size(), size);
    assert_eq!(f.entries(), entries);

    // Part of it again, in another order, beside a new item: only the new item is recorded.
    let mixed = f.submit(&[batch[2].clone(), report(C, 20.0), batch[0].clone()]);
    assert_eq!(mixed.accepted, accepted(&[(3, 2), (4, 3), (1, 1)]));
    assert_eq!(mixed.new, 1);
    assert_eq!(observation_ids(&f.entries()), vec![1, 2, 3, 4]);

    // And after a restart.
    let f = f.reopen();
    let size = f.size();
    let after = f.submit(&batch);
    assert_eq!(after.accepted, first.accepted);
    assert_eq!(after.new, 0);
    assert_eq!(f.size(), size);
}

#[test]
fn client_id_reused_for_different_content_is_refused_with_its_index() {
    let f = Fixture::new();
    let x = Uuid::from_u128(0xabc);
    f.submit(&[client_report(A, 0.0, x, "original")]);
    let size = f.size();
    let entries = f.entries();
    let mut events = f.engine.subscribe();

    let err = f
        .engine
        .submit(
            vec![report(B, 5.0), client_report(A, 0.0, x, "edited")],
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, EngineError::ClientIdConflict { client_id, index: 1 } if client_id == x),
        "{err:?}"
    );
    assert_eq!(f.size(), size);
    assert_eq!(f.entries(), entries);
    assert_eq!(
        f.store.max_ids().unwrap(),
        (ObservationId(1), IncidentId(1))
    );
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);

    // Nothing was numbered either: the refused batch's first item, sent alone, is number 2 and
    // starts incident 2.
    let outcome = f.submit(&[report(B, 5.0)]);
    assert_eq!(outcome.accepted, accepted(&[(2, 2)]));
    assert_eq!(verify_chain(f.store.as_ref()).unwrap().observations, 2);
}

#[test]
fn client_id_used_twice_in_one_batch_for_different_content_is_refused() {
    let f = Fixture::new();
    let y = Uuid::from_u128(0xdef);
    let size = f.size();
    let err = f
        .engine
        .submit(
            vec![
                client_report(A, 0.0, y, "one"),
                report(B, 1.0),
                client_report(A, 0.0, y, "two"),
            ],
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, EngineError::ClientIdConflict { client_id, index: 2 } if client_id == y),
        "{err:?}"
    );
    assert_eq!(f.size(), size);
    assert_eq!(
        f.store.max_ids().unwrap(),
        (ObservationId(0), IncidentId(0))
    );
    assert!(f.store.client_records(&[y]).unwrap().is_empty());
}

#[test]
fn same_client_id_twice_in_one_batch_with_the_same_content_is_recorded_once() {
    let f = Fixture::new();
    let y = Uuid::from_u128(0x77);
    let item = client_report(A, 0.0, y, "same");
    let outcome = f.submit(&[item.clone(), report(B, 1.0), item.clone()]);
    assert_eq!(outcome.accepted, accepted(&[(1, 1), (2, 2), (1, 1)]));
    assert_eq!(outcome.new, 2);
    let entries = f.entries();
    assert_eq!(observation_ids(&entries), vec![1, 2]);
    assert_eq!(revisions(&entries), vec![(1, 1, vec![1]), (2, 1, vec![2])]);
    assert_eq!(
        f.store
            .incident(IncidentId(1))
            .unwrap()
            .unwrap()
            .observation_ids,
        vec![ObservationId(1)]
    );
    let records = f.store.client_records(&[y]).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].observation_id, ObservationId(1));

    // Sent again, both copies resolve to the stored one.
    let again = f.submit(&[item.clone(), item]);
    assert_eq!(again.accepted, accepted(&[(1, 1), (1, 1)]));
    assert_eq!(again.new, 0);
    assert_eq!(f.entries(), entries);
}

#[test]
fn reports_of_one_event_join_one_incident_and_its_revision_lists_them() {
    let f = Fixture::new();
    let outcome = f.submit(&[
        report_with(0.0, &at(A, 0.0), ""),
        report_with(3.0, &at(A, 20.0), ""),
        ranged_bearing(A, 5.0),
        report(B, 2.0),
    ]);
    assert_eq!(
        outcome.accepted,
        accepted(&[(1, 1), (2, 1), (3, 1), (4, 2)])
    );
    let entries = f.entries();
    assert_eq!(
        revisions(&entries),
        vec![(1, 1, vec![1, 2, 3]), (2, 1, vec![4])]
    );
    let incident = f.store.incident(IncidentId(1)).unwrap().unwrap();
    assert_eq!(incident.revision, 1);
    assert_eq!(
        incident.observation_ids,
        vec![ObservationId(1), ObservationId(2), ObservationId(3)]
    );
    assert_eq!(incident.estimate.first_seen, base_time());
    assert_eq!(incident.estimate.last_seen, base_time().plus_seconds(5.0));
    assert!(incident.estimate.position.is_some());
    assert_eq!(incident.estimate.findings.len(), 1);

    // A later report of the same event is a second revision listing only itself; the same
    // place an hour later is another event.
    let outcome = f.submit(&[report(A, 60.0), report(A, 3600.0)]);
    assert_eq!(outcome.accepted, accepted(&[(5, 1), (6, 3)]));
    assert_eq!(
        revisions(&f.entries())[2..],
        [(1, 2, vec![5]), (3, 1, vec![6])]
    );
    let incident = f.store.incident(IncidentId(1)).unwrap().unwrap();
    assert_eq!(incident.revision, 2);
    assert_eq!(incident.observation_ids.len(), 4);
    assert_eq!(
        verify_chain(f.store.as_ref()).unwrap().incident_revisions,
        4
    );
}

#[test]
fn after_reopening_numbering_continues_and_an_earlier_event_joins_its_restored_incident() {
    let f = Fixture::new();
    let first = f.submit(&[report(A, 0.0), report(B, 1.0), report(A, 2.0)]);
    assert_eq!(first.accepted, accepted(&[(1, 1), (2, 2), (3, 1)]));

    let f = f.reopen();
    let outcome = f.submit(&[report(C, 30.0), report_with(30.0, &at(A, 10.0), "")]);
    assert_eq!(outcome.accepted, accepted(&[(4, 3), (5, 1)]));
    let incident = f.store.incident(IncidentId(1)).unwrap().unwrap();
    assert_eq!(incident.revision, 2);
    assert_eq!(
        incident.observation_ids,
        vec![ObservationId(1), ObservationId(3), ObservationId(5)]
    );
    assert_eq!(incident.estimate.last_seen, base_time().plus_seconds(30.0));
    let revs = revisions(&f.entries());
    assert_eq!(revs[2..], [(3, 1, vec![4]), (1, 2, vec![5])]);

    // Once more: B is still joinable, and numbers keep growing.
    let f = f.reopen();
    let outcome = f.submit(&[report(B, 40.0), report(C, 7000.0)]);
    assert_eq!(outcome.accepted, accepted(&[(6, 2), (7, 4)]));
    let checked = verify_chain(f.store.as_ref()).unwrap();
    assert_eq!(checked.observations, 7);
}

#[test]
fn after_reopening_new_incidents_never_reuse_the_number_of_a_positionless_last_incident() {
    let f = Fixture::new();
    let first = f.submit(&[report(A, 0.0), bare_bearing(B, 1.0), bare_bearing(C, 2.0)]);
    assert_eq!(first.accepted, accepted(&[(1, 1), (2, 2), (3, 3)]));
    let last = f.store.incident(IncidentId(3)).unwrap().unwrap();
    assert_eq!(last.estimate.position, None);
    assert_eq!(
        f.store.max_ids().unwrap(),
        (ObservationId(3), IncidentId(3))
    );

    let f = f.reopen();
    let outcome = f.submit(&[report(C, 10.0), bare_bearing(B, 11.0)]);
    assert_eq!(outcome.accepted, accepted(&[(4, 4), (5, 5)]));
    // Incidents 2 and 3 still hold only what they had.
    assert_eq!(
        f.store
            .incident(IncidentId(3))
            .unwrap()
            .unwrap()
            .observation_ids,
        vec![ObservationId(3)]
    );
    assert_eq!(
        f.store
            .incident(IncidentId(4))
            .unwrap()
            .unwrap()
            .observation_ids,
        vec![ObservationId(4)]
    );
    // A has kept its position and is joined.
    let outcome = f.submit(&[report(A, 20.0)]);
    assert_eq!(outcome.accepted, accepted(&[(6, 1)]));

    // With only positionless incidents after the last restart, too.
    let f = f.reopen();
    let outcome = f.submit(&[bare_bearing(A, 6000.0)]);
    assert_eq!(outcome.accepted, accepted(&[(7, 6)]));
    let f = f.reopen();
    let outcome = f.submit(&[report(B, 6500.0)]);
    assert_eq!(outcome.accepted, accepted(&[(8, 7)]));
}

#[test]
fn subscribers_get_one_event_per_revision_with_its_committed_entry_index() {
    let f = Fixture::new();
    let mut events = f.engine.subscribe();
    let x = Uuid::from_u128(0x99);
    let batch = [
        report(A, 0.0),
        report(B, 1.0),
        client_report(A, 2.0, x, "again"),
    ];
    f.submit(&batch);
    f.submit(&[report(C, 3.0), report(B, 4.0)]);

    let entries = f.entries();
    let mut seen = Vec::new();
    loop {
        match events.try_recv() {
            Ok(ev) => {
                let entry = &entries[ev.entry_index as usize];
                assert_eq!(entry.index, ev.entry_index);
                match decode(entry) {
                    EntryBody::IncidentRevision {
                        incident_id,
                        revision,
                        added_observation_ids,
                        estimate,
                        ..
                    } => {
                        assert_eq!(incident_id, ev.id);
                        assert_eq!(revision, ev.revision);
                        assert_eq!(added_observation_ids, ev.added_observation_ids);
                        assert_eq!(estimate, ev.estimate);
                    }
                    other => panic!("event {ev:?} points at {other:?}"),
                }
                seen.push((ev.id.0, ev.revision, ev.entry_index));
            }
            Err(TryRecvError::Empty) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Entries: 0 agreement; 1-3 observations, 4-5 revisions; 6-7 observations, 8-9 revisions.
    assert_eq!(seen, vec![(1, 1, 4), (2, 1, 5), (3, 1, 8), (2, 2, 9)]);
    assert_eq!(revisions(&entries).len(), seen.len());

    // A resubmission and a refused batch tell subscribers nothing.
    f.submit(&batch[2..]);
    assert!(
        f.engine
            .submit(vec![client_report(A, 2.0, x, "changed")], now())
            .is_err()
    );
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[test]
fn recording_the_agreement_again_is_already_present_and_another_one_differs() {
    let f = Fixture::new();
    let size = f.size();
    assert_eq!(
        record_agreement(f.store.as_ref(), &agreement(), now()).unwrap(),
        InitOutcome::AlreadyPresent
    );
    let mut other = agreement();
    other.doc.name = "Another agreement".into();
    let err = record_agreement(f.store.as_ref(), &other, now()).unwrap_err();
    assert!(
        matches!(&err, EngineError::AgreementDiffers { version: 1, name } if name == "Sequencer test agreement"),
        "{err:?}"
    );
    let mut warmer = agreement();
    warmer.doc.default_temperature_c = 20.0;
    assert!(matches!(
        record_agreement(f.store.as_ref(), &warmer, now()),
        Err(EngineError::AgreementDiffers { .. })
    ));
    assert_eq!(f.size(), size);
    assert_eq!(f.engine.agreement().doc, agreement().doc);
    let (version, doc) = f.store.agreement().unwrap().unwrap();
    assert_eq!((version, doc), (1, agreement().doc));
}

#[test]
fn an_engine_over_a_store_without_an_agreement_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("truce.db"), Durability::Full).unwrap();
    let err = Engine::open(Arc::new(store)).unwrap_err();
    assert!(matches!(err, EngineError::NoAgreement), "{err:?}");
}

#[test]
fn an_append_the_store_refuses_leaves_fusion_as_the_record_says() {
    let f = Fixture::new();
    f.submit(&[report(A, 0.0)]);
    // Another writer takes observation number 2 behind the engine's back, so the engine's next
    // append collides in the store after fusion has already absorbed the batch in memory.
    let intruder = report(B, 1.0);
    let body = EntryBody::Observation {
        id: ObservationId(2),
        recorded_at: now(),
        observation: (*intruder).clone(),
    };
    f.store
        .append(&AppendBatch {
            entries: vec![NewEntry {
                bytes: body.canonical_bytes().unwrap(),
                type_name: body.type_name(),
                projection: Projection::Observation {
                    id: ObservationId(2),
                    client: None,
                    incident_id: IncidentId(1),
                    kind: intruder.kind,
                    observed_at: intruder.observed_at,
                },
            }],
        })
        .unwrap();
    let size = f.size();
    let mut events = f.engine.subscribe();

    let batch = [report(C, 5.0), report(A, 6.0)];
    let err = f.engine.submit(batch.to_vec(), now()).unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err:?}");
    assert_eq!(f.size(), size);
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);

    // Fusion forgot the refused batch: C starts incident 2 (not 3), A's incident is at its
    // second revision (not third), and numbering resumes after the intruder.
    let outcome = f.submit(&batch);
    assert_eq!(outcome.accepted, accepted(&[(3, 2), (4, 1)]));
    assert_eq!(
        revisions(&f.entries())[1..],
        [(2, 1, vec![3]), (1, 2, vec![4])]
    );
    assert_eq!(verify_chain(f.store.as_ref()).unwrap().observations, 4);
}

#[test]
fn concurrent_submissions_get_distinct_dense_numbers_in_record_order() {
    let f = Fixture::new();
    const THREADS: usize = 4;
    const EACH: usize = 10;
    let outcomes: Vec<Vec<SubmitOutcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    (0..EACH)
                        .map(|k| {
                            // Each thread reports its own event, a second apart.
                            let place = (40.0 + 0.1 * t as f64, 46.0);
                            f.submit(&[report(place, k as f64)])
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids: Vec<u64> = outcomes
        .iter()
        .flatten()
        .flat_map(|o| o.accepted.iter().map(|a| a.id.0))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=(THREADS * EACH) as u64).collect::<Vec<_>>());
    // Each thread's reports of its one event joined one incident.
    for per_thread in &outcomes {
        let first = per_thread[0].accepted[0].incident_id;
        assert!(
            per_thread
                .iter()
                .all(|o| o.accepted[0].incident_id == first)
        );
    }
    let entries = f.entries();
    let in_record = observation_ids(&entries);
    assert_eq!(in_record, (1..=(THREADS * EACH) as u64).collect::<Vec<_>>());
    let checked = verify_chain(f.store.as_ref()).unwrap();
    assert_eq!(checked.observations, (THREADS * EACH) as u64);
    assert_eq!(checked.incident_revisions, (THREADS * EACH) as u64);
}

#[test]
fn a_batch_of_more_reports_of_one_event_than_one_revision_lists_is_split() {
    let f = Fixture::new();
    let n = truce_fusion::associate::MAX_ADDED_PER_REVISION + 1;
    let batch: Vec<ValidObservation> = (0..n).map(|k| report(A, k as f64 * 0.01)).collect();
    let mut events = f.engine.subscribe();
    let outcome = f.submit(&batch);
    assert_eq!(outcome.new, n);
    assert!(
        outcome
            .accepted
            .iter()
            .all(|a| a.incident_id == IncidentId(1))
    );
    let entries = f.entries();
    let revs = revisions(&entries);
    assert_eq!(revs.len(), 2);
    assert_eq!((revs[0].0, revs[0].1, revs[0].2.len()), (1, 1, n - 1));
    assert_eq!(revs[1], (1, 2, vec![n as u64]));
    let first = events.try_recv().unwrap();
    let second = events.try_recv().unwrap();
    assert_eq!((first.revision, second.revision), (1, 2));
    assert_eq!(first.entry_index, n as u64 + 1);
    assert_eq!(second.entry_index, n as u64 + 2);
    let incident = f.store.incident(IncidentId(1)).unwrap().unwrap();
    assert_eq!(incident.revision, 2);
    assert_eq!(incident.observation_ids.len(), n);
    assert!(verify_chain(f.store.as_ref()).is_ok());
}

mod pipeline;
