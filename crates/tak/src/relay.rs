//! What truce sends to connected TAK clients: every incident as it is created or revised (and
//! the deletion of a merged one), and the situational awareness of the clients of the same
//! monitor; the latest state to a client that joins late; each client through its own bounded
//! queue, so a slow one is dropped without holding up intake or the others.

use crate::outgoing::{deletion, incident_events};
use crate::stats::CotStats;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use truce_core::{IncidentId, Timestamp};
use truce_cot::{Event, encode_event, frame_stream, write_event};
use truce_engine::Engine;

/// Messages waiting for one client; beyond, the client is too slow and is dropped (it
/// reconnects and gets the latest state).
pub const QUEUE: usize = 1024;
/// How far back incidents are replayed to a client that joins, as a TAK map shows them.
const REPLAY_MS: i64 = crate::outgoing::STALE_AFTER_MS;
/// Most devices whose latest position one client's messages keep for late joiners (a
/// gateway relaying many tracks gets the rest relayed, not kept).
pub const DEVICES_PER_CLIENT: usize = 256;
/// Above this many devices per monitor, stale ones are pruned before another is kept.
const PRUNE_ABOVE: usize = 1024;

/// One message for clients, encoded once for each framing.
#[derive(Debug)]
pub struct Outgoing {
    /// The CoT type (for deletions of awareness).
    pub kind: String,
    /// The uid.
    pub uid: String,
    /// When it goes stale, milliseconds since the epoch.
    pub stale_ms: i64,
    /// As XML.
    pub xml: Vec<u8>,
    /// As a stream-framed protobuf message.
    pub proto: Vec<u8>,
}

impl Outgoing {
    /// `event`, encoded.
    pub fn of(event: &Event) -> Arc<Self> {
        Arc::new(Self {
            kind: event.kind.clone(),
            uid: event.uid.clone(),
            stale_ms: event.stale_ms,
            xml: write_event(event).into_bytes(),
            proto: frame_stream(&encode_event(event)),
        })
    }
}

/// What a session's writer takes, in order.
#[derive(Debug)]
pub enum Out {
    /// Bytes the session encoded itself (an answer to the client).
    Bytes(Vec<u8>),
    /// A message for every client, written in the stream's framing at the time.
    Shared(Arc<Outgoing>),
    /// The answer accepting protocol version 1, written as XML; from then on the stream is
    /// protobuf.
    SwitchAfter(Vec<u8>),
}

struct Client {
    monitor: String,
    queue: mpsc::Sender<Out>,
    /// Woken when the client is dropped for being too slow.
    dropped: Arc<Notify>,
}

/// The latest awareness of one device: the message, and the client that sent it.
struct Seen {
    message: Arc<Outgoing>,
    client: u64,
}

/// The clients and the latest state. Cheap to share (`Arc`).
pub struct Relay {
    clients: Mutex<HashMap<u64, Client>>,
    incidents: Mutex<BTreeMap<u64, Vec<Arc<Outgoing>>>>,
    awareness: Mutex<HashMap<String, HashMap<String, Seen>>>,
    next: AtomicU64,
    stats: Arc<CotStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A registered client: its id, what to send it first, and when it is dropped.
pub struct Registration {
    /// The client's number.
    pub id: u64,
    /// The latest state, to write before anything else.
    pub snapshot: Vec<Arc<Outgoing>>,
    /// Woken when the relay drops the client for being too slow.
    pub dropped: Arc<Notify>,
}

impl Relay {
    /// An empty relay counting into `stats`.
    pub fn new(stats: Arc<CotStats>) -> Arc<Self> {
        Arc::new(Self {
            clients: Mutex::default(),
            incidents: Mutex::default(),
            awareness: Mutex::default(),
            next: AtomicU64::new(1),
            stats,
        })
    }

    /// Adds a client of `monitor` whose writer reads `queue`; returns the latest state for it:
    /// every incident's current messages and the live awareness of its monitor's clients.
    pub fn register(&self, monitor: &str, queue: mpsc::Sender<Out>) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(Notify::new());
        // Added before the state is read: a revision in between reaches it twice (harmless),
        // never not at all.
        lock(&self.clients).insert(
            id,
            Client {
                monitor: monitor.to_owned(),
                queue,
                dropped: dropped.clone(),
            },
        );
        let now = Timestamp::now().unix_millis();
        let mut snapshot: Vec<Arc<Outgoing>> = lock(&self.incidents)
            .values()
            .flatten()
            .filter(|m| m.stale_ms > now)
            .cloned()
            .collect();
        if let Some(devices) = lock(&self.awareness).get(monitor) {
            snapshot.extend(
                devices
                    .values()
                    .filter(|s| s.message.stale_ms > now)
                    .map(|s| s.message.clone()),
            );
        }
        Registration {
            id,
            snapshot,
            dropped,
        }
    }

    /// Removes client `id` of `monitor` (if the relay has not dropped it already); the
    /// awareness it sent is withdrawn from the others with a deletion (as TAK Server does when
    /// a user disconnects).
    pub fn unregister(&self, id: u64, monitor: &str) {
        lock(&self.clients).remove(&id);
        let gone: Vec<Arc<Outgoing>> = {
            let mut awareness = lock(&self.awareness);
            let Some(devices) = awareness.get_mut(monitor) else {
                return;
            };
            let uids: Vec<String> = devices
                .iter()
                .filter(|(_, s)| s.client == id)
                .map(|(uid, _)| uid.clone())
                .collect();
            uids.iter()
                .filter_map(|uid| devices.remove(uid))
                .map(|s| s.message)
                .collect()
        };
        let now = Timestamp::now().unix_millis();
        for m in gone {
            let delete = Outgoing::of(&deletion(&m.uid, &m.kind, now, false));
            self.send(|c| c.monitor == monitor, &delete, None);
        }
    }

