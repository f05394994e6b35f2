//! Faults of the machine under a running `truce serve`, injected for real: a full disk (a small
//! tmpfs), EIO and ENOSPC on the record's writes and fsyncs (strace's fault injection, attached
//! to the running server and detached to clear the fault), the record's files made immutable
//! (`chattr +i`), and SIGKILL under load, again and again. In each case the server answers
//! 503 naming the fault (never a hang, never a 500), takes observations again once the fault
//! clears, and afterwards every acknowledged observation is in the record once, under the id it
//! was acknowledged with, and the record verifies.
//!
//! Needs root (mount, chattr), strace, and an ext4 (or other chattr-capable) temporary folder,
//! as `.ci/run` provides.

mod common;

use common::{BIN, truce};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use truce_store::{Durability, PgStore, PgTarget, SqliteStore, Store};
use uuid::Uuid;

const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

/// A record in `data` with one observer; its token.
fn init(data: &Path) -> String {
    init_in(data, None)
}

/// [`init`], with the record in PostgreSQL at `store` when given.
fn init_in(data: &Path, store: Option<&str>) -> String {
    let init = truce(store)
        .args(["init", "--data"])
        .arg(data)
        .args(["--agreement", DEMO_AGREEMENT])
        .output()
        .expect("run truce init");
    assert!(init.status.success(), "init failed: {init:?}");
    let added = truce(store)
        .args(["user", "add", "--data"])
        .arg(data)
        .args(["--monitor", "m1", "--role", "observer", "op-1"])
        .output()
        .expect("run truce user add");
    assert!(added.status.success(), "user add failed: {added:?}");
    String::from_utf8_lossy(&added.stdout)
        .lines()
        .next()
        .expect("the token")
        .trim()
        .to_string()
}

/// One observation, spread over the demo area so batches create and revise incidents; a long
/// note so that a small disk fills in a few batches.
fn observation(client_id: Uuid, i: usize) -> serde_json::Value {
    let lat = 39.9 + (i % 97) as f64 * 0.002;
    let lon = 46.5 + (i % 89) as f64 * 0.003;
    serde_json::json!({
        "client_id": client_id.to_string(),
        "kind": "explosion",
        "subkind": "impact",
        "observed_at": "2026-11-20T10:00:00Z",
        "reporter": "fault-test",
        "notes": "n".repeat(1500),
        "geometry": {"type": "position", "lat": lat, "lon": lon, "accuracy_m": 300.0}
    })
}

/// What a server answered to one batch.
enum Answer {
    /// 201, with the observation ids in order.
    Acknowledged(Vec<u64>),
    /// Any other status, with the body.
    Refused(u16, serde_json::Value),
    /// No answer at all (the server is gone).
    Gone,
}

/// One batch sent: its client ids, and the ids acknowledged for it, if it was.
type Sent = (Vec<Uuid>, Option<Vec<u64>>);

/// A field client: sends batches and remembers every client id it sent and every
/// acknowledgement it got, so the record can be checked against them afterwards.
#[derive(Clone)]
struct Client {
    token: String,
    agent: ureq::Agent,
    /// Every batch sent, in order.
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Client {
    fn new(token: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A hang is a failure: no answer within this is reported as the server gone.
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        Self {
            token: token.to_string(),
            agent,
            sent: Arc::default(),
        }
    }

    /// Sends `n` new observations as one batch, which must be acknowledged.
    fn send_taken(&self, url: &str, n: usize) {
        match self.send_new(url, n) {
            Answer::Acknowledged(ids) => assert_eq!(ids.len(), n),
            Answer::Refused(status, body) => panic!("refused: {status} {body}"),
            Answer::Gone => panic!("no answer within 20 s"),
        }
    }

    /// Sends `n` new observations as one batch.
    fn send_new(&self, url: &str, n: usize) -> Answer {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
        self.send(url, ids)
    }

    /// Sends the observations of `ids` as one batch (again, when they were sent before).
    fn send(&self, url: &str, ids: Vec<Uuid>) -> Answer {
        let body: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| observation(*id, i + id.as_u128() as usize % 1000))
            .collect();
        let slot = {
            let mut sent = self.sent.lock().expect("lock");
            sent.push((ids, None));
            sent.len() - 1
        };
        let response = self
            .agent
            .post(&format!("{url}/api/observations"))
            .header("authorization", &format!("Bearer {}", self.token))
            .send_json(&body);
        let Ok(mut response) = response else {
            return Answer::Gone;
        };
        let status = response.status().as_u16();
        let Ok(answer) = response.body_mut().read_json::<serde_json::Value>() else {
            return Answer::Gone;
        };
        if status != 201 {
            return Answer::Refused(status, answer);
        }
        let acked: Vec<u64> = answer["accepted"]
            .as_array()
            .expect("accepted")
            .iter()
            .map(|a| a["id"].as_u64().expect("id"))
            .collect();
        self.sent.lock().expect("lock")[slot].1 = Some(acked.clone());
        Answer::Acknowledged(acked)
    }

