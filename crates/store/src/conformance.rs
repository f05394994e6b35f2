//! The store conformance suite: what every [`Store`] must do, run against each backend (SQLite
//! in `sqlite::tests`, PostgreSQL in `pg::tests`) through [`conformance_suite!`]: the chained
//! record and its head, all-or-nothing appends, reopening, the derived tables and their
//! queries, client ids, checkpoints and cosignatures, schema versions, the Merkle root, and
//! [`crate::verify_chain`] against a record an operator changed behind truce's back.
//!
//! Entries are real [`EntryBody`] values in their canonical bytes; observations are contract JSON
//! around 40°N 46°E on 2026-11-20, validated by `truce_core::intake::parse_one`. Each test works
//! in its own record (a temporary folder, or a schema of its own).

#![allow(missing_docs)]

use crate::model::{
    AppendBatch, ClientRecord, Durability, Head, IncidentFilter, StoredEntry, StoredObservation,
};
use crate::{ChainFault, NewEntry, Projection, Store, StoreError, verify_chain};
use truce_core::Kind;
use truce_core::Observation;
use truce_core::Timestamp;
use truce_core::agreement::AgreementDoc;
use truce_core::entry::{EntryBody, Hash, canonical_json, chain_hash, leaf_hash, sha256};
use truce_core::incident::IncidentEstimate;
use truce_core::incident::{Attribution, CovarianceEn, Finding, IncidentPosition, Status};
use truce_core::intake::parse_one;
use truce_core::{Incident, IncidentId, ObservationId};
use uuid::Uuid;

const AGREEMENT: &str = r#"
name = "Store test agreement"
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

/// A store under test, fresh and empty, with what the suite needs to reopen it and to change
/// it behind its back as an operator with the database's own tools could.
pub trait Backend: Sized {
    /// A new, empty record with full durability.
    fn new() -> Self;
    /// A new, empty record committing with `durability`.
    fn with_durability(durability: Durability) -> Self;
    /// The store.
    fn store(&self) -> &dyn Store;
    /// Closes the store and opens the same record again.
    fn reopen(self) -> Self;
    /// Closes the store, runs `statements` as an operator (constraints and triggers off), and
    /// opens the store again.
    fn tamper(self, statements: &[String]) -> Self;
    /// One bytes value that `sql` selects.
    fn bytes(&self, sql: &str) -> Vec<u8>;
    /// `bytes` as an SQL literal.
    fn blob(bytes: &[u8]) -> String;
    /// The schema version recorded in the store.
    fn schema_version(&self) -> i64;
    /// Closes the store, records schema version `version`, and opens it again.
    fn reopen_at_version(self, version: i64) -> Result<Self, StoreError>;
}

/// The context of a database error from either backend.
fn failed_at(err: &StoreError) -> Option<&str> {
    match err {
        StoreError::Database { context, .. } | StoreError::Postgres { context, .. } => {
            Some(context)
        }
        _ => None,
    }
}

pub fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// When the center recorded every entry of these tests.
fn recorded_at() -> Timestamp {
    ts("2026-11-20T12:00:00Z")
}

/// A validated position report of `kind` at `at`, by `reporter`.
pub fn observation(kind: &str, at: &str, (lat, lon): (f64, f64), reporter: &str) -> Observation {
    observation_with_client(kind, at, (lat, lon), reporter, None)
}

fn observation_with_client(
    kind: &str,
    at: &str,
    (lat, lon): (f64, f64),
    reporter: &str,
    client_id: Option<Uuid>,
) -> Observation {
    let client = client_id
        .map(|c| format!(r#""client_id":"{c}","#))
        .unwrap_or_default();
    let text = format!(
        r#"{{{client}"kind":"{kind}","observed_at":"{at}","reporter":"{reporter}",
            "geometry":{{"type":"position","lat":{lat},"lon":{lon},"accuracy_m":100}}}}"#
    );
    // Validated by a clock at the end of the day, so every fixture time is in its past.
    parse_one(&text, ts("2026-11-21T00:00:00Z"), None)
        .unwrap_or_else(|e| panic!("fixture {text} is invalid: {e}"))
        .into_inner()
}

/// The content hash a client id is stored with (what the engine computes).
fn content_hash(o: &Observation) -> Hash {
    sha256(&canonical_json(o).unwrap())
}

/// An estimate of `kind` from `first` to `last`, at `at` when given; no findings, no side,
/// status reported (tests change what they filter on).
pub fn estimate(kind: Kind, first: &str, last: &str, at: Option<(f64, f64)>) -> IncidentEstimate {
    IncidentEstimate {
        kind,
        subkind: None,
        weapon: None,
        count: 1,
        first_seen: ts(first),
        last_seen: ts(last),
        position: at.map(|(lat, lon)| IncidentPosition {
            lat,
            lon,
            mgrs: String::new(),
        }),
        ellipse_95: None,
        covariance_m2: at.map(|_| CovarianceEn {
            ee: 2500.0,
            en: 0.0,
            nn: 2500.0,
        }),
        zones: Vec::new(),
        findings: Vec::new(),
        attribution: Attribution::undetermined("no side in this test"),
        status: Status::Reported,
        method: None,
        excluded: Vec::new(),
        merged_into: None,
        uncertainty: None,
        source_height: None,
        emitted_at: None,
        saturated: None,
        unresolved: false,
    }
}

fn findings(clauses: &[&str]) -> Vec<Finding> {
    clauses
        .iter()
        .map(|c| Finding {
            clause_id: (*c).to_string(),
            reason: format!("clause {c} in this test"),
        })
        .collect()
}

pub fn observation_entry(
    id: u64,
    incident: u64,
    observation: Observation,
    client: Option<(Uuid, Hash)>,
) -> NewEntry {
    let projection = Projection::Observation {
        id: ObservationId(id),
        client,
        incident_id: IncidentId(incident),
        kind: observation.kind,
        observed_at: observation.observed_at,
    };
    let body = EntryBody::Observation {
        id: ObservationId(id),
        recorded_at: recorded_at(),
        observation,
    };
    NewEntry {
        bytes: body.canonical_bytes().unwrap(),
        type_name: body.type_name(),
        projection,
    }
}

/// An observation entry whose client id is the observation's own, with its content hash.
fn client_entry(id: u64, incident: u64, observation: Observation) -> NewEntry {
    let client = observation
        .client_id
        .map(|c| (c, content_hash(&observation)));
    observation_entry(id, incident, observation, client)
}

pub fn revision_entry(
    incident: u64,
    revision: u32,
    added: &[u64],
    estimate: IncidentEstimate,
) -> NewEntry {
    let body = EntryBody::IncidentRevision {
        incident_id: IncidentId(incident),
        revision,
        recorded_at: recorded_at(),
        added_observation_ids: added.iter().map(|&i| ObservationId(i)).collect(),
        estimate: estimate.clone(),
        by: None,
        reason: None,
    };
    NewEntry {
        bytes: body.canonical_bytes().unwrap(),
        type_name: body.type_name(),
        projection: Projection::Incident {
            id: IncidentId(incident),
            revision,
            estimate: Box::new(estimate),
            moved: Vec::new(),
        },
    }
}

