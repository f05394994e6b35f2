//! The observer's report form without a network, in a real browser: `web/tests/offline.mjs`
//! drives Debian's Chromium while this test stops the center (the demo) and starts it again on
//! the same port and data folder. The report made while the center is away waits in the
//! browser, survives a reload served by the service worker, is recorded once when the center
//! returns, and sending it again returns the same observation.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web");

/// Starts the demo on `port` over `data`, and waits until it answers.
fn start_demo(data: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--interval",
            "1",
            "--cot-tcp",
            "127.0.0.1:0",
            "--http",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ureq::get(&format!("http://127.0.0.1:{port}/healthz"))
            .call()
            .is_ok()
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the demo did not answer on port {port}");
}

#[test]
fn a_report_made_without_a_network_waits_and_is_recorded_once_when_it_returns() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "this test drives Debian's Chromium: apt-get install chromium (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut demo = Some(start_demo(&data, port));
    let mut node = Command::new("node")
        .current_dir(WEB)
        .arg("tests/offline.mjs")
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg(data.join("demo-tokens.txt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (Node.js is needed to build the dashboard anyway)");
    let mut to_node = node.stdin.take().unwrap();
    let mut said = Vec::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        match line.as_str() {
            "stop the center" => {
                let mut d = demo.take().unwrap();
                d.kill().unwrap();
                d.wait().unwrap();
                writeln!(to_node, "stopped").unwrap();
            }
            "start the center" => {
                demo = Some(start_demo(&data, port));
                writeln!(to_node, "started").unwrap();
            }
            _ => said.push(line),
        }
    }
    let out = node.wait_with_output().unwrap();
    if let Some(mut d) = demo {
        let _ = d.kill();
        let _ = d.wait();
    }
    let said = said.join("\n");
    assert!(
        out.status.success() && said.contains("offline ok"),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
