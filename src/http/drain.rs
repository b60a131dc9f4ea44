//! Stopping without dropping anyone: on SIGTERM (or SIGINT) the process first drains, then
//! stops (docs/deploy.md, "Draining on SIGTERM").
//!
//! 1. At once `/readyz` answers 503 `"status":"draining"`, so the load balancer's health check
//!    takes this process out of rotation; everything keeps being served meanwhile.
//! 2. After `--shutdown-drain-secs` (or a second signal), every open WebSocket is closed with
//!    1012 "service restart", a code graphql-ws clients retry on: they reconnect through the
//!    balancer to another process (and catch up with `roomEvents(after:)`).
//! 3. actix's graceful stop: no new connections, in-flight requests finish (10 s at most).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

/// The close code that tells a client to reconnect (RFC 6455 registry: Service Restart).
pub const SERVICE_RESTART: u16 = 1012;

/// Whether this process is draining, and the signal for its sockets to close. Cheap to clone;
/// one per process, shared by every HTTP worker as app data.
#[derive(Clone)]
pub struct Drain {
    draining: Arc<AtomicBool>,
    closing: Arc<watch::Sender<bool>>,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            draining: Arc::default(),
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

impl Drain {
    /// Step 1: readiness fails from now on.
    pub fn start(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Step 2: every socket, open or opening, closes with [`SERVICE_RESTART`].
    pub fn close_sockets(&self) {
        self.start();
        self.closing.send_replace(true);
    }

    /// Resolves once the sockets are to close (at once if they already are).
    pub async fn sockets_closing(&self) {
        let mut rx = self.closing.subscribe();
        // The sender lives as long as `self`, so this only ends by turning true.
        let _ = rx.wait_for(|closing| *closing).await;
    }
}

/// Waits for SIGTERM or SIGINT, then drains for `period` (cut short by a second signal), closes
/// the sockets and stops `servers` gracefully.
pub async fn on_signal(drain: Drain, period: Duration, servers: Vec<ServerHandle>) {
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM; stop with SIGKILL");
            return;
        }
    };
    signals.next().await;
    drain.start();
    tracing::info!(
        seconds = period.as_secs_f64(),
        "stopping: draining (/readyz answers 503)"
    );
    tokio::select! {
        () = tokio::time::sleep(period) => {}
        () = signals.next() => tracing::info!("second signal: draining cut short"),
    }
    drain.close_sockets();
    tracing::info!("closing WebSockets with 1012 and finishing in-flight requests");
    // Let the socket tasks send their close frames before the workers stop.
    tokio::task::yield_now().await;
    for server in servers {
        server.stop(true).await;
    }
}

/// SIGTERM and SIGINT as one stream.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
