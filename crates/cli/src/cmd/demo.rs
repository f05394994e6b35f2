//! `truce demo`: the illustrative agreement, the API and a simulated stream of reports.

use crate::cot::CotFlags;
use crate::mqtt::MqttFlags;
use crate::{cot, data_dir, demo_files, demo_patrol, mqtt, serve};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use truce_core::Timestamp;
use truce_core::validate::validate;
use truce_engine::Engine;
use truce_sim::{Generator, Scenario};

/// Where the demo takes CoT when no listener is asked for, and as whom.
const DEMO_COT_TCP: &str = "127.0.0.1:8087";
const DEMO_COT_MEMBER: &str = "m1-observer";
/// Who the demo's MQTT detections are recorded as, when `--mqtt` is given.
const DEMO_MQTT_MEMBER: &str = "m2-observer";

/// Creates the folder when absent, serves it and feeds simulated reports until Ctrl-C.
pub fn run(
    data: &Path,
    http: SocketAddr,
    interval_s: f64,
    sign_in: &crate::https::SignInFlags,
    mut cot: CotFlags,
    mut mqtt: MqttFlags,
) -> Result<ExitCode> {
    if !(0.05..=3600.0).contains(&interval_s) {
        anyhow::bail!("--interval must be from 0.05 to 3600 seconds, got {interval_s}");
    }
    let fresh = !data_dir::exists(data);
    if fresh {
        let mut agreement = demo_files::agreement().context("the built-in demo agreement")?;
        make_ledger_keys(data, &mut agreement)?;
        data_dir::init(data, &agreement)?;
        std::fs::write(data.join("agreement.toml"), demo_files::AGREEMENT_TOML)?;
        std::fs::write(data.join("zones.geojson"), demo_files::ZONES_GEOJSON)?;
    }
    let engine = data_dir::open_engine(data)?;
    let tokens = if fresh {
        make_members(data, &engine)?
    } else {
        std::fs::read_to_string(data.join("demo-tokens.txt")).unwrap_or_default()
    };
    let scenario = Scenario::from_toml(demo_files::SCENARIO_TOML)?;
    let rt = serve::runtime()?;
    rt.block_on(async move {
        let bound = serve::bind(engine.clone(), http)
            .await?
            .with_max_failed_sign_ins(sign_in.limit());
        let addr = bound.local_addr()?;
        let doc = &engine.agreement().doc;
        println!("truce demo — {}{}", doc.name, if doc.illustrative { " (ILLUSTRATIVE)" } else { "" });
        println!(
            "  data folder: {} ({})",
            data.display(),
            if fresh { "created" } else { "reused" }
        );
        println!("  open:        http://{addr}/");
        if let Some(auditor) = tokens
            .lines()
            .find_map(|l| l.strip_prefix("m1-auditor").map(str::trim))
            .filter(|t| !t.is_empty())
        {
            println!("  first look:  http://{addr}/#token={auditor}   (signed in as m1's auditor, read-only)");
        }
        println!("  incidents:   http://{addr}/api/incidents   (GeoJSON: -H 'Accept: application/geo+json'; a member's token)");
        println!("  live feed:   curl -N 'http://{addr}/api/events?access_token=TOKEN'");
        println!("  API doc:     http://{addr}/api/openapi.json");
        println!("  verify:      truce verify --data {}", data.display());
        println!("  ledger:      http://{addr}/api/ledger   checkpoint: http://{addr}/checkpoint");
        println!("  agreed:      http://{addr}/agreed/checkpoint   (the latest every monitor's witness cosigned)");
        println!("A simulated stream of reports from both monitors' posts is feeding it. Ctrl-C stops.");
        println!("Members (tokens also in {}):", data.join("demo-tokens.txt").display());
        for line in tokens.lines().filter(|l| !l.starts_with('#')) {
            println!("  {line}");
        }
        println!("  e.g. curl -H \"Authorization: Bearer $(awk '/^m1-observer/{{print $2}}' {})\" http://{addr}/api/incidents",
            data.join("demo-tokens.txt").display());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let asked = cot.cot_tcp.is_some() || cot.cot_udp.is_some();
        if !asked {
            cot.cot_tcp = DEMO_COT_TCP.parse().ok();
        }
        cot.cot_member.get_or_insert_with(|| DEMO_COT_MEMBER.to_string());
        mqtt.mqtt_member.get_or_insert_with(|| DEMO_MQTT_MEMBER.to_string());
        let subscription = mqtt::start(&engine, &mqtt, &stop_rx, &bound.status()).await?;
        let listeners = match cot::start(&engine, &cot, &stop_rx, &bound.status()).await {
            Ok(l) => l,
            // The default listener is a convenience: a port in use does not stop the demo.
            Err(e) if !asked => {
                println!("  CoT/TCP:     not started ({e:#})");
                cot::Started::default()
            }
            Err(e) => return Err(e),
        };
        // The simulated patrol reports through the demo's own TAK listener, as a device would.
        let patrol = match listeners.tcp {
            Some(at) => {
                let to = if at.ip().is_unspecified() {
                    SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), at.port())
                } else {
                    at
                };
                println!("  patrol:      a simulated patrol of m1 reports its position over CoT; its track: http://{addr}/api/tracks");
                Some(tokio::spawn(demo_patrol::run(to, stop_rx.clone())))
            }
            _ => None,
        };
        let listeners: Vec<_> = listeners
            .tasks
            .into_iter()
            .chain(subscription)
            .chain(patrol)
            .collect();
        let feeder = tokio::spawn(feed(engine.clone(), scenario, interval_s, stop_rx.clone()));
        // On PostgreSQL, what nodes beside the demo queue is recorded by it, as by `serve`.
        let answerer = serve::spawn_queue_answerer(engine.clone(), stop_rx.clone());
        let checkpointer =
            serve::spawn_checkpointer(engine.clone(), Duration::from_secs(1), stop_rx);
        let witness_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let witnesses = start_witnesses(data, &format!("http://{addr}"), &engine, &witness_stop);
        bound
            .serve_until(async move {
                serve::stop_signal().await;
                let _ = stop_tx.send(true);
            })
            .await?;
        witness_stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for w in witnesses {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        let _ = feeder.await;
        let _ = checkpointer.await;
        if let Some(answerer) = answerer {
            let _ = answerer.await;
        }
        for l in listeners {
            let _ = l.await;
        }
        anyhow::Ok(())
    })?;
    println!("stopped cleanly; start again to continue with the same data");
    Ok(ExitCode::SUCCESS)
}

