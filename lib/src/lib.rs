//! nudge: proactive messaging for Bot Framework bots.
//!
//! A bot remembers every conversation that reaches it and can later speak
//! first. This crate holds all of it; the function binaries only wire it up.
//!
//! Layers, outside in:
//! - [`api`]: HTTP ingress (the `/api/messages` endpoint and webhooks), an
//!   axum router shared by the local host and the cloud functions.
//! - [`auth`]: who may call — Bot Framework JWT validation for activities,
//!   signatures or API keys for webhooks.
//! - [`bot`]: the turn logic — commands, welcome, jobs, subscriptions,
//!   reminders.
//! - [`delivery`]: the notifier — turns queued [`notification`]s into
//!   Connector calls, once in effect.
//! - [`schedule`]: reminders — the phrases, recurrence across time zones
//!   and daylight saving, and the tick that fires what is due.
//! - [`connector`]: the Bot Connector REST client, outbound tokens, and the
//!   trust policy that decides which service URLs it may call.
//! - [`store`] and [`queue`]: the two ports, with their adapters.
//! - [`activity`], [`ids`], [`service_url`]: the schema and domain types,
//!   parsed once at the edge.
//! - [`local`]: the embedded host that runs everything in one process.
//! - `aws` (feature `aws`): the wiring of the AWS Lambda functions.

// Everything public is documented: the library is for bots built on it
// (`examples/custom-bot`), and `clippy -D warnings` keeps it so.
#![warn(missing_docs)]

/// The attribute the extension traits ([`bot::TurnHandler`],
/// [`delivery::DeliveryHook`]) are implemented with, re-exported so that a
/// library user's crate needs no dependency of its own for it.
pub use async_trait::async_trait;

pub mod activity;
pub mod api;
pub mod assemble;
pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "azure")]
pub mod azure_storage;
pub mod bot;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod connector;
pub mod delivery;
pub mod env;
mod fetch;
pub mod ids;
#[cfg(feature = "local")]
pub mod local;
pub mod notification;
pub mod queue;
pub mod rate;
pub mod reach;
mod roots;
pub mod schedule;
pub mod secret;
pub mod service_url;
#[cfg(feature = "local")]
mod sqlite_db;
pub mod store;
pub mod telemetry;
mod tls;
pub mod turn;
