//! A local host with an app id: it validates every activity against the
//! fake OpenID server and gets its outbound tokens from the fake token
//! endpoint, as a deployed bot does against the real ones.

use std::time::Duration;

use nudge::local::LocalHost;

use crate::channel::FakeChannel;
use crate::client::BotClient;
use crate::entra::FakeEntra;
use crate::host::{base_url, settings_with, start_in_process, DataDir};
use crate::openid::{OpenIdServer, APP_ID};

/// The app's client secret in the tests.
pub const APP_PASSWORD: &str = "test-client-secret";
/// The webhook secret of a host with an app id.
pub const WEBHOOK_SECRET: &str = "secured-webhook-secret-0123456789";

pub struct SecuredHarness {
    pub openid: OpenIdServer,
    pub entra: FakeEntra,
    pub channel: FakeChannel,
    pub client: BotClient,
    pub host: LocalHost,
    _data: DataDir,
}

impl SecuredHarness {
    /// A host with an app id; `extra` adds or overrides variables.
    pub async fn start(name: &str, extra: &[(&str, String)]) -> SecuredHarness {
        let data = DataDir::new(name);
        let openid = OpenIdServer::start().await;
        let entra = FakeEntra::start().await;
        let channel = FakeChannel::start().await;
        let mut env = openid.env();
        env.extend([
            ("MicrosoftAppId", APP_ID.to_owned()),
            ("MicrosoftAppPassword", APP_PASSWORD.to_owned()),
            (
                "ToChannelFromBotLoginUrl",
                entra.login_url("botframework.com"),
            ),
            // With an app id the host refuses to start with open webhooks.
            ("NUDGE_WEBHOOK_SECRETS", WEBHOOK_SECRET.to_owned()),
        ]);
        env.extend(extra.iter().cloned());
        let mut settings = settings_with(data.path(), &env);
        settings.inbound.unknown_key_cooldown = Duration::from_millis(200);
        let host = start_in_process(&settings).await;
        let client = BotClient::new(base_url(&host), channel.service_url());
        SecuredHarness {
            openid,
            entra,
            channel,
            client,
            host,
            _data: data,
        }
    }
}
