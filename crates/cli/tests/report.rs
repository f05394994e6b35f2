//! The daily report with the real binary: made as PDF, issued by an officer, verified after
//! the record grew (remade from the record's first entries, byte for byte), and a changed copy
//! refused.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");

fn truce(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn ok(args: &[&str]) -> String {
    let (success, text) = truce(args);
    assert!(success, "truce {args:?}: {text}");
    text
}

/// A GeoJSON file of `n` explosions on 2026-11-20, from `minute` on, near (40.05, 46.65).
fn points(n: usize, minute: usize) -> String {
    let features: Vec<String> = (0..n)
        .map(|k| {
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{},{}]}},
                "properties":{{"kind":"explosion","observed_at":"2026-11-20T10:{:02}:00Z","accuracy_m":200}}}}"#,
                46.65 + 0.05 * k as f64,
                40.05 + 0.02 * minute as f64,
                minute + k
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

#[test]
fn an_issued_pdf_is_remade_byte_for_byte_after_the_record_grew() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let data = p("data");
    ok(&[
        "init",
        "--data",
        &data,
        "--agreement",
        &format!("{DEMO_DIR}/agreement.toml"),
    ]);
    for (user, role) in [("m1-observer", "observer"), ("m1-officer", "officer")] {
        ok(&[
            "user",
            "add",
            "--data",
            &data,
            "--monitor",
            "m1",
            "--role",
            role,
            user,
        ]);
    }
    std::fs::write(p("first.geojson"), points(3, 0)).unwrap();
    ok(&[
        "import",
        "--data",
        &data,
        "--format",
        "geojson",
        "--member",
        "m1-observer",
        &p("first.geojson"),
    ]);
    let report = p("report.pdf");
    let made = ok(&[
        "report",
        "daily",
        "--data",
        &data,
        "--date",
        "2026-11-20",
        "--out",
        &report,
        "--issue-as",
        "m1-officer",
    ]);
    assert!(made.contains("issued as entry"), "{made}");
    assert!(std::fs::read(&report).unwrap().starts_with(b"%PDF-"));
    let verified = ok(&["report", "verify", "--data", &data, &report]);
    assert!(verified.contains("byte-identical"), "{verified}");

    // The record grows: more reports in the same period. The issued file is still remade.
    std::fs::write(p("second.geojson"), points(4, 20)).unwrap();
    ok(&[
        "import",
        "--data",
        &data,
        "--format",
        "geojson",
        "--member",
        "m1-observer",
        &p("second.geojson"),
    ]);
    let verified = ok(&["report", "verify", "--data", &data, &report]);
    assert!(verified.contains("byte-identical"), "{verified}");
    // The auditor's whole check remakes every issued report from the entries' hashes alone.
    let audited = ok(&["verify", "--data", &data, "--reports"]);
    assert!(
        audited.contains("remade byte-identical") && audited.contains("1 issued reports, 0 not"),
        "{audited}"
    );
    let today = p("today.pdf");
    ok(&[
        "report",
        "daily",
        "--data",
        &data,
        "--date",
        "2026-11-20",
        "--out",
        &today,
    ]);
    assert_ne!(
        std::fs::read(&today).unwrap(),
        std::fs::read(&report).unwrap(),
        "today's report counts the new incidents"
    );
    let (success, text) = truce(&["report", "verify", "--data", &data, &today]);
    assert!(
        !success && text.contains("is not a report this record says it issued"),
        "{text}"
    );

    // A changed byte: not what was issued.
    let mut bytes = std::fs::read(&report).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(p("changed.pdf"), bytes).unwrap();
    let (success, text) = truce(&["report", "verify", "--data", &data, &p("changed.pdf")]);
    assert!(!success && text.contains("is not a report"), "{text}");

    let (success, text) = truce(&[
        "report",
        "daily",
        "--data",
        &data,
        "--date",
        "2026-11-20",
        "--out",
        &p("r.docx"),
    ]);
    assert!(!success && text.contains("--out"), "{text}");
}

#[test]
fn a_report_naming_a_cosigned_checkpoint_is_remade_with_it() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo").to_string_lossy().into_owned();
    // The demo signs a checkpoint every second and both monitors' witnesses cosign it.
    let mut demo = Command::new(BIN)
        .args([
            "demo",
            "--http",
            "127.0.0.1:0",
            "--cot-tcp",
            "127.0.0.1:0",
            "--interval",
            "0.2",
            "--data",
            &data,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("open:")),
        "the demo serves"
    );
    std::thread::spawn(move || lines.for_each(drop));
    std::thread::sleep(std::time::Duration::from_secs(6));
    demo.kill().unwrap();
    demo.wait().unwrap();

    let today = &truce_core::Timestamp::now().to_string()[..10];
    let report = dir.path().join("r.pdf").to_string_lossy().into_owned();
    ok(&[
        "report",
        "daily",
        "--data",
        &data,
        "--date",
        today,
        "--cutoff",
        "23:59",
        "--out",
        &report,
        "--issue-as",
        "m1-officer",
    ]);
    let db = rusqlite::Connection::open(dir.path().join("demo/truce.sqlite")).unwrap();
    let body: Vec<u8> = db
        .query_row(
            "SELECT body FROM entries WHERE type = 'report' ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(db);
    let entry: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(entry["checkpoint_size"].as_u64().is_some(), "{entry}");
    // The newest checkpoint may not have its cosignatures yet when the demo stops; the entry
    // names those it had, which the remake must print again.
    let cosigned = entry["cosigned_by"].as_array().cloned().unwrap_or_default();
    assert!(
        cosigned
            .iter()
            .all(|m| m == "Monitor 1" || m == "Monitor 2"),
        "{entry}"
    );
    assert!(entry["generator"].as_str().unwrap().starts_with("truce "));
    let audited = ok(&["verify", "--data", &data, "--reports"]);
    assert!(audited.contains("remade byte-identical"), "{audited}");
}
