//! Runs the countdown bot on nudge's local host, configured like `nudge
//! serve` (the same environment variables; port 3978 by default).

use std::sync::Arc;

use nudge::config::{ProcessEnv, Settings};
use nudge::local::LocalHost;
use nudge_example_custom_bot::Countdown;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    nudge::telemetry::init(false);
    let settings = Settings::from_env(&ProcessEnv)?;
    let host = LocalHost::start_with(&settings, Arc::new(Countdown)).await?;
    println!("countdown bot on http://{}/api/messages", host.addr());
    tokio::signal::ctrl_c().await?;
    host.stop().await;
    Ok(())
}
