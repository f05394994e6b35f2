//! Evidence end to end with the real binary: an observer hands a photo in to `truce serve`,
//! cites it in a report; `truce verify` checks the file against its hash, in the data folder
//! and in a bundle exported `--with-evidence`; a changed byte in the file, or an operator's
//! edit of the evidence table, makes `truce verify` fail naming it.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::BIN;
const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");
const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a crater";

/// Runs truce: whether it succeeded, and what it printed on stdout, then stderr.
fn truce(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs truce, which must succeed; its stdout.
fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = truce(args);
    assert!(success, "truce {args:?}: {stdout}{stderr}");
    stdout.trim().to_owned()
}

/// Runs truce, which must fail; what it printed.
fn fails(args: &[&str]) -> String {
    let (success, stdout, stderr) = truce(args);
    assert!(!success, "truce {args:?} succeeded: {stdout}");
    format!("{stdout}{stderr}")
}

#[test]
fn a_photo_is_handed_in_cited_exported_and_verified_and_a_changed_byte_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").to_string_lossy().into_owned();
    ok(&[
        "init",
        "--data",
        &data,
        "--agreement",
        &format!("{DEMO_DIR}/agreement.toml"),
    ]);
    let observer = ok(&[
        "user",
        "add",
        "--data",
        &data,
        "--monitor",
        "m1",
        "--role",
        "observer",
        "m1-observer",
    ]);
    let (mut server, url) = common::serve(&data);
    let auth = format!("Bearer {observer}");
    let mut reply = ureq::post(&format!(
        "{url}/api/evidence?name=crater.jpg&device=Pixel%208"
    ))
    .header("authorization", &auth)
    .header("content-type", "image/jpeg")
    .send(PHOTO)
    .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let receipt: serde_json::Value = reply.body_mut().read_json().unwrap();
    let sha = receipt["sha256"].as_str().unwrap().to_owned();
    let obs = serde_json::json!({"kind":"explosion","observed_at":"2026-11-20T10:00:00Z",
        "reporter":"post-7","geometry":{"type":"position","lat":40.05,"lon":46.65,"accuracy_m":50},
        "evidence":[{"sha256": sha, "media_type": "image/jpeg", "name": "crater.jpg"}]});
    let reply = ureq::post(&format!("{url}/api/observations"))
        .header("authorization", &auth)
        .send_json(&obs)
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    server.kill().unwrap();
    server.wait().unwrap();

    let stored = dir.path().join("data/evidence").join(&sha[..2]).join(&sha);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        PHOTO,
        "kept under its hash"
    );
    let verdict = ok(&["verify", "--data", &data]);
    assert!(verdict.contains("1 evidence files intact"), "{verdict}");

    let bare = dir.path().join("bare").to_string_lossy().into_owned();
    ok(&["ledger", "export", "--data", &data, "--out", &bare]);
    let verdict = ok(&["verify", &bare]);
    assert!(verdict.contains("not in this bundle"), "{verdict}");
    let bundle = dir.path().join("bundle").to_string_lossy().into_owned();
    let exported = ok(&[
        "ledger",
        "export",
        "--data",
        &data,
        "--out",
        &bundle,
        "--with-evidence",
    ]);
    assert!(exported.contains("with 1 evidence files"), "{exported}");
    let verdict = ok(&["verify", &bundle]);
    assert!(verdict.contains("1 evidence files intact"), "{verdict}");

    // One byte changed in the bundle's copy, then in the data folder's.
    let copy = dir
        .path()
        .join("bundle/evidence")
        .join(&sha[..2])
        .join(&sha);
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&copy, &bytes).unwrap();
    let text = fails(&["verify", &bundle]);
    assert!(text.contains(&format!("evidence {sha}: altered")), "{text}");
    std::fs::write(&stored, &bytes).unwrap();
    let text = fails(&["verify", "--data", &data]);
    assert!(text.contains("altered"), "{text}");
    std::fs::write(&stored, PHOTO).unwrap();
    ok(&["verify", "--data", &data]);

    // An operator gives the hand-in to someone else, in the table: the audit sees it.
    let db = rusqlite::Connection::open(dir.path().join("data/truce.sqlite")).unwrap();
    db.execute("UPDATE evidence SET user = 'm1-officer'", [])
        .unwrap();
    drop(db);
    let text = fails(&["verify", "--data", &data]);
    assert!(
        text.contains("evidence row") && text.contains("user or monitor"),
        "{text}"
    );
}
