//! The shared record end to end with the real binary: keys made by `truce keygen`, a center
//! (`truce serve`) and two monitors' witnesses (`truce witness`) as separate processes. Checks
//! that checkpoints become agreed, that a proof from the API verifies offline, that a witness
//! restarted after being offline keeps its state and catches up, and that `truce verify`
//! passes and then names a discrepancy planted through SQLite.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use truce_ledger::note::{NoteVerifier, verify_checkpoint};
use truce_ledger::proof::TlogProof;

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");

fn truce(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

fn get_json(url: &str) -> serde_json::Value {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post_observations(url: &str, token: &str, n: usize, tag: &str) {
    let body: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"kind":"shot","observed_at":"2026-11-20T10:00:00Z","reporter":tag,
                "geometry":{"type":"position","lat":40.4 + i as f64 * 0.001,"lon":46.2,"accuracy_m":50}})
        })
        .collect();
    let status = ureq::post(&format!("{url}/api/observations"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(&body)
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
}

fn keygen(dir: &Path, name: &str, witness: bool) -> String {
    let out = dir.join(format!("{name}.key"));
    let mut args = vec!["keygen", "--name", name, "--out", out.to_str().unwrap()];
    if witness {
        args.push("--witness");
    }
    assert!(truce(&args).status.success());
    std::fs::read_to_string(dir.join(format!("{name}.key.pub")))
        .unwrap()
        .trim()
        .to_string()
}

/// A center with the demo agreement and ledger keys for the log and two monitors' witnesses,
/// one observer, and `truce serve` running.
struct Center {
    dir: tempfile::TempDir,
    keys: std::path::PathBuf,
    data: std::path::PathBuf,
    token: String,
    url: String,
    server: Child,
    log_pub: String,
    m1_pub: String,
    m2_pub: String,
}

impl Center {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let log_pub = keygen(&keys, "test.truce.invalid-log", false);
        let m1_pub = keygen(&keys, "witness-m1", true);
        let m2_pub = keygen(&keys, "witness-m2", true);
        // The demo agreement with a [ledger] section naming these keys.
        let agreement = std::fs::read_to_string(format!("{DEMO_DIR}/agreement.toml")).unwrap()
            + &format!(
                "\n[ledger]\norigin = \"test.truce.invalid/log\"\nlog_key = \"{log_pub}\"\n[ledger.witnesses]\nm1 = \"{m1_pub}\"\nm2 = \"{m2_pub}\"\n"
            );
        std::fs::copy(
            format!("{DEMO_DIR}/zones.geojson"),
            dir.path().join("zones.geojson"),
        )
        .unwrap();
        let agreement_file = dir.path().join("agreement.toml");
        std::fs::write(&agreement_file, agreement).unwrap();
        let data = dir.path().join("data");
        let data_s = data.to_str().unwrap();
        let log_key = keys.join("test.truce.invalid-log.key");
        let init = truce(&[
            "init",
            "--data",
            data_s,
            "--agreement",
            agreement_file.to_str().unwrap(),
            "--log-key",
            log_key.to_str().unwrap(),
        ]);
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let added = truce(&[
            "user",
            "add",
            "--data",
            data_s,
            "--monitor",
            "m1",
            "--role",
            "observer",
            "op-1",
        ]);
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        let token = String::from_utf8_lossy(&added.stdout).trim().to_string();
        let (server, url) = common::serve(data_s);
        Self {
            dir,
            keys,
            data,
            token,
            url,
            server,
            log_pub,
            m1_pub,
            m2_pub,
        }
    }

    /// `truce witness` for monitor `m`, as `program` runs it (e.g. under strace), with its
    /// state in the center's folder; the running child (after its first line).
    fn witness_under(&self, program: &[&str], m: &str) -> Child {
        let key = self.keys.join(format!("witness-{m}.key"));
        let state = self.dir.path().join(format!("state-{m}"));
        let args = [
            "witness",
            "--key",
            key.to_str().unwrap(),
            "--log",
            &self.url,
            "--state",
            state.to_str().unwrap(),
            "--interval",
            "0.2",
        ];
        let mut command = match program {
            [] => Command::new(BIN),
            [first, rest @ ..] => {
                let mut c = Command::new(first);
                c.args(rest).arg(BIN);
                c
            }
        };
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = first_line(&mut child);
        child
    }
}

