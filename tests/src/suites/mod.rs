//! Behavioural suites for the ports: what every adapter must do.
//!
//! The traits' doc comments state the contracts; these checks pin them down
//! so that the embedded adapters and the cloud ones (DynamoDB, SQS) are held
//! to exactly the same behaviour, and the bot, notifier and reminder can be
//! tested against whichever is cheapest.
//!
//! Each check is a `pub async fn` taking the port as a trait object and
//! panicking, with a message naming the broken rule, when the adapter
//! misbehaves. `run_all` runs a whole suite on one instance. Checks use
//! names unique to each run (see [`unique`]), so a store suite can run
//! against a shared table; the queue suite needs a queue of its own (see
//! [`queue`]).

pub mod queue;
pub mod races;
pub mod retention;
pub mod store;

use nudge::ids::JobId;

/// A name no other check or run uses: `label` plus a random suffix of fixed
/// length (so that no unique name is a prefix of another).
pub fn unique(label: &str) -> String {
    format!("suite-{label}-{}", JobId::generate())
}
