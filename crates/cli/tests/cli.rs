//! The `truce` binary as a user runs it: init with good and bad agreements, submit a JSON Lines
//! file with good and bad lines against a real server, resubmit it, verify.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

fn truce(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run truce")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Adds an observer to monitor m1 of `data` with `truce user add`; answers the token it printed.
fn observer_token(data: &Path) -> String {
    let out = truce(&[
        "user",
        "add",
        "--data",
        data.to_str().expect("utf8"),
        "--monitor",
        "m1",
        "--role",
        "observer",
        "op-1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

fn serve(data: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url in banner")
        .trim_end_matches('/')
        .to_string();
    (child, url)
}

#[test]
fn init_refuses_a_bad_agreement_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nsides = 3\n").expect("write");
    let data = dir.path().join("data");
    let out = truce(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--agreement",
        bad.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
    assert!(
        !data.join("truce.sqlite").exists(),
        "a refused agreement must not create a store"
    );
}

#[test]
fn serve_refuses_a_folder_without_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = truce(&[
        "serve",
        "--data",
        dir.path().to_str().expect("utf8"),
        "--http",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("truce init"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn submit_reports_each_rejected_line_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = truce(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--agreement",
        DEMO_AGREEMENT,
    ]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let good = |lat: f64| {
        format!(
            r#"{{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","reporter":"op","geometry":{{"type":"position","lat":{lat},"lon":46.2,"accuracy_m":50}}}}"#
        )
    };
    let lines = [
        good(40.45),
        "{not json".to_string(),
        good(40.46),
        good(95.0),
        String::new(),
        good(40.47),
    ];
    let file = dir.path().join("obs.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let token = observer_token(&data);
    assert!(token.starts_with("op-1."), "{token}");
    let (mut server, url) = serve(&data);
    let file_arg = file.to_str().expect("utf8");
    // Without a token the server refuses, and says why.
    let refused = truce(&[
        "submit",
        "--server",
        &url,
        "--token",
        "op-1.wrong",
        file_arg,
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("refused the token"),
        "{}",
        text(&refused.stderr)
    );
    let out = truce(&[
        "submit", "--server", &url, "--token", &token, file_arg, "--batch", "10",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("accepted 3 (3 new, 0 already recorded), rejected 2"),
        "{stdout}"
    );
    assert!(stdout.contains("line 2: not JSON"), "{stdout}");
    assert!(stdout.contains("line 4: geometry.lat"), "{stdout}");

    // The same file again records nothing new: the derived client ids match.
    let again = truce(&["submit", "--server", &url, "--token", &token, file_arg]);
    let stdout = text(&again.stdout);
    assert!(
        stdout.contains("accepted 3 (0 new, 3 already recorded), rejected 2"),
        "{stdout}"
    );
    server.kill().expect("stop");
    server.wait().expect("reap");

    let verify = truce(&["verify", "--data", data.to_str().expect("utf8")]);
    let stdout = text(&verify.stdout);
    assert!(verify.status.success(), "{stdout}");
    assert!(stdout.contains("3 observations"), "{stdout}");
}

#[test]
fn a_second_writer_beside_a_running_server_is_refused_and_readers_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let d = data.to_str().expect("utf8");
    let init = truce(&["init", "--data", d, "--agreement", DEMO_AGREEMENT]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let token = observer_token(&data);
    let (mut server, url) = serve(&data);
    let add_op2 = || {
        truce(&[
            "user",
            "add",
            "--data",
            d,
            "--monitor",
            "m1",
            "--role",
            "observer",
            "op-2",
        ])
    };
    // Adding a member with the CLI would write the record beside the server: refused, naming
    // the server, and nothing is written.
    let add = add_op2();
    let err = text(&add.stderr);
    assert!(!add.status.success(), "{}", text(&add.stdout));
    assert!(
        err.contains("open for writing by another process")
            && err.contains(&format!("pid {}", server.id()))
            && err.contains("serve"),
        "{err}"
    );
    // Reading beside it works: verify and the member list.
    let verify = truce(&["verify", "--data", d]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let list = text(&truce(&["user", "list", "--data", d]).stdout);
    assert!(list.contains("op-1") && !list.contains("op-2"), "{list}");
    // And the server still records.
    let body = r#"{"kind":"explosion","observed_at":"2026-11-20T10:00:00Z","reporter":"post-1",
        "geometry":{"type":"position","lat":39.9,"lon":46.6,"accuracy_m":100}}"#;
    let status = ureq::post(&format!("{url}/api/observations"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .expect("posted")
        .status();
    assert_eq!(status.as_u16(), 201);
    server.kill().expect("kill");
    server.wait().expect("reaped");
    // Once it has stopped, the CLI writes again.
    let add = add_op2();
    assert!(add.status.success(), "{}", text(&add.stderr));
}
