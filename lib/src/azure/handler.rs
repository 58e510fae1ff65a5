//! The custom handler: the one HTTP server a Function App's host talks to.
//!
//! - HTTP functions are proxied (`enableProxyingHttpRequest`): requests
//!   reach the handler at their own paths (`/api/...`, `/healthz`) and are
//!   served by the same app as on every host, Bot Framework tokens and
//!   webhook signatures required.
//! - `GET /`: the host's start-up ping, answered at once: the queue and
//!   table are created (where missing) meanwhile, and every other request
//!   waits for that.
//! - `POST /notifier`: one queue message per invocation
//!   ([`super::invocation`]), processed by the notifier and settled with
//!   [`Trigger::PerInvocation`]: 200 when settled (a retry is already set
//!   on the message itself), 500 when it could not be, so the host offers
//!   it again after `host.json`'s visibility timeout. An unreadable
//!   message is answered 200 with the reason in the host's log: it can
//!   never succeed.
//! - `POST /reminder`: the maintenance tick (reminders and retention).
//!
//! These two paths are not reachable from outside: the public routes are
//! the HTTP functions' (`api/{*path}`, `healthz`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use azure_core::credentials::TokenCredential;
use tokio::sync::watch;

use super::functions::{NOTIFIER, QUEUE_BINDING, REMINDER, TIMER_BINDING};
use super::invocation::{Answer, Invocation};
use super::settings::AzureSettings;
use super::storage_identity::IdentityCredential;
use crate::api::WebhookGate;
use crate::assemble::Assembly;
use crate::auth::{BotFrameworkAuth, SetupError, WebhookPolicy};
use crate::azure_storage::Credential;
use crate::config::{ConfigError, Settings};
use crate::connector::token::{self, MsiEndpoint};
use crate::connector::{ConnectorClient, TrustPolicy};
use crate::delivery::{settle, Notifier, Trigger};
use crate::env::ProcessEnv;
use crate::queue::azure::AzureQueue;
use crate::queue::{Queue, QueueError};
use crate::schedule;
use crate::store::azure_table::rest::{TableClient, TableError};
use crate::store::azure_table::AzureTableStore;
use crate::store::Store;