    /// Relays `event` (a device's own position) from client `from` to the other clients of
    /// its monitor, and keeps it as that device's latest (at most [`DEVICES_PER_CLIENT`] kept
    /// per client; stale ones pruned); a stale one is not relayed.
    pub fn awareness(&self, from: u64, event: &Event) {
        let now = Timestamp::now().unix_millis();
        if event.stale_ms <= now {
            return;
        }
        let Some(monitor) = lock(&self.clients).get(&from).map(|c| c.monitor.clone()) else {
            return;
        };
        let message = Outgoing::of(event);
        {
            let mut awareness = lock(&self.awareness);
            let devices = awareness.entry(monitor.clone()).or_default();
            if devices.len() >= PRUNE_ABOVE {
                devices.retain(|_, s| s.message.stale_ms > now);
            }
            let known = devices.contains_key(&event.uid);
            let held = devices.values().filter(|s| s.client == from).count();
            if known || held < DEVICES_PER_CLIENT {
                devices.insert(
                    event.uid.clone(),
                    Seen {
                        message: message.clone(),
                        client: from,
                    },
                );
            }
        }
        self.send(|c| c.monitor == monitor, &message, Some(from));
    }

    /// Sends the incident's current messages to every client and keeps them as its latest.
    pub fn incident(&self, incident: &truce_core::Incident) {
        let now = Timestamp::now().unix_millis();
        let messages: Vec<Arc<Outgoing>> = incident_events(incident, now)
            .iter()
            .map(Outgoing::of)
            .collect();
        {
            // A merged incident's deletions are kept like any state, so a client that was away
            // during the merge removes the marker when it returns.
            let mut incidents = lock(&self.incidents);
            if messages.is_empty() {
                incidents.remove(&incident.id.0);
            } else {
                incidents.insert(incident.id.0, messages.clone());
            }
            incidents.retain(|_, ms| ms.iter().any(|m| m.stale_ms > now));
        }
        for m in &messages {
            self.send(|_| true, m, None);
        }
    }

    /// Queues `message` for every client `to` selects but `except`; a client whose queue is
    /// full is dropped and counted.
    fn send(&self, to: impl Fn(&Client) -> bool, message: &Arc<Outgoing>, except: Option<u64>) {
        let mut clients = lock(&self.clients);
        let mut slow = Vec::new();
        let mut gone = Vec::new();
        for (id, c) in clients.iter() {
            if Some(*id) == except || !to(c) {
                continue;
            }
            match c.queue.try_send(Out::Shared(message.clone())) {
                Ok(()) => CotStats::bump(&self.stats.relayed),
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            clients.remove(&id);
        }
        for id in slow {
            if let Some(c) = clients.remove(&id) {
                CotStats::bump(&self.stats.clients_dropped_slow);
                tracing::warn!(
                    client = id,
                    "TAK client dropped: {QUEUE} messages waiting, it reads too slowly"
                );
                c.dropped.notify_one();
            }
        }
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        lock(&self.clients).len()
    }
}

/// Fills `relay` with the incidents of the last day from the store, then follows the
/// engine's revisions until `stop` turns true (filling again if it falls behind). A revision
/// is read from the store, not from the event, so the message carries the verdicts too.
pub fn spawn_incident_feed(
    engine: Arc<Engine>,
    relay: Arc<Relay>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        refill(&engine, &relay).await;
        loop {
            let received = tokio::select! {
                r = events.recv() => r,
                _ = stop.changed() => return,
            };
            let id = match received {
                Ok(ev) => ev.id,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "the TAK relay fell behind the record; sending the last day's incidents again"
                    );
                    refill(&engine, &relay).await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            relay_incident(&engine, &relay, id).await;
        }
    })
}

/// Sends (and keeps) the latest of every incident seen in the last day, from the store.
async fn refill(engine: &Arc<Engine>, relay: &Arc<Relay>) {
    let since = Timestamp::now().plus_seconds(-(REPLAY_MS as f64) / 1000.0);
    let engine = engine.clone();
    let recent = tokio::task::spawn_blocking(move || {
        engine.store().incidents(&truce_store::IncidentFilter {
            since: Some(since),
            ..Default::default()
        })
    })
    .await;
    match recent {
        Ok(Ok(list)) => {
            for incident in &list {
                relay.incident(incident);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "recent incidents not read for the TAK relay"),
        Err(e) => tracing::warn!(error = %e, "recent incidents not read for the TAK relay"),
    }
}

async fn relay_incident(engine: &Arc<Engine>, relay: &Arc<Relay>, id: IncidentId) {
    let engine = engine.clone();
    match tokio::task::spawn_blocking(move || engine.store().incident(id)).await {
        Ok(Ok(Some(incident))) => relay.incident(&incident),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(incident = %id, error = %e, "incident not relayed"),
        Err(e) => tracing::warn!(incident = %id, error = %e, "incident not relayed"),
    }
}
