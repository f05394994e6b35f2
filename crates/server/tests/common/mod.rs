//! The fixture of the HTTP tests: a fresh data folder holding the illustrative demo agreement,
//! the router over it (driven with `oneshot`, no socket), observation builders, the contract's
//! error-body check, and — for the tests that need a socket — a real server on port 0 with a
//! minimal HTTP/1.1 client written over a tokio `TcpStream` (chunked bodies and server-sent
//! events included), so nothing but the server under test speaks HTTP.

// Each test binary uses part of this fixture.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::agreement::{Agreement, LedgerDoc, parse_toml};
use truce_engine::{Engine, InitOutcome, record_agreement};
use truce_ledger::note::{NoteSigner, TYPE_ED25519};
use truce_server::{AppState, app};
use truce_store::{Durability, SqliteStore, Store};

/// The demo agreement's TOML (the file `truce demo` serves).
pub const AGREEMENT_TOML: &str = include_str!("../../../cli/demo/agreement.toml");
/// The demo agreement's zones.
pub const ZONES_GEOJSON: &str = include_str!("../../../cli/demo/zones.geojson");

/// How long any one network step may take before the test fails instead of hanging.
pub const NET_TIMEOUT: Duration = Duration::from_secs(5);

/// Sample points of the demo agreement, (latitude, longitude) in degrees.
pub mod places {
    /// Deep inside the area controlled by Side A.
    pub const SIDE_A: (f64, f64) = (40.45, 46.20);
    /// Inside the area controlled by Side B, away from the exclusion strip.
    pub const SIDE_B: (f64, f64) = (40.05, 46.65);
    /// Inside the corridor.
    pub const CORRIDOR: (f64, f64) = (39.64, 46.55);
    /// Inside the heavy-weapons exclusion strip.
    pub const EXCLUSION: (f64, f64) = (40.30, 46.70);
}

/// The demo agreement, parsed as `truce demo` parses it.
pub fn demo_agreement() -> Agreement {
    parse_toml(AGREEMENT_TOML, "demo/agreement.toml", &|path| {
        if path == "zones.geojson" {
            Ok(ZONES_GEOJSON.to_string())
        } else {
            Err(format!("the test fixture has no file {path:?}"))
        }
    })
    .expect("the demo agreement parses")
}

/// A fresh server state over a temporary data folder.
pub struct Api {
    /// The router under test.
    pub app: Router,
    /// Flips the state's shutdown watch; kept alive, since a dropped sender ends every stream.
    pub stop: watch::Sender<bool>,
    /// The engine behind the router.
    pub engine: Arc<Engine>,
    /// Where listeners' counters are registered for `/api/status`.
    pub status: Arc<truce_server::StatusBoard>,
    /// Each member's token: `m1-observer`, `m2-officer`, … (one per role per monitor).
    pub tokens: HashMap<String, String>,
    /// Each monitor's assessment key, deposited with the engine.
    keys: Keys,
    /// Deleted when the fixture is dropped (declared last so the store closes first).
    _dir: tempfile::TempDir,
}

/// The monitors' assessment keys of a fixture, kept across a reopen.
#[derive(Clone)]
struct Keys(Vec<(String, NoteSigner)>);

/// Entries the fixture adds after the agreement: one membership per role per monitor.
pub const MEMBERS: u64 = 10;

/// The member whose token requests carry unless the test says otherwise.
pub const DEFAULT_USER: &str = "m1-observer";

