//! The messages function: `POST /api/messages` and the webhooks, behind an
//! API Gateway HTTP API.
//!
//! Wiring only: the library builds the same axum app the local host
//! serves (JWT and webhook signatures required) once per execution
//! environment, and `lambda_http` turns API Gateway events into requests
//! for it.

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    nudge::telemetry::init(true);
    let app = nudge::aws::messages_app()
        .await
        .inspect_err(|error| tracing::error!(%error, "the messages function cannot start"))?;
    lambda_http::run(app).await
}
