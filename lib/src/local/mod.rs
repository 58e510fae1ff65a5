//! The embedded local host: all three functions in one process, on an
//! embedded store and queue under a data directory.
//!
//! It serves the same router as the messages function, runs the same
//! notifier code as the queue-triggered function (a loop stands in for the
//! SQS event source), and runs the same reminder tick as the reminder
//! function (a loop stands in for the schedule, every
//! `NUDGE_TICK_SECONDS`). Stopping it loses nothing: references, jobs,
//! reminders and pending notifications are on disk, a notification in
//! flight at a crash comes back when its visibility timeout runs out, and
//! reminders that fell due while it was down fire on its first tick.

pub mod app_package;
pub mod bench;
mod browser_guard;
pub mod chat;
mod notifier_loop;
pub mod operator;
mod security;
mod server;
mod ticker;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::assemble::Assembly;
use crate::auth::SetupError;
use crate::bot::{Commands, TurnHandler};
use crate::config::Settings;
use crate::connector::ConnectorClient;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::{Queue, QueueError};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

/// Why the local host cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The SQLite store cannot be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The embedded queue cannot be opened.
    #[error("cannot open the queue: {0}")]
    Queue(#[from] QueueError),
    /// The port is taken or not allowed.
    #[error("cannot listen on port {port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// Why not.
        source: std::io::Error,
    },
    /// The settings are unsafe together (`crate::auth`).
    #[error(transparent)]
    Security(#[from] SetupError),
}

/// A running local host.
pub struct LocalHost {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    notifier: JoinHandle<()>,
    ticker: JoinHandle<()>,
    queue: Arc<EmbeddedQueue>,
    store: Arc<dyn Store>,
}

impl LocalHost {
    /// Opens the data directory, binds the port (0: any free port) and
    /// starts serving and delivering, with nudge's own commands.
    pub async fn start(settings: &Settings) -> Result<LocalHost, StartError> {
        Self::start_with(settings, Arc::new(Commands)).await
    }

    /// [`LocalHost::start`] with `handler` as the bot's logic for each turn:
    /// your own bot on nudge's ingress, store, queue and notifier.
    pub async fn start_with(
        settings: &Settings,
        handler: Arc<dyn TurnHandler>,
    ) -> Result<LocalHost, StartError> {
        Self::start_custom(settings, |assembly| assembly.with_turn_handler(handler)).await
    }

    /// [`LocalHost::start`] with the assembly `customize`d: a turn handler,
    /// delivery hooks ([`Assembly::with_turn_handler`],
    /// [`Assembly::with_delivery_hook`]).
    pub async fn start_custom(
        settings: &Settings,
        customize: impl FnOnce(Assembly) -> Assembly,
    ) -> Result<LocalHost, StartError> {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&settings.data_dir.join("store.db"))?);
        let queue = Arc::new(EmbeddedQueue::open(
            &settings.data_dir.join("queue.db"),
            settings.max_receive_count,
        )?);
        let security = security::security(settings)?;
        let connector = ConnectorClient::new(
            ConnectorClient::http_client(),
            security.tokens,
            security.trust,
        );
        let dyn_queue: Arc<dyn Queue> = queue.clone();
        let assembly = Assembly::new(
            settings.clone(),
            store.clone(),
            dyn_queue.clone(),
            connector,
        );
        let assembly = customize(assembly);
        let mut app = assembly.app(security.inbound, &security.webhooks);
        if security.unauthenticated {
            app = app.layer(axum::middleware::from_fn(browser_guard::guard));
        }
        let listeners = bind(settings).await?;
        let addr = listeners[0]
            .local_addr()
            .map_err(|source| StartError::Bind {
                port: settings.port,
                source,
            })?;
        let (shutdown, stopped) = watch::channel(false);
        let server = tokio::spawn(server::serve_all(
            listeners,
            app,
            settings.server,
            stopped.clone(),
        ));
        let notifier = assembly.notifier();
        let ticker = tokio::spawn(ticker::run(
            store.clone(),
            dyn_queue.clone(),
            settings.tick_interval,
            settings.notifier.retention,
            stopped.clone(),
        ));
        let notifier = tokio::spawn(notifier_loop::run(
            Arc::new(notifier),
            dyn_queue,
            notifier_loop::LoopSettings {
                concurrency: settings.notifier_concurrency,
                visibility: settings.visibility_timeout(),
            },
            stopped,
        ));
        tracing::info!(%addr, data_dir = %settings.data_dir.display(), "nudge local host listening");
        Ok(LocalHost {
            addr,
            shutdown,
            server,
            notifier,
            ticker,
            queue,
            store,
        })
    }

    /// Where it listens (the port is the one the system chose, for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The embedded queue, for operator commands (dead letters, depth).
    pub fn queue(&self) -> &EmbeddedQueue {
        &self.queue
    }

    /// The store, for operator commands and tests.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stops accepting requests, lets in-flight work finish, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        let _ = self.notifier.await;
        let _ = self.ticker.await;
        tracing::info!("nudge local host stopped");
    }
}

/// Binds the configured address. The default, IPv4 loopback, also gets the
/// IPv6 loopback on the same port where the machine has one, because
/// clients (the Emulator among them) may resolve `localhost` to `::1`.
async fn bind(settings: &Settings) -> Result<Vec<TcpListener>, StartError> {
    let bind_error = |source| StartError::Bind {
        port: settings.port,
        source,
    };
    let first = TcpListener::bind((settings.bind, settings.port))
        .await
        .map_err(bind_error)?;
    let port = first.local_addr().map_err(bind_error)?.port();
    let mut listeners = vec![first];
    if settings.bind == std::net::IpAddr::from([127, 0, 0, 1]) {
        match TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, port)).await {
            Ok(v6) => listeners.push(v6),
            Err(error) => tracing::debug!(%error, "no IPv6 loopback; serving IPv4 only"),
        }
    }
    Ok(listeners)
}
