//! truce as an MQTT subscriber: acoustic sensors and gateways publish detections, in the
//! observation schema of the HTTP API (one object or an array, all or nothing), to a broker;
//! truce subscribes with QoS 1 and a persistent session.
//!
//! - **Nothing acknowledged is lost.** A message is acknowledged to the broker only after its
//!   observations are committed to the record. If truce stops or the connection drops before
//!   that, the broker delivers the message again on the next connection, so a sensor's client
//!   id (each observation's `client_id`) makes the redelivery a no-op instead of a duplicate.
//!   If the store fails, the message is offered to the record three times, a second
//!   apart, then left unacknowledged (counted, logged as an error) for the broker to deliver
//!   again when the session reconnects.
//! - **Reconnects lose nothing.** The session is persistent (`clean_session = false`, a fixed
//!   client id): messages published while truce is away wait at the broker.
//! - **A refused message gets a precise error** on `<errors topic>/<its topic>`, in the HTTP
//!   API's error body (`{"error":{"code","message","field","index"}}` plus `topic`), and is
//!   acknowledged (redelivering it would only be refused again). Nothing of it is stored.
//! - The broker authenticates the publishers; truce records every message as the one member
//!   the subscription is bound to ([`Binding`]), its `via` naming the broker and topic.
//! - **On nodes of several** (PostgreSQL), every node subscribes in one shared subscription
//!   group (`$share/truce/<filter>`, [`MqttConfig::on_node`]), so each message is taken by one
//!   node, which commits its detections to the intake queue before acknowledging it.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use truce_core::intake::{ParseLimits, parse_observations_via};
use truce_core::validate::ValidObservation;
use truce_core::{ParseError, Timestamp};
use truce_engine::queued::{Queued, error_of, through_queue};
use truce_engine::{Binding, Engine, EngineError, MemberWrite};
use truce_store::IntakeQueue;

/// Where to subscribe, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// User name and password for the broker, if it asks.
    pub credentials: Option<(String, String)>,
    /// Topic filters to subscribe to (`+` and `#` allowed).
    pub topics: Vec<String>,
    /// The session's client id: fixed, so the broker keeps messages while truce is away.
    pub client_id: String,
    /// Where refusals go: `<errors>/<the message's topic>`.
    pub errors: String,
    /// On nodes of several: the subscriptions are shared (`$share/truce/<filter>`), so the
    /// broker gives each message to one node.
    pub shared: bool,
}

/// A broker URL that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--mqtt {url:?}: {problem}")]
pub struct UrlError {
    url: String,
    problem: &'static str,
}

impl MqttConfig {
    /// Reads `mqtt://[user:password@]host[:port]` (port 1883 by default).
    pub fn from_url(
        url: &str,
        topics: Vec<String>,
        client_id: &str,
        errors: &str,
    ) -> Result<Self, UrlError> {
        let fail = |problem| UrlError {
            url: url.to_owned(),
            problem,
        };
        let rest = url
            .strip_prefix("mqtt://")
            .ok_or_else(|| fail("expected mqtt://[user:password@]host[:port]"))?;
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((userinfo, address)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        let address = address.trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| fail("the port is not a number from 1 to 65535"))?,
            ),
            None => (address, 1883),
        };
        if host.is_empty() {
            return Err(fail("no host"));
        }
        if topics.is_empty() {
            return Err(fail("no topic to subscribe to: add --mqtt-topic"));
        }
        Ok(Self {
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            credentials,
            topics,
            client_id: client_id.to_owned(),
            errors: errors.trim_end_matches('/').to_owned(),
            shared: false,
        })
    }

    /// The configuration for one node of several named `node`: its own session (client id
    /// `<client id>-<node>`, kept across its restarts) in the shared subscription group
    /// `truce`, so each message is taken by one node.
    pub fn on_node(self, node: &str) -> Self {
        Self {
            client_id: format!("{}-{node}", self.client_id),
            shared: true,
            ..self
        }
    }

    /// The filters subscribed to: shared among the nodes when [`MqttConfig::shared`].
    pub fn subscriptions(&self) -> Vec<String> {
        self.topics
            .iter()
            .map(|t| {
                if self.shared {
                    format!("$share/truce/{t}")
                } else {
                    t.clone()
                }
            })
            .collect()
    }

    /// `mqtt://host:port` without credentials, for logs and the record.
    pub fn broker(&self) -> String {
        format!("mqtt://{}:{}", self.host, self.port)
    }
}