/// Why the handler cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The settings are unsafe together (`crate::auth`).
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The queue cannot be reached or created.
    #[error("the notification queue: {0}")]
    Queue(#[from] QueueError),
    /// The table cannot be reached or created.
    #[error("the table: {0}")]
    Table(#[from] TableError),
    /// The port the host gave cannot be listened on.
    #[error("cannot listen on the host's port: {0}")]
    Listen(#[from] std::io::Error),
}

/// What the invocation routes share.
#[derive(Clone)]
struct Functions {
    notifier: Arc<Notifier>,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    retention: Duration,
}

/// Reads the app settings, builds every part, and serves the host until
/// it stops the process.
pub async fn serve() -> Result<(), StartError> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let azure = AzureSettings::from_env(&ProcessEnv)?;
    let http = ConnectorClient::http_client();

    let account = &azure.storage.account;
    let identity = azure.storage.identity.clone().map(|client_id| {
        let tokens =
            IdentityCredential::new(http.clone(), MsiEndpoint::from_env(&ProcessEnv), client_id);
        Arc::new(tokens) as Arc<dyn TokenCredential>
    });
    let queue = AzureQueue::new(
        account,
        &azure.queue_name,
        http.clone(),
        identity.clone(),
        settings.max_receive_count,
    )?;
    let table = TableClient::new(
        http.clone(),
        account.table_endpoint.clone(),
        &azure.table_name,
        Credential::for_account(account, identity),
    );
    let queue = Arc::new(queue);
    let ready = prepare(queue.clone(), table.clone());
    let store: Arc<dyn Store> = Arc::new(AzureTableStore::new(table));
    let queue: Arc<dyn Queue> = queue;

    let app = crate::auth::require_app_id(settings.app.as_ref())?;
    let tokens = token::for_app(app, http.clone())?;
    // One HTTP client for everything: each one built loads the TLS roots.
    let connector = ConnectorClient::new(http.clone(), tokens, TrustPolicy::cloud(&settings.trust));
    let inbound = BotFrameworkAuth::for_app(settings.app.as_ref(), &settings.inbound, http)?;
    let webhooks = WebhookGate::new(
        WebhookPolicy::required(&settings.webhooks)?,
        settings.limits.max_webhook_bytes,
    );
    let retention = settings.notifier.retention;
    let assembly = Assembly::new(settings, store.clone(), queue.clone(), connector);
    let functions = Functions {
        notifier: Arc::new(assembly.notifier()),
        store,
        queue,
        retention,
    };
    let served = assembly
        .app(Arc::new(inbound), &webhooks)
        .merge(invocations(functions))
        .layer(axum::middleware::from_fn_with_state(ready, once_ready));
    let router = Router::new()
        .route("/", get(|| async { StatusCode::OK }))
        .merge(served);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", azure.port)).await?;
    tracing::info!(port = azure.port, queue = %azure.queue_name, table = %azure.table_name, "custom handler listening");
    axum::serve(listener, router).await?;
    Ok(())
}

/// Creates the queue and the table where they do not exist, while the
/// handler already answers the host's pings (a cold start is shorter by
/// those round trips); every other request waits for it. If it fails the
/// process exits, as a failed start does, and the host starts another.
fn prepare(queue: Arc<AzureQueue>, table: TableClient) -> watch::Receiver<bool> {
    let (done, ready) = watch::channel(false);
    tokio::spawn(async move {
        let prepared = async {
            queue.create_if_missing().await?;
            table.create_if_missing().await?;
            Ok::<_, StartError>(())
        };
        match prepared.await {
            Ok(()) => {
                let _ = done.send(true);
            }
            Err(error) => {
                tracing::error!(%error, "the custom handler cannot start");
                std::process::exit(1);
            }
        }
    });
    ready
}

/// Lets a request through once the storage is prepared.
async fn once_ready(
    State(mut ready): State<watch::Receiver<bool>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let _ = ready.wait_for(|done| *done).await;
    next.run(request).await
}

/// The routes the host calls itself.
fn invocations(functions: Functions) -> Router {
    Router::new()
        .route(&format!("/{NOTIFIER}"), post(notify))
        .route(&format!("/{REMINDER}"), post(tick))
        .with_state(functions)
}

/// The invocation a request carries; a body that is none is refused
/// (400: the host fails the invocation and offers the message again).
fn read(body: &[u8]) -> Result<Invocation, (StatusCode, Json<Answer>)> {
    serde_json::from_slice(body).map_err(|error| {
        tracing::error!(%error, "a request to an invocation route that is no invocation");
        (
            StatusCode::BAD_REQUEST,
            Json(Answer::logged(format!("not an invocation: {error}"))),
        )
    })
}

async fn notify(State(functions): State<Functions>, body: Bytes) -> (StatusCode, Json<Answer>) {
    let invocation = match read(&body) {
        Ok(invocation) => invocation,
        Err(refused) => return refused,
    };
    let message = match invocation.queue_message(QUEUE_BINDING) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "a queue message that can never be delivered; dropped");
            return (
                StatusCode::OK,
                Json(Answer::logged(format!("dropped: {error}"))),
            );
        }
    };
    let disposition = functions.notifier.process(&message).await;
    let answer = settle(
        functions.queue.as_ref(),
        &message,
        disposition,
        Trigger::PerInvocation,
    )
    .await;
    match answer {
        crate::delivery::Answer::Settled => (StatusCode::OK, Json(Answer::default())),
        crate::delivery::Answer::Again => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(Answer::logged("could not settle; the host offers it again")),
        ),
    }
}

async fn tick(State(functions): State<Functions>, body: Bytes) -> (StatusCode, Json<Answer>) {
    let invocation = match read(&body) {
        Ok(invocation) => invocation,
        Err(refused) => return refused,
    };
    if invocation.timer_is_past_due(TIMER_BINDING) {
        tracing::warn!("the reminder tick is past due: the host was down or busy when it fell due");
    }
    let now = jiff::Timestamp::now();
    match schedule::maintain(
        functions.store.as_ref(),
        functions.queue.as_ref(),
        now,
        functions.retention,
    )
    .await
    {
        Ok(done) => {
            let report = done.reminders;
            tracing::info!(?report, "reminder tick");
            (
                StatusCode::OK,
                Json(Answer::logged(format!(
                    "due {}, enqueued {}, advanced {}",
                    report.due, report.enqueued, report.advanced
                ))),
            )
        }
        Err(error) => {
            tracing::error!(%error, "reminder tick failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(Answer::logged(format!("tick failed: {error}"))),
            )
        }
    }
}
