//! End-to-end and cross-adapter tests for nudge.
//!
//! [`suites`] holds the behavioural contract of the two ports as reusable
//! checks; the files under `tests/` run them against each adapter.
//! [`channel`] is a fake Bot Connector channel, [`client`] talks to nudge as
//! a channel does, and [`host`] starts nudge in-process or as its binary.

pub mod channel;
pub mod client;
pub mod host;
pub mod suites;