    /// Checks the record in `data` against what was sent: every acknowledged observation is
    /// there once, under its acknowledged id, with its entry; a batch never acknowledged is
    /// there wholly or not at all; nothing else is there; the chain and `truce verify` pass.
    /// Answers how many observations were acknowledged.
    fn check_record(&self, data: &Path) -> usize {
        self.check_record_in(data, None)
    }

    /// [`Client::check_record`], of the record in PostgreSQL at `url` when given.
    fn check_record_in(&self, data: &Path, url: Option<&str>) -> usize {
        let store: Box<dyn Store> = match url {
            Some(u) => Box::new(
                PgStore::open_reader(&PgTarget::parse(u).expect("a store URL"))
                    .expect("open record"),
            ),
            None => Box::new(
                SqliteStore::open(&data.join("truce.sqlite"), Durability::Full)
                    .expect("open record"),
            ),
        };
        let sent = self.sent.lock().expect("lock");
        let mut present: HashMap<Uuid, u64> = HashMap::new();
        let mut acknowledged = 0;
        for (ids, acked) in sent.iter() {
            let records = store.client_records(ids).expect("look up client ids");
            for r in &records {
                present.insert(r.client_id, r.observation_id.0);
            }
            let found: HashMap<Uuid, u64> = records
                .iter()
                .map(|r| (r.client_id, r.observation_id.0))
                .collect();
            match acked {
                Some(acked) => {
                    acknowledged += acked.len();
                    for (id, number) in ids.iter().zip(acked) {
                        assert_eq!(
                            found.get(id),
                            Some(number),
                            "acknowledged observation {id} (#{number}) is missing or renumbered"
                        );
                        let stored = store
                            .observation(truce_core::ObservationId(*number))
                            .expect("read")
                            .expect("an observation without its entry");
                        assert_eq!(stored.observation.client_id, Some(*id));
                    }
                }
                None => assert!(
                    found.is_empty() || ids.iter().all(|id| found.contains_key(id)),
                    "a batch never acknowledged was half stored: {} of {}",
                    found.len(),
                    ids.len()
                ),
            }
        }
        let (max, _) = store.max_ids().expect("max ids");
        assert_eq!(
            max.0 as usize,
            present.len(),
            "the record holds observations no client sent, or one twice"
        );
        let report = truce_store::verify_chain(store.as_ref()).expect("the chain verifies");
        assert_eq!(report.observations as usize, present.len());
        drop(store);
        let verify = truce(url)
            .args(["verify", "--data"])
            .arg(data)
            .output()
            .expect("run truce verify");
        assert!(
            verify.status.success(),
            "truce verify failed: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        acknowledged
    }
}

/// A running `truce serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        Self::start_on(data, None)
    }

    /// [`Server::start`], on the record in PostgreSQL at `store` when given.
    fn start_on(data: &Path, store: Option<&str>) -> Self {
        let (child, url) = common::serve_from(data.to_str().expect("a UTF-8 path"), store);
        Self { child, url }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `program` with `args`; panics naming it if it fails.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e} (is it installed?)"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tmpfs of a given size, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_str().expect("UTF-8").to_string();
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", &path],
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn resize(&self, size: &str) {
        let path = self.path().to_str().expect("UTF-8");
        run(
            "mount",
            &["-o", &format!("remount,size={size}"), "tmpfs", path],
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Asserts `answer` is a 503 whose message says `what`; answers the batch's body.
fn assert_unavailable(answer: Answer, what: &str) {
    match answer {
        Answer::Refused(503, body) => {
            assert_eq!(body["error"]["code"], "unavailable", "{body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(what), "503 without {what:?}: {message}");
        }
        Answer::Refused(status, body) => panic!("expected 503 ({what}), got {status}: {body}"),
        Answer::Acknowledged(_) => panic!("expected 503 ({what}), got 201"),
        Answer::Gone => panic!("expected 503 ({what}), got no answer within 20 s"),
    }
}

/// The server still answers reads while it cannot write.
fn assert_reads_answer(url: &str, token: &str) {
    let health = ureq::get(&format!("{url}/healthz"))
        .call()
        .expect("healthz answers during the fault");
    assert_eq!(health.status().as_u16(), 200);
    let incidents = ureq::get(&format!("{url}/api/incidents"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .expect("incidents answer during the fault");
    assert_eq!(incidents.status().as_u16(), 200);
}

/// The last batch `client` sent (its client ids), to send again.
fn last_batch(client: &Client) -> Vec<Uuid> {
    client
        .sent
        .lock()
        .expect("lock")
        .last()
        .expect("a batch")
        .0
        .clone()
}

#[test]
fn a_full_disk_answers_503_and_intake_resumes_when_space_is_freed() {
    let disk = SmallDisk::mount("3m");
    let data = disk.path().join("data");
    let token = init(&data);
    let server = Server::start(&data);
    let client = Client::new(&token);
    let mut refused = None;
    for _ in 0..200 {
        match client.send_new(&server.url, 50) {
            Answer::Acknowledged(_) => continue,
            other => {
                refused = Some(other);
                break;
            }
        }
    }
    let refused = refused.expect("a 3 MiB disk fills within 200 batches of 50");
    assert_unavailable(refused, "the disk holding the record is full");
    let unsent = last_batch(&client);
    // Still full: refused again, and the server still reads.
    assert_unavailable(client.send_new(&server.url, 50), "full");
    assert_reads_answer(&server.url, &token);

    disk.resize("64m");
    // The refused batch, sent again as the answer asked, is taken; then new ones.
    assert!(matches!(
        client.send(&server.url, unsent),
        Answer::Acknowledged(ids) if ids.len() == 50
    ));
    for _ in 0..3 {
        client.send_taken(&server.url, 50);
    }
    server.kill();
    let acknowledged = client.check_record(&data);
    assert!(acknowledged >= 200, "{acknowledged}");
}

/// `strace` attached to every thread of `pid`, failing `syscalls` with `errno` until dropped.
struct Injected {
    strace: Child,
    pid: u32,
    /// Everything strace has written to its stderr.
    said: Arc<Mutex<String>>,
}

/// The tracer of each thread of `pid`, as `tid:TracerPid`.
fn tracers(pid: u32) -> Vec<(String, String)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            let tracer = status
                .lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .unwrap_or("?")
                .trim()
                .to_string();
            (t.file_name().to_string_lossy().into_owned(), tracer)
        })
        .collect()
}

impl Injected {
    fn attach(pid: u32, syscalls: &str, errno: &str) -> Self {
        let mut strace = Command::new("strace")
            .args(["-f", "-p", &pid.to_string(), "-o", "/dev/null"])
            .args(["-e", &format!("trace={syscalls}")])
            .args(["-e", &format!("inject={syscalls}:error={errno}")])
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace starts (is it installed?)");
        // strace's stderr is read to its end, so it never finds the pipe closed (SIGPIPE would
        // end it, and the fault with it), and what it said is kept for a failure's message.
        let said = Arc::new(Mutex::new(String::new()));
        let mut stderr = BufReader::new(strace.stderr.take().expect("strace's stderr"));
        let kept = said.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
                kept.lock().expect("lock").push_str(&line);
                line.clear();
            }
        });
        let injected = Self { strace, pid, said };
        // Attached once strace says so and every thread of the server names it as its tracer.
        let deadline = Instant::now() + Duration::from_secs(10);
        let tracer = injected.strace.id().to_string();
        while !(injected.said.lock().expect("lock").contains("attached")
            && tracers(pid).iter().all(|(_, t)| *t == tracer))
        {
            assert!(
                Instant::now() < deadline,
                "strace did not attach: {}",
                injected.state()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        injected
    }

    /// What strace said and which tracer each thread of the server has, for a failure.
    fn state(&self) -> String {
        format!(
            "strace (pid {}) said {:?}; the server's threads and their tracers: {:?}",
            self.strace.id(),
            self.said.lock().expect("lock"),
            tracers(self.pid)
        )
    }
}

impl Drop for Injected {
    /// Detaches: SIGINT makes strace let go of the threads, and the fault clears.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.strace.id().to_string()])
            .status();
        let _ = self.strace.wait();
    }
}

