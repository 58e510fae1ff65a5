//! End-to-end and cross-adapter tests for nudge.
//!
//! [`suites`] holds the behavioural contract of the two ports as reusable
//! checks; the files under `tests/` run them against each adapter.
//! [`channel`] is a fake Bot Connector channel (and [`crash`] the check of
//! a notifier killed mid-batch against it), [`client`] talks to nudge as
//! a channel does, and [`host`] starts nudge in-process or as its binary.
//! [`moto`] reaches the emulated AWS services the AWS adapters are tested on;
//! [`lambda`] runs the Lambda function binaries under a Runtime API
//! emulator (with the environment [`stack_env`] gives them, fed by
//! [`event_source`] where SQS would), [`events`] builds the events AWS
//! sends them, and [`tls`] puts
//! HTTPS in front of a fake server for hosts that call only HTTPS, and
//! [`http`] builds the tests' own HTTP clients.
//! [`playground`] starts the real Microsoft 365 Agents Playground against a
//! host and drives it as its web page does.
//! [`api`] calls the webhook API signed, checking every answer against
//! `openapi.yaml` ([`api_spec`]).
//! [`openid`] is a fake Bot Framework identity (OpenID metadata, signing keys
//! and token minting) and [`entra`] a fake token endpoint, for the
//! authentication tests; [`secured`] starts a host that uses both.

pub mod api;
pub mod api_spec;
pub mod azurite;
pub mod channel;
pub mod client;
pub mod crash;
pub mod delivery;
pub mod entra;
pub mod event_source;
pub mod events;
pub mod functions_host;
pub mod host;
pub mod http;
pub mod lambda;
pub mod moto;
pub mod ncrontab;
pub mod openid;
pub mod playground;
pub mod secured;
pub mod server;
pub mod stack_env;
pub mod suites;
pub mod tls;