/// What the subscriber did, counted.
#[derive(Debug, Default)]
pub struct MqttStats {
    /// Messages received (redeliveries included).
    pub messages: AtomicU64,
    /// Observations recorded (new ones).
    pub recorded: AtomicU64,
    /// Observations already in the record (a redelivery, a resend).
    pub repeated: AtomicU64,
    /// Messages refused, each answered on the error topic.
    pub refused: AtomicU64,
    /// Messages left unacknowledged because the record could not take them (the broker
    /// delivers them again when the session reconnects).
    pub not_acknowledged: AtomicU64,
    /// Connections to the broker made (the first and each reconnect).
    pub connections: AtomicU64,
    /// On a node of several: messages committed to the intake queue (and acknowledged) whose
    /// observations the sequencer had not recorded within the wait.
    pub queued: AtomicU64,
}

impl MqttStats {
    /// The counters as name and value, in a fixed order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("messages", get(&self.messages)),
            ("recorded", get(&self.recorded)),
            ("repeated", get(&self.repeated)),
            ("refused", get(&self.refused)),
            ("not_acknowledged", get(&self.not_acknowledged)),
            ("queued", get(&self.queued)),
            ("connections", get(&self.connections)),
        ]
    }
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Times a message is offered to the record when the store fails, a second apart.
const STORE_ATTEMPTS: u32 = 3;
/// Requests (acknowledgements, error publications) waiting for the event loop: far above what
/// a broker lets be in flight (Mosquitto: 20), so acknowledging never waits on itself.
const REQUESTS: usize = 1024;

/// Largest MQTT packet accepted from the broker: above the intake's 16 MiB body limit, so
/// that a payload over it is refused with a precise error rather than breaking the connection.
const MAX_PACKET: usize = 17 * 1024 * 1024;

