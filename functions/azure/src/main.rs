//! The Azure Functions custom handler: one executable for the Function
//! App's three functions (messages, notifier, reminder), on the port the
//! host gives it.
//!
//! Wiring only: the library reads the app settings, builds the Table
//! store, the Storage queue and the Connector client once, and serves the
//! host (`nudge::azure::handler`).

#[tokio::main]
async fn main() -> Result<(), nudge::azure::handler::StartError> {
    nudge::telemetry::init(true);
    nudge::azure::handler::serve()
        .await
        .inspect_err(|error| tracing::error!(%error, "the custom handler cannot start"))
}