#[test]
fn eio_and_enospc_on_writes_and_fsyncs_answer_503_and_intake_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = init(&data);
    let server = Server::start(&data);
    let client = Client::new(&token);
    client.send_taken(&server.url, 20);
    // SQLite writes the record with pwrite64 and makes it durable with fsync (or fdatasync).
    let cases = [
        ("pwrite64", "EIO", "failed to read or write"),
        ("pwrite64", "ENOSPC", "full"),
        ("fsync,fdatasync", "EIO", "failed to read or write"),
        ("fsync,fdatasync", "ENOSPC", "failed to read or write"),
    ];
    for (syscalls, errno, said) in cases {
        let fault = Injected::attach(server.pid(), syscalls, errno);
        // Once strace has attached, the next write meets the fault; a batch taken before then
        // is acknowledged as usual (and checked at the end like any other).
        let refused = (0..20)
            .find_map(|_| match client.send_new(&server.url, 20) {
                Answer::Acknowledged(_) => {
                    std::thread::sleep(Duration::from_millis(100));
                    None
                }
                other => Some(other),
            })
            .unwrap_or_else(|| {
                panic!(
                    "{syscalls} {errno}: no batch met the fault in 20 tries; {}",
                    fault.state()
                )
            });
        assert_unavailable(refused, said);
        let unsent = last_batch(&client);
        assert_reads_answer(&server.url, &token);
        drop(fault);
        match client.send(&server.url, unsent) {
            Answer::Acknowledged(ids) => assert_eq!(ids.len(), 20),
            Answer::Refused(s, body) => panic!("{syscalls} {errno} cleared, still {s}: {body}"),
            Answer::Gone => panic!("{syscalls} {errno} cleared, no answer"),
        }
        client.send_taken(&server.url, 20);
    }
    server.kill();
    let acknowledged = client.check_record(&data);
    assert!(acknowledged >= 20 + 4 * 40, "{acknowledged}");
}

