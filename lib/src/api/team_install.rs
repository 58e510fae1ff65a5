//! When the app is installed in a Teams team, nudge asks Teams for the
//! team's channels (`GET /v3/teams/{teamId}/conversations`) and stores
//! them (`bot::team_channels`), so that a `channel` target reaches any of
//! them at once, not only the channels someone later writes or mentions
//! the bot in. It runs after the turn's replies, so the welcome is not
//! held up; a failure is logged and costs only that: the channels are
//! then learned as they are used.

use crate::activity::kind;
use crate::turn::Turn;

use super::AppState;

/// Learns the team's channels if `turn` installs the app in a team.
pub async fn learn_channels(app: &AppState, turn: &Turn) {
    if !installs(turn) {
        return;
    }
    let Some(team) = turn.activity.team_channel() else {
        return;
    };
    let listed = app
        .channel
        .team_channels(&turn.service_url, turn.provenance, &team.team_id)
        .await;
    let result = match listed {
        Ok(channels) => {
            tracing::info!(team = %team.team_id, channels = channels.len(), "learned the team's channels");
            app.bot.remember_team_channels(turn, &channels).await
        }
        Err(error) => {
            tracing::warn!(team = %team.team_id, error = %crate::telemetry::untrusted(&error), "could not list the team's channels; they are learned as they are used");
            return;
        }
    };
    if let Err(error) = result {
        tracing::warn!(team = %team.team_id, %error, "could not store the team's channels");
    }
}

/// An install: `installationUpdate` `add` (or `add-upgrade`), or the bot
/// among the members a `conversationUpdate` added.
fn installs(turn: &Turn) -> bool {
    let activity = &turn.activity;
    if activity.is(kind::INSTALLATION_UPDATE) {
        return activity
            .action
            .as_deref()
            .is_some_and(|action| action.starts_with("add"));
    }
    activity.is(kind::CONVERSATION_UPDATE)
        && activity
            .members_added
            .iter()
            .flatten()
            .any(|member| turn.is_bot(&member.id))
}
