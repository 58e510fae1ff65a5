//! The Azure Functions host: nudge's functions as one custom handler on
//! Azure Storage queues and tables.
//!
//! - [`handler`]: the server the Function App's host talks to, built once
//!   from the app settings ([`settings`]; the storage account and how it is
//!   signed for, key or managed identity, in [`storage_setting`]; the
//!   identity's tokens in [`storage_identity`]) on the Table store
//!   ([`crate::store::azure_table`]) and the Storage queue
//!   ([`crate::queue::azure`]).
//! - [`invocation`]: the custom-handler protocol for non-HTTP triggers (a
//!   queue message or a timer tick in, the host's answer out), reading
//!   every form the host is known to send; a message is settled with
//!   [`crate::delivery::settle`] and
//!   [`crate::delivery::Trigger::PerInvocation`].
//! - [`functions`]: the names `infra/azure`'s files and the handler share.
//! - [`operator`]: `nudge dead-letters --azure` and `nudge redrive --azure`.
//!
//! `infra/azure` holds the files the Function App is published with, and
//! `main.bicep`, which deploys it.

pub mod functions;
pub mod handler;
pub mod invocation;
pub mod operator;
pub mod settings;
pub mod storage_identity;
pub mod storage_setting;
