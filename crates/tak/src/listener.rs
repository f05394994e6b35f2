//! The TAK listeners `truce serve` opens: CoT streams over TCP, and datagrams over UDP, each
//! bound by configuration to one reporting member (plain TCP and UDP carry no identity, as on
//! a TAK server's port 8087 on a trusted network), and CoT streams over TLS, where each
//! client's certificate names the member it reports as.

use crate::intake::{CotIntake, Outcome};
use crate::relay::Relay;
use crate::session::{RATE_PER_S, serve_stream};
use crate::stats::CotStats;
use crate::tls::TlsServer;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use truce_cot::{Datagram, parse_datagram};
use truce_engine::Binding;

/// Stream connections one address may hold at once by default (a client reconnecting in a
/// storm opens hundreds; TAKAware#215). Devices behind one NAT share an address: raise it for
/// such a network (`--cot-connections-per-address`).
pub const CONNECTIONS_PER_ADDRESS: usize = 32;

/// How often an open CoT/TLS session checks that its member is still active.
pub const REVOCATION_CHECK: Duration = Duration::from_secs(5);

/// A TLS client that has not finished its handshake by then is disconnected.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Accepts connections on `listener` until `stop` turns true, at most `per_address` at once
/// from one address, and hands each to `serve` on its own task.
async fn accept_each<F, Fut>(
    listener: TcpListener,
    intake: &CotIntake,
    per_address: usize,
    mut stop: watch::Receiver<bool>,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
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
                tokio::time::sleep(Duration::from_millis(100)).await;
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
        let serving = serve(stream, peer);
        tokio::spawn(async move {
            serving.await;
            drop(slot);
        });
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
    stop: watch::Receiver<bool>,
) {
    let serve = |stream: TcpStream, peer: SocketAddr| {
        serve_stream(
            stream,
            peer,
            binding.clone(),
            intake.clone(),
            relay.clone(),
            stop.clone(),
        )
    };
    accept_each(listener, &intake, per_address, stop.clone(), serve).await;
}

/// Accepts CoT streams over TLS on `listener` until `stop` turns true. Each client must
/// present a certificate an active member's membership entry binds (see [`crate::tls`]); the
/// stream is then served as that member, its `via` naming `name` (e.g.
/// `cot-tls 0.0.0.0:8089`). A handshake that fails or takes longer than
/// [`HANDSHAKE_TIMEOUT`] is counted in `tls_refused` and logged.
pub async fn serve_tls(
    listener: TcpListener,
    name: String,
    server: TlsServer,
    intake: Arc<CotIntake>,
    relay: Arc<Relay>,
    per_address: usize,
    stop: watch::Receiver<bool>,
) {
    let TlsServer { config, engine } = server;
    let acceptor = TlsAcceptor::from(config);
    let name: Arc<str> = name.into();
    let serve = |stream: TcpStream, peer: SocketAddr| {
        let (acceptor, name, engine, intake, relay, stop) = (
            acceptor.clone(),
            name.clone(),
            engine.clone(),
            intake.clone(),
            relay.clone(),
            stop.clone(),
        );
        async move {
            let refuse = |why: String| {
                CotStats::bump(&intake.stats.tls_refused);
                tracing::warn!(%peer, "CoT/TLS connection refused: {why}");
            };
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return refuse(handshake_failure(&e)),
                Err(_) => return refuse("no TLS handshake within 10 s".into()),
            };
            let Some(cert) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) else {
                return refuse("no client certificate".into());
            };
            let fingerprint: [u8; 32] = Sha256::digest(cert.as_ref()).into();
            let looking = engine.clone();
            let lookup = tokio::task::spawn_blocking(move || looking.member_by_cert(&fingerprint));
            let member = match lookup.await {
                Ok(Ok(Some(member))) => member,
                Ok(Ok(None)) => {
                    return refuse("its certificate is bound to no active member".into());
                }
                Ok(Err(e)) => return refuse(format!("reading the members: {e}")),
                Err(e) => return refuse(format!("reading the members: {e}")),
            };
            // Looked up after the handshake too, not only in the verifier: a resumed TLS
            // session skips the verifier, and this lookup is what keeps a revoked member out.
            tracing::info!(%peer, user = %member.user, monitor = %member.monitor, "CoT/TLS client identified by its certificate");
            let binding = Arc::new(Binding::for_caller(&name, member));
            // A member revoked while connected is disconnected at the next check.
            let (revoked_tx, session_stop) = watch::channel(false);
            let mut outer = stop.clone();
            let watcher = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = outer.changed() => break,
                        _ = tokio::time::sleep(REVOCATION_CHECK) => {}
                    }
                    let engine = engine.clone();
                    let still =
                        tokio::task::spawn_blocking(move || engine.member_by_cert(&fingerprint))
                            .await;
                    if !matches!(still, Ok(Ok(Some(_)))) {
                        tracing::warn!(%peer, "CoT/TLS client's member was revoked: disconnected");
                        break;
                    }
                }
                let _ = revoked_tx.send(true);
            });
            serve_stream(tls, peer, binding, intake, relay, session_stop).await;
            watcher.abort();
        }
    };
    accept_each(listener, &intake.clone(), per_address, stop.clone(), serve).await;
}

/// Why a TLS handshake failed, in the operator's words where truce refused it.
fn handshake_failure(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)) => {
            "its certificate is bound to no active member (`truce user add … --cert FILE`)".into()
        }
        Some(Error::NoCertificatesPresented) => "it presented no client certificate".into(),
        _ => format!("TLS handshake: {e}"),
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