/// Makes the demo's ledger keys in `data/keys/` — the center's and one witness key per monitor —
/// and lists their public halves in the agreement before it is recorded.
fn make_ledger_keys(data: &Path, agreement: &mut truce_core::Agreement) -> Result<()> {
    use truce_ledger::note::{NoteSigner, TYPE_COSIGNATURE, TYPE_ED25519};
    let origin = "demo.truce.invalid/log";
    let log = NoteSigner::generate(origin, TYPE_ED25519)?;
    crate::keys::write(&log, &data_dir::log_key_path(data))?;
    let mut witnesses = std::collections::BTreeMap::new();
    for m in &agreement.doc.monitors {
        let w = NoteSigner::generate(
            &format!("demo.truce.invalid/witness-{}", m.id),
            TYPE_COSIGNATURE,
        )?;
        crate::keys::write(&w, &data.join("keys").join(format!("witness-{}.key", m.id)))?;
        witnesses.insert(m.id.clone(), w.verifier_text());
    }
    // Each monitor's assessment key, deposited with the demo's center so its officers can
    // assess from the API (a monitor may instead keep it and sign its statements itself).
    let mut assessment_keys = std::collections::BTreeMap::new();
    for m in &agreement.doc.monitors {
        let a = NoteSigner::generate(&format!("demo.truce.invalid/assess-{}", m.id), TYPE_ED25519)?;
        crate::keys::write(&a, &data_dir::assessment_key_path(data, &m.id))?;
        assessment_keys.insert(m.id.clone(), a.verifier_text());
    }
    agreement.doc.ledger = Some(truce_core::agreement::LedgerDoc {
        origin: origin.to_string(),
        log_key: log.verifier_text(),
        witnesses,
        assessment_keys,
    });
    Ok(())
}