pub fn agreement_doc() -> AgreementDoc {
    truce_core::agreement::parse_toml(AGREEMENT, "test.toml", &|_| Err("no files here".into()))
        .unwrap()
        .doc
}

pub fn agreement_entry(version: u32, doc: &AgreementDoc) -> NewEntry {
    let document = canonical_json(doc).unwrap();
    let body = EntryBody::Agreement {
        version,
        document_sha256: truce_core::entry::sha256_hex(&document),
        name: doc.name.clone(),
        recorded_at: recorded_at(),
    };
    NewEntry {
        bytes: body.canonical_bytes().unwrap(),
        type_name: body.type_name(),
        projection: Projection::Agreement { version, document },
    }
}

pub fn batch(entries: Vec<NewEntry>) -> AppendBatch {
    AppendBatch { entries }
}

pub fn all_entries(store: &dyn Store) -> Vec<StoredEntry> {
    store.entries(0, u64::MAX).unwrap()
}

/// The record most tests start from: agreement (entry 0); observations 1 and 2 of one blast
/// (entries 1, 2) and incident 1's first revision (3); observation 3 of another event (4) and
/// incident 2 (5).
pub fn standard_record(store: &dyn Store) {
    store
        .append(&batch(vec![agreement_entry(1, &agreement_doc())]))
        .unwrap();
    let blast = estimate(
        Kind::Explosion,
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:05Z",
        Some((40.0, 46.0)),
    );
    store
        .append(&batch(vec![
            observation_entry(
                1,
                1,
                observation("explosion", "2026-11-20T10:00:00Z", (40.0, 46.0), "post-1"),
                None,
            ),
            observation_entry(
                2,
                1,
                observation(
                    "explosion",
                    "2026-11-20T10:00:05Z",
                    (40.0, 46.001),
                    "post-2",
                ),
                None,
            ),
            revision_entry(1, 1, &[1, 2], blast),
        ]))
        .unwrap();
    store
        .append(&batch(vec![
            observation_entry(
                3,
                2,
                observation("shot", "2026-11-20T11:00:00Z", (40.2, 46.2), "post-3"),
                None,
            ),
            revision_entry(
                2,
                1,
                &[3],
                estimate(
                    Kind::Shot,
                    "2026-11-20T11:00:00Z",
                    "2026-11-20T11:00:00Z",
                    Some((40.2, 46.2)),
                ),
            ),
        ]))
        .unwrap();
}

pub fn fresh_store_has_an_empty_head_and_zero_chain<B: Backend>() {
    let f = B::new();
    assert_eq!(
        f.store().head().unwrap(),
        Head {
            size: 0,
            chain: [0; 32],
            // RFC 9162: the root of the empty tree is SHA-256 of the empty string.
            root: sha256(b""),
        }
    );
    assert!(all_entries(f.store()).is_empty());
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(0), IncidentId(0))
    );
    assert_eq!(f.store().agreement().unwrap(), None);
    assert!(f.store().latest_estimates().unwrap().is_empty());
    assert!(
        f.store()
            .incidents(&IncidentFilter::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store().observation(ObservationId(1)).unwrap(), None);
    assert_eq!(f.store().incident(IncidentId(1)).unwrap(), None);
    let report = verify_chain(f.store()).unwrap();
    assert_eq!(report.size, 0);
    assert_eq!(report.chain, [0; 32]);
}

pub fn process_durability_opens_and_appends_too<B: Backend>() {
    let f = B::with_durability(Durability::Process);
    standard_record(f.store());
    assert_eq!(f.store().head().unwrap().size, 6);
    let f = f.reopen();
    assert_eq!(f.store().head().unwrap().size, 6);
}

pub fn append_advances_the_head_and_entries_hold_the_exact_bytes_chained<B: Backend>() {
    let f = B::new();
    let doc = agreement_doc();
    let first = batch(vec![agreement_entry(1, &doc)]);
    let receipt = f.store().append(&first).unwrap();
    assert_eq!(receipt.first_index, 0);
    assert_eq!(receipt.head.size, 1);

    let second = batch(vec![
        observation_entry(
            1,
            1,
            observation("explosion", "2026-11-20T10:00:00Z", (40.0, 46.0), "post-1"),
            None,
        ),
        observation_entry(
            2,
            1,
            observation("explosion", "2026-11-20T10:00:03Z", (40.0, 46.0), "post-2"),
            None,
        ),
        revision_entry(
            1,
            1,
            &[1, 2],
            estimate(
                Kind::Explosion,
                "2026-11-20T10:00:00Z",
                "2026-11-20T10:00:03Z",
                Some((40.0, 46.0)),
            ),
        ),
    ]);
    let receipt = f.store().append(&second).unwrap();
    assert_eq!(receipt.first_index, 1);
    assert_eq!(receipt.head.size, 4);
    assert_eq!(f.store().head().unwrap(), receipt.head);

    let written: Vec<&NewEntry> = first.entries.iter().chain(&second.entries).collect();
    let stored = all_entries(f.store());
    assert_eq!(stored.len(), written.len());
    let mut chain = [0u8; 32];
    for (i, (stored, written)) in stored.iter().zip(&written).enumerate() {
        assert_eq!(stored.index, i as u64);
        assert_eq!(stored.bytes, written.bytes, "entry {i}'s bytes");
        chain = chain_hash(&chain, &leaf_hash(&written.bytes));
        assert_eq!(stored.chain, chain, "entry {i}'s chain hash");
    }
    assert_eq!(receipt.head.chain, chain);

    // Paging: a window in the middle, and past the end.
    let page = f.store().entries(1, 2).unwrap();
    assert_eq!(page.iter().map(|e| e.index).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(page, stored[1..3].to_vec());
    assert!(f.store().entries(4, 10).unwrap().is_empty());

    let report = verify_chain(f.store()).unwrap();
    assert_eq!(report.size, 4);
    assert_eq!(report.chain, chain);
    assert_eq!(report.observations, 2);
    assert_eq!(report.incident_revisions, 1);
}

/// Bug: `read::entries` binds `from as i64`, so a start index above `i64::MAX` wraps to a
/// negative number and `WHERE idx >= ?1` matches from entry 0: asking for entries far past the
/// end returns the beginning of the record instead of nothing.
pub fn entries_from_beyond_i64_max_is_empty_not_the_start_of_the_record<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let past_end: Vec<u64> = [7, 1 << 40, i64::MAX as u64]
        .into_iter()
        .filter(|&from| !f.store().entries(from, 10).unwrap().is_empty())
        .collect();
    assert!(past_end.is_empty(), "entries returned from {past_end:?}");
    let wrapped = f.store().entries(u64::MAX, 10).unwrap();
    assert_eq!(
        wrapped.iter().map(|e| e.index).collect::<Vec<_>>(),
        Vec::<u64>::new(),
        "entries(u64::MAX, 10) returned the start of the record"
    );
    let half = f.store().entries(1 << 63, 2).unwrap();
    assert!(half.is_empty(), "entries(2^63, 2) returned {half:?}");
}

