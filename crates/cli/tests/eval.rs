//! Geolocation end to end, as an analyst runs it: `truce simulate` a day of the demo scenario,
//! submit its reports to a real server, and `truce eval` the incidents against the truth.

mod common;

use std::process::Command;

use common::BIN;
const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run truce");
    assert!(
        out.status.success(),
        "truce {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `key=` in the summary line.
fn figure(summary: &str, key: &str) -> f64 {
    summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {summary:?}"))
}

#[test]
fn simulated_reports_become_incidents_that_are_right_and_say_how_sure_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (obs, truth, data) = (p("obs.jsonl"), p("truth.jsonl"), p("data"));
    let said = run(&[
        "simulate",
        "--seed",
        "11",
        "--events",
        "600",
        "--observations",
        &obs,
        "--truth",
        &truth,
    ]);
    assert!(said.starts_with("600 events"), "{said}");
    run(&["init", "--data", &data, "--agreement", DEMO_AGREEMENT]);
    let token = run(&[
        "user",
        "add",
        "--data",
        &data,
        "--monitor",
        "m1",
        "--role",
        "observer",
        "op-1",
    ]);
    let (mut server, url) = common::serve(&data);
    let submitted = run(&["submit", "--server", &url, "--token", token.trim(), &obs]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(submitted.contains("rejected 0"), "{submitted}");

    // Splits and merges moved observations between incidents: the record still proves every
    // table row.
    let verified = run(&["verify", "--data", &data]);
    assert!(verified.starts_with("ok:"), "{verified}");

    let report = run(&["eval", "--truth", &truth, "--data", &data]);
    let summary = report.lines().last().expect("a summary line");
    assert!(summary.starts_with("rmse_crlb_ratio="), "{report}");
    // Loose bounds on one small day: the figures of the closing note come from larger runs.
    assert_eq!(figure(summary, "wrong_attributions"), 0.0, "{report}");
    assert!(figure(summary, "association_f1") > 0.9, "{report}");
    let coverage = figure(summary, "coverage95");
    assert!((0.85..=1.0).contains(&coverage), "{report}");
    assert!(figure(summary, "rmse_crlb_ratio") < 1.5, "{report}");
    assert!(report.contains("bearings"), "per-estimator rows: {report}");
}
