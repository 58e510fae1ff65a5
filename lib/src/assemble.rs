//! One way to assemble nudge, whatever the host: the router every host
//! serves and the notifier every host runs, built from the settings, the
//! host's store and queue, its Connector client and the bot's turn logic.
//! A host (the local one, the Lambda functions, next Azure Functions)
//! brings only what is its own: the adapters, how it authenticates, and
//! the loop or trigger that feeds the notifier and the maintenance tick.

use std::sync::Arc;

use crate::api::{self, AppState, WebhookGate};
use crate::auth::InboundAuth;
use crate::bot::{Bot, Commands, JobCompletion, TurnHandler};
use crate::config::Settings;
use crate::connector::ConnectorClient;
use crate::delivery::{DeliveryHook, Limiter, Notifier};
use crate::queue::Queue;
use crate::schedule::ReminderStillWanted;
use crate::store::Store;

/// The parts of a nudge deployment, ready to serve and deliver.
#[derive(Clone)]
pub struct Assembly {
    /// The settings every part is built from.
    pub settings: Settings,
    /// The host's store.
    pub store: Arc<dyn Store>,
    /// The host's queue.
    pub queue: Arc<dyn Queue>,
    /// The Connector client, with the host's credentials and trust policy.
    pub connector: ConnectorClient,
    handler: Arc<dyn TurnHandler>,
    /// The library user's delivery hooks, after nudge's own.
    hooks: Vec<Arc<dyn DeliveryHook>>,
}

impl Assembly {
    /// nudge on these parts, with its own commands as the turn logic.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        connector: ConnectorClient,
    ) -> Assembly {
        Assembly {
            settings,
            store,
            queue,
            connector,
            handler: Arc::new(Commands),
            hooks: Vec::new(),
        }
    }

    /// The same, with `handler` as the bot's logic for each turn.
    pub fn with_turn_handler(mut self, handler: Arc<dyn TurnHandler>) -> Assembly {
        self.handler = handler;
        self
    }

    /// The same, with `hook` run by every delivery after nudge's own hooks
    /// (a job's completion, a reminder still wanted) and the hooks added
    /// before it: what a custom reason's delivery also does.
    pub fn with_delivery_hook(mut self, hook: Arc<dyn DeliveryHook>) -> Assembly {
        self.hooks.push(hook);
        self
    }

    /// The whole HTTP app (the activity endpoint and the webhook API),
    /// checking activities with `inbound` and webhooks with `webhooks`.
    pub fn app(&self, inbound: Arc<dyn InboundAuth>, webhooks: &WebhookGate) -> axum::Router {
        let settings = &self.settings;
        let bot = Bot::new(self.store.clone(), self.queue.clone())
            .with_default_zone(settings.default_time_zone.clone())
            .with_job_scope(settings.job_scope)
            .with_caps(settings.caps)
            .with_handler(self.handler.clone());
        let state = AppState::new(
            bot,
            self.store.clone(),
            self.queue.clone(),
            Arc::new(self.connector.clone()),
            inbound,
            Limiter::new(self.store.clone(), settings.notifier.rate_limits.clone()),
            settings.limits.clone(),
        )
        .with_teams(settings.notifier.teams.clone());
        api::app(state, webhooks)
    }

    /// The notifier, delivering from this queue with this store, with
    /// nudge's delivery hooks and then the user's.
    pub fn notifier(&self) -> Notifier {
        let notifier = Notifier::new(
            self.store.clone(),
            self.queue.clone(),
            Arc::new(self.connector.clone()),
            self.settings.notifier.clone(),
        )
        .with_hook(Arc::new(JobCompletion::new(self.store.clone())))
        .with_hook(Arc::new(ReminderStillWanted::new(self.store.clone())));
        self.hooks
            .iter()
            .fold(notifier, |notifier, hook| notifier.with_hook(hook.clone()))
    }
}
