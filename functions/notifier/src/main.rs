//! The notifier function: SQS batches of notifications, answered with the
//! records to retry (`ReportBatchItemFailures`).
//!
//! Wiring only: the library builds the batch processor once per execution
//! environment; each invocation hands it the batch.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use nudge::aws::batch::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), Error> {
    nudge::telemetry::init(true);
    let processor = Arc::new(
        nudge::aws::notifier()
            .await
            .inspect_err(|error| tracing::error!(%error, "the notifier function cannot start"))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let processor = Arc::clone(&processor);
        async move { Ok::<_, Error>(processor.process(event.payload).await) }
    }))
    .await
}
