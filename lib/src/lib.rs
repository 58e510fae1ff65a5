//! nudge: proactive messaging for Bot Framework bots.
//!
//! A bot remembers every conversation that reaches it and can later speak
//! first. This crate holds all of it; the function binaries only wire it up.
//!
//! Layers, outside in:
//! - [`api`]: HTTP ingress (the `/api/messages` endpoint and webhooks), an
//!   axum router shared by the local host and the cloud functions.
//! - [`bot`]: the turn logic — commands, welcome, jobs, subscriptions.
//! - [`delivery`]: the notifier — turns queued [`notification`]s into
//!   Connector calls, once in effect.
//! - [`connector`]: the Bot Connector REST client and outbound tokens.
//! - [`store`] and [`queue`]: the two ports, with their adapters.
//! - [`activity`], [`ids`], [`service_url`]: the schema and domain types,
//!   parsed once at the edge.
//! - [`local`]: the embedded host that runs everything in one process.

pub mod activity;
pub mod api;
pub mod auth;
pub mod bot;
pub mod config;
pub mod connector;
pub mod delivery;
pub mod ids;
pub mod local;
pub mod notification;
pub mod queue;
pub mod schedule;
pub mod service_url;
mod sqlite_db;
pub mod store;
pub mod telemetry;
pub mod turn;
