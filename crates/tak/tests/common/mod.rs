//! What the listener tests share: a record with the demo agreement and its TCP, UDP and TLS
//! listeners, CoT markers, and the peers that talk to them (pytak, takproto, openssl).

#![allow(clippy::unwrap_used, dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use truce_core::access::Role;
use truce_core::agreement::parse_toml;
use truce_core::{ObservationId, Timestamp};
use truce_engine::{Engine, record_agreement};
use truce_store::{Durability, PgStore, PgTarget, SqliteStore, Store, StoredObservation};
use truce_tak::{Binding, CotIntake, Relay, serve_tcp, serve_tls, serve_udp, spawn_incident_feed};

pub const AGREEMENT_TOML: &str = include_str!("../../../cli/demo/agreement.toml");
pub const ZONES_GEOJSON: &str = include_str!("../../../cli/demo/zones.geojson");

/// Runs `f`, which may block on the store, off the async runtime's thread when called from a
/// multi-threaded one (PostgreSQL's client must not run inside a runtime).
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A record with the demo agreement and an observer, a TCP and a UDP listener bound to them.
pub struct Center {
    pub engine: Arc<Engine>,
    pub intake: Arc<CotIntake>,
    pub relay: Arc<Relay>,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    /// The TLS listener; clients trust `server_cert` and present certificates made by
    /// [`Center::client_cert`].
    pub tls: SocketAddr,
    /// The TLS listener's certificate (PEM), self-signed for 127.0.0.1.
    pub server_cert: PathBuf,
    _stop: watch::Sender<bool>,
    pub dir: tempfile::TempDir,
}

impl Center {
    /// The listeners over a record in an SQLite file of the test's folder.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Full).unwrap();
        Self::start_on(Arc::new(store), dir).await
    }

    /// The listeners over a record in a fresh schema of the test PostgreSQL server, whose
    /// client blocks: such a test runs on the multi-threaded runtime.
    pub async fn start_in_postgres() -> Self {
        let url = truce_peers::postgres::postgres().fresh_url();
        let store = off_runtime(|| {
            PgStore::open(&PgTarget::parse(&url).unwrap(), Durability::Full).unwrap()
        });
        let center = Self::start_on(Arc::new(store), tempfile::tempdir().unwrap()).await;
        // The listeners' tasks hold the engine, and are dropped on the runtime's threads when
        // the test ends: the last handle of a PostgreSQL store must not go there (its blocking
        // client panics inside a runtime). This one is never dropped; the test process ends.
        std::mem::forget(center.engine.clone());
        center
    }

    async fn start_on(store: Arc<dyn Store>, dir: tempfile::TempDir) -> Self {
        let agreement = parse_toml(AGREEMENT_TOML, "agreement.toml", &|_| {
            Ok(ZONES_GEOJSON.to_string())
        })
        .unwrap();
        let engine = off_runtime(|| {
            record_agreement(store.as_ref(), &agreement, Timestamp::now()).unwrap();
            let engine = Arc::new(Engine::open(store).unwrap());
            engine
                .add_member(
                    "m1-observer",
                    "m1",
                    Role::Observer,
                    "test",
                    Timestamp::now(),
                )
                .unwrap();
            engine
                .add_member("m1-analyst", "m1", Role::Analyst, "test", Timestamp::now())
                .unwrap();
            engine
        });
        let intake = Arc::new(CotIntake::new(engine.clone()));
        let relay = Relay::new(intake.stats.clone());
        let (stop_tx, stop) = watch::channel(false);
        spawn_incident_feed(engine.clone(), relay.clone(), stop.clone());
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (tcp_addr, udp_addr) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
        let (tcp_binding, udp_binding) = off_runtime(|| {
            let bind = |via: String| Binding::to_member(&engine, &via, "m1-observer").unwrap();
            (
                bind(format!("cot-tcp {tcp_addr}")),
                bind(format!("cot-udp {udp_addr}")),
            )
        });
        tokio::spawn(serve_tcp(
            tcp,
            Arc::new(tcp_binding),
            intake.clone(),
            relay.clone(),
            truce_tak::CONNECTIONS_PER_ADDRESS,
            stop.clone(),
        ));
        let server_cert = dir.path().join("server.pem");
        let server_key = dir.path().join("server.key");
        make_cert(&server_cert, &server_key, "truce", true);
        let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls_addr = tls.local_addr().unwrap();
        let server =
            truce_tak::tls::TlsServer::load(&server_cert, &server_key, engine.clone()).unwrap();
        tokio::spawn(serve_tls(
            tls,
            format!("cot-tls {tls_addr}"),
            server,
            intake.clone(),
            relay.clone(),
            truce_tak::CONNECTIONS_PER_ADDRESS,
            stop.clone(),
        ));
        tokio::spawn(serve_udp(udp, Arc::new(udp_binding), intake.clone(), stop));
        Self {
            engine,
            intake,
            relay,
            tcp: tcp_addr,
            udp: udp_addr,
            tls: tls_addr,
            server_cert,
            _stop: stop_tx,
            dir,
        }
    }

    /// Every observation in the record, in order.
    pub fn observations(&self) -> Vec<StoredObservation> {
        off_runtime(|| {
            (1..)
                .map(|n| self.engine.store().observation(ObservationId(n)).unwrap())
                .take_while(Option::is_some)
                .flatten()
                .collect()
        })
    }

    /// Waits until the record holds `n` observations (or fails after 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<StoredObservation> {
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

    /// A fresh self-signed client certificate and key named `name` in the test's folder.
    pub fn client_cert(&self, name: &str) -> (PathBuf, PathBuf) {
        let cert = self.dir.path().join(format!("{name}.pem"));
        let key = self.dir.path().join(format!("{name}.key"));
        make_cert(&cert, &key, name, false);
        (cert, key)
    }

    pub fn file(&self, name: &str, xml: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, xml).unwrap();
        path
    }
}