pub fn empty_batch_appends_nothing<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let receipt = f.store().append(&AppendBatch::default()).unwrap();
    assert_eq!(receipt.first_index, head.size);
    assert_eq!(receipt.head, head);
    assert_eq!(all_entries(f.store()).len(), 6);
}

/// Asserts that the failed append left the store exactly as `standard_record` made it.
fn assert_untouched<B: Backend>(f: &B, head: Head, entries: &[StoredEntry]) {
    assert_eq!(f.store().head().unwrap(), head);
    assert_eq!(all_entries(f.store()), entries);
    assert_eq!(f.store().observation(ObservationId(4)).unwrap(), None);
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(3), IncidentId(2))
    );
    assert_eq!(f.store().incident(IncidentId(3)).unwrap(), None);
}

/// After a failed append the store still appends, at the index after the old head.
fn assert_keeps_working<B: Backend>(f: &B, head: Head) {
    let receipt = f
        .store()
        .append(&batch(vec![
            observation_entry(
                4,
                3,
                observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-4"),
                None,
            ),
            revision_entry(
                3,
                1,
                &[4],
                estimate(
                    Kind::Burst,
                    "2026-11-20T11:30:00Z",
                    "2026-11-20T11:30:00Z",
                    Some((40.3, 46.3)),
                ),
            ),
        ]))
        .unwrap();
    assert_eq!(receipt.first_index, head.size);
    assert_eq!(receipt.head.size, head.size + 2);
    let stored = f.store().observation(ObservationId(4)).unwrap().unwrap();
    assert_eq!(stored.entry_index, head.size);
    assert_eq!(stored.incident_id, IncidentId(3));
    let report = verify_chain(f.store()).unwrap();
    assert_eq!(report.size, head.size + 2);
    assert_eq!(report.chain, receipt.head.chain);
}

pub fn append_failing_on_a_duplicate_observation_id_leaves_nothing<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let before = all_entries(f.store());

    // The first entry is fine; the second reuses observation number 2.
    let err = f
        .store()
        .append(&batch(vec![
            observation_entry(
                4,
                3,
                observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-4"),
                None,
            ),
            observation_entry(
                2,
                3,
                observation("burst", "2026-11-20T11:30:01Z", (40.3, 46.3), "post-5"),
                None,
            ),
            revision_entry(
                3,
                1,
                &[4, 2],
                estimate(
                    Kind::Burst,
                    "2026-11-20T11:30:00Z",
                    "2026-11-20T11:30:01Z",
                    Some((40.3, 46.3)),
                ),
            ),
        ]))
        .unwrap_err();
    assert!(failed_at(&err) == Some("storing an observation"), "{err:?}");
    assert_untouched(&f, head, &before);
    // Observation 2 is still the one first stored.
    let two = f.store().observation(ObservationId(2)).unwrap().unwrap();
    assert_eq!(two.observation.reporter, "post-2");
    assert_eq!(two.entry_index, 2);
    assert_keeps_working(&f, head);
}

pub fn append_failing_on_a_duplicate_client_id_leaves_nothing<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let client = Uuid::from_u128(0x5eed);
    let stored = observation_with_client(
        "shot",
        "2026-11-20T11:10:00Z",
        (40.2, 46.2),
        "post-9",
        Some(client),
    );
    f.store()
        .append(&batch(vec![client_entry(4, 2, stored.clone())]))
        .unwrap();
    let head = f.store().head().unwrap();
    let before = all_entries(f.store());

    let again = observation_with_client(
        "burst",
        "2026-11-20T11:30:01Z",
        (40.3, 46.3),
        "post-6",
        Some(client),
    );
    let err = f
        .store()
        .append(&batch(vec![
            observation_entry(
                5,
                3,
                observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-5"),
                None,
            ),
            client_entry(6, 3, again),
        ]))
        .unwrap_err();
    assert!(failed_at(&err).is_some(), "{err:?}");
    assert_eq!(f.store().head().unwrap(), head);
    assert_eq!(all_entries(f.store()), before);
    assert_eq!(f.store().observation(ObservationId(5)).unwrap(), None);
    assert_eq!(f.store().observation(ObservationId(6)).unwrap(), None);
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(4), IncidentId(2))
    );
    // The client id still names the observation first stored under it.
    let records = f.store().client_records(&[client]).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].observation_id, ObservationId(4));
    assert_eq!(records[0].content_hash, content_hash(&stored));

    let receipt = f
        .store()
        .append(&batch(vec![observation_entry(
            5,
            3,
            observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-5"),
            None,
        )]))
        .unwrap();
    assert_eq!(receipt.first_index, head.size);
    assert_eq!(verify_chain(f.store()).unwrap().size, head.size + 1);
}

pub fn append_failing_on_an_oversized_second_entry_leaves_nothing<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let before = all_entries(f.store());
    let mut huge = observation_entry(
        5,
        3,
        observation("burst", "2026-11-20T11:30:01Z", (40.3, 46.3), "post-5"),
        None,
    );
    huge.bytes = vec![b' '; truce_core::entry::MAX_ENTRY_BYTES + 1];
    let err = f
        .store()
        .append(&batch(vec![
            observation_entry(
                4,
                3,
                observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-4"),
                None,
            ),
            huge,
        ]))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_untouched(&f, head, &before);
    assert_keeps_working(&f, head);
}

pub fn append_failing_on_a_duplicate_agreement_version_leaves_nothing<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let before = all_entries(f.store());
    let mut amended = agreement_doc();
    amended.name = "Amended".into();
    let err = f
        .store()
        .append(&batch(vec![
            observation_entry(
                4,
                3,
                observation("burst", "2026-11-20T11:30:00Z", (40.3, 46.3), "post-4"),
                None,
            ),
            agreement_entry(1, &amended),
        ]))
        .unwrap_err();
    assert!(failed_at(&err).is_some(), "{err:?}");
    assert_untouched(&f, head, &before);
    assert_eq!(f.store().agreement().unwrap(), Some((1, agreement_doc())));
    assert_keeps_working(&f, head);
}

pub fn reopening_the_file_restores_the_head_and_appends_continue<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let entries = all_entries(f.store());

    let f = f.reopen();
    assert_eq!(f.store().head().unwrap(), head);
    assert_eq!(all_entries(f.store()), entries);
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(3), IncidentId(2))
    );
    assert_keeps_working(&f, head);

    // And once more, after the append made on the reopened file.
    let head = f.store().head().unwrap();
    let f = f.reopen();
    assert_eq!(f.store().head().unwrap(), head);
    assert_eq!(verify_chain(f.store()).unwrap().chain, head.chain);
}