#[test]
fn record_files_made_immutable_answer_503_and_intake_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = init(&data);
    let server = Server::start(&data);
    let client = Client::new(&token);
    client.send_taken(&server.url, 20);
    let files: Vec<PathBuf> = ["truce.sqlite", "truce.sqlite-wal"]
        .iter()
        .map(|f| data.join(f))
        .collect();
    let names: Vec<&str> = files.iter().map(|f| f.to_str().expect("UTF-8")).collect();
    // Even root cannot write an immutable file, through a descriptor opened before or after.
    run("chattr", &[&["+i"], names.as_slice()].concat());
    assert_unavailable(client.send_new(&server.url, 20), "failed to read or write");
    let unsent = last_batch(&client);
    assert_reads_answer(&server.url, &token);
    run("chattr", &[&["-i"], names.as_slice()].concat());
    assert!(matches!(
        client.send(&server.url, unsent),
        Answer::Acknowledged(_)
    ));
    server.kill();

    // Started on an immutable record, the server refuses at once, naming the file.
    run("chattr", &["+i", names[0]]);
    let refused = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--http", "127.0.0.1:0"])
        .output()
        .expect("run truce serve");
    run("chattr", &["-i", names[0]]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("truce.sqlite") && said.contains("readonly"),
        "{said}"
    );
    assert_eq!(client.check_record(&data), 40);
}

