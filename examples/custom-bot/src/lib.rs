//! A countdown bot built on the nudge library: `countdown 3` answers in the
//! turn, then the notifier sends "T-minus 2", "T-minus 1" and "Liftoff!" a
//! second apart,
//! proactively, under the channel's rate limits. nudge does the rest: the
//! Bot Framework ingress, the stored conversation reference, the queue.

use std::time::Duration;

use async_trait::async_trait;
use nudge::activity::Activity;
use nudge::bot::{BotError, TurnContext, TurnHandler};
use nudge::notification::{Notification, Reason};
use nudge::turn::Turn;
use serde_json::json;

/// The longest countdown, in seconds.
pub const MAX: u64 = 10;

pub struct Countdown;

#[async_trait]
impl TurnHandler for Countdown {
    async fn on_turn(&self, turn: &Turn, cx: &TurnContext<'_>) -> Result<Vec<Activity>, BotError> {
        if !turn.activity.is("message") {
            return Ok(Vec::new());
        }
        let text = turn.activity.text.as_deref().unwrap_or_default().trim();
        let from = text
            .strip_prefix("countdown")
            .and_then(|n| n.trim().parse::<u64>().ok())
            .filter(|n| (1..=MAX).contains(n));
        let Some(from) = from else {
            let usage =
                format!("Say \"countdown 3\" (1 to {MAX}) and I will count down to liftoff.");
            return Ok(vec![Activity::message(usage)]);
        };
        let later: Vec<Notification> = (0..from)
            .rev()
            .map(|left| {
                let text = match left {
                    0 => "Liftoff!".to_owned(),
                    n => format!("T-minus {n}"),
                };
                let reason = Reason::Custom {
                    name: "countdown".into(),
                    data: json!({ "left": left }),
                };
                Notification::to_conversation(turn.key.clone(), Activity::message(text), reason)
                    .delayed(cx.now(), Duration::from_secs(from - left))
            })
            .collect();
        cx.enqueue(&later).await?;
        Ok(vec![Activity::message(format!(
            "Counting down from {from}."
        ))])
    }
}