/// Makes one member per role per monitor (`m1-officer`, …) and writes their tokens to
/// `data/demo-tokens.txt` (the demo only: tokens are otherwise shown once and never stored).
fn make_members(data: &Path, engine: &Engine) -> Result<String> {
    let mut lines = String::from(
        "# truce demo: one member per role per monitor. Send as Authorization: Bearer <token>.\n",
    );
    for m in &engine.agreement().doc.monitors {
        for role in truce_core::access::Role::ALL {
            let user = format!("{}-{}", m.id, role.as_str());
            let token = engine.add_member(&user, &m.id, role, "demo", Timestamp::now())?;
            lines.push_str(&format!("{user:<14} {token}\n"));
        }
    }
    std::fs::write(data.join("demo-tokens.txt"), &lines)?;
    Ok(lines)
}

/// One witness thread per monitor whose key the demo folder holds, as each monitor would run
/// `truce witness` on its own machine.
fn start_witnesses(
    data: &Path,
    url: &str,
    engine: &Engine,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut handles = Vec::new();
    for m in &engine.agreement().doc.monitors {
        let key = data.join("keys").join(format!("witness-{}.key", m.id));
        if !key.is_file() {
            continue;
        }
        let state = data.join(format!("witness-{}", m.id));
        let (url, stop, monitor) = (url.to_string(), stop.clone(), m.id.clone());
        // Opened on its own thread: the server starts answering only after this returns.
        handles.push(std::thread::spawn(move || {
            let opened = crate::keys::read(&key).and_then(|signer| {
                let mut last = None;
                for _ in 0..50 {
                    match crate::witness::Witness::open(&url, signer.clone(), &state) {
                        Ok(w) => return Ok(w),
                        Err(e) => last = Some(e),
                    }
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(last.unwrap_or_else(|| anyhow::anyhow!("stopped")))
            });
            match opened {
                Ok(w) => crate::witness::run_loop(w, Duration::from_secs(1), stop),
                Err(e) => {
                    tracing::warn!(monitor = %monitor, error = %format!("{e:#}"), "witness not started")
                }
            }
        }));
    }
    handles
}

/// Submits one simulated event's reports at random intervals averaging `interval_s`.
async fn feed(
    engine: Arc<Engine>,
    scenario: Scenario,
    interval_s: f64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let seed = Timestamp::now().unix_millis() as u64;
    let mut generator = Generator::new(scenario, seed);
    let mut step = 0u64;
    loop {
        // A deterministic jitter around the mean keeps the stream lively without a second RNG.
        let wait = interval_s * (0.5 + ((step.wrapping_mul(2_654_435_761) % 1000) as f64) / 1000.0);
        step += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = stop.changed() => return,
        }
        let now = Timestamp::now();
        let reports = generator.event(now.plus_seconds(-5.0));
        let engine = engine.clone();
        let result = tokio::task::spawn_blocking(move || {
            let batch = reports
                .into_iter()
                .map(|o| validate(o, now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("simulated report invalid: {e}"))?;
            engine.submit(batch, now).map_err(anyhow::Error::from)
        })
        .await;
        match result {
            Ok(Ok(outcome)) => tracing::debug!(new = outcome.new, "simulated event recorded"),
            Ok(Err(e)) => tracing::warn!(error = %e, "simulated event not recorded"),
            Err(e) => tracing::warn!(error = %e, "simulator task failed"),
        }
    }
}