#[test]
fn witnesses_cosign_restart_catch_up_and_the_audit_holds() {
    let center = Center::start();
    let (dir, url, token) = (&center.dir, center.url.clone(), center.token.clone());
    let (log_pub, m1_pub, m2_pub) = (&center.log_pub, &center.m1_pub, &center.m2_pub);
    let data = &center.data;
    let data_s = data.to_str().unwrap();
    let witness = |m: &str| center.witness_under(&[], m);
    let w1 = witness("m1");
    let mut w2 = witness("m2");
    post_observations(&url, &token, 20, "a");
    let status_url = format!("{url}/api/ledger");
    wait_for("an agreed checkpoint", || {
        let s = get_json(&status_url);
        s["agreed_size"].as_u64().is_some() && s["agreed_size"] == s["size"]
    });

    // An offline proof of entry 5 against the agreed checkpoint verifies with the public keys.
    let text = ureq::get(&format!("{url}/api/ledger/proof?index=5"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let proof = TlogProof::parse(&text).unwrap();
    let entry = ureq::get(&format!(
        "{url}/tile/entries/000.p/{}",
        get_json(&status_url)["size"].as_u64().unwrap().min(255)
    ))
    .call()
    .unwrap()
    .body_mut()
    .read_to_vec()
    .unwrap();
    let mut rest = &entry[..];
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        entries.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    let log = NoteVerifier::from_text(log_pub).unwrap();
    let witnesses = [
        NoteVerifier::from_text(m1_pub).unwrap(),
        NoteVerifier::from_text(m2_pub).unwrap(),
    ];
    let cp = proof.verify(&entries[5], &log, &witnesses).unwrap();
    assert_eq!(
        cp.cosigners.len(),
        2,
        "both monitors cosigned the agreed checkpoint"
    );
    assert!(proof.verify(&entries[6], &log, &witnesses).is_err());

    // m2 goes offline; the record grows; m2 lags, then restarts and catches up.
    w2.kill().unwrap();
    w2.wait().unwrap();
    let before = get_json(&status_url)["size"].as_u64().unwrap();
    post_observations(&url, &token, 15, "b");
    wait_for("m1 to cosign the new size while m2 lags", || {
        let s = get_json(&status_url);
        let lag = |monitor: &str| {
            s["witnesses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["monitor"] == monitor)
                .unwrap()["lag"]
                .as_u64()
                .unwrap()
        };
        s["checkpoint_size"].as_u64() > Some(before)
            && s["checkpoint_size"] == s["size"]
            && lag("m1") == 0
            && lag("m2") > 0
    });
    // While m2 lags, /checkpoint carries m1's cosignature only; /agreed/checkpoint is the
    // older one both cosigned, and /agreed/ serves tiles as a tlog-tiles prefix for it.
    let get_bytes = |path: &str| {
        ureq::get(&format!("{url}{path}"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap()
    };
    let latest = verify_checkpoint(&get_bytes("/checkpoint"), &log, &witnesses).unwrap();
    let agreed = verify_checkpoint(&get_bytes("/agreed/checkpoint"), &log, &witnesses).unwrap();
    let names = |c: &truce_ledger::note::VerifiedCheckpoint| {
        let mut n: Vec<String> = c.cosigners.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&latest).len(), 1, "only m1 cosigned the latest");
    assert_eq!(names(&agreed).len(), 2, "both cosigned the agreed one");
    assert!(agreed.size <= before && agreed.size < latest.size);
    assert_eq!(
        Some(agreed.size),
        get_json(&status_url)["agreed_size"].as_u64()
    );
    let partial = format!("/tile/entries/000.p/{}", agreed.size.min(255));
    assert_eq!(get_bytes(&format!("/agreed{partial}")), get_bytes(&partial));
    let state_file = dir.path().join("state-m2/state");
    let kept = std::fs::read_to_string(&state_file).unwrap();
    assert!(
        kept.lines().nth(1).unwrap().parse::<u64>().unwrap() >= 1,
        "the witness persisted its state"
    );
    let w2 = witness("m2");
    wait_for("m2 to catch up", || {
        let s = get_json(&status_url);
        s["agreed_size"] == s["checkpoint_size"] && s["checkpoint_size"].as_u64() > Some(before)
    });
    for mut c in [w1, w2] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let mut server = center.server;
    server.kill().unwrap();
    server.wait().unwrap();

    let ok = truce(&["verify", "--data", data_s]);
    let stdout = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("checkpoints verified"), "{stdout}");

    // The outside auditor's bundle verifies on its own, and a changed byte in it is named.
    let bundle = dir.path().join("bundle");
    let export = truce(&[
        "ledger",
        "export",
        "--data",
        data_s,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let ok = truce(&["verify", bundle.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let entries = bundle.join("tile/entries/000");
    let entries = if entries.exists() {
        entries
    } else {
        std::fs::read_dir(bundle.join("tile/entries/000.p"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    };
    let mut bytes = std::fs::read(&entries).unwrap();
    bytes[40] ^= 0x20;
    std::fs::write(&entries, bytes).unwrap();
    let bad = truce(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    // Either the entry no longer decodes (named by index) or its leaf no longer matches the
    // tiles and checkpoints (named by the first stored hash that differs: leaf 0's).
    let said = String::from_utf8_lossy(&bad.stdout).to_string();
    assert!(
        said.contains("entry 0") || said.contains("tree hash 0"),
        "{said}"
    );

    // An operator rewrites one observation's incident link: verify fails and says where.
    let c = rusqlite::Connection::open(data.join("truce.sqlite")).unwrap();
    c.execute(
        "UPDATE observations SET incident_id = incident_id + 1 WHERE id = 3",
        [],
    )
    .unwrap();
    drop(c);
    let bad = truce(&["verify", "--data", data_s]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("observations row 3: incident_id"));
}

#[test]
fn a_witness_killed_between_persisting_and_handing_over_hands_its_cosignature_over_on_restart() {
    let center = Center::start();
    let status_url = format!("{}/api/ledger", center.url);
    post_observations(&center.url, &center.token, 5, "a");
    wait_for("a checkpoint of the whole record", || {
        let s = get_json(&status_url);
        s["checkpoint_size"].as_u64().is_some() && s["checkpoint_size"] == s["size"]
    });
    let size = get_json(&status_url)["size"].as_u64().unwrap();
    let checkpoint = || {
        String::from_utf8(
            ureq::get(&format!("{}/checkpoint", center.url))
                .call()
                .unwrap()
                .body_mut()
                .read_to_vec()
                .unwrap(),
        )
        .unwrap()
    };
    let cosigned_by_m1 = |note: &str| note.lines().any(|l| l.starts_with("\u{2014} witness-m1 "));

    // The witness's state goes into place by a rename; strace holds the witness for 30 s right
    // after it, so it is killed having persisted its cosignature but before handing it over.
    let mut strace = center.witness_under(
        &[
            "strace",
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=rename,renameat,renameat2",
            "-e",
            "inject=rename,renameat,renameat2:delay_exit=30000000",
        ],
        "m1",
    );
    let state = center.dir.path().join("state-m1/state");
    wait_for("the witness to persist its cosignature", || {
        std::fs::read_to_string(&state)
            .is_ok_and(|s| s.lines().nth(1) == Some(size.to_string().as_str()))
    });
    let witness_pid = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        strace.id(),
        strace.id()
    ))
    .unwrap();
    let witness_pid = witness_pid.split_whitespace().next().expect("the witness");
    let killed = Command::new("kill")
        .args(["-KILL", witness_pid])
        .status()
        .unwrap();
    assert!(killed.success());
    // strace would wait out its delay; the witness is dead already, so nothing is released.
    strace.kill().unwrap();
    strace.wait().unwrap();
    assert!(
        !cosigned_by_m1(&checkpoint()),
        "the witness was killed before handing its cosignature over"
    );

    // Restarted, it finds the log's checkpoint of the size it cosigned without its cosignature,
    // and hands over the one it kept.
    let mut witness = center.witness_under(&[], "m1");
    wait_for("m1's cosignature on the log's checkpoint", || {
        cosigned_by_m1(&checkpoint())
    });
    let note = checkpoint();
    let log = NoteVerifier::from_text(&center.log_pub).unwrap();
    let m1 = NoteVerifier::from_text(&center.m1_pub).unwrap();
    let cp = verify_checkpoint(note.as_bytes(), &log, &[m1]).unwrap();
    assert_eq!(
        cp.size, size,
        "the record did not grow: the same checkpoint"
    );
    assert_eq!(cp.cosigners.len(), 1);
    let mut server = center.server;
    for c in [&mut witness, &mut server] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
}
