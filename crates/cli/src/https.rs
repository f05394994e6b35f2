//! HTTPS for the API and the dashboard (`--tls-cert FILE --tls-key FILE`): rustls with the
//! `ring` provider, TLS 1.2 and 1.3 only. Handshakes run in their own tasks with a deadline,
//! so a client that opens a connection and says nothing holds up no one else.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Handshakes under way at once; more connections wait in the kernel's backlog. A client that
/// opens connections and never speaks holds one each for [`HANDSHAKE_TIMEOUT`]: to fill them
/// all it must open some 800 a second (per-address limits belong to a firewall in front).
const MAX_HANDSHAKES: usize = 4096;

/// `--tls-cert` and `--tls-key`: serve HTTPS instead of HTTP.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HttpsFlags {
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first). Needs
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl HttpsFlags {
    /// The rustls configuration the flags ask for, or `None` for plain HTTP. Fails naming the
    /// file that cannot be read or does not hold what it should.
    pub fn config(&self) -> Result<Option<Arc<ServerConfig>>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => server_config(cert, key).map(Some),
            (None, None) => Ok(None),
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        }
    }
}

/// A TLS 1.2/1.3 server configuration for `cert` and `key`, without client certificates.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let (chain, private) = truce_tak::tls::read_identity(cert, key)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .with_context(|| {
            format!(
                "{} and {} are not a certificate and its key",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that hands axum connections whose TLS handshake has completed.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp`, each handshake in its own task.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!(error = %e, "HTTPS accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "no TLS handshake within 5 s"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (only when the runtime shuts down): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// `--max-failed-sign-ins`: how many failed sign-ins a client address may make in a minute
/// before its requests with a token are answered 429 for the rest of it.
#[derive(clap::Args, Debug, Clone)]
pub struct SignInFlags {
    /// Failed sign-ins one address may make per minute before it is held off (a field post
    /// behind one NAT may need more than the default).
    #[arg(
        long,
        value_name = "N",
        env = "TRUCE_MAX_FAILED_SIGNINS",
        default_value_t = truce_server::MAX_FAILURES as u64,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000_000)
    )]
    pub max_failed_sign_ins: u64,
}

impl SignInFlags {
    /// The limit as a count.
    pub fn limit(&self) -> usize {
        usize::try_from(self.max_failed_sign_ins).unwrap_or(usize::MAX)
    }
}

/// What `truce serve` takes about its HTTP face: TLS and the sign-in limit.
#[derive(clap::Args, Debug, Clone)]
pub struct HttpFlags {
    /// HTTPS instead of HTTP.
    #[command(flatten)]
    pub tls: HttpsFlags,
    /// The sign-in limit.
    #[command(flatten)]
    pub sign_in: SignInFlags,
}
