//! The reminder function: the reminder tick, every minute, on an
//! EventBridge rule or Scheduler schedule (or a manual invocation).
//!
//! Wiring only: the library builds the ticker once per execution
//! environment; each invocation runs one tick.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    nudge::telemetry::init(true);
    let ticker = Arc::new(
        nudge::aws::reminder()
            .await
            .inspect_err(|error| tracing::error!(%error, "the reminder function cannot start"))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ticker = Arc::clone(&ticker);
        async move { Ok::<_, Error>(ticker.tick(event.payload).await?) }
    }))
    .await
}