impl Api {
    /// A new data folder with the demo agreement recorded (with an assessment key per
    /// monitor), the engine opened over it, one member per role per monitor, and the router
    /// with the default limits.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let keys = Keys(
            ["m1", "m2"]
                .iter()
                .map(|m| {
                    let signer = NoteSigner::generate(&format!("test/assess-{m}"), TYPE_ED25519)
                        .expect("a key");
                    (m.to_string(), signer)
                })
                .collect(),
        );
        let mut api = Self::open(dir, InitOutcome::Recorded, keys, HashMap::new());
        for monitor in ["m1", "m2"] {
            for role in Role::ALL {
                let user = format!("{monitor}-{}", role.as_str());
                let token = api
                    .engine
                    .add_member(&user, monitor, role, "test", Timestamp::now())
                    .expect("a member");
                api.tokens.insert(user, token);
            }
        }
        api
    }

    /// The same data folder opened again by a new engine and router, as after a restart.
    pub fn reopen(self) -> Self {
        let Self {
            app,
            stop,
            engine,
            status,
            tokens,
            keys,
            _dir,
        } = self;
        drop((app, stop, engine, status));
        Self::open(_dir, InitOutcome::AlreadyPresent, keys, tokens)
    }

    fn open(
        dir: tempfile::TempDir,
        expected: InitOutcome,
        keys: Keys,
        tokens: HashMap<String, String>,
    ) -> Self {
        let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Full)
            .expect("the store opens");
        let mut agreement = demo_agreement();
        agreement.doc.ledger = Some(LedgerDoc {
            origin: "test.truce.invalid/log".into(),
            log_key: NoteSigner::generate("test.truce.invalid/log", TYPE_ED25519)
                .expect("a key")
                .verifier_text(),
            witnesses: Default::default(),
            assessment_keys: keys
                .0
                .iter()
                .map(|(m, k)| (m.clone(), k.verifier_text()))
                .collect(),
        });
        // The log key differs on reopen; keep the recorded document's.
        if let Ok(Some((_, doc))) = store.agreement() {
            agreement.doc.ledger = doc.ledger;
        }
        let outcome = record_agreement(&store, &agreement, Timestamp::now())
            .expect("the agreement is recorded");
        assert_eq!(outcome, expected);
        let store: Arc<dyn Store> = Arc::new(store);
        let engine = Arc::new(Engine::open(store).expect("the engine opens"));
        engine.set_evidence_dir(
            truce_store::EvidenceDir::open(dir.path().join("evidence"))
                .expect("an evidence folder"),
        );
        for (monitor, key) in &keys.0 {
            engine
                .set_assessment_signer(monitor, key.clone())
                .expect("the key is the agreement's");
        }
        let (stop, shutdown) = watch::channel(false);
        let state = AppState::new(engine.clone(), shutdown);
        let status = state.status.clone();
        let app = app(state);
        Self {
            app,
            stop,
            engine,
            status,
            tokens,
            keys,
            _dir: dir,
        }
    }

    /// Monitor `monitor`'s assessment key (deposited with the engine; a monitor could equally
    /// keep it and sign its statements itself).
    pub fn assessment_key(&self, monitor: &str) -> &NoteSigner {
        self.keys
            .0
            .iter()
            .find(|(m, _)| m == monitor)
            .map(|(_, k)| k)
            .unwrap_or_else(|| panic!("no key for {monitor}"))
    }

    /// The token of member `user`.
    pub fn token(&self, user: &str) -> &str {
        self.tokens
            .get(user)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no member {user}"))
    }

    /// Sends `request` as the default member (unless it carries its own Authorization).
    pub async fn send(&self, mut request: Request<Body>) -> Reply {
        if !request.headers().contains_key(header::AUTHORIZATION) {
            let value = format!("Bearer {}", self.token(DEFAULT_USER));
            request.headers_mut().insert(
                header::AUTHORIZATION,
                value.parse().expect("a header value"),
            );
        }
        self.send_raw(request).await
    }

    /// Sends `request` exactly as given.
    pub async fn send_raw(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body is readable")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Hands in `bytes` as evidence of `media_type`, as the default observer, and returns the
    /// SHA-256 the server answers with.
    pub async fn hand_in(&self, media_type: &str, bytes: &[u8]) -> String {
        let reply = self
            .send(request(
                Method::POST,
                "/api/evidence",
                &[("content-type", media_type)],
                Body::from(bytes.to_vec()),
            ))
            .await;
        assert!(reply.status.is_success(), "{}", reply.text());
        reply.json()["sha256"]
            .as_str()
            .expect("a sha256")
            .to_owned()
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(request(Method::GET, path, &[], Body::empty()))
            .await
    }

    /// `GET path` with an `Accept` header.
    pub async fn get_accept(&self, path: &str, accept: &str) -> Reply {
        self.send(request(
            Method::GET,
            path,
            &[(header::ACCEPT.as_str(), accept)],
            Body::empty(),
        ))
        .await
    }

    /// `POST path` with a raw body, sent as JSON.
    pub async fn post_raw(&self, path: &str, body: impl Into<Body>) -> Reply {
        self.send(request(
            Method::POST,
            path,
            &[(header::CONTENT_TYPE.as_str(), "application/json")],
            body.into(),
        ))
        .await
    }

    /// `POST /api/observations` with `body` serialized.
    pub async fn submit(&self, body: &Value) -> Reply {
        self.post_raw("/api/observations", body.to_string()).await
    }

    /// Submits `body`, which must be accepted as new (201); answers `(id, incident_id)` per
    /// item.
    pub async fn accept(&self, body: &Value) -> Vec<(u64, u64)> {
        let reply = self.submit(body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "expected 201 for {body}, got {}",
            reply.text()
        );
        accepted_ids(&reply.json())
    }

    /// Submits one observation, which must be new; answers its `(id, incident_id)`.
    pub async fn accept_one(&self, observation: &Value) -> (u64, u64) {
        let ids = self.accept(observation).await;
        assert_eq!(ids.len(), 1, "one observation, one id: {ids:?}");
        ids[0]
    }

    /// The record's size, from `GET /healthz`.
    pub async fn record_size(&self) -> u64 {
        let reply = self.get("/healthz").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["record_size"]
            .as_u64()
            .unwrap_or_else(|| panic!("no record_size in {}", reply.text()))
    }

    /// `GET /api/incidents/{id}`, which must exist.
    pub async fn incident(&self, id: u64) -> Value {
        let reply = self.get(&format!("/api/incidents/{id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }

    /// The ids `GET /api/incidents?query` lists, in the order listed.
    pub async fn listed(&self, query: &str) -> Vec<u64> {
        let reply = self.get(&format!("/api/incidents?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        let body = reply.json();
        let ids = ids_of(&body["incidents"]);
        assert_eq!(
            body["count"].as_u64(),
            Some(ids.len() as u64),
            "{query}: count disagrees with the list: {body}"
        );
        ids
    }
}

/// A request with `headers`.
pub fn request(method: Method, path: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("a well-formed request")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (the test fails when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks the contract's error body exactly: `status`, `code`, `field` and `index`, a
    /// non-empty message and nothing else; answers the message.
    pub fn assert_error(
        &self,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
        index: Option<u64>,
    ) -> String {
        assert_eq!(self.status, status, "status of {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "an error body is JSON: {self:?}"
        );
        let body = self.json();
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {body}"))
            .to_string();
        assert!(!message.is_empty(), "an empty message in {body}");
        let expected = json!({"error": {
            "code": code,
            "message": message,
            "field": field,
            "index": index,
        }});
        assert_eq!(body, expected);
        message
    }
}

/// The `(id, incident_id)` pairs of a `{"accepted":[…]}` body, checking its shape exactly.
pub fn accepted_ids(body: &Value) -> Vec<(u64, u64)> {
    let items = body["accepted"]
        .as_array()
        .unwrap_or_else(|| panic!("no accepted list in {body}"));
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only `accepted` at the top: {body}"
    );
    items
        .iter()
        .map(|item| {
            assert_eq!(
                item.as_object().map(|o| o.len()),
                Some(2),
                "only id and incident_id: {item}"
            );
            let id = item["id"].as_u64().expect("a numeric id");
            let incident = item["incident_id"].as_u64().expect("a numeric incident_id");
            (id, incident)
        })
        .collect()
}

/// The `id`s of a JSON array of incidents (or of GeoJSON features).
pub fn ids_of(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|i| i["id"].as_u64().unwrap_or_else(|| panic!("no id in {i}")))
        .collect()
}

/// The test's reference instant: observations are timed from it (it lies in the past on any
/// sane clock, so none is refused as being in the future).
pub const T0: &str = "2025-06-01T10:00:00Z";

/// `T0` plus `seconds`, as RFC 3339.
pub fn at(seconds: f64) -> String {
    Timestamp::parse(T0)
        .expect("T0 parses")
        .plus_seconds(seconds)
        .to_string()
}

/// A position geometry at `(lat, lon)`.
pub fn position((lat, lon): (f64, f64), accuracy_m: f64) -> Value {
    json!({"type": "position", "lat": lat, "lon": lon, "accuracy_m": accuracy_m})
}

/// A bearing geometry from an observer at `(lat, lon)` with a distance range.
pub fn bearing((lat, lon): (f64, f64), bearing_deg: f64, min_m: f64, max_m: f64) -> Value {
    json!({
        "type": "bearing",
        "observer": {"lat": lat, "lon": lon, "accuracy_m": 20.0},
        "bearing_deg": bearing_deg,
        "bearing_sigma_deg": 2.0,
        "distance_min_m": min_m,
        "distance_max_m": max_m,
    })
}

/// A minimal observation of `kind` at `observed_at` with `geometry`.
pub fn observation(kind: &str, observed_at: &str, geometry: Value) -> Value {
    json!({
        "kind": kind,
        "observed_at": observed_at,
        "reporter": "post-7",
        "geometry": geometry,
    })
}

/// `(lat, lon)` moved `north_m` and `east_m` metres (flat-earth approximation, good to a metre
/// over a few kilometres at these latitudes).
pub fn offset((lat, lon): (f64, f64), north_m: f64, east_m: f64) -> (f64, f64) {
    let m_per_deg_lat = 111_030.0;
    let m_per_deg_lon = 111_320.0 * lat.to_radians().cos();
    (lat + north_m / m_per_deg_lat, lon + east_m / m_per_deg_lon)
}

/// Approximate ground distance between two points, metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let north = (b.0 - a.0) * 111_030.0;
    let east = (b.1 - a.1) * 111_320.0 * a.0.to_radians().cos();
    north.hypot(east)
}

/// A real server for `api`'s router on a free loopback port, stopped gracefully when `api.stop`
/// turns true.
pub struct Server {
    /// Where it listens, and the token requests carry.
    pub addr: Peer,
    /// The serving task; it ends once the stop is sent and every connection has finished.
    pub task: JoinHandle<std::io::Result<()>>,
}

/// A real server's address and the default member's token.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Where it listens.
    pub socket: SocketAddr,
    /// Sent as `Authorization: Bearer`.
    pub token: String,
}

/// Starts a real server over `api`'s router, as `truce serve` does.
pub async fn serve(api: &Api) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    serve_on(api, listener)
}

/// [`serve`], with every connection's send buffer fixed at `bytes` (the kernel otherwise grows
/// it to megabytes), so a client that stops reading holds up the server's writes to it soon.
pub async fn serve_with_send_buffer(api: &Api, bytes: u32) -> Server {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    // Accepted connections inherit it from the listening socket.
    socket.set_send_buffer_size(bytes).expect("a send buffer");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind a free port");
    serve_on(api, socket.listen(128).expect("listen"))
}

fn serve_on(api: &Api, listener: TcpListener) -> Server {
    let addr = listener.local_addr().expect("the bound address");
    let mut stop = api.stop.subscribe();
    let router = api.app.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            })
            .await
    });
    Server {
        addr: Peer {
            socket: addr,
            token: api.token(DEFAULT_USER).to_string(),
        },
        task,
    }
}

