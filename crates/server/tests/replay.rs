//! An issued report made again after the record grew: the record's first entries replayed into
//! an empty store give the same root, tables the audit accepts, and the same report bytes,
//! although verdicts, merges, splits, notes, tracks and evidence came after it.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::places::{SIDE_A, SIDE_B};
use common::{Api, at, observation, offset, position, request};
use serde_json::{Value, json};
use std::sync::Arc;
use truce_core::Timestamp;
use truce_core::track::{Platform, TrackPoint};
use truce_engine::Caller;
use truce_report::{CheckpointChoice, Format, Request};
use truce_store::{Durability, SqliteStore, Store};

async fn post_as(api: &Api, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let token = format!("Bearer {}", api.token(user));
    let reply = api
        .send(request(
            Method::POST,
            path,
            &[
                ("authorization", &token),
                ("content-type", "application/json"),
            ],
            Body::from(body.to_string()),
        ))
        .await;
    let status = reply.status;
    (
        status,
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
    )
}

/// Everything a record can hold, added through the API (and a track point through the
/// engine, as the TAK intake adds it).
async fn activity(api: &Api, t0: f64) -> Vec<u64> {
    let mut incidents = Vec::new();
    for (k, place) in [SIDE_A, SIDE_B, offset(SIDE_B, 30_000.0, 0.0)]
        .iter()
        .enumerate()
    {
        let (_, incident) = api
            .accept_one(&observation(
                "explosion",
                &at(t0 + k as f64 * 900.0),
                position(*place, 150.0),
            ))
            .await;
        incidents.push(incident);
    }
    let observer = Caller {
        user: "m1-observer".into(),
        monitor: "m1".into(),
        role: truce_core::access::Role::Observer,
    };
    api.engine
        .record_track(
            &observer,
            TrackPoint {
                device: "ANDROID-1".into(),
                callsign: "PATROL-1".into(),
                platform: Platform::Ground,
                lat: SIDE_A.0,
                lon: SIDE_A.1,
                hae_m: None,
                accuracy_m: Some(10.0),
                course_deg: None,
                speed_mps: None,
                observed_at: Timestamp::parse(&at(t0 + 60.0)).unwrap(),
                via: "cot tcp as m1-observer".into(),
            },
            // Recorded half a minute after the device was there.
            Timestamp::parse(&at(t0 + 90.0)).unwrap(),
        )
        .unwrap();
    incidents
}

#[tokio::test]
async fn an_issued_report_is_made_again_byte_for_byte_after_the_record_grew() {
    let api = Api::new();
    let first = activity(&api, 0.0).await;
    let (s, _) = post_as(
        &api,
        "m1-officer",
        &format!("/api/incidents/{}/assessments", first[0]),
        json!({"verdict": "confirm", "reason": "seen by our post"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    api.hand_in("image/jpeg", b"\xFF\xD8\xFF\xE0 crater").await;
    let (s, _) = post_as(
        &api,
        "m1-analyst",
        &format!("/api/incidents/{}/annotations", first[1]),
        json!({"text": "a second crater nearby", "corrected_kind": "damage"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let day = &at(0.0)[..10];
    for format in ["pdf", "html"] {
        let (s, issued) = post_as(
            &api,
            "m2-officer",
            &format!("/api/reports/daily?date={day}&cutoff=23:59&format={format}"),
            Value::Null,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{issued}");
        let sha = issued["sha256"].as_str().unwrap().to_owned();
        let size = issued["record_size"].as_u64().unwrap();

        // The record grows, and what the report counted changes: another monitor's verdict,
        // a merge, a split, more reports in the same period.
        let (s, _) = post_as(
            &api,
            "m2-officer",
            &format!("/api/incidents/{}/assessments", first[0]),
            json!({"verdict": "dispute", "reason": "not seen from our side"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let more = activity(&api, 3_600.0).await;
        let (s, body) = post_as(
            &api,
            "m1-analyst",
            &format!("/api/incidents/{}/merge", more[1]),
            json!({"into": more[2], "reason": "one event"}),
        )
        .await;
        assert!(s.is_success(), "merge: {body}");
        let merged = api.incident(more[2]).await;
        let moved = merged["observation_ids"][0].clone();
        let (s, body) = post_as(
            &api,
            "m1-analyst",
            &format!("/api/incidents/{}/split", more[2]),
            json!({"observation_ids": [moved], "reason": "two events after all"}),
        )
        .await;
        assert!(s.is_success(), "split: {body}");

        let store = api.engine.store();
        assert!(store.head().unwrap().size > size, "the record grew");
        let scratch = tempfile::tempdir().unwrap();
        let target =
            SqliteStore::open(&scratch.path().join("truce.sqlite"), Durability::Process).unwrap();
        let head = truce_engine::replay(store.as_ref(), size, &target).unwrap();
        assert_eq!(head.size, size);
        assert_eq!(
            truce_core::entry::hex(&head.root),
            issued_root(store.as_ref(), &sha),
            "the first {size} entries, replayed, have the root the report entry names"
        );
        let request = Request::parse(day, Some("23:59"), "en").unwrap();
        let report =
            truce_report::build_with(&target, &request, CheckpointChoice::Given(None)).unwrap();
        let bytes = truce_report::render(&report, Format::from_name(format).unwrap()).unwrap();
        assert_eq!(
            truce_core::entry::sha256_hex(&bytes),
            sha,
            "{format}: the report made again is the one issued"
        );
        // And today's report from the live record differs: it has grown.
        let now = truce_report::render(
            &truce_report::build(store.as_ref(), &request).unwrap(),
            Format::from_name(format).unwrap(),
        )
        .unwrap();
        assert_ne!(truce_core::entry::sha256_hex(&now), sha);
    }

    // The whole record replayed: the audit accepts the replayed tables as the entries' own,
    // and the report made from them is the live record's.
    let store = api.engine.store();
    let size = store.head().unwrap().size;
    let scratch = tempfile::tempdir().unwrap();
    let target = Arc::new(
        SqliteStore::open(&scratch.path().join("truce.sqlite"), Durability::Process).unwrap(),
    );
    let head = truce_engine::replay(store.as_ref(), size, target.as_ref()).unwrap();
    assert_eq!(head.root, store.head().unwrap().root);
    let agreement = api.engine.agreement();
    truce_engine::audit(target.as_ref(), agreement).unwrap();
    let request = Request::parse(day, Some("23:59"), "ru").unwrap();
    assert_eq!(
        truce_report::html(
            &truce_report::build_with(target.as_ref(), &request, CheckpointChoice::Given(None))
                .unwrap()
        ),
        truce_report::html(
            &truce_report::build_with(store.as_ref(), &request, CheckpointChoice::Given(None))
                .unwrap()
        ),
    );
}

/// The `record_root` of the report entry whose file hashes to `sha`.
fn issued_root(store: &dyn Store, sha: &str) -> String {
    let size = store.head().unwrap().size;
    store
        .entries(0, size)
        .unwrap()
        .into_iter()
        .find_map(
            |e| match truce_core::entry::EntryBody::decode(&e.bytes).unwrap() {
                truce_core::entry::EntryBody::Report {
                    sha256,
                    record_root,
                    ..
                } if sha256 == sha => Some(record_root),
                _ => None,
            },
        )
        .unwrap()
}
