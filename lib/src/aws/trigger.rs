//! What starts a reminder tick: an EventBridge rule's `Scheduled Event`
//! envelope (SAM `Schedule`), an EventBridge Scheduler input (SAM
//! `ScheduleV2`, whose `Input` is passed verbatim: `template.yaml` sends
//! `{"scheduledTime": "<aws.scheduler.scheduled-time>"}`), or a manual
//! invocation with any other JSON object.
//!
//! The tick itself always runs at the current time, which includes
//! everything due at the scheduled time and anything that fell due while
//! the invocation waited; the scheduled time is for the log (how late the
//! tick runs).

use jiff::Timestamp;
use serde::Deserialize;

/// Why the reminder function runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// An EventBridge rule fired for `time`.
    Rule {
        /// The event's time.
        time: Timestamp,
    },
    /// EventBridge Scheduler fired for `time`.
    Scheduler {
        /// The scheduled time.
        time: Timestamp,
    },
    /// Someone invoked the function by hand.
    Manual,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Rule {
        #[serde(rename = "detail-type")]
        detail_type: String,
        time: Timestamp,
    },
    Scheduler {
        #[serde(rename = "scheduledTime")]
        scheduled_time: Timestamp,
    },
    /// Any other object: read only to know it is one.
    Other(#[allow(dead_code)] serde_json::Map<String, serde_json::Value>),
}

/// A payload that is not a JSON object.
#[derive(Debug, thiserror::Error)]
#[error("a reminder tick is started by a JSON object (a scheduled event), not {0}")]
pub struct UnknownTrigger(String);

impl Trigger {
    /// Reads the invocation's payload.
    pub fn parse(payload: serde_json::Value) -> Result<Trigger, UnknownTrigger> {
        let shown = payload.to_string();
        match serde_json::from_value::<Payload>(payload) {
            Ok(Payload::Rule { detail_type, time }) if detail_type == "Scheduled Event" => {
                Ok(Trigger::Rule { time })
            }
            Ok(Payload::Scheduler { scheduled_time }) => Ok(Trigger::Scheduler {
                time: scheduled_time,
            }),
            Ok(Payload::Rule { .. } | Payload::Other(_)) => Ok(Trigger::Manual),
            Err(_) => Err(UnknownTrigger(shown.chars().take(200).collect())),
        }
    }

    /// When the schedule meant the tick to run.
    pub fn scheduled_for(&self) -> Option<Timestamp> {
        match self {
            Trigger::Rule { time } | Trigger::Scheduler { time } => Some(*time),
            Trigger::Manual => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_schedule_payloads_and_manual_invocations() {
        let rule = json!({
            "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2016-12-30T18:44:49Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/SampleRule"], "detail": {}
        });
        let at = "2016-12-30T18:44:49Z".parse().unwrap();
        assert_eq!(Trigger::parse(rule).unwrap(), Trigger::Rule { time: at });
        let scheduler = json!({"scheduledTime": "2016-12-30T18:44:49Z"});
        assert_eq!(
            Trigger::parse(scheduler).unwrap(),
            Trigger::Scheduler { time: at }
        );
        assert_eq!(Trigger::parse(json!({})).unwrap(), Trigger::Manual);
        assert_eq!(
            Trigger::parse(json!({"detail-type": "Other", "time": "2016-12-30T18:44:49Z"}))
                .unwrap(),
            Trigger::Manual
        );
        assert!(Trigger::parse(json!("tick")).is_err());
    }
}
