//! Configuration, read from the environment once at start-up.
//!
//! Names follow the Bot Framework SDKs where they have one
//! (`MicrosoftAppId`, `MicrosoftAppPassword`, `MicrosoftAppType`,
//! `MicrosoftAppTenantId`, `ToChannelFromBotLoginUrl`,
//! `ToChannelFromBotOAuthScope`) and start with `NUDGE_` otherwise. A value
//! that is present but wrong stops start-up with an error naming the
//! variable, never the first request. README.md lists every variable.

use std::path::PathBuf;
use std::time::Duration;

use crate::api::Limits;
use crate::auth::{InboundSettings, WebhookSettings};
use crate::bot::{Caps, JobScope};
use crate::calendar::Zone;
pub use crate::connector::{AppIdentity, AppType};
use crate::connector::{MsiEndpoint, TrustSettings};
use crate::delivery::NotifierSettings;
use crate::env::number;
pub use crate::env::{ConfigError, Env, ProcessEnv};
use crate::secret::Secret;
pub use server::ServerSettings;

mod server;

/// Notifications the notifier works on at once, unless
/// `NUDGE_NOTIFIER_CONCURRENCY` says otherwise. Sends mostly wait (for the
/// channel, for the store), so deliveries per second come to about this
/// many over the channel's answer time: at 50 ms, 64 in flight reach some
/// 1,200 a second where 8 reached 150. The price is the window of doubt:
/// a crash can double at most this many sends. Memory stays small (a task
/// and a pooled connection each; the local host peaks near 50 MiB).
pub const DEFAULT_NOTIFIER_CONCURRENCY: usize = 64;

/// Everything nudge reads from its environment, on every host.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The local host's port (`PORT`).
    pub port: u16,
    /// Address the local host listens on. Loopback by default: without an
    /// app id it is unauthenticated and must not be reachable from others.
    pub bind: std::net::IpAddr,
    /// Where the local host keeps its SQLite files (`NUDGE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The bot's Microsoft app registration, if any (`MicrosoftAppId` and
    /// its credential): inbound tokens are checked and outbound ones
    /// fetched for it.
    pub app: Option<AppIdentity>,
    /// The notifier's tunables.
    pub notifier: NotifierSettings,
    /// Notifications the local notifier works on at once.
    pub notifier_concurrency: usize,
    /// Receives after which the queue moves a message to the dead letters.
    pub max_receive_count: u32,
    /// Caps on what one conversation or user may hold.
    pub limits: Limits,
    /// Logs as JSON lines (`NUDGE_LOG_FORMAT=json`), as the cloud hosts do.
    pub json_logs: bool,
    /// Where inbound token checks get their keys.
    pub inbound: InboundSettings,
    /// Webhook credentials.
    pub webhooks: WebhookSettings,
    /// Service URL hosts trusted without a verified provenance.
    pub trust: TrustSettings,
    /// The time zone of users whose channel sends no `localTimezone`.
    pub default_time_zone: Zone,
    /// How often the local host's reminder tick runs.
    pub tick_interval: Duration,
    /// Who may see and complete a job from chat.
    pub job_scope: JobScope,
    /// How much a conversation or user may hold at once.
    pub caps: Caps,
    /// The local host's HTTP server bounds.
    pub server: ServerSettings,
}

