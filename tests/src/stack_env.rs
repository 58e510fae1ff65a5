//! What the function binaries need to run against moto, as their
//! environment: the AWS endpoint and credentials, the table and queues, a
//! secret (the bot's password and whatever else the deployment keeps
//! there), the bot's app id and the token endpoint it logs in at (a
//! [`FakeEntra`]), the test CA, since they call channels only over
//! HTTPS, and the rigs' jitter allowance.
//!
//! The function tests, the Lambda delivery suite and the notifier
//! benchmark all start them so; each adds its own settings (logging, rate
//! limits, inbound authentication) on top.

use aws_config::SdkConfig;
use serde_json::Value;

use crate::delivery::RIG_JITTER_MS;
use crate::entra::FakeEntra;
use crate::moto::{self, TestQueue};
use crate::tls::ca_file;

/// The environment for functions on `table` and `queue`, logging in at
/// `entra` as `app_id`, with a new secret holding `secret`.
pub async fn stack_env(
    config: &SdkConfig,
    table: &str,
    queue: &TestQueue,
    entra: &FakeEntra,
    app_id: &str,
    secret: Value,
) -> Vec<(&'static str, String)> {
    let secret = moto::create_secret(config, secret).await;
    let mut env = moto::function_env();
    env.extend([
        ("NUDGE_TABLE_NAME", table.to_owned()),
        ("NUDGE_QUEUE_URL", queue.url.clone()),
        ("NUDGE_DEAD_LETTER_QUEUE_URL", queue.dead_letter_url.clone()),
        ("NUDGE_SECRET_ARN", secret),
        ("MicrosoftAppId", app_id.to_owned()),
        (
            "ToChannelFromBotLoginUrl",
            entra.login_url("botframework.com"),
        ),
        ("SSL_CERT_FILE", ca_file().display().to_string()),
        // As every test host: an in-turn reply a few milliseconds late for
        // its slot on a busy machine would otherwise go to the queue, which
        // the function tests drain only when they choose to.
        ("NUDGE_RATE_JITTER_MS", RIG_JITTER_MS.to_owned()),
    ]);
    env
}
