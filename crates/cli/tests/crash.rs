//! Crash safety of intake: the real `truce serve` is killed with SIGKILL while batches are being
//! submitted; after a restart every acknowledged observation is present exactly once with its
//! entry, the batch in flight is present wholly or not at all, the chain verifies, and intake
//! continues with fresh numbers. The same on the embedded SQLite file and on PostgreSQL
//! (`--store`, a throw-away server from `truce_peers::postgres`).

mod common;

use common::truce;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use truce_store::{Durability, PgStore, PgTarget, SqliteStore, Store};
use uuid::Uuid;

const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

/// Starts `truce serve` on a free loopback port; answers the child and its base URL.
fn start_server(data: &Path, store: Option<&str>) -> (Child, String) {
    common::serve_from(data.to_str().expect("a UTF-8 path"), store)
}

fn observation(client_id: Uuid, i: usize) -> serde_json::Value {
    // Spread over the demo area so batches create and revise many incidents.
    let lat = 39.9 + (i % 97) as f64 * 0.002;
    let lon = 46.5 + (i % 89) as f64 * 0.003;
    serde_json::json!({
        "client_id": client_id.to_string(),
        "kind": "explosion",
        "subkind": "impact",
        "observed_at": "2026-11-20T10:00:00Z",
        "reporter": "crash-test",
        "geometry": {"type": "position", "lat": lat, "lon": lon, "accuracy_m": 300.0}
    })
}

struct Batch {
    ids: Vec<Uuid>,
    /// Observation ids the server acknowledged (201), if it did.
    acked: Option<Vec<u64>>,
}

#[test]
fn sigkill_during_batch_intake_loses_nothing_acknowledged() {
    sigkill_during_intake(None);
}

#[test]
fn sigkill_during_batch_intake_on_postgres_loses_nothing_acknowledged() {
    sigkill_during_intake(Some(&truce_peers::postgres::postgres().fresh_url()));
}

fn sigkill_during_intake(store: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = truce(store)
        .args(["init", "--data"])
        .arg(&data)
        .args(["--agreement", DEMO_AGREEMENT])
        .output()
        .expect("run truce init");
    assert!(init.status.success(), "init failed: {init:?}");
    let added = truce(store)
        .args(["user", "add", "--data"])
        .arg(&data)
        .args(["--monitor", "m1", "--role", "observer", "op-1"])
        .output()
        .expect("run truce user add");
    assert!(added.status.success(), "user add failed: {added:?}");
    let authorization = format!("Bearer {}", String::from_utf8_lossy(&added.stdout).trim());

    let (mut server, url) = start_server(&data, store);
    let batches: Arc<Mutex<Vec<Batch>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let batches = batches.clone();
        let stop = stop.clone();
        let url = format!("{url}/api/observations");
        let authorization = authorization.clone();
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let ids: Vec<Uuid> = (0..250).map(|_| Uuid::new_v4()).collect();
                let body: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        n += 1;
                        observation(*id, n)
                    })
                    .collect();
                let index = {
                    let mut b = batches.lock().expect("lock");
                    b.push(Batch { ids, acked: None });
                    b.len() - 1
                };
                let Ok(mut response) = agent
                    .post(&url)
                    .header("authorization", &authorization)
                    .send_json(&body)
                else {
                    return; // the server is gone
                };
                if response.status().as_u16() != 201 {
                    return;
                }
                let answer: serde_json::Value =
                    response.body_mut().read_json().expect("json answer");
                let ids: Vec<u64> = answer["accepted"]
                    .as_array()
                    .expect("accepted")
                    .iter()
                    .map(|a| a["id"].as_u64().expect("id"))
                    .collect();
                batches.lock().expect("lock")[index].acked = Some(ids);
            }
        })
    };
    // Let several batches be acknowledged, then kill the server mid-stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let acked = batches
            .lock()
            .expect("lock")
            .iter()
            .filter(|b| b.acked.is_some())
            .count();
        if acked >= 6 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill().expect("SIGKILL the server"); // Child::kill is SIGKILL on Unix
    server.wait().expect("reap");
    stop.store(true, Ordering::SeqCst);
    client.join().expect("client thread");

    let batches = batches.lock().expect("lock");
    let acked: Vec<&Batch> = batches.iter().filter(|b| b.acked.is_some()).collect();
    assert!(
        acked.len() >= 6,
        "only {} batches acknowledged before the deadline",
        acked.len()
    );

    // Restart: the server must come back on the same folder.
    let (mut server, url) = start_server(&data, store);
    let health: serde_json::Value = ureq::get(&format!("{url}/healthz"))
        .call()
        .expect("healthz")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(health["status"], "ok");
    server.kill().expect("stop");
    server.wait().expect("reap");

    let url = store;
    let store: Box<dyn Store> = match url {
        Some(u) => Box::new(PgStore::open_reader(&PgTarget::parse(u).expect("url")).expect("open")),
        None => {
            Box::new(SqliteStore::open(&data.join("truce.sqlite"), Durability::Full).expect("open"))
        }
    };
    let mut present_total = 0;
    for batch in batches.iter() {
        let records = store.client_records(&batch.ids).expect("lookup");
        match &batch.acked {
            Some(ids) => {
                assert_eq!(
                    records.len(),
                    batch.ids.len(),
                    "an acknowledged observation is missing"
                );
                for (record, id) in records.iter().zip(ids) {
                    assert_eq!(record.observation_id.0, *id, "acknowledged id changed");
                    let stored = store
                        .observation(record.observation_id)
                        .expect("read")
                        .expect("observation without its entry");
                    assert_eq!(stored.observation.client_id, Some(record.client_id));
                }
            }
            None => assert!(
                records.is_empty() || records.len() == batch.ids.len(),
                "a batch in flight was half stored: {} of {}",
                records.len(),
                batch.ids.len()
            ),
        }
        present_total += records.len();
    }
    // Exactly once: the observations table holds nothing beyond these.
    let (max_obs, _) = store.max_ids().expect("max ids");
    assert_eq!(
        max_obs.0 as usize, present_total,
        "observations beyond those submitted"
    );
    let report = truce_store::verify_chain(store.as_ref()).expect("chain verifies after the crash");
    assert_eq!(report.observations as usize, present_total);
    drop(store);
    let store = url;

    let verify = truce(store)
        .args(["verify", "--data"])
        .arg(&data)
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "truce verify failed: {}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // Intake continues after the restart with the next number.
    let (mut server, url) = start_server(&data, store);
    let answer: serde_json::Value = ureq::post(&format!("{url}/api/observations"))
        .header("authorization", &authorization)
        .send_json(observation(Uuid::new_v4(), 1))
        .expect("post after restart")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(
        answer["accepted"][0]["id"].as_u64(),
        Some(present_total as u64 + 1)
    );
    server.kill().expect("stop");
    server.wait().expect("reap");
}
