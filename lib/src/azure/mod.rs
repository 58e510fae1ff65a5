//! The Azure Functions host: nudge's functions as one custom handler on
//! Azure Storage queues and tables.
//!
//! - [`handler`]: the server the Function App's host talks to, built once
//!   from the app settings ([`settings`]) on the Table store
//!   ([`crate::store::azure_table`]) and the Storage queue
//!   ([`crate::queue::azure`]).
//! - [`invocation`]: the custom-handler protocol for non-HTTP triggers (a
//!   queue message or a timer tick in, the host's answer out), reading
//!   every form the host is known to send; a message is settled with
//!   [`crate::delivery::settle`] and
//!   [`crate::delivery::Trigger::PerInvocation`].
//! - [`functions`]: the names `infra/azure`'s files and the handler share.
//!
//! Still to come (issue 14): `main.bicep`, storage through a managed
//! identity.

pub mod functions;
pub mod handler;
pub mod invocation;
pub mod settings;
