//! The Azure Functions host (issue 14, under way): nudge's three functions
//! as one custom handler on Azure Storage queues and tables.
//!
//! Built so far: [`invocation`], the custom-handler protocol for non-HTTP
//! triggers (a queue message or a timer tick in, the host's answer out),
//! reading every form the host is known to send. A message is settled with
//! [`crate::delivery::settle`] and [`crate::delivery::Trigger::PerInvocation`].
//! [`functions`] names what `infra/azure`'s files and the handler share.
//! The Storage queue adapter is [`crate::queue::azure`]; the Table store's
//! foundation is [`crate::store::azure_table`]. Still to come: the Table
//! store's parts, the handler binary and `main.bicep`.

pub mod functions;
pub mod handler;
pub mod invocation;
pub mod settings;