/// Subscribes and takes detections into the record until `stop` turns true, reconnecting
/// (every second) whenever the broker goes away.
pub async fn run(
    engine: Arc<Engine>,
    queue: Option<Arc<dyn IntakeQueue>>,
    binding: Arc<Binding>,
    config: MqttConfig,
    stats: Arc<MqttStats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    if let Some((user, password)) = &config.credentials {
        options.set_credentials(user, password);
    }
    let (client, mut events) = AsyncClient::new(options, REQUESTS);
    let limits = ParseLimits::default();
    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = stop.changed() => {
                let _ = client.disconnect().await;
                return;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                bump(&stats.connections, 1);
                tracing::info!(broker = %config.broker(), topics = ?config.topics, "MQTT connected");
                for topic in config.subscriptions() {
                    if let Err(e) = client.subscribe(topic.clone(), QoS::AtLeastOnce).await {
                        tracing::error!(%topic, error = %e, "MQTT subscription not sent");
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack)))
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                // Nothing would arrive, silently: a shared subscription (`$share/…`) needs a
                // broker that offers them (Mosquitto does, since 1.6).
                tracing::error!(broker = %config.broker(), subscriptions = ?config.subscriptions(), "the broker refused a subscription: no detections arrive on it");
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                bump(&stats.messages, 1);
                let record = match &queue {
                    Some(queue) => Record::Queue(queue),
                    None => Record::Engine(&engine),
                };
                take(record, &binding, &config, &client, &stats, &limits, publish).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(broker = %config.broker(), error = %e, "MQTT connection lost; retrying in 1 s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// One message: parsed, validated and appended, then acknowledged; or refused with an error
/// on the error topic, then acknowledged; or, if the record could not take it, left
/// unacknowledged for the broker to deliver again.
async fn take(
    record: Record<'_>,
    binding: &Binding,
    config: &MqttConfig,
    client: &AsyncClient,
    stats: &MqttStats,
    limits: &ParseLimits,
    publish: Publish,
) {
    let via = via(config, binding, &publish.topic);
    let now = Timestamp::now();
    let parsed = parse_observations_via(&publish.payload, limits, now, Some(&via));
    let refusal = match parsed {
        Err(e) => Some(error_body(&e, &publish.topic)),
        Ok(batch) => {
            let n = batch.len() as u64;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let failure = match record.submit(&binding.member.user, &batch, now).await {
                    Ok(Recorded::New(new)) => {
                        bump(&stats.recorded, new);
                        bump(&stats.repeated, n - new);
                        break None;
                    }
                    Ok(Recorded::Queued) => {
                        bump(&stats.queued, 1);
                        break None;
                    }
                    Ok(Recorded::Refused(error)) => {
                        break Some(json!({"error": error, "topic": publish.topic}));
                    }
                    Err(failure) => failure,
                };
                if attempt >= STORE_ATTEMPTS {
                    bump(&stats.not_acknowledged, 1);
                    tracing::error!(topic = %publish.topic, error = %failure, "MQTT message not recorded after {STORE_ATTEMPTS} attempts; left unacknowledged, the broker delivers it again when the session reconnects");
                    return;
                }
                tracing::warn!(topic = %publish.topic, error = %failure, "MQTT message not recorded; trying again in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    if let Some(body) = refusal {
        bump(&stats.refused, 1);
        let topic = format!("{}/{}", config.errors, publish.topic);
        tracing::warn!(%topic, "MQTT message refused: {body}");
        if let Err(e) = client
            .publish(topic, QoS::AtLeastOnce, false, body.to_string())
            .await
        {
            tracing::error!(error = %e, "MQTT error not published");
        }
    }
    if let Err(e) = client.ack(&publish).await {
        tracing::error!(error = %e, "MQTT acknowledgement not sent; the broker will deliver the message again");
    }
}

/// Where a subscriber records: the engine it sequences with, or (on a node of several) the
/// intake queue.
#[derive(Clone, Copy)]
enum Record<'a> {
    Engine(&'a Arc<Engine>),
    Queue(&'a Arc<dyn IntakeQueue>),
}

/// What became of a message's observations.
enum Recorded {
    /// Recorded; this many were new.
    New(u64),
    /// Committed to the intake queue, not yet recorded (the sequencer gets to it).
    Queued,
    /// Refused by the record's checks: the API's `error` object.
    Refused(serde_json::Value),
}

impl Record<'_> {
    /// Records `batch` for `member` (validated at `now`); `Err` when the record could not take
    /// it (the message stays unacknowledged, or is offered again).
    async fn submit(
        self,
        member: &str,
        batch: &[ValidObservation],
        now: Timestamp,
    ) -> Result<Recorded, String> {
        let invalid = |field: serde_json::Value, index: serde_json::Value, message: String| json!({"code": "invalid_value", "message": message, "field": field, "index": index});
        match self {
            Record::Engine(engine) => {
                let (engine, batch) = (engine.clone(), batch.to_vec());
                match tokio::task::spawn_blocking(move || engine.submit(batch, now)).await {
                    Ok(Ok(outcome)) => Ok(Recorded::New(outcome.new as u64)),
                    // A client id reused for other content: the sensor's error, answered.
                    Ok(Err(e @ EngineError::ClientIdConflict { index, .. })) => Ok(
                        Recorded::Refused(invalid("client_id".into(), index.into(), e.to_string())),
                    ),
                    Ok(Err(EngineError::Invalid { field, message })) => Ok(Recorded::Refused(
                        invalid(field.into(), serde_json::Value::Null, message),
                    )),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Record::Queue(queue) => {
                let write = MemberWrite::Reports {
                    observations: batch.iter().map(|o| (**o).clone()).collect(),
                };
                match through_queue(queue.clone(), member, &write).await {
                    Queued::Answered(200 | 201, body) => {
                        Ok(Recorded::New(body["new"].as_u64().unwrap_or(0)))
                    }
                    Queued::Answered(status, body) if status < 500 => {
                        Ok(Recorded::Refused(body["error"].clone()))
                    }
                    Queued::Answered(_, body) => Err(error_of(&body).1),
                    Queued::Waiting(_) => Ok(Recorded::Queued),
                    Queued::Failed(e) => Err(e),
                }
            }
        }
    }
}

/// What the observations' `via` says: broker, member and topic, within the field's 128 bytes
/// (a long topic is cut, marked with `…`).
fn via(config: &MqttConfig, binding: &Binding, topic: &str) -> String {
    let mut text = format!(
        "mqtt {} as {} ({}) topic {topic}",
        config.broker(),
        binding.member.user,
        binding.member.monitor
    );
    let limit = truce_core::validate::limits::NAME_BYTES;
    if text.len() > limit {
        let mut end = limit - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The HTTP API's error body for `e`, with the message's topic.
fn error_body(e: &ParseError, topic: &str) -> serde_json::Value {
    json!({
        "error": {
            "code": e.code(),
            "message": e.message(),
            "field": e.field(),
            "index": e.index(),
        },
        "topic": topic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_read_with_their_credentials_and_default_port() {
        let c = MqttConfig::from_url(
            "mqtt://u:p@broker.local",
            vec!["s/#".into()],
            "truce",
            "truce/errors/",
        )
        .unwrap();
        assert_eq!((c.host.as_str(), c.port), ("broker.local", 1883));
        assert_eq!(c.credentials, Some(("u".into(), "p".into())));
        assert_eq!(c.errors, "truce/errors");
        assert_eq!(c.broker(), "mqtt://broker.local:1883");
        let c = MqttConfig::from_url("mqtt://127.0.0.1:18830", vec!["x".into()], "t", "e").unwrap();
        assert_eq!((c.port, c.credentials), (18830, None));
        for (url, problem) in [
            ("tcp://h", "expected mqtt://"),
            ("mqtt://h:99999", "the port is not a number"),
            ("mqtt://:1883", "no host"),
        ] {
            let e = MqttConfig::from_url(url, vec!["x".into()], "t", "e").unwrap_err();
            assert!(e.to_string().contains(problem), "{e}");
        }
        let e = MqttConfig::from_url("mqtt://h", vec![], "t", "e").unwrap_err();
        assert!(e.to_string().contains("--mqtt-topic"));
    }
}