pub fn cot_time(offset_s: f64) -> String {
    truce_cot::format_time(Timestamp::now().plus_seconds(offset_s).unix_millis())
}

/// A marker as ATAK sends one, with truce's detail element and a 1-sigma `ce` of 20 m.
pub fn marker(uid: &str, extra_detail: &str) -> String {
    let (t, stale) = (cot_time(-60.0), cot_time(3600.0));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<event version=\"2.0\" uid=\"{uid}\" \
         type=\"a-u-G\" how=\"h-e\" time=\"{t}\" start=\"{t}\" stale=\"{stale}\">\
         <point lat=\"40.3\" lon=\"46.7\" hae=\"9999999.0\" ce=\"20.0\" le=\"9999999.0\"/>\
         <detail><link uid=\"ANDROID-1\" type=\"a-f-G-U-C\" parent_callsign=\"OP North 1\" \
         relation=\"p-p\"/><remarks>Impact seen, smoke north-east</remarks>{extra_detail}</detail></event>"
    )
}

pub const TRUCE_DETAIL: &str =
    "<truce kind=\"explosion\" subkind=\"impact\" weapon=\"mortar\" count=\"2\"/>";

pub async fn sh(script: String) -> std::process::Output {
    tokio::task::spawn_blocking(move || Command::new("sh").arg("-c").arg(script).output().unwrap())
        .await
        .unwrap()
}

/// pytak's CLI sending `file` to `url`: it reads events from a pipe and prints what the
/// server sends (see references/tak.md).
pub async fn pytak(url: &str, file: &Path, hold_s: u32) -> String {
    let python = truce_peers::python();
    let bin = python.parent().unwrap().join("pytak");
    let out = sh(format!(
        "(cat '{}'; sleep {hold_s}) | timeout {} '{}' {url} 2>&1",
        file.display(),
        hold_s + 5,
        bin.display()
    ))
    .await;
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub async fn tak_client(args: Vec<String>) -> serde_json::Value {
    let out = tokio::task::spawn_blocking(move || truce_peers::run_script("tak_clients.py", &args))
        .await
        .unwrap();
    if out.stdout.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A self-signed certificate and key made by OpenSSL's command line (a server's names
/// 127.0.0.1 and localhost, so clients can check the host).
fn make_cert(cert: &Path, key: &Path, name: &str, server: bool) {
    let mut command = Command::new("openssl");
    command
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert);
    if server {
        command.args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
    }
    let out = command.output().expect("running openssl (Debian: openssl)");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A counter of the TAK listeners by name.
pub fn counter(intake: &CotIntake, name: &str) -> u64 {
    intake
        .stats
        .snapshot()
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}
