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
use tokio::sync::{Notify, mpsc, watch};
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
/// A write to a client that takes longer than this ends its session: it has stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
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

/// Writes the latest state, the offer, then what `queue` holds, in the stream's framing of
/// the moment; gives up on a write that takes longer than [`WRITE_TIMEOUT`] (the client has
/// stopped reading). Wakes `gone` when it stops.
async fn write_out<W: AsyncWrite + Unpin>(
    mut writer: W,
    snapshot: Vec<Arc<Outgoing>>,
    offer: Vec<u8>,
    mut queue: mpsc::Receiver<Out>,
    gone: Arc<Notify>,
) {
    async fn write<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> bool {
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }
    let mut mode = Mode::Xml;
    let mut ok = true;
    for m in &snapshot {
        ok = ok && write(&mut writer, &m.xml).await;
    }
    ok = ok && write(&mut writer, &offer).await;
    while ok && let Some(out) = queue.recv().await {
        ok = match out {
            Out::Bytes(bytes) => write(&mut writer, &bytes).await,
            Out::Shared(m) => {
                let bytes = if mode == Mode::Xml { &m.xml } else { &m.proto };
                write(&mut writer, bytes).await
            }
            Out::SwitchAfter(answer) => {
                mode = Mode::Proto;
                write(&mut writer, &answer).await
            }
        };
    }
    if ok {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, writer.shutdown()).await;
    }
    gone.notify_one();
}

/// Queues `out`, an answer to the client, waiting for room: a client that sends faster than it
/// reads is slowed, not dropped. False when there was no room for [`WRITE_TIMEOUT`] (the
/// client is not reading), the writer is gone, or `stop` turned true meanwhile.
async fn answer(outbox: &mpsc::Sender<Out>, stop: &mut watch::Receiver<bool>, out: Out) -> bool {
    tokio::select! {
        sent = tokio::time::timeout(WRITE_TIMEOUT, outbox.send(out)) => matches!(sent, Ok(Ok(()))),
        _ = stop.changed() => false,
    }
}

/// Serves one stream until the client closes it, it breaks the framing, it idles past
/// [`IDLE`], it stops reading what it is sent (the relay drops it, a write waits past
/// [`WRITE_TIMEOUT`], or an answer finds no room in its queue for as long), or `stop` turns true. The client
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
    let offer_uid = uuid::Uuid::new_v4().to_string();
    let now_ms = || Timestamp::now().unix_millis();
    let offer = encode(&control::protocol_offer(&offer_uid, now_ms()), Mode::Xml);
    let writer_gone = Arc::new(Notify::new());
    let mut writing = tokio::spawn(write_out(
        writer,
        registration.snapshot,
        offer,
        pending,
        writer_gone.clone(),
    ));
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
            _ = writer_gone.notified() => break,
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
                                problem: "a stream message without cotEvent (field 2)".into(),
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
                    if !answer(
                        &outbox,
                        &mut stop,
                        Out::Bytes(encode(&control::pong(now_ms()), mode)),
                    )
                    .await
                    {
                        break 'connection;
                    }
                }
                Outcome::Control(Ingest::ProtocolRequest(version)) => {
                    let accept =
                        mode == Mode::Xml && version == PROTOCOL_VERSION && event.uid == offer_uid;
                    let response = encode(
                        &control::protocol_response(&offer_uid, accept, now_ms()),
                        mode,
                    );
                    // The answer and the switch are one item: nothing the relay queues can be
                    // written between them.
                    let queued = if accept {
                        answer(&outbox, &mut stop, Out::SwitchAfter(response)).await
                    } else {
                        answer(&outbox, &mut stop, Out::Bytes(response)).await
                    };
                    if !queued {
                        break 'connection;
                    }
                    if accept {
                        CotStats::bump(&intake.stats.negotiated);
                        mode = Mode::Proto;
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
                Outcome::Repeated(_)
                | Outcome::Queued(_)
                | Outcome::Refused(_)
                | Outcome::NotRecorded(_)
                | Outcome::Control(_) => {}
            }
        }
    }
    relay.unregister(client, &binding.member.monitor);
    drop(outbox);
    // What is queued gets a moment to go out; a writer stuck on a client that stopped reading
    // is not waited for.
    if tokio::time::timeout(Duration::from_secs(1), &mut writing)
        .await
        .is_err()
    {
        writing.abort();
    }
}
