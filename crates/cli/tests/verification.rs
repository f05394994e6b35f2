//! Joint verification end to end with the real binary: keys from `truce keygen`, an agreement
//! listing each monitor's assessment key, members from `truce user add`, a real `truce serve`;
//! two officers of two monitors confirm (jointly confirmed), one then disputes (disputed, both
//! reasons shown), and `truce verify` passes and names the signers.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::BIN;
const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");

fn truce(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "truce {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn post(url: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let mut response = ureq::post(url)
        .header("authorization", &format!("Bearer {token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(&body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap_or_default())
}

fn get(url: &str, token: &str) -> serde_json::Value {
    ureq::get(url)
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

#[test]
fn two_monitors_confirm_one_disputes_and_the_record_names_the_signers() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let key = |name: &str| {
        truce(&[
            "keygen",
            "--name",
            name,
            "--out",
            &p(&format!("{name}.key")),
        ]);
        std::fs::read_to_string(p(&format!("{name}.key.pub")))
            .unwrap()
            .trim()
            .to_string()
    };
    let log = key("test-log");
    let (a1, a2) = (key("assess-m1"), key("assess-m2"));
    let agreement = std::fs::read_to_string(format!("{DEMO_DIR}/agreement.toml")).unwrap()
        + &format!(
            "\n[ledger]\norigin = \"test.truce.invalid/log\"\nlog_key = \"{log}\"\n\
             [ledger.assessment_keys]\nm1 = \"{a1}\"\nm2 = \"{a2}\"\n"
        );
    std::fs::write(p("agreement.toml"), agreement).unwrap();
    std::fs::copy(format!("{DEMO_DIR}/zones.geojson"), p("zones.geojson")).unwrap();
    let data = p("data");
    truce(&[
        "init",
        "--data",
        &data,
        "--agreement",
        &p("agreement.toml"),
        "--log-key",
        &p("test-log.key"),
    ]);
    // Both monitors deposit their assessment keys with the center.
    for m in ["m1", "m2"] {
        std::fs::copy(
            p(&format!("assess-{m}.key")),
            format!("{data}/keys/assess-{m}.key"),
        )
        .unwrap();
    }
    let user = |m: &str, role: &str| {
        truce(&[
            "user",
            "add",
            "--data",
            &data,
            "--monitor",
            m,
            "--role",
            role,
            &format!("{m}-{role}"),
        ])
    };
    let observer = user("m1", "observer");
    let (officer1, officer2) = (user("m1", "officer"), user("m2", "officer"));

    let (mut server, url) = common::serve(&data);
    let obs = serde_json::json!({"kind":"access_denial","observed_at":"2026-11-20T10:00:00Z",
        "reporter":"m1-patrol","source":"patrol",
        "geometry":{"type":"position","lat":40.05,"lon":46.65,"accuracy_m":50},
        "notes":"patrol turned back at a checkpoint"});
    let (status, answer) = post(&format!("{url}/api/observations"), &observer, obs);
    assert_eq!(status, 201, "{answer}");
    let id = answer["accepted"][0]["incident_id"].as_u64().unwrap();
    let assess = |token: &str, verdict: &str, reason: &str| {
        post(
            &format!("{url}/api/incidents/{id}/assessments"),
            token,
            serde_json::json!({"verdict": verdict, "reason": reason}),
        )
    };
    let (s1, a) = assess(&officer1, "confirm", "our patrol was the one turned back");
    assert_eq!((s1, a["status"].as_str()), (201, Some("under_review")));
    let (_, a) = assess(&officer2, "confirm", "our liaison confirms");
    assert_eq!(a["status"], "jointly_confirmed");
    let (_, a) = assess(
        &officer2,
        "dispute",
        "the checkpoint was not manned that day",
    );
    assert_eq!(a["status"], "disputed");
    let incident = get(&format!("{url}/api/incidents/{id}"), &officer1);
    assert_eq!(incident["kind"], "access_denial");
    assert_eq!(incident["status"], "disputed");
    let reasons: Vec<&str> = incident["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "our patrol was the one turned back",
            "our liaison confirms",
            "the checkpoint was not manned that day"
        ]
    );
    let _ = server.kill();
    let _ = server.wait();

    let verified = truce(&["verify", "--data", &data]);
    assert!(verified.starts_with("ok:"), "{verified}");
    assert!(
        verified.contains("assessments signed by m1 (1), m2 (2)"),
        "{verified}"
    );

    // Every entry (agreement, members, observations, revisions, verdicts, notes) is exactly
    // what the record's first canonical encoder would have written.
    let db = rusqlite::Connection::open(format!("{data}/truce.sqlite")).unwrap();
    let mut stmt = db.prepare("SELECT type, body FROM entries").unwrap();
    let rows: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds: std::collections::BTreeSet<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    assert!(kinds.len() >= 5, "{kinds:?}");
    for (kind, body) in &rows {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap();
        let first = serde_json_canonicalizer::to_vec(&value).unwrap();
        assert!(
            first == *body,
            "a {kind} entry differs from the first encoder's bytes"
        );
    }
}