/// How many times the kill loop kills the server (`TRUCE_KILL_RUNS`, 100 by default).
fn kill_runs() -> usize {
    std::env::var("TRUCE_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

#[test]
fn sigkill_under_load_again_and_again_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = init(&data);
    let client = Client::new(&token);
    let runs = kill_runs();
    let mut rng = StdRng::seed_from_u64(14);
    let mut killed_with_requests_in_flight = 0;
    for run in 0..runs {
        let server = Server::start(&data);
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        // Two senders: batches of 1 to 60, as fast as the server takes them.
        let senders: Vec<_> = (0..2)
            .map(|k| {
                let (client, url, stop) = (client.clone(), server.url.clone(), stop.clone());
                let killed = killed.clone();
                std::thread::spawn(move || {
                    let mut rng = StdRng::seed_from_u64((run * 2 + k) as u64);
                    let mut in_flight_at_kill = false;
                    while !stop.load(Ordering::SeqCst) {
                        // Sent before the kill and unanswered: cut in flight (one sent after
                        // it finds the port closed, and does not count).
                        let before_kill = !killed.load(Ordering::SeqCst);
                        match client.send_new(&url, rng.random_range(1..=60)) {
                            Answer::Acknowledged(_) => {}
                            Answer::Gone => {
                                in_flight_at_kill = before_kill;
                                break;
                            }
                            Answer::Refused(s, body) => panic!("run {run}: {s} {body}"),
                        }
                    }
                    in_flight_at_kill
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(20..300)));
        killed.store(true, Ordering::SeqCst);
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for s in senders {
            if s.join().expect("a sender") {
                killed_with_requests_in_flight += 1;
            }
        }
    }
    assert!(
        killed_with_requests_in_flight >= runs,
        "too few kills hit a request in flight: {killed_with_requests_in_flight} of {runs} runs"
    );
    // One more start: the record opens, and intake goes on.
    let server = Server::start(&data);
    client.send_taken(&server.url, 5);
    server.kill();
    let acknowledged = client.check_record(&data);
    eprintln!(
        "{runs} kills, {killed_with_requests_in_flight} requests cut in flight, \
         {acknowledged} observations acknowledged, all present once"
    );
}

#[test]
fn postgres_connections_cut_and_writes_refused_answer_503_and_intake_resumes() {
    let pg = truce_peers::postgres::postgres();
    let url = pg.fresh_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = init_in(&data, Some(&url));
    let server = Server::start_on(&data, Some(&url));
    let client = Client::new(&token);
    client.send_taken(&server.url, 20);

    // Every connection of the server to the database cut, as a database restart does: each
    // request is answered (201 once a connection is made again, or 503 naming the database),
    // and intake resumes within seconds.
    pg.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = 'postgres' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.send_new(&server.url, 20) {
            Answer::Acknowledged(_) => break,
            Answer::Refused(503, body) => {
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("database"), "{body}");
            }
            Answer::Refused(status, body) => panic!("connections cut: {status} {body}"),
            Answer::Gone => panic!("connections cut: no answer within 20 s"),
        }
        assert!(
            Instant::now() < deadline,
            "intake did not resume within 10 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The server takes the sequencer's role again once it reaches the database (its lock's
    // connection was cut too): a second writer is refused as before the cut, not let in to
    // fence the server out.
    let schema = url.rsplit("schema=").next().expect("a schema");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Free while psql can take the role's lock for a moment (it lets go as it exits).
    while pg
        .psql(&format!(
            "SELECT pg_try_advisory_lock(hashtext('truce sequencer ' || '{schema}'))"
        ))
        .trim()
        == "t"
    {
        assert!(
            Instant::now() < deadline,
            "the server did not take the sequencer's role again within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = truce(Some(&url))
        .args(["user", "add", "--data"])
        .arg(&data)
        .args(["--monitor", "m1", "--role", "observer", "op-2"])
        .output()
        .expect("run truce user add");
    assert!(!second.status.success(), "{second:?}");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another process sequences"),
        "{second:?}"
    );

    // The database refuses every write (made read-only by its administrator): 503 naming it;
    // reads still answer; once writable again, the refused batch sent again is taken.
    pg.psql("ALTER SYSTEM SET default_transaction_read_only = on");
    pg.psql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));
    assert_unavailable(client.send_new(&server.url, 20), "read-only");
    let unsent = last_batch(&client);
    assert_reads_answer(&server.url, &token);
    pg.psql("ALTER SYSTEM RESET default_transaction_read_only");
    pg.psql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));
    assert!(matches!(
        client.send(&server.url, unsent),
        Answer::Acknowledged(_)
    ));
    server.kill();
    assert!(client.check_record_in(&data, Some(&url)) >= 60);
}
