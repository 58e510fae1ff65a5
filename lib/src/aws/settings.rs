//! What the AWS functions read from the environment beyond the settings
//! every host shares ([`crate::config::Settings`]): where their table and
//! queue are. `template.yaml` sets these names.

use crate::env::{required, ConfigError, Env};

/// The store's DynamoDB table.
pub const TABLE_VAR: &str = "NUDGE_TABLE_NAME";
/// The notification queue's URL.
pub const QUEUE_VAR: &str = "NUDGE_QUEUE_URL";
/// The dead-letter queue's URL (optional: without it the notifier leaves
/// a message it gave up on to the queue's redrive policy).
pub const DEAD_LETTER_QUEUE_VAR: &str = "NUDGE_DEAD_LETTER_QUEUE_URL";
/// Set by Lambda: the function's name, which sent messages carry as their
/// origin.
pub const FUNCTION_NAME_VAR: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// Where a function's AWS resources are (the variables `template.yaml` sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The DynamoDB table (`NUDGE_TABLE_NAME`).
    pub table_name: String,
    /// The notification queue (`NUDGE_QUEUE_URL`).
    pub queue_url: String,
    /// Its dead-letter queue (`NUDGE_DEAD_LETTER_QUEUE_URL`), if named.
    pub dead_letter_queue_url: Option<String>,
    /// Who sends messages from this process.
    pub origin: String,
}

impl AwsSettings {
    /// Reads them; the table and the queue are required.
    pub fn from_env(env: &dyn Env) -> Result<AwsSettings, ConfigError> {
        Ok(AwsSettings {
            table_name: required(env, TABLE_VAR, "the name of the DynamoDB table")?,
            queue_url: required(env, QUEUE_VAR, "the URL of the SQS queue")?,
            dead_letter_queue_url: env.get(DEAD_LETTER_QUEUE_VAR),
            origin: env
                .get(FUNCTION_NAME_VAR)
                .unwrap_or_else(|| "nudge".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_queue_are_required_by_name() {
        let error = AwsSettings::from_env(&[(QUEUE_VAR, "https://q")]).unwrap_err();
        assert_eq!(error.variable, TABLE_VAR);
        let error = AwsSettings::from_env(&[(TABLE_VAR, "t")]).unwrap_err();
        assert_eq!(error.variable, QUEUE_VAR);
        let settings = AwsSettings::from_env(&[
            (TABLE_VAR, "t"),
            (QUEUE_VAR, "https://q"),
            (FUNCTION_NAME_VAR, "nudge-notifier"),
        ])
        .unwrap();
        assert_eq!(settings.origin, "nudge-notifier");
    }
}