impl Settings {
    /// Reads every setting (the README's table lists them); a missing one
    /// takes its default, an invalid one is an error naming the variable.
    pub fn from_env(env: &dyn Env) -> Result<Settings, ConfigError> {
        let defaults = NotifierSettings::default();
        let limits = Limits::default();
        let app = app_identity(env)?;
        let teams = teams_settings(env, app.as_ref())?;
        Ok(Settings {
            port: number(env, "PORT", 3978, |_| true, "a port number")?,
            bind: number(
                env,
                "NUDGE_BIND",
                std::net::IpAddr::from([127, 0, 0, 1]),
                |_| true,
                "an IP address",
            )?,
            data_dir: env
                .get("NUDGE_DATA_DIR")
                .map_or_else(|| PathBuf::from(".nudge"), PathBuf::from),
            app,
            notifier: NotifierSettings {
                max_attempts: number(
                    env,
                    "NUDGE_MAX_ATTEMPTS",
                    defaults.max_attempts,
                    |n| (1..=100).contains(n),
                    "a number from 1 to 100",
                )?,
                rate_limits: crate::rate::RateLimits::from_env(env)?,
                retention: Duration::from_secs(
                    24 * 3600
                        * number(
                            env,
                            "NUDGE_DELIVERY_RETENTION_DAYS",
                            30,
                            |n| (1..=365).contains(n),
                            "a number of days from 1 to 365",
                        )?,
                ),
                lease: Duration::from_secs(number(
                    env,
                    "NUDGE_DELIVERY_LEASE_SECONDS",
                    defaults.lease.as_secs(),
                    |n| (1..=900).contains(n),
                    "a number of seconds from 1 to 900",
                )?),
                backoff_base: Duration::from_millis(number(
                    env,
                    "NUDGE_RETRY_BASE_MS",
                    2000,
                    |n| (10..=60_000).contains(n),
                    "a number of milliseconds from 10 to 60000",
                )?),
                teams,
                ..defaults
            },
            notifier_concurrency: number(
                env,
                "NUDGE_NOTIFIER_CONCURRENCY",
                DEFAULT_NOTIFIER_CONCURRENCY,
                |n| (1..=256).contains(n),
                "a number from 1 to 256",
            )?,
            max_receive_count: number(
                env,
                "NUDGE_MAX_RECEIVE_COUNT",
                10,
                // Above the receives after which a waiting message goes
                // back fresh (`delivery::settle`), or waiting for a rate
                // limit could use it up.
                |n| (5..=1000).contains(n),
                "a number from 5 to 1000",
            )?,
            limits: Limits {
                max_activity_bytes: number(
                    env,
                    "NUDGE_MAX_ACTIVITY_BYTES",
                    limits.max_activity_bytes,
                    |n| (1024..=16 << 20).contains(n),
                    "a size in bytes from 1024 to 16 MiB",
                )?,
                idempotency_retention: jiff::SignedDuration::from_hours(number(
                    env,
                    "NUDGE_IDEMPOTENCY_HOURS",
                    24,
                    |n| (1..=720).contains(n),
                    "a number of hours from 1 to 720",
                )?),
                ..limits
            },
            json_logs: match env.get("NUDGE_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "NUDGE_LOG_FORMAT",
                        problem: format!("`{other}` is neither `text` nor `json`"),
                    })
                }
            },
            inbound: InboundSettings::from_env(env)?,
            webhooks: WebhookSettings::from_env(env)?,
            trust: TrustSettings::from_env(env)?,
            default_time_zone: default_time_zone(env)?,
            tick_interval: Duration::from_secs(number(
                env,
                "NUDGE_TICK_SECONDS",
                2,
                |n| (1..=3600).contains(n),
                "a number of seconds from 1 to 3600",
            )?),
            job_scope: JobScope::from_env(env)?,
            caps: Caps::from_env(env)?,
            server: ServerSettings::from_env(env)?,
        })
    }

    /// How long a received message stays invisible to other receivers:
    /// long enough for an attempt and its lease.
    pub fn visibility_timeout(&self) -> Duration {
        self.notifier.lease * 2
    }
}

fn default_time_zone(env: &dyn Env) -> Result<Zone, ConfigError> {
    env.get("NUDGE_DEFAULT_TIME_ZONE")
        .map_or(Ok(Zone::utc()), |name| Zone::parse(&name))
        .map_err(|e| ConfigError {
            variable: "NUDGE_DEFAULT_TIME_ZONE",
            problem: e.to_string(),
        })
}

/// The authority outbound tokens come from: the app's secret is sent there,
/// so only over HTTPS (plain HTTP only to this machine, for tests).
fn login_url(env: &dyn Env, authority: &str) -> Result<String, ConfigError> {
    match env.get("ToChannelFromBotLoginUrl") {
        None => Ok(format!("https://login.microsoftonline.com/{authority}")),
        Some(url) if crate::fetch::is_secure_endpoint(url.trim()) => Ok(url.trim().to_owned()),
        Some(url) => Err(ConfigError {
            variable: "ToChannelFromBotLoginUrl",
            problem: format!("`{url}` is not an https URL (http only to this machine)"),
        }),
    }
}

/// How a Teams tenant nudge has no conversation in is reached: the
/// default service URL (`NUDGE_TEAMS_SERVICE_URL`, none by default) and
/// the bot's Teams id, from its app id.
fn teams_settings(
    env: &dyn Env,
    app: Option<&AppIdentity>,
) -> Result<crate::reach::TeamsSettings, ConfigError> {
    let service_url = match env.get("NUDGE_TEAMS_SERVICE_URL") {
        None => None,
        Some(url) => Some(url.parse().map_err(|e| ConfigError {
            variable: "NUDGE_TEAMS_SERVICE_URL",
            problem: format!("`{url}` is not a service URL: {e}"),
        })?),
    };
    Ok(crate::reach::TeamsSettings {
        service_url,
        bot_id: app.map(|app| format!("28:{}", app.app_id)),
    })
}