pub fn client_records_find_stored_client_ids_with_their_content_hash<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let a = Uuid::from_u128(0xa);
    let b = Uuid::from_u128(0xb);
    let unknown = Uuid::from_u128(0xc);
    let obs_a = observation_with_client(
        "shot",
        "2026-11-20T11:00:01Z",
        (40.2, 46.2),
        "post-a",
        Some(a),
    );
    let obs_b = observation_with_client(
        "burst",
        "2026-11-20T11:30:00Z",
        (40.3, 46.3),
        "post-b",
        Some(b),
    );
    f.store()
        .append(&batch(vec![
            client_entry(4, 2, obs_a.clone()),
            client_entry(5, 3, obs_b.clone()),
        ]))
        .unwrap();

    assert!(f.store().client_records(&[]).unwrap().is_empty());
    assert!(f.store().client_records(&[unknown]).unwrap().is_empty());
    let records = f.store().client_records(&[b, unknown, a]).unwrap();
    assert_eq!(
        records,
        vec![
            ClientRecord {
                client_id: b,
                content_hash: content_hash(&obs_b),
                observation_id: ObservationId(5),
                incident_id: IncidentId(3),
            },
            ClientRecord {
                client_id: a,
                content_hash: content_hash(&obs_a),
                observation_id: ObservationId(4),
                incident_id: IncidentId(2),
            },
        ]
    );
    // They survive a reopen.
    let f = f.reopen();
    assert_eq!(f.store().client_records(&[a, b]).unwrap().len(), 2);
}

pub fn observation_round_trips_with_its_entry_index_and_incident<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let client = Uuid::from_u128(0x1234);
    let mut original = observation_with_client(
        "explosion",
        "2026-11-20T10:00:07.25Z",
        (40.0005, 46.0005),
        "post-7",
        Some(client),
    );
    original.notes = Some("heard, then seen: smoke to the north-east".into());
    original.count = 3;
    f.store()
        .append(&batch(vec![client_entry(4, 1, original.clone())]))
        .unwrap();

    let stored = f.store().observation(ObservationId(4)).unwrap().unwrap();
    assert_eq!(
        stored,
        StoredObservation {
            id: ObservationId(4),
            incident_id: IncidentId(1),
            entry_index: 6,
            recorded_at: recorded_at(),
            observation: original,
        }
    );
    let first = f.store().observation(ObservationId(1)).unwrap().unwrap();
    assert_eq!(first.entry_index, 1);
    assert_eq!(first.incident_id, IncidentId(1));
    assert_eq!(first.observation.reporter, "post-1");
    let third = f.store().observation(ObservationId(3)).unwrap().unwrap();
    assert_eq!(third.entry_index, 4);
    assert_eq!(third.incident_id, IncidentId(2));
    assert_eq!(third.observation.kind, Kind::Shot);
    assert_eq!(f.store().observation(ObservationId(99)).unwrap(), None);
}

/// Four incidents to filter; see the comments for what tells them apart.
fn filter_record(store: &dyn Store) {
    store
        .append(&batch(vec![agreement_entry(1, &agreement_doc())]))
        .unwrap();
    // 1: explosion at 40N 46E, 10:00-10:01, clause 1, side a, reported.
    let mut one = estimate(
        Kind::Explosion,
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:01:00Z",
        Some((40.0, 46.0)),
    );
    one.findings = findings(&["1"]);
    one.attribution = Attribution {
        side: "a".into(),
        reason: "in a's area".into(),
    };
    // 2: shot at 40.5N 46.5E, 11:00-11:05, clause 11 (not 1), side b, disputed.
    let mut two = estimate(
        Kind::Shot,
        "2026-11-20T11:00:00Z",
        "2026-11-20T11:05:00Z",
        Some((40.5, 46.5)),
    );
    two.findings = findings(&["11"]);
    two.attribution = Attribution {
        side: "b".into(),
        reason: "in b's area".into(),
    };
    two.status = Status::Disputed;
    // 3: explosion with no position, at 12:00, no findings, undetermined, reported.
    let three = estimate(
        Kind::Explosion,
        "2026-11-20T12:00:00Z",
        "2026-11-20T12:00:00Z",
        None,
    );
    // 4: burst just west of the antimeridian, 09:00-09:30, clauses 2 and 1, side a, confirmed.
    let mut four = estimate(
        Kind::Burst,
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:30:00Z",
        Some((39.0, 179.5)),
    );
    four.findings = findings(&["2", "1"]);
    four.attribution = Attribution {
        side: "a".into(),
        reason: "in a's area".into(),
    };
    four.status = Status::JointlyConfirmed;
    let mut entries = Vec::new();
    for (k, (est, at)) in [
        (&one, (40.0, 46.0)),
        (&two, (40.5, 46.5)),
        (&three, (0.0, 0.0)),
        (&four, (39.0, 179.5)),
    ]
    .into_iter()
    .enumerate()
    {
        let id = k as u64 + 1;
        entries.push(observation_entry(
            id,
            id,
            observation(
                est.kind.as_str(),
                &est.first_seen.to_string(),
                at,
                &format!("post-{id}"),
            ),
            None,
        ));
        entries.push(revision_entry(id, 1, &[id], est.clone()));
    }
    store.append(&batch(entries)).unwrap();
}

fn ids(incidents: &[Incident]) -> Vec<u64> {
    incidents.iter().map(|i| i.id.0).collect()
}

fn listed(store: &dyn Store, filter: IncidentFilter) -> Vec<u64> {
    ids(&store.incidents(&filter).unwrap())
}

pub fn incidents_are_listed_most_recently_seen_first<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let all = f.store().incidents(&IncidentFilter::default()).unwrap();
    assert_eq!(ids(&all), vec![3, 2, 1, 4]);
    assert_eq!(all[1].estimate.status, Status::Disputed);
    assert_eq!(all[1].observation_ids, vec![ObservationId(2)]);
    assert_eq!(all[1].revision, 1);
}

pub fn incidents_filter_by_bbox_including_across_the_antimeridian<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let bbox = |b: [f64; 4]| IncidentFilter {
        bbox: Some(b),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), bbox([45.9, 39.9, 46.1, 40.1])), vec![1]);
    assert_eq!(
        listed(f.store(), bbox([45.0, 39.0, 47.0, 41.0])),
        vec![2, 1]
    );
    // Edges are inside.
    assert_eq!(listed(f.store(), bbox([46.5, 40.5, 47.0, 41.0])), vec![2]);
    // West > east: the box crosses the antimeridian.
    assert_eq!(
        listed(f.store(), bbox([179.0, 38.0, -179.0, 40.0])),
        vec![4]
    );
    // An incident with no position lies in no box, not even the whole world.
    assert_eq!(
        listed(f.store(), bbox([-180.0, -90.0, 180.0, 90.0])),
        vec![2, 1, 4]
    );
    assert!(listed(f.store(), bbox([10.0, 10.0, 11.0, 11.0])).is_empty());
}

