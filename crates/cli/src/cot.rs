//! The TAK listeners of `truce serve` and `truce demo`: flags, binding and start.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use truce_engine::Engine;
use truce_server::StatusBoard;
use truce_tak::{Binding, CotIntake, Relay, spawn_incident_feed};

/// Where to take CoT from, and as whom.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CotFlags {
    /// Take CoT streams (XML, and TAK protocol version 1 after negotiation) on this TCP
    /// address, e.g. 0.0.0.0:8087.
    #[arg(long, value_name = "ADDR")]
    pub cot_tcp: Option<SocketAddr>,
    /// Take CoT datagrams (XML or mesh protobuf) on this UDP address, e.g. 0.0.0.0:8087.
    #[arg(long, value_name = "ADDR")]
    pub cot_udp: Option<SocketAddr>,
    /// Take CoT streams over TLS on this TCP address, e.g. 0.0.0.0:8089. Each client
    /// presents a certificate bound to a member (`truce user add … --cert FILE`) and reports
    /// as that member. Needs --cot-tls-cert and --cot-tls-key.
    #[arg(long, value_name = "ADDR")]
    pub cot_tls: Option<SocketAddr>,
    /// The server's certificate chain for --cot-tls (PEM), the one TAK clients trust.
    #[arg(long, value_name = "FILE")]
    pub cot_tls_cert: Option<PathBuf>,
    /// The server's private key for --cot-tls (PEM).
    #[arg(long, value_name = "FILE")]
    pub cot_tls_key: Option<PathBuf>,
    /// The observer every report through these listeners is recorded as (plain TCP and UDP
    /// carry no identity): their monitor and role apply as for their token.
    #[arg(long, value_name = "USER")]
    pub cot_member: Option<String>,
    /// Most CoT streams open at once from one address (devices behind one NAT share one).
    #[arg(long, value_name = "N", default_value_t = truce_tak::CONNECTIONS_PER_ADDRESS)]
    pub cot_connections_per_address: usize,
}

impl CotFlags {
    /// Refuses flags that cannot work, before anything is bound: a plain listener needs a
    /// member, a TLS listener its certificate and key files (a missing one is named before
    /// any port is taken; their content is read when the listener starts).
    pub fn check(&self) -> Result<()> {
        if self.cot_tls.is_some() {
            let (Some(cert), Some(key)) = (&self.cot_tls_cert, &self.cot_tls_key) else {
                bail!(
                    "--cot-tls needs --cot-tls-cert FILE and --cot-tls-key FILE: the server's certificate chain and key (PEM)"
                );
            };
            for (flag, file) in [("--cot-tls-cert", cert), ("--cot-tls-key", key)] {
                std::fs::metadata(file).with_context(|| format!("{flag} {}", file.display()))?;
            }
        }
        if (self.cot_tcp.is_some() || self.cot_udp.is_some()) && self.cot_member.is_none() {
            bail!(
                "--cot-tcp and --cot-udp need --cot-member USER: the observer their reports are recorded as"
            );
        }
        Ok(())
    }
}

/// The listeners started: their tasks, and the address the plain TCP listener is bound to.
#[derive(Default)]
pub struct Started {
    /// One task per listener, and the incident feed; each ends when `stop` turns true.
    pub tasks: Vec<JoinHandle<()>>,
    /// Where `--cot-tcp` is bound (the port chosen, when 0 was asked for).
    pub tcp: Option<SocketAddr>,
}

/// [`Binding::to_member`] off the async threads: the store may be PostgreSQL, whose client
/// blocks.
async fn bind_member(engine: &Arc<Engine>, via: String, user: &str) -> Result<Binding> {
    let (engine, user) = (engine.clone(), user.to_string());
    Ok(tokio::task::spawn_blocking(move || Binding::to_member(&engine, &via, &user)).await??)
}

/// Binds the listeners `flags` ask for and starts them; they stop when `stop` turns true.
/// Prints one line per listener.
pub async fn start(
    engine: &Arc<Engine>,
    flags: &CotFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Started> {
    start_with(engine, None, flags, stop, status).await
}

/// [`start`] on a node of several: reports and track points are committed to `queue` (the
/// sequencer records them), and `engine` reads the record.
pub async fn start_on_node(
    engine: &Arc<Engine>,
    queue: Arc<dyn truce_store::IntakeQueue>,
    flags: &CotFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Started> {
    start_with(engine, Some(queue), flags, stop, status).await
}

async fn start_with(
    engine: &Arc<Engine>,
    queue: Option<Arc<dyn truce_store::IntakeQueue>>,
    flags: &CotFlags,
    stop: &watch::Receiver<bool>,
    status: &StatusBoard,
) -> Result<Started> {
    if flags.cot_tcp.is_none() && flags.cot_udp.is_none() && flags.cot_tls.is_none() {
        return Ok(Started::default());
    }
    let mut tcp = None;
    flags.check()?;
    let user = flags.cot_member.as_deref().unwrap_or_default();
    let intake = Arc::new(match queue {
        Some(queue) => CotIntake::on_node(engine.clone(), queue),
        None => CotIntake::new(engine.clone()),
    });
    let relay = Relay::new(intake.stats.clone());
    let stats = intake.stats.clone();
    status.register("cot", Arc::new(move || stats.snapshot()));
    let mut tasks = vec![spawn_incident_feed(
        engine.clone(),
        relay.clone(),
        stop.clone(),
    )];
    if let Some(addr) = flags.cot_tcp {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot take CoT on TCP {addr} (is the port in use?)"))?;
        let bound = listener.local_addr()?;
        tcp = Some(bound);
        let binding = Arc::new(bind_member(engine, format!("cot-tcp {bound}"), user).await?);
        println!(
            "  CoT/TCP:     {bound} (XML; TAK protocol 1 on request) as {user}; incidents sent back"
        );
        tasks.push(tokio::spawn(truce_tak::serve_tcp(
            listener,
            binding,
            intake.clone(),
            relay.clone(),
            flags.cot_connections_per_address,
            stop.clone(),
        )));
    }
    if let (Some(addr), Some(cert), Some(key)) =
        (flags.cot_tls, &flags.cot_tls_cert, &flags.cot_tls_key)
    {
        let server = truce_tak::tls::TlsServer::load(cert, key, engine.clone())?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot take CoT/TLS on TCP {addr} (is the port in use?)"))?;
        let bound = listener.local_addr()?;
        println!(
            "  CoT/TLS:     {bound} (XML; TAK protocol 1 on request) as the member each client certificate is bound to"
        );
        tasks.push(tokio::spawn(truce_tak::serve_tls(
            listener,
            format!("cot-tls {bound}"),
            server,
            intake.clone(),
            relay.clone(),
            flags.cot_connections_per_address,
            stop.clone(),
        )));
    }
    if let Some(addr) = flags.cot_udp {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot take CoT on UDP {addr} (is the port in use?)"))?;
        let bound = socket.local_addr()?;
        let binding = Arc::new(bind_member(engine, format!("cot-udp {bound}"), user).await?);
        println!("  CoT/UDP:     {bound} (XML or mesh protobuf) as {user}");
        tasks.push(tokio::spawn(truce_tak::serve_udp(
            socket,
            binding,
            intake.clone(),
            stop.clone(),
        )));
    }
    Ok(Started { tasks, tcp })
}
