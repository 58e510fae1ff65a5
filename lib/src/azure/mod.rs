//! The Azure Functions host (issue 14, under way): nudge's three functions
//! as one custom handler on Azure Storage queues and tables.
//!
//! Built so far: [`invocation`], the custom-handler protocol for non-HTTP
//! triggers (a queue message or a timer tick in, the host's answer out),
//! reading every form the host is known to send. A message is settled with
//! [`crate::delivery::settle`] and [`crate::delivery::Trigger::PerInvocation`].
//! Still to come: the Storage queue and Table adapters, the handler binary
//! and `infra/azure`.

pub mod invocation;