pub fn incidents_filter_by_since_and_until<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let since = |t: &str| IncidentFilter {
        since: Some(ts(t)),
        ..IncidentFilter::default()
    };
    let until = |t: &str| IncidentFilter {
        until: Some(ts(t)),
        ..IncidentFilter::default()
    };
    // `since` keeps incidents still seen at or after it.
    assert_eq!(listed(f.store(), since("2026-11-20T11:00:00Z")), vec![3, 2]);
    assert_eq!(
        listed(f.store(), since("2026-11-20T10:01:00Z")),
        vec![3, 2, 1]
    );
    assert_eq!(
        listed(f.store(), since("2026-11-20T10:01:00.000000001Z")),
        vec![3, 2]
    );
    // `until` keeps incidents that began at or before it.
    assert_eq!(listed(f.store(), until("2026-11-20T10:00:00Z")), vec![1, 4]);
    assert_eq!(listed(f.store(), until("2026-11-20T09:59:59Z")), vec![4]);
    let window = IncidentFilter {
        since: Some(ts("2026-11-20T10:30:00Z")),
        until: Some(ts("2026-11-20T11:30:00Z")),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), window), vec![2]);
    // Far-off bounds saturate instead of wrapping.
    assert_eq!(
        listed(f.store(), until("9999-12-31T23:59:59Z")),
        vec![3, 2, 1, 4]
    );
    assert!(listed(f.store(), since("9999-12-31T23:59:59Z")).is_empty());
}

pub fn incidents_filter_by_kind_status_and_side<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let kind = |k| IncidentFilter {
        kind: Some(k),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), kind(Kind::Explosion)), vec![3, 1]);
    assert_eq!(listed(f.store(), kind(Kind::Burst)), vec![4]);
    assert!(listed(f.store(), kind(Kind::Flare)).is_empty());
    let status = |s| IncidentFilter {
        status: Some(s),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), status(Status::Reported)), vec![3, 1]);
    assert_eq!(listed(f.store(), status(Status::Disputed)), vec![2]);
    assert_eq!(listed(f.store(), status(Status::JointlyConfirmed)), vec![4]);
    assert!(listed(f.store(), status(Status::UnderReview)).is_empty());
    let side = |s: &str| IncidentFilter {
        side: Some(s.into()),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), side("a")), vec![1, 4]);
    assert_eq!(listed(f.store(), side("b")), vec![2]);
    assert_eq!(listed(f.store(), side("undetermined")), vec![3]);
    assert!(listed(f.store(), side("c")).is_empty());
}

pub fn incidents_filter_by_clause_matches_whole_clause_ids_only<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let clause = |c: &str| IncidentFilter {
        clause: Some(c.into()),
        ..IncidentFilter::default()
    };
    // Clause "1" must not match incident 2's clause "11".
    assert_eq!(listed(f.store(), clause("1")), vec![1, 4]);
    assert_eq!(listed(f.store(), clause("11")), vec![2]);
    assert_eq!(listed(f.store(), clause("2")), vec![4]);
    assert!(listed(f.store(), clause("3")).is_empty());
    assert!(listed(f.store(), clause("")).is_empty());
}

pub fn incidents_limit_and_combined_filters<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    let limit = |n| IncidentFilter {
        limit: Some(n),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), limit(2)), vec![3, 2]);
    assert_eq!(listed(f.store(), limit(1)), vec![3]);
    assert!(listed(f.store(), limit(0)).is_empty());
    assert_eq!(listed(f.store(), limit(u32::MAX)), vec![3, 2, 1, 4]);
    let combined = IncidentFilter {
        bbox: Some([-180.0, -90.0, 180.0, 90.0]),
        side: Some("a".into()),
        clause: Some("1".into()),
        since: Some(ts("2026-11-20T09:45:00Z")),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), combined), vec![1]);
}

pub fn a_revision_updates_the_incident_and_its_place_in_the_list<B: Backend>() {
    let f = B::new();
    filter_record(f.store());
    // Incident 4 is seen again at 13:00 and confirmed no more.
    let mut four = estimate(
        Kind::Burst,
        "2026-11-20T09:00:00Z",
        "2026-11-20T13:00:00Z",
        Some((39.0005, 179.5)),
    );
    four.attribution = Attribution {
        side: "b".into(),
        reason: "re-estimated into b's area".into(),
    };
    four.status = Status::UnderReview;
    let receipt = f
        .store()
        .append(&batch(vec![
            observation_entry(
                5,
                4,
                observation("burst", "2026-11-20T13:00:00Z", (39.001, 179.5), "post-5"),
                None,
            ),
            revision_entry(4, 2, &[5], four.clone()),
        ]))
        .unwrap();
    assert_eq!(
        listed(f.store(), IncidentFilter::default()),
        vec![4, 3, 2, 1]
    );
    let incident = f.store().incident(IncidentId(4)).unwrap().unwrap();
    assert_eq!(incident.revision, 2);
    assert_eq!(incident.estimate, four);
    assert_eq!(
        incident.observation_ids,
        vec![ObservationId(4), ObservationId(5)]
    );
    assert!(incident.assessments.is_empty());
    // The old filter values no longer match; the new ones do.
    let clause_1 = IncidentFilter {
        clause: Some("1".into()),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), clause_1), vec![1]);
    let side_b = IncidentFilter {
        side: Some("b".into()),
        ..IncidentFilter::default()
    };
    assert_eq!(listed(f.store(), side_b), vec![4, 2]);
    let estimates = f.store().latest_estimates().unwrap();
    let (_, revision, estimate) = estimates
        .iter()
        .find(|(id, _, _)| *id == IncidentId(4))
        .unwrap();
    assert_eq!((*revision, estimate), (2, &four));
    assert_eq!(receipt.head.size, 11);
}

pub fn latest_estimates_and_max_ids_cover_every_incident<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    // Incident 7 (numbers need not be dense here) has no position; incident 1 is revised.
    let lost = estimate(
        Kind::Flare,
        "2026-11-20T11:40:00Z",
        "2026-11-20T11:40:00Z",
        None,
    );
    let blast = estimate(
        Kind::Explosion,
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:30Z",
        Some((40.0001, 46.0003)),
    );
    f.store()
        .append(&batch(vec![
            observation_entry(
                9,
                7,
                observation("flare", "2026-11-20T11:40:00Z", (40.9, 46.9), "post-9"),
                None,
            ),
            observation_entry(
                10,
                1,
                observation("explosion", "2026-11-20T10:00:30Z", (40.0, 46.0), "post-10"),
                None,
            ),
            revision_entry(7, 1, &[9], lost.clone()),
            revision_entry(1, 2, &[10], blast.clone()),
        ]))
        .unwrap();
    let estimates = f.store().latest_estimates().unwrap();
    let summary: Vec<(u64, u32)> = estimates.iter().map(|(id, r, _)| (id.0, *r)).collect();
    assert_eq!(summary, vec![(1, 2), (2, 1), (7, 1)]);
    assert_eq!(estimates[0].2, blast);
    assert_eq!(estimates[2].2, lost);
    assert_eq!(estimates[1].2.kind, Kind::Shot);
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(10), IncidentId(7))
    );
    let f = f.reopen();
    assert_eq!(f.store().latest_estimates().unwrap(), estimates);
    assert_eq!(
        f.store().max_ids().unwrap(),
        (ObservationId(10), IncidentId(7))
    );
}

