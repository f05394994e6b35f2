//! The TAK listeners `truce serve` opens: CoT streams over TCP, and datagrams over UDP, each
//! bound by configuration to one reporting member (plain TCP and UDP carry no identity, as on
//! a TAK server's port 8087 on a trusted network).

use crate::intake::{CotIntake, Outcome};
use crate::relay::Relay;
use crate::session::{RATE_PER_S, serve_stream};
use crate::stats::CotStats;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use truce_cot::{Datagram, parse_datagram};
use truce_engine::Binding;

/// Stream connections one address may hold at once by default (a client reconnecting in a
/// storm opens hundreds; TAKAware#215). Devices behind one NAT share an address: raise it for
/// such a network (`--cot-connections-per-address`).
pub const CONNECTIONS_PER_ADDRESS: usize = 32;

/// Open connections per client address.
struct Slots {
    open: Mutex<HashMap<IpAddr, usize>>,
    cap: usize,
}

/// One held connection slot, given back when dropped.
struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_default();
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Accepts CoT streams on `listener` until `stop` turns true, each served as `binding`, each
/// a client of `relay`, at most `per_address` at once from one address.
pub async fn serve_tcp(
    listener: TcpListener,
    binding: Arc<Binding>,
    intake: Arc<CotIntake>,
    relay: Arc<Relay>,
    per_address: usize,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Slots {
        open: Mutex::default(),
        cap: per_address.max(1),
    });
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, most often: wait rather than spin.
                tracing::warn!(error = %e, "accepting a TAK connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = slots.take(peer.ip()) else {
            CotStats::bump(&intake.stats.connections_refused);
            tracing::warn!(%peer, "TAK connection refused: {} already open from this address", slots.cap);
            continue;
        };
        CotStats::bump(&intake.stats.connections);
        let _ = stream.set_nodelay(true);
        let (binding, intake, relay, stop) =
            (binding.clone(), intake.clone(), relay.clone(), stop.clone());
        tokio::spawn(async move {
            serve_stream(stream, peer, binding, intake, relay, stop).await;
            drop(slot);
        });
    }
}

/// Takes CoT datagrams (XML or `bf 01 bf` protobuf) on `socket` until `stop` turns true. A
/// datagram beyond the rate cap is dropped and counted: UDP has no way to slow a sender.
pub async fn serve_udp(
    socket: UdpSocket,
    binding: Arc<Binding>,
    intake: Arc<CotIntake>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 65_536];
    let mut tokens = RATE_PER_S;
    let mut at = tokio::time::Instant::now();
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buffer) => r,
            _ = stop.changed() => return,
        };
        let (n, peer): (usize, SocketAddr) = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "TAK datagram not received");
                continue;
            }
        };
        let now = tokio::time::Instant::now();
        tokens = (tokens + now.duration_since(at).as_secs_f64() * RATE_PER_S).min(RATE_PER_S);
        at = now;
        if tokens < 1.0 {
            CotStats::bump(&intake.stats.datagrams_over_rate);
            continue;
        }
        tokens -= 1.0;
        let event = match parse_datagram(&buffer[..n], &intake.limits) {
            Ok(Datagram::Xml(e)) => e,
            Ok(Datagram::Proto(d)) => match d.event {
                Some(e) => e,
                None => continue,
            },
            Err(e) => {
                CotStats::bump(&intake.stats.messages);
                CotStats::bump(&intake.stats.refused);
                tracing::warn!(%peer, via = %binding.via, "CoT datagram refused: {e}");
                continue;
            }
        };
        if let Outcome::Recorded(id, incident) = intake.take(&binding, &event).await {
            tracing::info!(%peer, uid = %event.uid, observation = %id, incident = %incident, "CoT report recorded");
        }
    }
}
