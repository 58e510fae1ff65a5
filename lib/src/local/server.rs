//! The local host's HTTP server: HTTP/1.1 on its listeners, with bounds on
//! everything a client controls.
//!
//! `axum::serve` waits as long as a client likes: a connection that sends
//! its headers one byte a minute, or announces a body and never sends it,
//! holds a task and a file descriptor forever, a few hundred of them
//! exhaust the descriptors (so `/healthz` stops answering), and a graceful
//! stop waits for them too. So the accept loop is our own, on hyper:
//!
//! - **header timeout**: a request's headers must arrive within
//!   `NUDGE_HTTP_HEADER_TIMEOUT_SECS`, and so must the next request's on a
//!   kept-alive connection (hyper's `header_read_timeout`);
//! - **body timeout**: the whole body within `NUDGE_HTTP_BODY_TIMEOUT_SECS`
//!   of the headers, however it trickles (408 `RequestTimeout`);
//! - **request timeout**: the whole answer within
//!   `NUDGE_HTTP_REQUEST_TIMEOUT_SECS` (408);
//! - **connection cap**: at most `NUDGE_HTTP_MAX_CONNECTIONS` at once;
//!   past it the loop accepts no more until one closes (the kernel queues
//!   them), and since every connection is bounded in time, a slot frees;
//! - **shutdown deadline**: on stop, idle connections close, requests in
//!   flight get `NUDGE_SHUTDOWN_GRACE_SECS` to finish, and whatever is
//!   left then is dropped.
//!
//! HTTP/2 is not served: channels, the Emulator and the Agents Playground
//! speak HTTP/1.1 to a bot, and one protocol is one set of bounds to get
//! right.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};

pub use crate::config::ServerSettings;

/// Serves `app` on every listener until `stopped` turns true, then winds
/// down within the grace period.
pub(super) async fn serve_all(
    listeners: Vec<TcpListener>,
    app: Router,
    settings: ServerSettings,
    stopped: watch::Receiver<bool>,
) {
    let app = app
        .layer(RequestBodyDeadlineLayer::new(settings.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ));
    // One cap for the whole host, whichever listener a client used.
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    futures::future::join_all(listeners.into_iter().map(|listener| {
        serve(
            listener,
            app.clone(),
            settings,
            slots.clone(),
            stopped.clone(),
        )
    }))
    .await;
}

async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ServerSettings,
    slots: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            () = stopping(&mut stopped) => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = stopping(&mut stopped) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, or a connection reset before accept:
                // wait a moment rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let stopped = stopped.clone();
        connections.spawn(async move {
            connection(stream, peer, app, settings, stopped).await;
            drop(slot);
        });
        // Reap finished connections as we go, so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    let deadline = tokio::time::sleep(settings.shutdown_grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = connections.join_next() => if next.is_none() { break },
            () = &mut deadline => {
                tracing::warn!(
                    left = connections.len(),
                    "connections still open after the shutdown grace period; dropping them"
                );
                connections.abort_all();
                break;
            }
        }
    }
}

/// One connection, until it closes, times out, or the host stops (then
/// gracefully: the request in flight is finished, nothing more is read).
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    settings: ServerSettings,
    mut stopped: watch::Receiver<bool>,
) {
    let service = TowerToHyperService::new(app);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopping(&mut stopped) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended");
    }
}

/// Resolves once the host is stopping.
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}