pub fn agreement_returns_the_recorded_document<B: Backend>() {
    let f = B::new();
    let doc = agreement_doc();
    f.store()
        .append(&batch(vec![agreement_entry(1, &doc)]))
        .unwrap();
    assert_eq!(f.store().agreement().unwrap(), Some((1, doc.clone())));
    // A later version is the one in force.
    let mut amended = doc.clone();
    amended.name = "Amended".into();
    f.store()
        .append(&batch(vec![agreement_entry(2, &amended)]))
        .unwrap();
    assert_eq!(f.store().agreement().unwrap(), Some((2, amended.clone())));
    let f = f.reopen();
    assert_eq!(f.store().agreement().unwrap(), Some((2, amended)));
    let report = verify_chain(f.store()).unwrap();
    assert_eq!((report.size, report.observations), (2, 0));
}

pub fn schema_newer_than_this_build_is_refused<B: Backend>() {
    let f = B::new();
    let known = f.schema_version();
    assert!(known >= 1);
    let err = f
        .reopen_at_version(99)
        .err()
        .expect("a newer schema is refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, known: k } if k == known),
        "{err:?}"
    );
}

pub fn schema_at_this_version_opens_without_migrating_again<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let f = f.reopen().reopen();
    assert_eq!(f.store().head().unwrap().size, 6);
}

pub fn verify_chain_passes_on_a_good_store<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let report = verify_chain(f.store()).unwrap();
    assert_eq!(report.size, 6);
    assert_eq!(report.chain, f.store().head().unwrap().chain);
    assert_eq!(report.observations, 3);
    assert_eq!(report.incident_revisions, 2);
}

/// The body of entry `idx` as stored.
fn body_of<B: Backend>(f: &B, idx: i64) -> Vec<u8> {
    f.bytes(&format!("SELECT body FROM entries WHERE idx = {idx}"))
}

/// The statement an operator would run to store `body` as entry `idx`.
fn set_body<B: Backend>(idx: i64, body: &[u8]) -> String {
    format!(
        "UPDATE entries SET body = {} WHERE idx = {idx}",
        B::blob(body)
    )
}

pub fn verify_chain_names_the_entry_whose_body_byte_changed<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    // One letter of observation 2's reporter: still a canonical entry, just not the one chained.
    let mut body = body_of(&f, 2);
    let at = body.windows(6).position(|w| w == b"post-2").unwrap();
    body[at + 5] = b'8';
    assert!(EntryBody::from_canonical_bytes(&body).is_ok());
    let f = f.tamper(&[set_body::<B>(2, &body)]);
    match verify_chain(f.store()) {
        Err(ChainFault::ChainMismatch { index }) => assert_eq!(index, 2),
        other => panic!("expected a chain mismatch at entry 2, got {other:?}"),
    }
}

pub fn verify_chain_names_the_entry_whose_bytes_are_no_longer_canonical<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let mut body = body_of(&f, 4);
    body.insert(1, b' ');
    let f = f.tamper(&[set_body::<B>(4, &body)]);
    match verify_chain(f.store()) {
        Err(ChainFault::BadEntry { index, .. }) => assert_eq!(index, 4),
        other => panic!("expected a bad entry at 4, got {other:?}"),
    }
}

pub fn verify_chain_names_the_entry_whose_chain_hash_changed<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let mut chain = f.bytes("SELECT chain FROM entries WHERE idx = 3");
    chain[0] ^= 1;
    let f = f.tamper(&[format!(
        "UPDATE entries SET chain = {} WHERE idx = 3",
        B::blob(&chain)
    )]);
    match verify_chain(f.store()) {
        Err(ChainFault::ChainMismatch { index }) => assert_eq!(index, 3),
        other => panic!("expected a chain mismatch at entry 3, got {other:?}"),
    }
}

pub fn verify_chain_names_a_deleted_middle_entry_as_a_gap<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    let f = f.tamper(&["DELETE FROM entries WHERE idx = 2".to_string()]);
    assert!(
        f.store().entries(2, 1).unwrap()[0].index == 3,
        "entry 2 is gone"
    );
    // The head is where the last entry left it.
    assert_eq!(f.store().head().unwrap(), head);
    match verify_chain(f.store()) {
        Err(ChainFault::Gap { expected, found }) => assert_eq!((expected, found), (2, 3)),
        other => panic!("expected a gap at entry 2, got {other:?}"),
    }
}

// --- The Merkle ledger -------------------------------------------------------------------

/// The root a frontier computes over exactly the stored entries' bytes.
fn expected_root(store: &dyn Store) -> Hash {
    let mut f = truce_ledger::tree::Frontier::new();
    for e in all_entries(store) {
        f.append(&e.bytes);
    }
    f.root().0
}

pub fn the_head_root_is_the_merkle_root_of_the_entries_and_survives_reopening<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let head = f.store().head().unwrap();
    assert_eq!(head.root, expected_root(f.store()));
    // Every stored hash a proof needs is there: the tree hash read back equals the root.
    struct Reader<'a>(&'a dyn Store);
    impl truce_ledger::HashReader for Reader<'_> {
        fn read_hashes(
            &self,
            i: &[u64],
        ) -> Result<Vec<truce_ledger::Hash>, truce_ledger::TlogError> {
            self.0
                .tree_hashes(i)
                .map(|v| v.into_iter().map(truce_ledger::Hash).collect())
                .map_err(|_| truce_ledger::TlogError::IndexesNotInTree)
        }
    }
    let th = tlog_tiles::tree_hash(head.size, &Reader(f.store())).unwrap();
    assert_eq!(th.0, head.root);
    let f = f.reopen();
    let reopened = f.store();
    assert_eq!(reopened.head().unwrap(), head);
    reopened
        .append(&batch(vec![observation_entry(
            100,
            50,
            observation("shot", "2026-11-20T12:00:00Z", (40.0, 46.0), "post-9"),
            None,
        )]))
        .unwrap();
    assert_eq!(reopened.head().unwrap().root, expected_root(reopened));
}

pub fn checkpoints_are_kept_oldest_first_never_replaced_and_carry_cosignatures<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let size = f.store().head().unwrap().size;
    assert!(f.store().latest_checkpoint().unwrap().is_none());
    f.store().add_checkpoint(2, b"note at 2\n").unwrap();
    f.store().add_checkpoint(size, b"note at size\n").unwrap();
    assert!(
        f.store().add_checkpoint(size, b"another\n").is_err(),
        "a checkpoint is never replaced"
    );
    assert!(
        f.store().add_checkpoint(size + 1, b"ahead\n").is_err(),
        "no checkpoint beyond the record"
    );
    f.store()
        .add_cosignature(size, "m1", "\u{2014} m1 AAAA\n")
        .unwrap();
    let latest = f.store().latest_checkpoint().unwrap().unwrap();
    assert_eq!(latest.size, size);
    assert_eq!(
        latest.cosigned_note(),
        "note at size\n\u{2014} m1 AAAA\n".as_bytes()
    );
    let all = f.store().checkpoints().unwrap();
    assert_eq!(
        all.iter().map(|c| c.size).collect::<Vec<_>>(),
        vec![2, size]
    );
}

