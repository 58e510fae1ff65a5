//! The embedded local host: all three functions in one process, on an
//! embedded store and queue under a data directory.
//!
//! It serves the same router as the messages function, runs the same
//! notifier code as the queue-triggered function (a loop stands in for the
//! SQS event source), and will run the same reminder tick. Stopping it
//! loses nothing: references, jobs and pending notifications are on disk,
//! and a notification in flight at a crash comes back when its visibility
//! timeout runs out.

pub mod chat;
mod notifier_loop;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::auth::{InboundAuth, Unauthenticated};
use crate::bot::Bot;
use crate::config::Settings;
use crate::connector::{
    ClientCredentials, ConnectorClient, NoCredentials, TokenSource, TrustPolicy,
};
use crate::delivery::Notifier;
use crate::queue::embedded::EmbeddedQueue;
use crate::queue::{Queue, QueueError};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot open the queue: {0}")]
    Queue(#[from] QueueError),
    #[error("cannot listen on port {port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("{0}")]
    Unsupported(String),
}

/// A running local host.
pub struct LocalHost {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    notifier: JoinHandle<()>,
    queue: Arc<EmbeddedQueue>,
    store: Arc<dyn Store>,
}

impl LocalHost {
    /// Opens the data directory, binds the port (0: any free port) and
    /// starts serving and delivering.
    pub async fn start(settings: &Settings) -> Result<LocalHost, StartError> {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&settings.data_dir.join("store.db"))?);
        let queue = Arc::new(EmbeddedQueue::open(
            &settings.data_dir.join("queue.db"),
            settings.max_receive_count,
        )?);
        let (tokens, inbound) = identity(settings)?;
        let connector = ConnectorClient::new(
            ConnectorClient::http_client(),
            tokens,
            TrustPolicy {
                allow_http_loopback: true,
            },
        );
        let dyn_queue: Arc<dyn Queue> = queue.clone();
        let state = AppState {
            bot: Arc::new(Bot::new(store.clone(), dyn_queue.clone())),
            store: store.clone(),
            queue: dyn_queue.clone(),
            connector: connector.clone(),
            inbound,
            limits: settings.limits.clone(),
        };
        let app = api::with_fallbacks(api::router(state.clone()).merge(api::notify::routes(state)));
        let listeners = bind(settings).await?;
        let addr = listeners[0]
            .local_addr()
            .map_err(|source| StartError::Bind {
                port: settings.port,
                source,
            })?;
        let (shutdown, stopped) = watch::channel(false);
        let server = tokio::spawn(serve_all(listeners, app, stopped.clone()));
        let notifier = Notifier::new(
            store.clone(),
            dyn_queue.clone(),
            connector,
            settings.notifier.clone(),
        );
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
            queue,
            store,
        })
    }

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

async fn serve_all(listeners: Vec<TcpListener>, app: axum::Router, stopped: watch::Receiver<bool>) {
    futures::future::join_all(
        listeners
            .into_iter()
            .map(|listener| serve(listener, app.clone(), stopped.clone())),
    )
    .await;
}

async fn serve(listener: TcpListener, app: axum::Router, mut stopped: watch::Receiver<bool>) {
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "HTTP server failed");
    }
}

/// Outbound tokens and inbound checks for the configured identity.
type Identity = (Arc<dyn TokenSource>, Arc<dyn InboundAuth>);

fn identity(settings: &Settings) -> Result<Identity, StartError> {
    let Some(app) = &settings.app else {
        tracing::warn!(
            "NO AUTHENTICATION: MicrosoftAppId is not set, so /api/messages accepts any \
             activity and replies are sent without a token. This is for the Bot Framework \
             Emulator on this machine only; never expose this host."
        );
        return Ok((Arc::new(NoCredentials), Arc::new(Unauthenticated)));
    };
    let Some(password) = app.password.clone() else {
        return Err(StartError::Unsupported(
            "MicrosoftAppId is set but MicrosoftAppPassword is not".into(),
        ));
    };
    let _tokens = ClientCredentials::new(
        ConnectorClient::http_client(),
        app.token_url(),
        app.app_id.clone(),
        password,
        app.scope(),
    );
    Err(StartError::Unsupported(
        "inbound Bot Framework token validation is not built yet; unset MicrosoftAppId to \
         run with the Emulator without authentication"
            .into(),
    ))
}