/// One HTTP/1.1 connection, read incrementally (no `io-util`: `readable` and `try_read`).
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// The status line and headers of a response.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = within(TcpStream::connect(addr))
            .await
            .expect("connect to the test server");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects to `addr` with a receive buffer of `bytes` (a slow or dead link: the server's
    /// writes block once it and the server's send buffer are full).
    pub async fn connect_with_window(addr: SocketAddr, bytes: u32) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .set_recv_buffer_size(bytes)
            .expect("a receive buffer");
        let stream = within(socket.connect(addr))
            .await
            .expect("connect to the test server");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes`.
    pub async fn write_all(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            within(self.stream.writable())
                .await
                .expect("the socket becomes writable");
            match self.stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("write failed: {e}"),
            }
        }
    }

    /// Sends a request with `Connection: close` and, when `body` is given, a JSON body.
    pub async fn send_request(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&[u8]>,
    ) {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\n"
        );
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        self.write_all(head.as_bytes()).await;
        if let Some(body) = body {
            self.write_all(body).await;
        }
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            within(self.stream.readable())
                .await
                .expect("the socket becomes readable");
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Reads up to and including the next CRLF; `None` at end of stream.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..at + 2).collect();
                return Some(String::from_utf8_lossy(&line[..at]).into_owned());
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads the status line and headers.
    pub async fn read_head(&mut self) -> Head {
        let status_line = self.line().await.expect("a status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line().await.expect("a header line");
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("not a header: {line:?}"));
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Head { status, headers }
    }

    /// The next chunk of a chunked body; `None` after the last (zero-size) chunk.
    pub async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        let size_line = self.line().await?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
        if size == 0 {
            // The trailer section, ended by an empty line.
            while self.line().await.is_some_and(|l| !l.is_empty()) {}
            return None;
        }
        while self.buf.len() < size + 2 {
            assert!(self.fill().await, "the stream ended inside a chunk");
        }
        let data: Vec<u8> = self.buf.drain(..size).collect();
        self.buf.drain(..2);
        Some(data)
    }

    /// Reads the whole body that follows `head`.
    pub async fn read_body(&mut self, head: &Head) -> Vec<u8> {
        if head.header("transfer-encoding") == Some("chunked") {
            let mut body = Vec::new();
            while let Some(chunk) = self.next_chunk().await {
                body.extend(chunk);
            }
            return body;
        }
        if let Some(len) = head.header("content-length") {
            let len: usize = len.parse().expect("a numeric content-length");
            while self.buf.len() < len {
                assert!(self.fill().await, "the stream ended inside the body");
            }
            return self.buf.drain(..len).collect();
        }
        self.rest().await
    }

    /// Reads until the server closes the connection (failing the test if it does not within
    /// the timeout); answers every byte that was left unread.
    pub async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }
}

/// One request over a fresh connection to a real server; answers the head and the whole body.
pub async fn http(peer: &Peer, method: &str, path: &str, body: Option<&[u8]>) -> (Head, Vec<u8>) {
    let mut conn = Conn::connect(peer.socket).await;
    conn.send_request(method, path, &peer.token, body).await;
    let head = conn.read_head().await;
    let body = conn.read_body(&head).await;
    (head, body)
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// A `text/event-stream` response being read.
pub struct EventStream {
    conn: Conn,
    text: String,
}

impl EventStream {
    /// Opens `GET path` on `addr`; answers the response head and the stream.
    pub async fn open(peer: &Peer, path: &str) -> (Head, Self) {
        Self::open_on(Conn::connect(peer.socket).await, peer, path).await
    }

    /// [`EventStream::open`] over `conn`.
    pub async fn open_on(mut conn: Conn, peer: &Peer, path: &str) -> (Head, Self) {
        conn.write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\
                 Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
                peer.token
            )
            .as_bytes(),
        )
        .await;
        let head = conn.read_head().await;
        (
            head,
            Self {
                conn,
                text: String::new(),
            },
        )
    }

    /// The next event (comments such as keep-alives skipped); `None` when the stream ended.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(at) = self.text.find("\n\n") {
                let block: String = self.text.drain(..at + 2).collect();
                let mut event = SseEvent {
                    event: None,
                    id: None,
                    data: String::new(),
                };
                let mut fields = 0;
                for line in block.lines() {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match name {
                        "" => continue,
                        "event" => event.event = Some(value.to_string()),
                        "id" => event.id = Some(value.to_string()),
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                        }
                        _ => {}
                    }
                    fields += 1;
                }
                if fields > 0 {
                    return Some(event);
                }
            }
            let chunk = self.conn.next_chunk().await?;
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// What follows the end of the stream until the server closes the connection.
    pub async fn rest(&mut self) -> Vec<u8> {
        self.conn.rest().await
    }
}

/// `future`, failing the test instead of hanging past [`NET_TIMEOUT`].
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(NET_TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("no answer within {NET_TIMEOUT:?}"))
}
