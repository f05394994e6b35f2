//! The dashboard in a real browser: `truce demo` serves it, and `web/tests/dashboard.mjs`
//! drives Debian's Chromium (`/usr/bin/chromium`, installed by `.ci/run`) with playwright-core:
//! zones, incidents and the simulated patrol's track on the map, an incident's rays and ellipse, one monitor's officer
//! confirming and the other's disputing, both reasons and the status shown, Russian labels, and
//! no Content Security Policy violation on the page or the report it opens.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web");

#[test]
fn the_demo_dashboard_works_in_chromium() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "this test drives Debian's Chromium: apt-get install chromium (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut demo = Command::new(BIN)
        .args([
            "demo",
            "--http",
            "127.0.0.1:0",
            "--interval",
            "0.2",
            // Its own CoT port, so a demo running elsewhere on 8087 does not take the patrol's.
            "--cot-tcp",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read the banner for the address, then keep draining the demo's output on a thread: a
    // closed pipe would make its next line fail.
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("open:") {
            url = Some(rest.trim().to_string());
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let url = url.expect("the demo prints where it serves");
    // Let the simulated stream make some incidents.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let size: u64 = ureq::get(&format!("{url}healthz"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok())
            .and_then(|v| v["record_size"].as_u64())
            .unwrap_or(0);
        if size > 150 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let shots = dir.path().join("shots");
    let out = Command::new("node")
        .current_dir(WEB)
        .arg("tests/dashboard.mjs")
        .arg(&url)
        .arg(data.join("demo-tokens.txt"))
        .arg(&shots)
        .output()
        .expect("node runs (Node.js is needed to build the dashboard anyway)");
    let _ = demo.kill();
    let _ = demo.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("no Content Security Policy violations")
            && stdout.contains("dashboard ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shot in [
        "dashboard-map.png",
        "dashboard-disputed.png",
        "dashboard-ru.png",
    ] {
        assert!(shots.join(shot).is_file(), "{shot} was not taken");
    }
}
