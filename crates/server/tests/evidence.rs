//! Evidence and its chain of custody over HTTP: a file is handed in, kept under its hash,
//! recorded with who and when apart from what the device claims, served back byte for byte,
//! and only then citable by an observation. Bad files and bad claims are refused naming the
//! field, and nothing of them is stored.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::places::SIDE_B;
use common::{Api, at, observation, position, request};
use serde_json::{Value, json};

/// The first bytes of a JPEG file (SOI and an APP0 marker) and some content.
const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a crater, north-east of the village";

async fn hand_in_as(
    api: &Api,
    user: &str,
    media_type: &str,
    query: &str,
    bytes: &[u8],
) -> common::Reply {
    let token = format!("Bearer {}", api.token(user));
    api.send(request(
        Method::POST,
        &format!("/api/evidence{query}"),
        &[("content-type", media_type), ("authorization", &token)],
        Body::from(bytes.to_vec()),
    ))
    .await
}

#[tokio::test]
async fn a_file_is_kept_by_hash_and_its_custody_keeps_claims_apart() {
    let api = Api::new();
    let before = api.record_size().await;
    let query = "?name=crater.jpg&captured_at=2026-11-20T09:58:00Z&lat=40.05&lon=46.65&accuracy_m=8&device=Pixel%208";
    let first = hand_in_as(&api, "m1-observer", "image/jpeg", query, PHOTO).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let receipt = first.json();
    let sha = receipt["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, truce_core::entry::sha256_hex(PHOTO));
    assert_eq!(receipt["size"], json!(PHOTO.len()));
    assert_eq!(receipt["entry"], json!(before));
    assert_eq!(
        api.record_size().await,
        before + 1,
        "one entry: the hand-in"
    );

    // The same member, the same file, the same claims: nothing new.
    let again = hand_in_as(&api, "m1-observer", "image/jpeg", query, PHOTO).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["entry"], json!(before));
    // The same member corrects a claim: that is recorded, beside the first.
    let corrected = hand_in_as(
        &api,
        "m1-observer",
        "image/jpeg",
        "?name=crater.jpg&captured_at=2026-11-20T09:57:00Z&device=Pixel%208",
        PHOTO,
    )
    .await;
    assert_eq!(
        corrected.status,
        StatusCode::CREATED,
        "{}",
        corrected.text()
    );
    // Another monitor's observer hands in the same file: another link of its custody.
    let second = hand_in_as(&api, "m2-observer", "image/jpeg", "", PHOTO).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    assert_eq!(api.record_size().await, before + 3);

    let custody = api.get(&format!("/api/evidence/{sha}/custody")).await;
    assert_eq!(custody.status, StatusCode::OK, "{}", custody.text());
    let links = custody.json()["custody"].as_array().unwrap().clone();
    assert_eq!(links.len(), 3);
    assert_eq!(links[0]["by"], json!("m1-observer"));
    assert_eq!(links[0]["monitor"], json!("m1"));
    assert_eq!(links[0]["name"], json!("crater.jpg"));
    assert_eq!(
        links[0]["claimed"],
        json!({"captured_at": "2026-11-20T09:58:00Z", "lat": 40.05, "lon": 46.65, "accuracy_m": 8.0, "device": "Pixel 8"}),
        "what the device claims is kept as its claim"
    );
    assert_ne!(
        links[0]["received_at"], links[0]["claimed"]["captured_at"],
        "the center's time is its own"
    );
    assert_eq!(
        links[1]["claimed"],
        json!({"captured_at": "2026-11-20T09:57:00Z", "device": "Pixel 8"})
    );
    assert_eq!(links[2]["by"], json!("m2-observer"));
    assert_eq!(links[2]["claimed"], json!({}));

    let file = api.get(&format!("/api/evidence/{sha}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, PHOTO, "the bytes as handed in");
    assert_eq!(file.header("content-type"), Some("image/jpeg"));
    assert_eq!(file.header("content-disposition"), Some("attachment"));
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));

    // Any member may read it; an auditor may not hand one in.
    let as_auditor = hand_in_as(&api, "m1-auditor", "image/jpeg", "", PHOTO).await;
    as_auditor.assert_error(StatusCode::FORBIDDEN, "forbidden", None, None);
}