/// The agreed checkpoint is the latest one every named witness cosigned, whichever order the
/// witnesses cosigned in, and only while they all have; each witness's latest is its own.
pub fn the_agreed_checkpoint_is_the_latest_every_witness_cosigned<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let s = f.store();
    let both = ["m1".to_string(), "m2".to_string()];
    assert!(s.agreed_checkpoint(&both).unwrap().is_none());
    for size in 1..=3 {
        s.add_checkpoint(size, format!("note at {size}\n").as_bytes())
            .unwrap();
    }
    assert!(
        s.agreed_checkpoint(&both).unwrap().is_none(),
        "no cosignature yet"
    );
    assert_eq!(
        s.agreed_checkpoint(&[]).unwrap().unwrap().size,
        3,
        "no witnesses: the latest"
    );
    s.add_cosignature(1, "m1", "\u{2014} m1 AAAA\n").unwrap();
    assert!(
        s.agreed_checkpoint(&both).unwrap().is_none(),
        "m2 has cosigned nothing"
    );
    s.add_cosignature(1, "m2", "\u{2014} m2 BBBB\n").unwrap();
    s.add_cosignature(3, "m1", "\u{2014} m1 CCCC\n").unwrap();
    s.add_cosignature(2, "m2", "\u{2014} m2 DDDD\n").unwrap();
    let agreed = s.agreed_checkpoint(&both).unwrap().unwrap();
    assert_eq!(agreed.size, 1, "m1 skipped 2 and m2 has not reached 3");
    assert_eq!(
        agreed.cosigned_note(),
        "note at 1\n\u{2014} m1 AAAA\n\u{2014} m2 BBBB\n".as_bytes()
    );
    assert_eq!(
        s.agreed_checkpoint(&["m1".to_string(), "m1".to_string()])
            .unwrap()
            .unwrap()
            .size,
        3,
        "a witness named twice counts once"
    );
    assert_eq!(s.latest_cosigned("m1").unwrap(), Some(3));
    assert_eq!(s.latest_cosigned("m2").unwrap(), Some(2));
    assert_eq!(s.latest_cosigned("m3").unwrap(), None);
    s.add_cosignature(3, "m2", "\u{2014} m2 EEEE\n").unwrap();
    assert_eq!(s.agreed_checkpoint(&both).unwrap().unwrap().size, 3);
    let third = s.checkpoint(3).unwrap().unwrap();
    assert_eq!(third.cosignatures.len(), 2);
    assert_eq!(third.note, b"note at 3\n");
    assert!(s.checkpoint(4).unwrap().is_none());
}

/// An entry whose bytes no read decodes (verdicts, notes, members, tracks and files are read
/// from their tables), with `projection`.
fn plain_entry(type_name: &'static str, projection: Projection) -> NewEntry {
    NewEntry {
        bytes: format!("{{\"type\":\"{type_name}\"}}").into_bytes(),
        type_name,
        projection,
    }
}

/// One batch holding every kind of projection, some depending on others of the same batch
/// (the order PostgreSQL's bulk writer must keep): a revision moving an observation, a verdict
/// then a later revision of the same incident, a kind correction, a member, a track point and
/// an evidence hand-in.
pub fn one_batch_of_every_projection_applies_in_order<B: Backend>() {
    let f = B::new();
    standard_record(f.store());
    let at = ts("2026-11-20T12:30:00Z");
    let mut second = estimate(
        Kind::Burst,
        "2026-11-20T11:00:00Z",
        "2026-11-20T11:05:00Z",
        Some((40.3, 46.3)),
    );
    let mut moving = revision_entry(2, 2, &[2], second.clone());
    if let Projection::Incident { moved, .. } = &mut moving.projection {
        moved.push(ObservationId(2));
    }
    second.status = Status::Reported;
    let later = revision_entry(2, 3, &[], second);
    let head = f.store().head().unwrap();
    f.store()
        .append(&batch(vec![
            moving,
            plain_entry(
                "assessment",
                Projection::Assessment {
                    incident_id: IncidentId(2),
                    monitor: "m1".into(),
                    verdict: truce_core::access::Verdict::Dispute,
                    reason: "seen elsewhere".into(),
                    user: "m1-officer".into(),
                    at,
                    status: Status::Disputed,
                },
            ),
            plain_entry(
                "annotation",
                Projection::Annotation {
                    incident_id: IncidentId(1),
                    user: "m1-analyst".into(),
                    text: "a burst, not a blast".into(),
                    corrected_kind: Some(Kind::Burst),
                    at,
                },
            ),
            later,
            plain_entry(
                "membership",
                Projection::Membership {
                    user: "op-9".into(),
                    monitor: "m1".into(),
                    role: truce_core::access::Role::Observer,
                    active: true,
                    token_hash: Some("$argon2id$x".into()),
                },
            ),
            plain_entry(
                "track_point",
                Projection::Track {
                    row: crate::TrackRow {
                        entry: 0,
                        monitor: "m1".into(),
                        device: "uav-1".into(),
                        callsign: "Kite".into(),
                        platform: "air".into(),
                        at_ns: 1_795_000_000_000_000_000,
                        lat: 40.1,
                        lon: 46.1,
                    },
                },
            ),
            plain_entry(
                "evidence",
                Projection::Evidence {
                    row: crate::EvidenceRow {
                        entry: 0,
                        sha256: "ab".repeat(32),
                        size: 12,
                        media_type: "image/png".into(),
                        user: "op-9".into(),
                        monitor: "m1".into(),
                        received_ns: 1_795_000_000_000_000_000,
                    },
                },
            ),
        ]))
        .unwrap();
    let first = head.size;
    // The observation moved; the later revision's status stands over the verdict's.
    assert_eq!(
        f.store()
            .observation(ObservationId(2))
            .unwrap()
            .unwrap()
            .incident_id,
        IncidentId(2)
    );
    let two = f.store().incident(IncidentId(2)).unwrap().unwrap();
    assert_eq!((two.revision, two.estimate.status), (3, Status::Reported));
    assert_eq!(
        two.observation_ids,
        vec![ObservationId(2), ObservationId(3)]
    );
    assert_eq!(two.assessments.len(), 1);
    let one = f.store().incident(IncidentId(1)).unwrap().unwrap();
    assert_eq!(one.estimate.kind, Kind::Burst);
    assert_eq!(one.observation_ids, vec![ObservationId(1)]);
    assert_eq!(
        f.store().corrected_kinds().unwrap(),
        vec![(IncidentId(1), Kind::Burst)]
    );
    let rows = f.store().assessment_rows(-1, 10).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.entry, r.verdict.as_str()))
            .collect::<Vec<_>>(),
        vec![(first + 1, "dispute")]
    );
    let member = f.store().member("op-9").unwrap().unwrap();
    assert_eq!((member.entry, member.active), (first + 4, true));
    let tracks = f.store().track_rows(-1, 0, i64::MAX, 10).unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        (tracks[0].entry, tracks[0].device.as_str()),
        (first + 5, "uav-1")
    );
    assert!(f.store().track_rows(-1, 0, 1, 10).unwrap().is_empty());
    let files = f
        .store()
        .evidence_rows(Some(&"ab".repeat(32)), -1, 10)
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].entry, first + 6);
    assert!(
        f.store()
            .evidence_rows(Some("cd"), -1, 10)
            .unwrap()
            .is_empty()
    );
    // The row readers see the same.
    let incidents = f.store().incident_rows(0, 10).unwrap();
    assert_eq!(
        incidents
            .iter()
            .map(|r| (r.id, r.revision, r.status.as_str(), r.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, 1, "reported", "burst"), (2, 3, "reported", "burst")]
    );
    let observations = f.store().observation_rows(0, 10).unwrap();
    assert_eq!(
        observations
            .iter()
            .map(|r| (r.id, r.incident_id))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 2), (3, 2)]
    );
    assert_eq!(
        f.store().tree_hash_page(0, u64::MAX).unwrap().len() as u64,
        2 * f.store().head().unwrap().size - u64::from(f.store().head().unwrap().size.count_ones())
    );
}

