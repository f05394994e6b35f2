//! Two nodes on one PostgreSQL record (`serve --node`), the sequencer killed with SIGKILL under
//! load, again and again: the other node takes the role, every acknowledged observation is in
//! the record exactly once, nothing is numbered twice, the record verifies (one tree: every
//! checkpoint signed over the record as it stood), an analyst's notes sent meanwhile are each
//! recorded once if acknowledged and never twice, and both monitors' witnesses, each talking
//! to one node, keep cosigning across the takeovers.
//!
//! Runs `TRUCE_FAILOVER_RUNS` kills (3 by default; the closing note's figure is 20). How long a
//! takeover takes is printed, not asserted (a benchmark's business); the test only bounds it
//! generously so that a node that never takes over fails it.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use truce_store::{PgStore, PgTarget, Store};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

/// A node: its process and base URL.
struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    /// A node outlives no test: one left running would sequence against the next test's
    /// server, or retry a stopped one forever.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `c`, which must succeed; answers what it printed, trimmed.
fn ok(c: &mut Command) -> String {
    let out = c.output().expect("runs");
    assert!(out.status.success(), "{c:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A node on `port` (a restarted node keeps its address, so its witness keeps its log URL).
fn start_node(data: &Path, store: &str, port: u16) -> Node {
    start_node_with(data, store, port, &[])
}

/// [`start_node`] with more arguments to `serve` (listeners).
fn start_node_with(data: &Path, store: &str, port: u16, more: &[&str]) -> Node {
    let mut all = vec!["--node"];
    all.extend_from_slice(more);
    start_serve(data, store, port, &all)
}

/// `truce serve` on the record at `store` with the arguments `more` (`--node`, listeners).
fn start_serve(data: &Path, store: &str, port: u16, more: &[&str]) -> Node {
    let mut child = Command::new(BIN)
        .args(["--store", store, "serve", "--checkpoint-interval", "0.5"])
        .arg("--data")
        .arg(data)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .args(more)
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("TRUCE_FAILOVER_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("truce serve starts");
    let mut banner = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut banner).expect("banner");
    // The listeners' lines follow: read on, so the node never writes to a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .trim_end_matches('/')
        .to_string();
    Node { child, url }
}

fn sequencing(url: &str) -> bool {
    ureq::get(&format!("{url}/healthz"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok())
        .and_then(|v| v["sequencing"].as_bool())
        .unwrap_or(false)
}

/// Waits until one of the nodes at `urls` sequences; answers its index.
fn await_sequencer(urls: &[String], limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        if let Some(i) = urls.iter().position(|u| sequencing(u)) {
            return i;
        }
        assert!(
            start.elapsed() < limit,
            "no node took the sequencer's role within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn observation(client_id: Uuid, n: usize) -> serde_json::Value {
    serde_json::json!({
        "client_id": client_id.to_string(),
        "kind": "explosion",
        "observed_at": "2026-11-20T10:00:00Z",
        "reporter": format!("post-{}", n % 7),
        "geometry": {"type": "position", "lat": 39.9 + (n % 53) as f64 * 0.003,
                     "lon": 46.5 + (n % 61) as f64 * 0.004, "accuracy_m": 300.0}
    })
}

/// `truce verify` passes on the record at `store` (its keys in `data`).
fn assert_verifies(store: &str, data: &Path) {
    let audit = Command::new(BIN)
        .args(["--store", store, "verify", "--data"])
        .arg(data)
        .output()
        .expect("verify");
    assert!(
        audit.status.success(),
        "truce verify: {}",
        String::from_utf8_lossy(&audit.stdout)
    );
}

/// Adds member `name` of `monitor` with `role` to the record at `store`; answers the token.
fn add_member(store: &str, data: &Path, monitor: &str, role: &str, name: &str) -> String {
    ok(Command::new(BIN)
        .args(["--store", store, "user", "add", "--data"])
        .arg(data)
        .args(["--monitor", monitor, "--role", role, name]))
}

/// A record at `store` on the demo's agreement, its keys in `data`.
fn init_demo(store: &str, data: &Path) {
    ok(Command::new(BIN)
        .args(["--store", store, "init", "--data"])
        .arg(data)
        .arg("--agreement")
        .arg(DEMO_AGREEMENT));
}

/// The analyst's notes sent during the kills, by what the node answered.
#[derive(Default)]
struct Notes {
    /// 201 (recorded) or 202 (queued).
    acknowledged: Vec<String>,
    /// No answer, or an error: recorded at most once.
    unanswered: Vec<String>,
}

/// What the client learnt about each observation it sent.
#[derive(Default)]
struct Ledger {
    /// Acknowledged with their numbers (201/200).
    numbered: HashMap<Uuid, u64>,
    /// Acknowledged as committed to the queue (202), numbers to come.
    queued: HashSet<Uuid>,
    /// Sent, never acknowledged (the node died first).
    unanswered: HashSet<Uuid>,
}

#[test]
fn killing_the_sequencer_under_load_loses_and_duplicates_nothing() {
    let runs: usize = std::env::var("TRUCE_FAILOVER_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let pg = truce_peers::postgres::postgres();
    let store = pg.fresh_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // The center's checkpoint key and both monitors' witness keys, named in the agreement.
    let keys = dir.path().join("keys");
    let keygen = |name: &str, witness: bool| {
        let out = keys.join(format!("{name}.key"));
        let mut c = Command::new(BIN);
        c.args(["keygen", "--name", name, "--out"]).arg(&out);
        if witness {
            c.arg("--witness");
        }
        ok(&mut c);
        std::fs::read_to_string(keys.join(format!("{name}.key.pub")))
            .expect("public key")
            .trim()
            .to_string()
    };
    let log_pub = keygen("failover.truce.invalid-log", false);
    let m1_pub = keygen("witness-m1", true);
    let m2_pub = keygen("witness-m2", true);
    let agreement = std::fs::read_to_string(DEMO_AGREEMENT).expect("demo agreement")
        + &format!(
            "\n[ledger]\norigin = \"failover.truce.invalid/log\"\nlog_key = \"{log_pub}\"\n\
             [ledger.witnesses]\nm1 = \"{m1_pub}\"\nm2 = \"{m2_pub}\"\n"
        );
    let agreement_file = dir.path().join("agreement.toml");
    std::fs::write(&agreement_file, agreement).expect("agreement");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/demo/zones.geojson"),
        dir.path().join("zones.geojson"),
    )
    .expect("zones");
    ok(Command::new(BIN)
        .args(["--store", &store, "init", "--data"])
        .arg(&data)
        .arg("--agreement")
        .arg(&agreement_file)
        .arg("--log-key")
        .arg(keys.join("failover.truce.invalid-log.key")));
    let token = add_member(&store, &data, "m1", "observer", "op-1");
    let authorization = format!("Bearer {token}");
    let analyst = add_member(&store, &data, "m1", "analyst", "an-1");

    let ports = [free_port(), free_port()];
    let mut nodes = vec![start_node(&data, &store, ports[0])];
    await_sequencer(&[nodes[0].url.clone()], Duration::from_secs(30));
    nodes.push(start_node(&data, &store, ports[1]));
    // Each monitor's witness talks to one node.
    let witnesses: Vec<Node> = ["m1", "m2"]
        .iter()
        .zip(&nodes)
        .map(|(m, node)| Node {
            child: Command::new(BIN)
                .args(["witness", "--interval", "0.2", "--key"])
                .arg(keys.join(format!("witness-{m}.key")))
                .args(["--log", &node.url, "--state"])
                .arg(dir.path().join(format!("witness-{m}")))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("truce witness starts"),
            url: String::new(),
        })
        .collect();
    let urls = Arc::new(Mutex::new(
        nodes.iter().map(|n| n.url.clone()).collect::<Vec<_>>(),
    ));

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (ledger, stop, urls) = (ledger.clone(), stop.clone(), urls.clone());
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            let mut n = 0;
            let mut turn = 0;
            while !stop.load(Ordering::SeqCst) {
                let ids: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
                let body: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        n += 1;
                        observation(*id, n)
                    })
                    .collect();
                // Sent to one node, then, unanswered, to the other: the same client ids.
                let mut answered = false;
                for _ in 0..20 {
                    turn += 1;
                    let url = {
                        let urls = urls.lock().unwrap();
                        urls[turn % urls.len()].clone()
                    };
                    let Ok(mut response) = agent
                        .post(&format!("{url}/api/observations"))
                        .header("authorization", &authorization)
                        .send_json(&body)
                    else {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let status = response.status().as_u16();
                    let answer: serde_json::Value =
                        response.body_mut().read_json().unwrap_or_default();
                    let mut l = ledger.lock().unwrap();
                    match status {
                        200 | 201 => {
                            for (id, a) in ids
                                .iter()
                                .zip(answer["accepted"].as_array().expect("accepted ids"))
                            {
                                let number = a["id"].as_u64().expect("an id");
                                if let Some(before) = l.numbered.insert(*id, number) {
                                    assert_eq!(before, number, "an observation renumbered");
                                }
                                l.queued.remove(id);
                                l.unanswered.remove(id);
                            }
                            answered = true;
                        }
                        202 => {
                            for id in &ids {
                                if !l.numbered.contains_key(id) {
                                    l.queued.insert(*id);
                                }
                                l.unanswered.remove(id);
                            }
                            answered = true;
                        }
                        503 => {
                            l.unanswered.extend(ids.iter().copied());
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                        other => panic!("unexpected answer {other}: {answer}"),
                    }
                    break;
                }
                if !answered {
                    ledger
                        .lock()
                        .unwrap()
                        .unanswered
                        .extend(ids.iter().copied());
                }
            }
        })
    };

    // An analyst's notes on incident 1 across the kills, each sent once: one acknowledged
    // (201, or 202: queued) is recorded exactly once; one never answered at most once.
    let notes = Arc::new(Mutex::new(Notes::default()));
    let annotator = {
        let (notes, stop, urls) = (notes.clone(), stop.clone(), urls.clone());
        let authorization = format!("Bearer {analyst}");
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                k += 1;
                let text = format!("note {k}");
                let url = {
                    let urls = urls.lock().unwrap();
                    urls[k % urls.len()].clone()
                };
                let sent = agent
                    .post(&format!("{url}/api/incidents/1/annotations"))
                    .header("authorization", &authorization)
                    .send_json(serde_json::json!({ "text": text }));
                let mut n = notes.lock().unwrap();
                match sent.map(|r| r.status().as_u16()) {
                    Ok(201 | 202) => n.acknowledged.push(text),
                    // Incident 1 not recorded yet: nothing was.
                    Ok(404) => {}
                    Ok(_) | Err(_) => n.unanswered.push(text),
                }
                drop(n);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut takeovers = Vec::new();
    for _ in 0..runs {
        // Let some batches through, then kill whoever sequences.
        std::thread::sleep(Duration::from_millis(700));
        let current = urls.lock().unwrap().clone();
        let victim = await_sequencer(&current, Duration::from_secs(30));
        nodes[victim].child.kill().expect("SIGKILL");
        nodes[victim].child.wait().expect("reaped");
        let killed_at = Instant::now();
        let survivor = current[1 - victim].clone();
        await_sequencer(&[survivor], Duration::from_secs(30));
        takeovers.push(killed_at.elapsed());
        // The killed node comes back, as a follower now, at its address.
        let fresh = start_node(&data, &store, ports[victim]);
        urls.lock().unwrap()[victim] = fresh.url.clone();
        nodes[victim] = fresh;
    }
    // A sequencer that hangs (SIGSTOP) loses the role when its lease runs out, and once it
    // resumes it is fenced: it never appends to the record the other node goes on with.
    let current = urls.lock().unwrap().clone();
    let frozen = await_sequencer(&current, Duration::from_secs(30));
    let pid = nodes[frozen].child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let stopped_at = Instant::now();
    await_sequencer(&[current[1 - frozen].clone()], Duration::from_secs(60));
    println!(
        "takeover from a hung sequencer: {} ms",
        stopped_at.elapsed().as_millis()
    );
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .expect("kill")
            .success()
    );
    // Load goes on across the resumed node's return.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    client.join().expect("client thread");
    annotator.join().expect("annotator thread");
    println!(
        "takeovers (ms): {:?}",
        takeovers.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );

    // Everything queued gets sequenced.
    let target = PgTarget::parse(&store).expect("url");
    let reader = PgStore::open_reader(&target).expect("reader");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !truce_store::IntakeQueue::pending(&reader, 1)
        .expect("queue")
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the queue was never drained");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Each acknowledged note once, none twice.
    let recorded: Vec<String> = reader
        .incident(truce_core::IncidentId(1))
        .expect("read")
        .expect("incident 1")
        .annotations
        .into_iter()
        .map(|a| a.text)
        .collect();
    let n = notes.lock().unwrap();
    assert!(
        n.acknowledged.len() >= 10,
        "too few notes: {}",
        n.acknowledged.len()
    );
    for text in &n.acknowledged {
        let times = recorded.iter().filter(|t| *t == text).count();
        assert_eq!(times, 1, "acknowledged {text:?} recorded {times} times");
    }
    let mut seen = HashSet::new();
    for text in &recorded {
        assert!(seen.insert(text), "{text:?} recorded twice");
        assert!(
            n.acknowledged.contains(text) || n.unanswered.contains(text),
            "{text:?} was never sent"
        );
    }
    println!(
        "notes: {} acknowledged, {} unanswered ({} of those recorded)",
        n.acknowledged.len(),
        n.unanswered.len(),
        recorded.len() - n.acknowledged.len()
    );
    drop(n);

    let l = ledger.lock().unwrap();
    assert!(
        l.numbered.len() >= 200,
        "too little load: {}",
        l.numbered.len()
    );
    // Every acknowledged observation is in the record once, with the number it was given.
    let acked: Vec<Uuid> = l.numbered.keys().chain(l.queued.iter()).copied().collect();
    let records = reader.client_records(&acked).expect("lookup");
    assert_eq!(
        records.len(),
        acked.len(),
        "acknowledged observations are missing"
    );
    for r in &records {
        if let Some(n) = l.numbered.get(&r.client_id) {
            assert_eq!(r.observation_id.0, *n, "an acknowledged number changed");
        }
    }
    // Nothing twice: observation numbers run 1..=N with N the observations stored, and every
    // stored one is one the client sent.
    let (max_obs, _) = reader.max_ids().expect("ids");
    let sent: Vec<Uuid> = acked.iter().chain(l.unanswered.iter()).copied().collect();
    let stored = reader.client_records(&sent).expect("lookup");
    assert_eq!(
        max_obs.0 as usize,
        stored.len(),
        "an observation recorded twice"
    );
    let report = truce_store::verify_chain(&reader).expect("the record verifies");
    assert_eq!(report.observations as usize, stored.len());
    // One tree: every checkpoint is signed over the record as it stood at its size.
    assert_verifies(&store, &data);
    assert!(
        reader.checkpoints().expect("checkpoints").len() >= runs,
        "checkpoints were signed across the takeovers"
    );
    // Both witnesses cosigned a checkpoint of the record as it stands after the last takeover.
    let size = reader.head().expect("head").size;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let agreed = reader
            .checkpoints()
            .expect("checkpoints")
            .into_iter()
            .filter(|c| c.cosignatures.len() == 2)
            .map(|c| c.size)
            .max()
            .unwrap_or(0);
        if agreed == size {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the witnesses cosigned up to {agreed} of {size} entries"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(witnesses);
    drop(nodes);
}

/// `POST` of `body` with `token`: the status and JSON answer.
fn post_json(url: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let mut response = ureq::post(url)
        .header("authorization", &format!("Bearer {token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(body)
        .expect("the node answers");
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap_or_default())
}

#[test]
fn writes_and_tak_reports_sent_to_a_node_that_does_not_sequence_are_recorded_once() {
    let pg = truce_peers::postgres::postgres();
    let store = pg.fresh_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    let data = p("data");
    let keygen = |name: &str| {
        ok(Command::new(BIN)
            .args(["keygen", "--name", name, "--out"])
            .arg(p(&format!("{name}.key"))));
        std::fs::read_to_string(p(&format!("{name}.key.pub")))
            .expect("public key")
            .trim()
            .to_string()
    };
    let (log, assess_m1) = (keygen("nodes-log"), keygen("assess-m1"));
    let agreement = std::fs::read_to_string(DEMO_AGREEMENT).expect("demo agreement")
        + &format!(
            "\n[ledger]\norigin = \"nodes.truce.invalid/log\"\nlog_key = \"{log}\"\n\
             [ledger.assessment_keys]\nm1 = \"{assess_m1}\"\n"
        );
    std::fs::write(p("agreement.toml"), agreement).expect("agreement");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/demo/zones.geojson"),
        p("zones.geojson"),
    )
    .expect("zones");
    ok(Command::new(BIN)
        .args(["--store", &store, "init", "--data"])
        .arg(&data)
        .arg("--agreement")
        .arg(p("agreement.toml"))
        .arg("--log-key")
        .arg(p("nodes-log.key")));
    // m1 deposits its assessment key with the center: the sequencer signs its verdicts.
    std::fs::copy(p("assess-m1.key"), data.join("keys/assess-m1.key")).expect("deposit");
    let user = |role: &str| add_member(&store, &data, "m1", role, &format!("m1-{role}"));
    let (observer, officer, analyst) = (user("observer"), user("officer"), user("analyst"));
    let admin = user("admin");

    let sequencer = start_node(&data, &store, free_port());
    await_sequencer(
        std::slice::from_ref(&sequencer.url),
        Duration::from_secs(30),
    );
    let cot_port = free_port().to_string();
    let cot = format!("127.0.0.1:{cot_port}");
    let more = ["--cot-tcp", &cot, "--cot-member", "m1-observer"];
    let node = start_node_with(&data, &store, free_port(), &more);
    assert!(!sequencing(&node.url), "the second node reads only");
    let url = &node.url;

    // Two reports far apart: two incidents, numbered by the sequencer through the queue.
    let mut incidents = Vec::new();
    for (n, lat) in [(0, 39.95), (1, 40.25)] {
        let mut obs = observation(Uuid::new_v4(), n);
        obs["geometry"]["lat"] = serde_json::json!(lat);
        let (status, answer) = post_json(&format!("{url}/api/observations"), &observer, &obs);
        assert_eq!(status, 201, "{answer}");
        incidents.push(answer["accepted"][0]["incident_id"].as_u64().expect("id"));
    }
    let (first, second) = (incidents[0], incidents[1]);
    assert_ne!(first, second);

    // Each write is answered by the node as the one server answers it.
    let (status, answer) = post_json(
        &format!("{url}/api/incidents/{first}/assessments"),
        &officer,
        &serde_json::json!({"verdict": "confirm", "reason": "our patrol heard it"}),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["incident_id"], first);
    assert_eq!(answer["status"], "under_review");
    let (status, answer) = post_json(
        &format!("{url}/api/incidents/{first}/annotations"),
        &analyst,
        &serde_json::json!({"text": "one of two reports of the same blast"}),
    );
    assert_eq!((status, answer["incident_id"].as_u64()), (201, Some(first)));
    let (status, answer) = post_json(
        &format!("{url}/api/incidents/{second}/merge"),
        &analyst,
        &serde_json::json!({"into": first, "reason": "one event"}),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer,
        serde_json::json!({"incident_id": first, "merged": second})
    );
    let merged: serde_json::Value = ureq::get(&format!("{url}/api/incidents/{first}"))
        .header("authorization", &format!("Bearer {analyst}"))
        .call()
        .expect("read")
        .body_mut()
        .read_json()
        .expect("json");
    let held = merged["observation_ids"].as_array().expect("ids").clone();
    assert_eq!(held.len(), 2, "{merged}");
    let (status, answer) = post_json(
        &format!("{url}/api/incidents/{first}/split"),
        &analyst,
        &serde_json::json!({"observation_ids": [held[1]], "reason": "two events after all"}),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["split_from"], first);
    let split_off = answer["incident_id"].as_u64().expect("new incident");
    assert!(split_off > second, "{answer}");

    // The sequencer's own refusals come back unchanged; a role the node can check, at once.
    let (status, answer) = post_json(
        &format!("{url}/api/incidents/999/assessments"),
        &officer,
        &serde_json::json!({"verdict": "dispute", "reason": "no such incident"}),
    );
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{answer}"
    );
    let (status, _) = post_json(
        &format!("{url}/api/incidents/{first}/assessments"),
        &analyst,
        &serde_json::json!({"verdict": "dispute", "reason": "not an officer"}),
    );
    assert_eq!(status, 403);

    // A TAK client on the node that reads: its report and its own position (a track point)
    // are recorded by the sequencer.
    let now = |offset_s: f64| {
        truce_cot::format_time(
            truce_core::Timestamp::now()
                .plus_seconds(offset_s)
                .unix_millis(),
        )
    };
    let (t, stale) = (now(-60.0), now(3600.0));
    let report = format!(
        "<event version=\"2.0\" uid=\"node-marker-1\" type=\"a-u-G\" how=\"h-e\" time=\"{t}\" \
         start=\"{t}\" stale=\"{stale}\"><point lat=\"40.3\" lon=\"46.7\" hae=\"9999999.0\" \
         ce=\"20.0\" le=\"9999999.0\"/><detail><link uid=\"ANDROID-1\" type=\"a-f-G-U-C\" \
         parent_callsign=\"OP North 9\" relation=\"p-p\"/><remarks>Impact seen</remarks>\
         <truce kind=\"explosion\" subkind=\"impact\"/></detail></event>"
    );
    let (t, stale) = (now(-5.0), now(120.0));
    let position = format!(
        "<event version=\"2.0\" uid=\"ANDROID-patrol-9\" type=\"a-f-G-U-C\" how=\"m-g\" \
         time=\"{t}\" start=\"{t}\" stale=\"{stale}\"><point lat=\"40.2\" lon=\"46.6\" \
         hae=\"900\" ce=\"5\" le=\"9\"/><detail><contact callsign=\"Patrol 9\" \
         endpoint=\"*:-1:stcp\"/><takv platform=\"ATAK-CIV\" version=\"5.2\"/></detail></event>"
    );
    let mut tak = std::net::TcpStream::connect(&cot).expect("the node's CoT listener");
    std::io::Write::write_all(&mut tak, format!("{report}{position}").as_bytes()).expect("send");
    let reader = PgStore::open_reader(&PgTarget::parse(&store).expect("url")).expect("reader");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (from_tak, track) = loop {
        let observations = reader.observations_by_id(0, 1000).expect("observations");
        let from_tak: Vec<_> = observations
            .into_iter()
            .filter(|o| o.observation.reporter == "OP North 9")
            .collect();
        let track = reader.track_rows(-1, 0, i64::MAX, 100).expect("tracks");
        if !from_tak.is_empty() && !track.is_empty() {
            break (from_tak, track);
        }
        assert!(
            Instant::now() < deadline,
            "the TAK report ({}) or track point ({}) was not recorded",
            from_tak.len(),
            track.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(from_tak.len(), 1);
    assert!(
        from_tak[0]
            .observation
            .via
            .as_deref()
            .is_some_and(|v| v.starts_with("cot-tcp")),
        "{:?}",
        from_tak[0].observation.via
    );
    assert_eq!(track.len(), 1, "{track:?}");
    drop(tak);

    // An observer's file import on the node: recorded by the sequencer; the same file again
    // adds nothing (answered 200, with nothing recorded).
    let csv = "event_id_cnty,event_date,time_precision,sub_event_type,latitude,longitude,geo_precision,fatalities,timestamp\n\
               T1,2026-11-20,1,Armed clash,40.05,46.65,1,0,1\n";
    let import = |expected: u16| {
        let mut response = ureq::post(&format!("{url}/api/imports?format=acled-csv&name=a.csv"))
            .header("authorization", &format!("Bearer {observer}"))
            .config()
            .http_status_as_error(false)
            .build()
            .send(csv)
            .expect("the node answers");
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.body_mut().read_json().expect("json");
        assert_eq!(status, expected, "{answer}");
        answer
    };
    let imported = import(201);
    assert!(
        imported["new"].as_u64().is_some_and(|n| n >= 1),
        "{imported}"
    );
    assert_eq!(imported["imported"], imported["new"], "{imported}");
    let again = import(200);
    assert_eq!(again["new"], 0, "{again}");

    // An admin on the node adds a member (the token is made there; only its hash is queued),
    // who reports at once, then revokes them: their token stops working on that node.
    let (status, added) = post_json(
        &format!("{url}/api/users"),
        &admin,
        &serde_json::json!({"user": "m1-relief", "role": "observer"}),
    );
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        (added["user"].as_str(), added["monitor"].as_str()),
        (Some("m1-relief"), Some("m1"))
    );
    let relief = added["token"].as_str().expect("a token").to_string();
    let (status, answer) = post_json(
        &format!("{url}/api/observations"),
        &relief,
        &observation(Uuid::new_v4(), 3),
    );
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = post_json(
        &format!("{url}/api/users/m1-relief/revoke"),
        &admin,
        &serde_json::json!({}),
    );
    assert_eq!(status, 204, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = post_json(
            &format!("{url}/api/observations"),
            &relief,
            &observation(Uuid::new_v4(), 4),
        );
        if status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a revoked token still answered {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // What the sequencer checks itself, whatever a node (or a database operator) queued: an
    // officer is no admin, and a role written into the database acts for no one.
    let schema = store.rsplit("schema=").next().expect("schema").to_string();
    let sql = |statement: &str| pg.psql(&format!("SET search_path TO \"{schema}\"; {statement}"));
    let queue_write = |member: &str, write: &str| -> u64 {
        sql(&format!(
            "INSERT INTO intake (request, member, received_ns, body) VALUES ('write', '{member}', \
             {}, convert_to('{write}', 'UTF8')) RETURNING id",
            truce_core::Timestamp::now().unix_nanos()
        ))
        .trim()
        .parse()
        .expect("an item number")
    };
    let answer_to = |item: u64| -> (u16, serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let row = sql(&format!(
                "SELECT status, outcome FROM intake WHERE id = {item} AND status IS NOT NULL"
            ));
            if let Some((status, outcome)) = row.trim().split_once('|') {
                return (
                    status.parse().expect("a status"),
                    serde_json::from_str(outcome).expect("json"),
                );
            }
            assert!(Instant::now() < deadline, "item {item} was not answered");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let forged = r#"{"write":"add_member","user":"m1-intruder","role":"admin","token_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"}"#;
    let (status, answer) = answer_to(queue_write("m1-officer", forged));
    assert_eq!(status, 403, "{answer}");
    sql("UPDATE members SET role = 'admin' WHERE username = 'm1-officer'");
    let (status, answer) = answer_to(queue_write("m1-officer", forged));
    assert_eq!(status, 403, "{answer}");
    sql("UPDATE members SET role = 'officer' WHERE username = 'm1-officer'");
    assert!(
        reader.member("m1-intruder").expect("read").is_none(),
        "no forged member"
    );
    // A hand-in of a file no node kept, and a report whose root is not the record's, are
    // refused by the sequencer whoever queued them.
    let unkept = format!(
        r#"{{"write":"evidence","sha256":"{}","size":4,"evidence":{{"media_type":"image/jpeg","name":null,"derived_from":null,"capture":{{}}}}}}"#,
        "e".repeat(64)
    );
    let (status, answer) = answer_to(queue_write("m1-observer", &unkept));
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some("sha256")),
        "{answer}"
    );
    let forged_report = format!(
        r#"{{"write":"issue_report","report":{{"report":"daily","date":"2026-11-20","cutoff":"18:00","lang":"en","format":"html","sha256":"{}","record_size":3,"record_root":"{}","checkpoint_size":null,"cosigned_by":[],"generator":"truce"}}}}"#,
        "a".repeat(64),
        "b".repeat(64)
    );
    let (status, answer) = answer_to(queue_write("m1-officer", &forged_report));
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some("record_root")),
        "{answer}"
    );

    // A photo handed in on the node is kept in the database: the sequencer records the
    // hand-in, the other node serves the file, and an observation may cite it at once.
    let photo: Vec<u8> = [
        &[0xFF, 0xD8, 0xFF, 0xE0][..],
        b"a photo of the crater, as bytes",
    ]
    .concat();
    let hand_in = |expected: u16| {
        let mut response = ureq::post(&format!(
            "{url}/api/evidence?name=crater.jpg&captured_at=2026-11-20T10:01:00Z"
        ))
        .header("authorization", &format!("Bearer {observer}"))
        .header("content-type", "image/jpeg")
        .config()
        .http_status_as_error(false)
        .build()
        .send(&photo[..])
        .expect("the node answers");
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.body_mut().read_json().expect("json");
        assert_eq!(status, expected, "{answer}");
        answer
    };
    let handed = hand_in(201);
    let sha256 = handed["sha256"].as_str().expect("sha256").to_string();
    assert_eq!(handed["size"], photo.len());
    let again = hand_in(200);
    assert_eq!(again["entry"], handed["entry"], "{again}");
    let served = ureq::get(&format!("{}/api/evidence/{sha256}", sequencer.url))
        .header("authorization", &format!("Bearer {analyst}"))
        .call()
        .expect("the sequencer serves the file")
        .body_mut()
        .read_to_vec()
        .expect("bytes");
    assert_eq!(served, photo);
    assert!(
        !data.join("evidence").join(&sha256[..2]).exists(),
        "kept in the database, not in the nodes' shared folder"
    );
    let mut citing = observation(Uuid::new_v4(), 5);
    citing["evidence"] = serde_json::json!([{"sha256": sha256, "media_type": "image/jpeg"}]);
    let (status, answer) = post_json(&format!("{url}/api/observations"), &observer, &citing);
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = post_json(
        &format!("{url}/api/evidence?name=x.jpg"),
        &analyst,
        &serde_json::json!(null),
    );
    assert_eq!(status, 403, "{answer}");

    // An officer issues the day's report on the node while the sequencer takes reports of
    // that day: the node reads its figures from one snapshot, so each issued report is made
    // again byte for byte from the record at the size its entry names.
    let busy = Arc::new(AtomicBool::new(true));
    let batches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let intake = {
        let (busy, batches) = (busy.clone(), batches.clone());
        let (url, observer) = (sequencer.url.clone(), observer.clone());
        std::thread::spawn(move || {
            let mut n = 100;
            while busy.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..20)
                    .map(|i| observation(Uuid::new_v4(), n + i))
                    .collect();
                n += 20;
                let (status, answer) = post_json(
                    &format!("{url}/api/observations"),
                    &observer,
                    &serde_json::json!(batch),
                );
                assert_eq!(status, 201, "{answer}");
                batches.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut issued = Vec::new();
    for _ in 0..3 {
        // At least one batch recorded since the last issue.
        let seen = batches.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(30);
        while batches.load(Ordering::Relaxed) == seen {
            assert!(
                Instant::now() < deadline && !intake.is_finished(),
                "the intake thread stopped recording"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let (status, answer) = post_json(
            &format!("{url}/api/reports/daily?date=2026-11-20&format=html"),
            &officer,
            &serde_json::json!(null),
        );
        assert_eq!(status, 201, "{answer}");
        let entry = answer["entry"].as_u64().expect("entry");
        let size = answer["record_size"].as_u64().expect("record size");
        assert!(size <= entry, "{answer}");
        issued.push(size);
    }
    busy.store(false, Ordering::Relaxed);
    intake.join().expect("intake");
    // More than the issue's own entry was appended between two issues.
    assert!(
        issued.windows(2).all(|w| w[1] > w[0] + 1),
        "intake ran while the reports were issued: {issued:?}"
    );
    let remade = Command::new(BIN)
        .args(["--store", &store, "verify", "--reports", "--data"])
        .arg(&data)
        .output()
        .expect("verify --reports");
    let said = String::from_utf8_lossy(&remade.stdout);
    assert!(remade.status.success(), "{said}");
    assert!(
        said.contains("3 issued reports, 0 not remade identically"),
        "{said}"
    );

    // Recorded once each, and the record verifies.
    let incident = reader
        .incident(truce_core::IncidentId(first))
        .expect("read")
        .expect("incident");
    assert_eq!(incident.assessments.len(), 1, "{:?}", incident.assessments);
    assert_eq!(incident.annotations.len(), 1, "{:?}", incident.annotations);
    assert_verifies(&store, &data);
    drop(node);
    drop(sequencer);
}

/// A Mosquitto broker on `port`, killed when dropped (as [`Node`]).
fn start_broker(dir: &Path, port: u16) -> Node {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .expect("broker config");
    let broker = Node {
        child: Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's Mosquitto (.ci/run installs it)"),
        url: format!("mqtt://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Mosquitto did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    broker
}

/// A listener's counter on the node at `url`, from `/api/status`.
fn counter(url: &str, token: &str, listener: &str, name: &str) -> u64 {
    ureq::get(&format!("{url}/api/status"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .expect("status")
        .body_mut()
        .read_json::<serde_json::Value>()
        .expect("json")["listeners"][listener][name]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn mqtt_detections_are_shared_among_the_nodes_and_recorded_once() {
    let pg = truce_peers::postgres::postgres();
    let store = pg.fresh_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init_demo(&store, &data);
    let sensors = add_member(&store, &data, "m2", "observer", "m2-sensors");
    let broker_port = free_port();
    let broker = start_broker(dir.path(), broker_port);
    let mqtt = [
        "--mqtt",
        &broker.url,
        "--mqtt-topic",
        "sensors/#",
        "--mqtt-member",
        "m2-sensors",
    ];
    let first = start_node_with(&data, &store, free_port(), &mqtt);
    await_sequencer(std::slice::from_ref(&first.url), Duration::from_secs(30));
    let second = start_node_with(&data, &store, free_port(), &mqtt);
    let nodes = [first, second];
    // Both nodes' sessions subscribed before anything is published.
    let deadline = Instant::now() + Duration::from_secs(20);
    while nodes
        .iter()
        .any(|n| counter(&n.url, &sensors, "mqtt", "connections") == 0)
    {
        assert!(Instant::now() < deadline, "a node did not reach the broker");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));

    // 20 detections, each its own message, from one sensor gateway (paho-mqtt, PyPI).
    let sent: u32 = 20;
    let files: Vec<String> = (0..sent)
        .map(|n| {
            let at = truce_core::Timestamp::now().plus_seconds(-30.0 + f64::from(n) * 0.01);
            let body = format!(
                r#"{{"client_id":"6f1c1a2e-0000-4000-8000-{n:012}","kind":"shot","observed_at":"{at}",
                "reporter":"sensor-{n}","source":"sensor","geometry":{{"type":"arrival",
                "sensor":{{"id":"sensor-{n}","lat":40.{n:02},"lon":46.5,"alt_m":900}},
                "arrival_time":"{at}","sigma_s":0.002}}}}"#
            );
            let path = dir.path().join(format!("detection-{n}.json"));
            std::fs::write(&path, body).expect("detection");
            path.display().to_string()
        })
        .collect();
    let mut args = vec![
        "publish".to_string(),
        "127.0.0.1".to_string(),
        broker_port.to_string(),
        "sensors/ridge".to_string(),
    ];
    args.extend(files);
    truce_peers::run_script("mqtt_peer.py", &args);

    let reader = PgStore::open_reader(&PgTarget::parse(&store).expect("url")).expect("reader");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let recorded = reader.observations_by_id(0, 1000).expect("observations");
        if recorded.len() >= sent as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {sent} detections recorded",
            recorded.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let recorded = reader.observations_by_id(0, 1000).expect("observations");
    assert_eq!(recorded.len(), sent as usize, "each detection once");
    assert!(recorded.iter().all(|o| {
        o.observation
            .via
            .as_deref()
            .is_some_and(|v| v.contains("topic sensors/ridge"))
    }));
    // The broker gave each message to one node: together they took each once.
    let total = |name: &str| -> u64 {
        nodes
            .iter()
            .map(|n| counter(&n.url, &sensors, "mqtt", name))
            .sum()
    };
    assert_eq!(
        total("messages"),
        u64::from(sent),
        "each message to one node"
    );
    assert_eq!(total("recorded"), u64::from(sent));
    assert_eq!(total("repeated"), 0);
    drop(nodes);
    drop(broker);
}

#[test]
fn a_node_beside_a_single_server_is_answered_by_it_until_the_node_takes_the_role() {
    let pg = truce_peers::postgres::postgres();
    let store = pg.fresh_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init_demo(&store, &data);
    let observer = add_member(&store, &data, "m1", "observer", "op-1");
    // The single server holds the sequencer's role: the node does not take it, and what it
    // queues is recorded by the server (before, it waited as 202 until the server stopped).
    let mut server = start_serve(&data, &store, free_port(), &[]);
    let node = start_node(&data, &store, free_port());
    // 20 reports at once, half to each; 5 of them sent to both: each is one observation,
    // whichever way it came (the node's through the queue, the server's straight in).
    let ids: Vec<Uuid> = (0..20).map(|_| Uuid::new_v4()).collect();
    let sends: Vec<(String, Uuid, usize)> = ids
        .iter()
        .enumerate()
        .flat_map(|(n, id)| {
            let to = if n % 2 == 0 { &node.url } else { &server.url };
            let mut both = vec![(to.clone(), *id, n)];
            if n < 5 {
                let other = if n % 2 == 0 { &server.url } else { &node.url };
                both.push((other.clone(), *id, n));
            }
            both
        })
        .collect();
    let answers: Vec<(Uuid, u64)> = std::thread::scope(|s| {
        let running: Vec<_> = sends
            .iter()
            .map(|(url, id, n)| {
                let observer = &observer;
                s.spawn(move || {
                    let (status, answer) = post_json(
                        &format!("{url}/api/observations"),
                        observer,
                        &observation(*id, *n),
                    );
                    assert!(status == 201 || status == 200, "{status} {answer}");
                    let number = answer["accepted"][0]["id"].as_u64();
                    (*id, number.unwrap_or_else(|| panic!("{answer}")))
                })
            })
            .collect();
        running
            .into_iter()
            .map(|t| t.join().expect("sent"))
            .collect()
    });
    let mut numbers: HashMap<Uuid, HashSet<u64>> = HashMap::new();
    for (id, number) in answers {
        numbers.entry(id).or_default().insert(number);
    }
    assert_eq!(numbers.len(), 20);
    assert!(
        numbers.values().all(|n| n.len() == 1),
        "a report numbered twice: {numbers:?}"
    );
    let distinct: HashSet<u64> = numbers.values().flatten().copied().collect();
    assert_eq!(distinct.len(), 20, "two reports under one number");
    assert!(
        !sequencing(&node.url),
        "the node took the role from the server"
    );

    // The server frozen past its lease: the node takes the role (a new epoch), and once the
    // server runs again it is fenced: its writes are refused, and what the node takes is
    // recorded by the node, each answered 201 (the fenced server charges no attempts).
    let pid = server.child.id().to_string();
    let signal = |name: &str| {
        let sent = Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {name}");
    };
    signal("-STOP");
    await_sequencer(std::slice::from_ref(&node.url), Duration::from_secs(30));
    signal("-CONT");
    let (status, answer) = post_json(
        &format!("{}/api/observations", server.url),
        &observer,
        &observation(Uuid::new_v4(), 1),
    );
    assert_eq!(status, 503, "the fenced server recorded {answer}");
    for n in 0..5 {
        let (status, answer) = post_json(
            &format!("{}/api/observations", node.url),
            &observer,
            &observation(Uuid::new_v4(), n),
        );
        assert_eq!(status, 201, "{answer}");
    }
    // The fenced server lets the role go for good: when that node dies, another takes over
    // (before, the server took the role back and held it, appending nothing).
    drop(node);
    // Time enough for the server to take the role back, were it to (it asks every second).
    std::thread::sleep(Duration::from_secs(3));
    let next = start_node(&data, &store, free_port());
    await_sequencer(std::slice::from_ref(&next.url), Duration::from_secs(30));
    let (status, answer) = post_json(
        &format!("{}/api/observations", next.url),
        &observer,
        &observation(Uuid::new_v4(), 9),
    );
    assert_eq!(status, 201, "{answer}");
    drop(next);
    // Asked to stop, the server stops: its answerer does not hold it.
    signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .child
        .try_wait()
        .expect("the server's state")
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the server did not stop when asked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_verifies(&store, &data);
}

#[test]
fn a_sequencing_node_keeps_its_role_through_a_full_disk_and_records_what_waited() {
    let pg = truce_peers::postgres::postgres();
    let store = pg.fresh_url();
    let schema = store
        .rsplit("schema=")
        .next()
        .expect("a schema")
        .to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init_demo(&store, &data);
    let observer = add_member(&store, &data, "m1", "observer", "op-1");
    let node = start_node(&data, &store, free_port());
    await_sequencer(std::slice::from_ref(&node.url), Duration::from_secs(30));
    let epoch = || {
        pg.psql(&format!("SELECT epoch FROM {schema}.log_head"))
            .trim()
            .to_string()
    };
    let before = epoch();
    // The database's disk full for the record's entries (a trigger answers as PostgreSQL does).
    pg.psql(&format!(
        "CREATE FUNCTION {schema}.full() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'disk full (test)' USING ERRCODE = '53100'; END $$;
         CREATE TRIGGER full_disk BEFORE INSERT ON {schema}.entries
           FOR EACH ROW EXECUTE FUNCTION {schema}.full();"
    ));
    let (status, answer) = std::thread::scope(|s| {
        let sent = s.spawn(|| {
            post_json(
                &format!("{}/api/observations", node.url),
                &observer,
                &observation(Uuid::new_v4(), 1),
            )
        });
        // Tries at the queue meet the full disk for 3 s: the node keeps its role (before, it
        // gave it up after each, and took it again under a new epoch, rebuilt from the store).
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            epoch(),
            before,
            "the sequencer's term changed during the fault"
        );
        assert!(sequencing(&node.url));
        pg.psql(&format!(
            "DROP TRIGGER full_disk ON {schema}.entries; DROP FUNCTION {schema}.full();"
        ));
        sent.join().expect("sent")
    });
    // Recorded once the disk took writes again, within the node's wait for the answer.
    assert_eq!(status, 201, "{answer}");
    assert_eq!(epoch(), before);
    drop(node);
    assert_verifies(&store, &data);
}