#[tokio::test]
async fn bad_files_and_bad_claims_are_refused_naming_the_field_and_nothing_is_stored() {
    let api = Api::new();
    let before = api.record_size().await;
    let cases: [(&str, &str, &[u8], &str); 8] = [
        ("image/jpeg", "", b"%PDF-1.7 not a photo", "media_type"),
        ("image/gif", "", b"GIF89a", "media_type"),
        ("image/jpeg", "", b"", "file"),
        ("image/jpeg", "?lat=40.0", PHOTO, "lon"),
        ("image/jpeg", "?lat=95&lon=46", PHOTO, "lat"),
        (
            "image/jpeg",
            "?captured_at=2099-01-01T00:00:00Z",
            PHOTO,
            "captured_at",
        ),
        ("image/jpeg", "?name=..%2Fetc%2Fpasswd", PHOTO, "name"),
        // A file the center does not hold (ZEROS: 64 zeros).
        ("image/jpeg", "?derived_from=ZEROS", PHOTO, "derived_from"),
    ];
    for (media_type, query, bytes, field) in cases {
        let query = query.replace("ZEROS", &"0".repeat(64));
        let reply = hand_in_as(&api, "m1-observer", media_type, &query, bytes).await;
        let message = reply.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            Some(field),
            None,
        );
        assert!(!message.is_empty(), "{field}");
    }
    let unknown = hand_in_as(&api, "m1-observer", "image/jpeg", "?colour=red", PHOTO).await;
    unknown.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
        Some("colour"),
        None,
    );
    assert_eq!(
        api.record_size().await,
        before,
        "nothing refused is recorded"
    );
    let folder = api.engine.evidence_dir().unwrap();
    let stored: usize = std::fs::read_dir(folder.root())
        .unwrap()
        .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(stored, 0, "and no file of it is kept");

    let bad_hash = api.get("/api/evidence/not-a-hash").await;
    bad_hash.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
        Some("sha256"),
        None,
    );
    let absent = api.get(&format!("/api/evidence/{}", "a".repeat(64))).await;
    absent.assert_error(StatusCode::NOT_FOUND, "not_found", None, None);
}

#[tokio::test]
async fn an_observation_cites_only_files_the_center_holds() {
    let api = Api::new();
    let sha = truce_core::entry::sha256_hex(PHOTO);
    let citing = |sha: &str| {
        let mut o = observation("explosion", &at(0.0), position(SIDE_B, 50.0));
        o["evidence"] = json!([{"sha256": sha, "media_type": "image/jpeg", "name": "crater.jpg"}]);
        json!([observation("shot", &at(1.0), position(SIDE_B, 50.0)), o])
    };
    let before = api.record_size().await;
    let refused = api.submit(&citing(&sha)).await;
    let message = refused.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
        Some("evidence[0].sha256"),
        Some(1),
    );
    assert!(message.contains("POST /api/evidence"), "{message}");
    assert_eq!(
        api.record_size().await,
        before,
        "the batch is all or nothing"
    );

    api.hand_in("image/jpeg", PHOTO).await;
    let accepted = api.submit(&citing(&sha)).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    let ids: Vec<Value> = accepted.json()["accepted"].as_array().unwrap().clone();
    let stored = api
        .get(&format!("/api/observations/{}", ids[1]["id"]))
        .await
        .json();
    assert_eq!(stored["evidence"][0]["sha256"], json!(sha));
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_before_it_is_read_whole() {
    let api = Api::new();
    let mut big = PHOTO.to_vec();
    big.resize(truce_core::evidence::MAX_EVIDENCE_BYTES + 1, 0);
    let reply = hand_in_as(&api, "m1-observer", "image/jpeg", "", &big).await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", None, None);
}
