//! One TAK stream connection: XML events until the client asks for protocol version 1, then
//! protobuf; pings answered; reports taken into the record; reads slowed to the rate cap.
//!
//! The server offers version 1 once, when the connection opens (`t-x-takp-v`, a fresh uid).
//! A request for version 1 with that uid is answered true and both directions switch to
//! `0xbf`+length framing right after the answer; any other request is answered false and the
//! stream stays XML. A message the codec refuses is logged and counted and the stream goes
//! on; a framing error (an event over the size limit, a broken protobuf frame) closes it, as
//! nothing after it can be trusted to start a message.

use crate::ingest::Ingest;
use crate::intake::{CotIntake, Outcome};
use crate::relay::{Out, Outgoing, QUEUE, Relay};
use crate::stats::CotStats;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use truce_core::Timestamp;
use truce_cot::control::{self, PROTOCOL_VERSION};
use truce_cot::{
    Event, ProtoStream, XmlStream, decode_message, encode_event, frame_stream, parse_event,
    write_event,
};
use truce_engine::Binding;

/// Messages one connection may send per second, on average.
pub const RATE_PER_S: f64 = 500.0;
/// Messages one connection may send at once before the rate applies.
pub const BURST: f64 = 1000.0;
/// A connection with nothing received for this long is closed (ATAK pings every 15 s when
/// idle, so a live client is never this quiet).
pub const IDLE: Duration = Duration::from_secs(90);

/// How messages are framed on the stream now.
enum Framing {
    Xml(XmlStream),
    Proto(ProtoStream),
}

/// Whether what the session writes is XML or protobuf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Xml,
    Proto,
}

fn encode(event: &Event, mode: Mode) -> Vec<u8> {
    match mode {
        Mode::Xml => write_event(event).into_bytes(),
        Mode::Proto => frame_stream(&encode_event(event)),
    }
}

/// A token bucket: each message takes a token; with none left the reader waits.
struct Rate {
    tokens: f64,
    at: Instant,
}

impl Rate {
    fn new() -> Self {
        Self {
            tokens: BURST,
            at: Instant::now(),
        }
    }

    async fn take(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * RATE_PER_S).min(BURST);
        self.at = now;
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / RATE_PER_S;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.tokens = 1.0;
            self.at = Instant::now();
        }
        self.tokens -= 1.0;
    }
}

/// Writes what `queue` holds, the latest state first, in the stream's framing of the moment.
async fn write_out<W: AsyncWrite + Unpin>(
    mut writer: W,
    snapshot: Vec<Arc<Outgoing>>,
    mut queue: mpsc::Receiver<Out>,
) {
    let mut mode = Mode::Xml;
    for m in snapshot {
        if writer.write_all(&m.xml).await.is_err() {
            return;
        }
    }
    while let Some(out) = queue.recv().await {
        let written = match out {
            Out::Bytes(bytes) => writer.write_all(&bytes).await,
            Out::Shared(m) => {
                let bytes = if mode == Mode::Xml { &m.xml } else { &m.proto };
                writer.write_all(bytes).await
            }
            Out::SwitchToProto => {
                mode = Mode::Proto;
                Ok(())
            }
        };
        if written.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Serves one stream until the client closes it, it breaks the framing, it idles past
/// [`IDLE`], the relay drops it for reading too slowly, or `stop` turns true. The client
/// first gets the latest state (incidents, its monitor's awareness), then the offer of
/// protocol version 1, then whatever the relay sends and the answers to what it sends.
pub async fn serve_stream<S>(
    stream: S,
    peer: SocketAddr,
    binding: Arc<Binding>,
    intake: Arc<CotIntake>,
    relay: Arc<Relay>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let (outbox, pending) = mpsc::channel::<Out>(QUEUE);
    let registration = relay.register(&binding.member.monitor, outbox.clone());
    let client = registration.id;
    let writing = tokio::spawn(write_out(writer, registration.snapshot, pending));
    let offer_uid = uuid::Uuid::new_v4().to_string();
    let now_ms = || Timestamp::now().unix_millis();
    let _ = outbox
        .send(Out::Bytes(encode(
            &control::protocol_offer(&offer_uid, now_ms()),
            Mode::Xml,
        )))
        .await;
    let limits = intake.limits;
    let mut framing = Framing::Xml(XmlStream::new(&limits));
    let mut mode = Mode::Xml;
    let mut rate = Rate::new();
    let mut buffer = vec![0u8; 16 * 1024];
    'connection: loop {
        let read = tokio::select! {
            r = tokio::time::timeout(IDLE, reader.read(&mut buffer)) => r,
            _ = stop.changed() => break,
            _ = registration.dropped.notified() => break,
        };
        let n = match read {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TAK stream read failed");
                break;
            }
        };
        match &mut framing {
            Framing::Xml(s) => s.push(&buffer[..n]),
            Framing::Proto(s) => s.push(&buffer[..n]),
        }
        loop {
            let next = match &mut framing {
                Framing::Xml(s) => s
                    .next_event()
                    .map(|m| m.map(|bytes| parse_event(&bytes, &limits))),
                Framing::Proto(s) => s.next_payload().map(|m| {
                    m.map(|payload| {
                        decode_message(&payload, &limits).and_then(|d| {
                            d.event.ok_or_else(|| truce_cot::CotError::Protobuf {
                                problem: "a stream message without a cotEvent".into(),
                            })
                        })
                    })
                }),
            };
            let message = match next {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    CotStats::bump(&intake.stats.refused);
                    tracing::warn!(%peer, via = %binding.via, "TAK stream closed: {e}");
                    break 'connection;
                }
            };
            rate.take().await;
            let event = match message {
                Ok(event) => event,
                Err(e) => {
                    CotStats::bump(&intake.stats.messages);
                    CotStats::bump(&intake.stats.refused);
                    tracing::warn!(%peer, via = %binding.via, "CoT message refused: {e}");
                    continue;
                }
            };
            match intake.take(&binding, &event).await {
                Outcome::Control(Ingest::Ping) => {
                    CotStats::bump(&intake.stats.pings);
                    let _ = outbox
                        .send(Out::Bytes(encode(&control::pong(now_ms()), mode)))
                        .await;
                }
                Outcome::Control(Ingest::ProtocolRequest(version)) => {
                    let accept =
                        mode == Mode::Xml && version == PROTOCOL_VERSION && event.uid == offer_uid;
                    let answer = control::protocol_response(&offer_uid, accept, now_ms());
                    let _ = outbox.send(Out::Bytes(encode(&answer, mode))).await;
                    if accept {
                        CotStats::bump(&intake.stats.negotiated);
                        mode = Mode::Proto;
                        let _ = outbox.send(Out::SwitchToProto).await;
                        if let Framing::Xml(xml) = &mut framing {
                            let rest = std::mem::replace(xml, XmlStream::new(&limits));
                            framing =
                                Framing::Proto(ProtoStream::new(&limits, rest.into_remaining()));
                        }
                    }
                }
                Outcome::Control(Ingest::Awareness) => relay.awareness(client, &event),
                Outcome::Recorded(id, incident) => {
                    tracing::info!(%peer, uid = %event.uid, observation = %id, incident = %incident, "CoT report recorded");
                }
                Outcome::Repeated(_) | Outcome::Refused(_) | Outcome::Control(_) => {}
            }
        }
    }
    relay.unregister(client, &binding.member.monitor);
    drop(outbox);
    let _ = writing.await;
}
