//! The MQTT subscriber against a real Mosquitto (Debian's, started here on a free port) and
//! sensors played by paho-mqtt (PyPI): detections recorded once and acknowledged after the
//! commit, refusals answered on the error topic and never stored, nothing lost while truce
//! is away.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use truce_core::access::Role;
use truce_core::agreement::parse_toml;
use truce_core::{ObservationId, Timestamp};
use truce_engine::{Binding, Engine, record_agreement};
use truce_mqtt::{MqttConfig, MqttStats, run};
use truce_store::{Durability, SqliteStore, Store, StoredObservation};

const AGREEMENT_TOML: &str = include_str!("../../cli/demo/agreement.toml");
const ZONES_GEOJSON: &str = include_str!("../../cli/demo/zones.geojson");
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A Mosquitto broker on a free loopback port, stopped when dropped.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Self {
        assert!(
            std::path::Path::new(MOSQUITTO).exists(),
            "this test runs Debian's Mosquitto: apt-get install mosquitto (.ci/run does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let broker = Self {
            child: Command::new(MOSQUITTO)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("Mosquitto did not start on port {port}");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Center {
    engine: Arc<Engine>,
    binding: Arc<Binding>,
    dir: tempfile::TempDir,
}

impl Center {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Full).unwrap();
        let agreement = parse_toml(AGREEMENT_TOML, "agreement.toml", &|_| {
            Ok(ZONES_GEOJSON.to_string())
        })
        .unwrap();
        record_agreement(&store, &agreement, Timestamp::now()).unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let engine = Arc::new(Engine::open(store).unwrap());
        engine
            .add_member("m2-sensors", "m2", Role::Observer, "test", Timestamp::now())
            .unwrap();
        let binding = Arc::new(Binding::to_member(&engine, "mqtt", "m2-sensors").unwrap());
        Self {
            engine,
            binding,
            dir,
        }
    }

    /// Starts a subscriber to `sensors/#`; it stops when the returned sender is dropped.
    fn subscribe(&self, broker: &Broker, stats: Arc<MqttStats>) -> watch::Sender<bool> {
        let config = MqttConfig::from_url(
            &format!("mqtt://127.0.0.1:{}", broker.port),
            vec!["sensors/#".into()],
            "truce-test",
            "truce/errors",
        )
        .unwrap();
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(run(
            self.engine.clone(),
            None,
            self.binding.clone(),
            config,
            stats,
            stop,
        ));
        stop_tx
    }

    fn observations(&self) -> Vec<StoredObservation> {
        (1..)
            .map(|n| self.engine.store().observation(ObservationId(n)).unwrap())
            .take_while(Option::is_some)
            .flatten()
            .collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<StoredObservation> {
        for _ in 0..200 {
            let found = self.observations();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the record holds {} observations, not {n}",
            self.observations().len()
        );
    }

    fn file(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    }
}

/// An acoustic sensor's detection in the observation schema.
fn detection(n: u32) -> String {
    let at = Timestamp::now().plus_seconds(-30.0 + f64::from(n) * 0.01);
    format!(
        r#"{{"client_id":"6f1c1a2e-0000-4000-8000-{n:012}","kind":"shot","observed_at":"{at}",
        "reporter":"sensor-{n}","source":"sensor","geometry":{{"type":"arrival",
        "sensor":{{"id":"sensor-{n}","lat":40.{n:02},"lon":46.5,"alt_m":900}},
        "arrival_time":"{at}","sigma_s":0.002}}}}"#
    )
}

async fn paho(args: Vec<String>) {
    tokio::task::spawn_blocking(move || truce_peers::run_script("mqtt_peer.py", &args))
        .await
        .unwrap();
}

async fn publish(broker: &Broker, topic: &str, files: &[PathBuf]) {
    let mut args = vec![
        "publish".into(),
        "127.0.0.1".into(),
        broker.port.to_string(),
        topic.into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    paho(args).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn detections_are_recorded_once_and_refusals_answered_on_the_error_topic() {
    let broker = Broker::start();
    let center = Center::new();
    let stats = Arc::new(MqttStats::default());
    let _subscribed = center.subscribe(&broker, stats.clone());
    // A listener on the error topic, as a sensor gateway would run.
    let python = truce_peers::python();
    let mut errors = Command::new(python)
        .arg(truce_peers::script("mqtt_peer.py"))
        .args([
            "listen",
            "127.0.0.1",
            &broker.port.to_string(),
            "truce/errors/#",
            "1",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(errors.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");

    let one = center.file("one.json", &detection(1));
    let batch = center.file(
        "batch.json",
        &format!("[{},{},{}]", detection(2), detection(3), detection(4)),
    );
    let bad = center.file(
        "bad.json",
        &format!(
            "[{},{}]",
            detection(5),
            detection(6).replace("40.06", "91.06")
        ),
    );
    publish(&broker, "sensors/north/7", &[one.clone(), batch, bad]).await;
    let found = center.wait_for(4).await;
    let via = found[0].observation.via.clone().unwrap();
    assert_eq!(
        via,
        format!(
            "mqtt mqtt://127.0.0.1:{} as m2-sensors (m2) topic sensors/north/7",
            broker.port
        )
    );
    let line = tokio::task::spawn_blocking(move || lines.next().unwrap().unwrap())
        .await
        .unwrap();
    let error: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(error["topic"], "truce/errors/sensors/north/7");
    let body: serde_json::Value = serde_json::from_str(error["payload"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["field"], "geometry.sensor.lat");
    assert_eq!(body["error"]["index"], 1);
    assert_eq!(body["topic"], "sensors/north/7");
    let _ = errors.wait();
    // The same detection again (a gateway resending) is recognised by its client id.
    publish(&broker, "sensors/north/7", &[one]).await;
    for _ in 0..100 {
        if stats.snapshot().contains(&("repeated", 1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        center.observations().len(),
        4,
        "nothing of the refused batch, no duplicate"
    );
    let s = stats.snapshot();
    assert!(
        s.contains(&("recorded", 4)) && s.contains(&("refused", 1)) && s.contains(&("repeated", 1)),
        "{s:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn detections_published_while_truce_is_away_are_recorded_when_it_returns() {
    let broker = Broker::start();
    let center = Center::new();
    let stats = Arc::new(MqttStats::default());
    let first = center.subscribe(&broker, stats.clone());
    let before = center.file("before.json", &detection(10));
    publish(&broker, "sensors/a", &[before]).await;
    center.wait_for(1).await;
    // truce goes away (its session stays at the broker), sensors keep publishing.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let while_away: Vec<PathBuf> = (11..16)
        .map(|n| center.file(&format!("away-{n}.json"), &detection(n)))
        .collect();
    publish(&broker, "sensors/a", &while_away).await;
    assert_eq!(center.observations().len(), 1);
    let _back = center.subscribe(&broker, stats.clone());
    let found = center.wait_for(6).await;
    assert_eq!(found.len(), 6, "all five published while away, none twice");
    assert!(stats.snapshot().contains(&("connections", 2)));
}