/// Instantiates every test of the suite as a `#[test]` for `$backend`.
macro_rules! conformance_suite {
    ($backend:ty) => {
        #[test]
        fn one_batch_of_every_projection_applies_in_order() {
            $crate::conformance::one_batch_of_every_projection_applies_in_order::<$backend>();
        }
        #[test]
        fn fresh_store_has_an_empty_head_and_zero_chain() {
            $crate::conformance::fresh_store_has_an_empty_head_and_zero_chain::<$backend>();
        }
        #[test]
        fn process_durability_opens_and_appends_too() {
            $crate::conformance::process_durability_opens_and_appends_too::<$backend>();
        }
        #[test]
        fn append_advances_the_head_and_entries_hold_the_exact_bytes_chained() {
            $crate::conformance::append_advances_the_head_and_entries_hold_the_exact_bytes_chained::<$backend>();
        }
        #[test]
        fn entries_from_beyond_i64_max_is_empty_not_the_start_of_the_record() {
            $crate::conformance::entries_from_beyond_i64_max_is_empty_not_the_start_of_the_record::<$backend>();
        }
        #[test]
        fn empty_batch_appends_nothing() {
            $crate::conformance::empty_batch_appends_nothing::<$backend>();
        }
        #[test]
        fn append_failing_on_a_duplicate_observation_id_leaves_nothing() {
            $crate::conformance::append_failing_on_a_duplicate_observation_id_leaves_nothing::<$backend>();
        }
        #[test]
        fn append_failing_on_a_duplicate_client_id_leaves_nothing() {
            $crate::conformance::append_failing_on_a_duplicate_client_id_leaves_nothing::<$backend>();
        }
        #[test]
        fn append_failing_on_an_oversized_second_entry_leaves_nothing() {
            $crate::conformance::append_failing_on_an_oversized_second_entry_leaves_nothing::<$backend>();
        }
        #[test]
        fn append_failing_on_a_duplicate_agreement_version_leaves_nothing() {
            $crate::conformance::append_failing_on_a_duplicate_agreement_version_leaves_nothing::<$backend>();
        }
        #[test]
        fn reopening_the_file_restores_the_head_and_appends_continue() {
            $crate::conformance::reopening_the_file_restores_the_head_and_appends_continue::<$backend>();
        }
        #[test]
        fn client_records_find_stored_client_ids_with_their_content_hash() {
            $crate::conformance::client_records_find_stored_client_ids_with_their_content_hash::<$backend>();
        }
        #[test]
        fn observation_round_trips_with_its_entry_index_and_incident() {
            $crate::conformance::observation_round_trips_with_its_entry_index_and_incident::<$backend>();
        }
        #[test]
        fn incidents_are_listed_most_recently_seen_first() {
            $crate::conformance::incidents_are_listed_most_recently_seen_first::<$backend>();
        }
        #[test]
        fn incidents_filter_by_bbox_including_across_the_antimeridian() {
            $crate::conformance::incidents_filter_by_bbox_including_across_the_antimeridian::<$backend>();
        }
        #[test]
        fn incidents_filter_by_since_and_until() {
            $crate::conformance::incidents_filter_by_since_and_until::<$backend>();
        }
        #[test]
        fn incidents_filter_by_kind_status_and_side() {
            $crate::conformance::incidents_filter_by_kind_status_and_side::<$backend>();
        }
        #[test]
        fn incidents_filter_by_clause_matches_whole_clause_ids_only() {
            $crate::conformance::incidents_filter_by_clause_matches_whole_clause_ids_only::<$backend>();
        }
        #[test]
        fn incidents_limit_and_combined_filters() {
            $crate::conformance::incidents_limit_and_combined_filters::<$backend>();
        }
        #[test]
        fn a_revision_updates_the_incident_and_its_place_in_the_list() {
            $crate::conformance::a_revision_updates_the_incident_and_its_place_in_the_list::<$backend>();
        }
        #[test]
        fn latest_estimates_and_max_ids_cover_every_incident() {
            $crate::conformance::latest_estimates_and_max_ids_cover_every_incident::<$backend>();
        }
        #[test]
        fn agreement_returns_the_recorded_document() {
            $crate::conformance::agreement_returns_the_recorded_document::<$backend>();
        }
        #[test]
        fn schema_newer_than_this_build_is_refused() {
            $crate::conformance::schema_newer_than_this_build_is_refused::<$backend>();
        }
        #[test]
        fn schema_at_this_version_opens_without_migrating_again() {
            $crate::conformance::schema_at_this_version_opens_without_migrating_again::<$backend>();
        }
        #[test]
        fn verify_chain_passes_on_a_good_store() {
            $crate::conformance::verify_chain_passes_on_a_good_store::<$backend>();
        }
        #[test]
        fn verify_chain_names_the_entry_whose_body_byte_changed() {
            $crate::conformance::verify_chain_names_the_entry_whose_body_byte_changed::<$backend>();
        }
        #[test]
        fn verify_chain_names_the_entry_whose_bytes_are_no_longer_canonical() {
            $crate::conformance::verify_chain_names_the_entry_whose_bytes_are_no_longer_canonical::<$backend>();
        }
        #[test]
        fn verify_chain_names_the_entry_whose_chain_hash_changed() {
            $crate::conformance::verify_chain_names_the_entry_whose_chain_hash_changed::<$backend>();
        }
        #[test]
        fn verify_chain_names_a_deleted_middle_entry_as_a_gap() {
            $crate::conformance::verify_chain_names_a_deleted_middle_entry_as_a_gap::<$backend>();
        }
        #[test]
        fn the_head_root_is_the_merkle_root_of_the_entries_and_survives_reopening() {
            $crate::conformance::the_head_root_is_the_merkle_root_of_the_entries_and_survives_reopening::<$backend>();
        }
        #[test]
        fn checkpoints_are_kept_oldest_first_never_replaced_and_carry_cosignatures() {
            $crate::conformance::checkpoints_are_kept_oldest_first_never_replaced_and_carry_cosignatures::<$backend>();
        }
        #[test]
        fn the_agreed_checkpoint_is_the_latest_every_witness_cosigned() {
            $crate::conformance::the_agreed_checkpoint_is_the_latest_every_witness_cosigned::<$backend>();
        }
    };
}
pub(crate) use conformance_suite;