fn app_identity(env: &dyn Env) -> Result<Option<AppIdentity>, ConfigError> {
    let Some(app_id) = env.get("MicrosoftAppId") else {
        return Ok(None);
    };
    let app_type = match env.get("MicrosoftAppType").as_deref() {
        None => AppType::MultiTenant,
        Some(t) if t.eq_ignore_ascii_case("MultiTenant") => AppType::MultiTenant,
        Some(t) if t.eq_ignore_ascii_case("SingleTenant") => AppType::SingleTenant,
        Some(t) if t.eq_ignore_ascii_case("UserAssignedMSI") => AppType::UserAssignedMsi,
        Some(other) => {
            return Err(ConfigError {
                variable: "MicrosoftAppType",
                problem: format!(
                    "`{other}` is not supported; use MultiTenant, SingleTenant or UserAssignedMSI"
                ),
            })
        }
    };
    let tenant_id = env.get("MicrosoftAppTenantId");
    let authority = match (app_type, tenant_id.as_deref()) {
        (AppType::SingleTenant | AppType::UserAssignedMsi, None) => {
            return Err(ConfigError {
                variable: "MicrosoftAppTenantId",
                problem: "is required when MicrosoftAppType is SingleTenant or UserAssignedMSI"
                    .into(),
            })
        }
        (AppType::SingleTenant | AppType::UserAssignedMsi, Some(tenant)) => tenant.to_owned(),
        (AppType::MultiTenant, _) => "botframework.com".to_owned(),
    };
    Ok(Some(AppIdentity {
        app_id,
        password: env.get("MicrosoftAppPassword").map(Secret::new),
        app_type,
        tenant_id,
        login_url: login_url(env, &authority)?,
        oauth_scope: env
            .get("ToChannelFromBotOAuthScope")
            .unwrap_or_else(|| "https://api.botframework.com".to_owned()),
        managed_identity: (app_type == AppType::UserAssignedMsi)
            .then(|| MsiEndpoint::from_env(env)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_any_variable() {
        let s = Settings::from_env(&[("UNRELATED", "1")]).unwrap();
        assert_eq!(s.port, 3978);
        assert_eq!(s.data_dir, PathBuf::from(".nudge"));
        assert_eq!(s.app, None);
        assert!(!s.json_logs);
        assert_eq!(s.default_time_zone, Zone::utc());
        assert_eq!(s.tick_interval, Duration::from_secs(2));
    }

    #[test]
    fn reminder_settings() {
        let s = Settings::from_env(&[
            ("NUDGE_DEFAULT_TIME_ZONE", "europe/berlin"),
            ("NUDGE_TICK_SECONDS", "5"),
        ])
        .unwrap();
        assert_eq!(s.default_time_zone.name(), "Europe/Berlin");
        assert_eq!(s.tick_interval, Duration::from_secs(5));
        let err = Settings::from_env(&[("NUDGE_DEFAULT_TIME_ZONE", "Central European Time")])
            .unwrap_err();
        assert_eq!(err.variable, "NUDGE_DEFAULT_TIME_ZONE");
        assert!(
            err.to_string().contains("not an IANA time zone name"),
            "{err}"
        );
        let err = Settings::from_env(&[("NUDGE_TICK_SECONDS", "0")]).unwrap_err();
        assert_eq!(err.variable, "NUDGE_TICK_SECONDS");
    }

    #[test]
    fn single_tenant_identity_uses_the_tenant_authority() {
        let s = Settings::from_env(&[
            ("MicrosoftAppId", "app"),
            ("MicrosoftAppPassword", "pw"),
            ("MicrosoftAppType", "SingleTenant"),
            ("MicrosoftAppTenantId", "t1"),
        ])
        .unwrap();
        assert!(
            !format!("{s:?}").contains("\"pw\""),
            "the app password never prints"
        );
        let app = s.app.unwrap();
        assert_eq!(app.password, Some(Secret::new("pw")));
        assert_eq!(
            app.token_url(),
            "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        );
        assert_eq!(app.scope(), "https://api.botframework.com/.default");
    }

    #[test]
    fn errors_name_the_variable() {
        let err = Settings::from_env(&[("PORT", "http")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        let err = Settings::from_env(&[
            ("MicrosoftAppId", "a"),
            ("MicrosoftAppType", "SingleTenant"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "MicrosoftAppTenantId");
        let err = Settings::from_env(&[("NUDGE_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.variable, "NUDGE_LOG_FORMAT");
        let err = Settings::from_env(&[
            ("MicrosoftAppId", "a"),
            (
                "ToChannelFromBotLoginUrl",
                "http://login.example.com/botframework.com",
            ),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "ToChannelFromBotLoginUrl");
        assert!(Settings::from_env(&[
            ("MicrosoftAppType", "UserAssignedMSI"),
            ("MicrosoftAppId", "a")
        ])
        .is_err());
    }
}
