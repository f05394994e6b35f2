//! Serving an engine over HTTP until Ctrl-C (or SIGTERM), then stopping cleanly: new
//! connections refused, event streams closed, requests in flight finished.

use anyhow::{Context, Result};
use axum::extract::ConnectInfo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Layer;
use truce_engine::Engine;
use truce_server::{AppState, app};

/// A server bound to its address, not yet serving.
pub struct Bound {
    listener: TcpListener,
    state: AppState,
    stop: watch::Sender<bool>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Binds `addr` for `engine`.
pub async fn bind(engine: Arc<Engine>, addr: SocketAddr) -> Result<Bound> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is another truce running?)"))?;
    let (stop, shutdown) = watch::channel(false);
    Ok(Bound {
        listener,
        state: AppState::new(engine, shutdown),
        stop,
        tls: None,
    })
}

impl Bound {
    /// Serves as one node of several: submissions go through `node`'s intake queue.
    pub fn with_node(mut self, node: truce_server::Node) -> Self {
        self.state.node = Some(node);
        self
    }

    /// Serves HTTPS with `config` instead of HTTP (`None` keeps HTTP); responses then carry HSTS.
    pub fn with_tls(mut self, config: Option<Arc<tokio_rustls::rustls::ServerConfig>>) -> Self {
        self.state.https = config.is_some();
        self.tls = config;
        self
    }

    /// Holds a client off after `limit` failed sign-ins in a minute.
    pub fn with_max_failed_sign_ins(mut self, limit: usize) -> Self {
        self.state.guard = Arc::new(truce_server::Guard::with_limit(limit));
        self
    }

    /// The scheme clients use: `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Where the listeners' counters go, for `/api/status`.
    pub fn status(&self) -> Arc<truce_server::StatusBoard> {
        self.state.status.clone()
    }

    /// The address actually bound (the port, when 0 was asked).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `until` completes, then shuts down gracefully.
    pub async fn serve_until(
        self,
        until: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let stop = self.stop;
        let router = app(self.state);
        let shutdown = async move {
            until.await;
            let _ = stop.send(true);
        };
        match self.tls {
            None => {
                // Client addresses reach the handlers, so failed sign-ins are counted per client.
                let service = router.into_make_service_with_connect_info::<SocketAddr>();
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .context("serving HTTP")
            }
            Some(config) => {
                let listener = crate::https::TlsListener::new(self.listener, config)?;
                // The same client address as over HTTP, handed to each connection's router.
                let service = tower::service_fn(
                    move |incoming: axum::serve::IncomingStream<'_, crate::https::TlsListener>| {
                        let peer = ConnectInfo(*incoming.remote_addr());
                        let router = axum::Extension(peer).layer(router.clone());
                        async move { Ok::<_, std::convert::Infallible>(router) }
                    },
                );
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .context("serving HTTPS")
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A multi-threaded runtime for the server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// How often a single server looks for submissions nodes queued.
const QUEUE_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// When the record is in PostgreSQL, answers what nodes beside this single server queue for
/// the sequencer (this server holds its role, so nodes beside it do not take it): every
/// [`QUEUE_EVERY`], until `stop`, the queue is drained through `engine` as a sequencing node
/// drains it. Once another process has taken the role (fenced this server: after a database
/// restart a node may win it first), it stops answering, says so, and ends. `None` when the
/// store has no queue.
pub fn spawn_queue_answerer(
    engine: Arc<Engine>,
    mut stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    engine.store().intake_queue()?;
    Some(tokio::spawn(async move {
        let owed = Arc::new(truce_server::intake::ChargesOwed::default());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(QUEUE_EVERY) => {}
                _ = stop.changed() => return,
            }
            let (turn_engine, turn_stop, turn_owed) = (engine.clone(), stop.clone(), owed.clone());
            let turn = tokio::task::spawn_blocking(move || {
                answer_queue(&turn_engine, &turn_stop, &turn_owed)
            })
            .await;
            match turn {
                Ok(Turn::Done) => continue,
                Ok(Turn::Fenced(e)) => {
                    // Whoever sequences now must be able to hand over when it dies.
                    crate::data_dir::give_up_lead();
                    tracing::error!(
                        error = %e,
                        "another process sequences the record now: this server no longer \
                         answers the intake queue and its writes are refused; restart it"
                    );
                    return;
                }
                Ok(Turn::Failed(e)) => {
                    tracing::error!(error = %e, "queued submissions not answered");
                }
                Err(e) => tracing::error!(error = %e, "the queue's answerer failed"),
            }
            // The store refused (a database away) or an item failed the sequencer: the next
            // turn waits a little.
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}

/// How one turn at the intake queue went.
enum Turn {
    /// Drained until empty, or until asked to stop.
    Done,
    /// Another process sequences: this server must not answer again.
    Fenced(truce_store::StoreError),
    /// A failure left the rest for a later turn.
    Failed(truce_server::intake::DrainError),
}

/// One turn: whether this server still sequences, then the queue drained through `engine`
/// until it is empty or `stop` turns true (attempts the database's faults charged are `owed`).
fn answer_queue(
    engine: &Engine,
    stop: &watch::Receiver<bool>,
    owed: &truce_server::intake::ChargesOwed,
) -> Turn {
    let store = engine.store().clone();
    let Some(queue) = store.intake_queue() else {
        return Turn::Done;
    };
    match queue.answering() {
        Ok(()) => {}
        Err(e @ truce_store::StoreError::Fenced(_)) => return Turn::Fenced(e),
        Err(e) => return Turn::Failed(e.into()),
    }
    let limits = truce_core::intake::ParseLimits::default();
    while !*stop.borrow() {
        match truce_server::intake::drain(engine, queue, &limits, owed) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Turn::Failed(e),
        }
    }
    Turn::Done
}

/// Signs a checkpoint every `interval` in which the record grew, until `stop` turns true.
pub fn spawn_checkpointer(
    engine: Arc<Engine>,
    interval: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            let engine = engine.clone();
            let signed = tokio::task::spawn_blocking(move || engine.sign_checkpoint()).await;
            match signed {
                Ok(Ok(Some(cp))) => tracing::debug!(size = cp.size, "checkpoint signed"),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "checkpoint not signed"),
                Err(e) => tracing::error!(error = %e, "checkpointer failed"),
            }
        }
    })
}
