//! Running nudge on AWS Lambda: the wiring the three functions share.
//!
//! Each function binary is a few lines: it calls one of the builders here
//! once, at cold start (clients, caches and token sources then live as long
//! as the execution environment), and hands each event to what it got
//! back. Everything that can be wrong with the configuration is found
//! here, before the first event, and stops the function with a message
//! naming the variable.
//!
//! - [`Environment::load`]: the SDK configuration (region, credentials and,
//!   for tests, `AWS_ENDPOINT_URL`, all from the standard AWS variables),
//!   the deployment's secret layered over the environment (`secrets`),
//!   the shared [`Settings`] and the AWS ones (`settings`), and the
//!   DynamoDB store and SQS queue.
//! - [`messages_app`]: the same axum app the local host serves, with the
//!   Bot Framework JWT check and webhook signatures required.
//! - [`notifier`]: SQS batches in, partial batch responses out ([`batch`]).
//! - [`reminder`]: the reminder tick, on whatever schedule payload arrives
//!   (`trigger`).

pub mod batch;
mod sdk_http;
mod secrets;
mod settings;
mod trigger;

pub use sdk_http::client as sdk_http_client;

use std::sync::Arc;

use aws_config::BehaviorVersion;

pub use batch::BatchProcessor;
pub use settings::AwsSettings;
pub use trigger::Trigger;

use crate::api::WebhookGate;
use crate::assemble::Assembly;
use crate::auth::{BotFrameworkAuth, SetupError, WebhookPolicy};
use crate::config::{AppType, ConfigError, Settings};
use crate::connector::{token, ConnectorClient, TrustPolicy};
use crate::queue::sqs::SqsQueue;
use crate::queue::Queue;
use crate::schedule::{self, TickError, TickReport};
use crate::store::dynamodb::DynamoStore;
use crate::store::Store;
use secrets::SecretEnv;

/// Why a function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The settings are valid but unsafe together (`crate::auth`).
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(
        "cannot read the secret {arn} (named by {}): {problem}",
        secrets::SECRET_VAR
    )]
    /// The secret could not be read or parsed.
    Secret {
        /// The secret's ARN.
        arn: String,
        /// What went wrong.
        problem: String,
    },
}

/// What every function builds at cold start.
pub struct Environment {
    /// nudge's settings, secrets included.
    pub settings: Settings,
    /// Where the table and queues are.
    pub aws: AwsSettings,
    /// The DynamoDB store.
    pub store: Arc<dyn Store>,
    /// The SQS queue.
    pub queue: Arc<dyn Queue>,
}

impl Environment {
    /// Reads the configuration and builds the clients.
    pub async fn load() -> Result<Environment, StartError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(sdk_http::client())
            .load()
            .await;
        let env = SecretEnv::load_process(&config).await?;
        let settings = Settings::from_env(&env)?;
        let aws = AwsSettings::from_env(&env)?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            aws.table_name.clone(),
        )
        .with_delivery_retention(
            jiff::SignedDuration::try_from(settings.notifier.retention)
                .unwrap_or(crate::store::dynamodb::RETENTION),
        );
        let mut queue = SqsQueue::new(
            aws_sdk_sqs::Client::new(&config),
            aws.queue_url.clone(),
            aws.origin.clone(),
        );
        if let Some(url) = &aws.dead_letter_queue_url {
            queue = queue.with_dead_letter_queue(url);
        }
        Ok(Environment {
            settings,
            aws,
            store: Arc::new(store),
            queue: Arc::new(queue),
        })
    }

    /// The Connector client, with the bot's credentials: a cloud function
    /// does not run without them. It sends with `http`
    /// ([`ConnectorClient::http_client`]), which the function's other
    /// clients share: each client built loads the machine's root
    /// certificates again, a few milliseconds of every cold start.
    pub fn connector(&self, http: reqwest::Client) -> Result<ConnectorClient, StartError> {
        let app = crate::auth::require_app_id(self.settings.app.as_ref())?;
        if app.app_type == AppType::UserAssignedMsi {
            return Err(StartError::Config(ConfigError {
                variable: "MicrosoftAppType",
                problem: "UserAssignedMSI is an Azure managed identity; on AWS use \
                          MultiTenant or SingleTenant"
                    .into(),
            }));
        }
        let tokens = token::for_app(app, http.clone())?;
        Ok(ConnectorClient::new(
            http,
            tokens,
            TrustPolicy::cloud(&self.settings.trust),
        ))
    }
}

/// The messages function's app: the local host's routes, status codes and
/// error bodies, with every activity's JWT and every webhook's signature
/// checked.
pub async fn messages_app() -> Result<axum::Router, StartError> {
    let env = Environment::load().await?;
    let http = ConnectorClient::http_client();
    let connector = env.connector(http.clone())?;
    let inbound =
        BotFrameworkAuth::for_app(env.settings.app.as_ref(), &env.settings.inbound, http)?;
    let webhooks = WebhookGate::new(
        WebhookPolicy::required(&env.settings.webhooks)?,
        env.settings.limits.max_webhook_bytes,
    );
    let assembly = Assembly::new(env.settings, env.store, env.queue, connector);
    Ok(assembly.app(Arc::new(inbound), &webhooks))
}

/// The notifier function's batch processor.
pub async fn notifier() -> Result<BatchProcessor, StartError> {
    let env = Environment::load().await?;
    let connector = env.connector(ConnectorClient::http_client())?;
    let concurrency = env.settings.notifier_concurrency;
    let assembly = Assembly::new(env.settings, env.store, env.queue, connector);
    Ok(BatchProcessor::new(
        Arc::new(assembly.notifier()),
        assembly.queue,
        concurrency,
    ))
}

/// The reminder function: runs the tick whenever the schedule fires.
pub struct ReminderTicker {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    /// How long delivery records and finished jobs are kept.
    retention: std::time::Duration,
}

/// The reminder function's ticker.
pub async fn reminder() -> Result<ReminderTicker, StartError> {
    let env = Environment::load().await?;
    Ok(ReminderTicker {
        retention: env.settings.notifier.retention,
        store: env.store,
        queue: env.queue,
    })
}

/// Why a tick invocation failed (the schedule retries it).
#[derive(Debug, thiserror::Error)]
pub enum TickFailure {
    /// The event was not the schedule's.
    #[error(transparent)]
    Trigger(#[from] trigger::UnknownTrigger),
    /// The tick itself failed.
    #[error(transparent)]
    Tick(#[from] TickError),
}

impl ReminderTicker {
    /// Runs one tick for a schedule payload; answers with what it did.
    pub async fn tick(&self, payload: serde_json::Value) -> Result<serde_json::Value, TickFailure> {
        let trigger = Trigger::parse(payload)?;
        let now = jiff::Timestamp::now();
        let late_ms = trigger
            .scheduled_for()
            .and_then(|at| i64::try_from(now.duration_since(at).as_millis()).ok());
        let done = schedule::maintain(
            self.store.as_ref(),
            self.queue.as_ref(),
            now,
            self.retention,
        )
        .await?;
        let report = done.reminders;
        tracing::info!(?trigger, late_ms, ?report, "reminder tick");
        Ok(summary(&report))
    }
}

fn summary(report: &TickReport) -> serde_json::Value {
    serde_json::json!({
        "due": report.due,
        "enqueued": report.enqueued,
        "advanced": report.advanced,
        "lostRaces": report.lost_races,
        "failed": report.failed,
    })
}
