//! Secrets on AWS: one Secrets Manager secret per deployment, read once at
//! cold start.
//!
//! The secret is a JSON object whose keys are configuration variable names
//! (`MicrosoftAppPassword`, `NUDGE_WEBHOOK_SECRETS`, ...), and its values
//! stand in front of the environment: the functions read their settings
//! through [`SecretEnv`] exactly as the local host reads the environment.
//! So secrets never sit in the function's configuration, where anyone who
//! may read the function could see them, and adding a credential is
//! editing the secret, not redeploying.

use std::collections::HashMap;

use aws_config::SdkConfig;

use super::StartError;
use crate::env::{Env, ProcessEnv};

/// The variable that names the secret (its ARN).
pub const SECRET_VAR: &str = "NUDGE_SECRET_ARN";

/// Configuration variables with the secret's values in front of the
/// environment's.
pub struct SecretEnv {
    secret: HashMap<String, String>,
    base: Box<dyn Env + Send + Sync>,
}

impl SecretEnv {
    /// Reads the secret `base` names in [`SECRET_VAR`]; without one, the
    /// environment alone.
    pub async fn load(
        config: &SdkConfig,
        base: Box<dyn Env + Send + Sync>,
    ) -> Result<SecretEnv, StartError> {
        let Some(arn) = base.get(SECRET_VAR) else {
            return Ok(SecretEnv::over(HashMap::new(), base));
        };
        let client = aws_sdk_secretsmanager::Client::new(config);
        let value = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .map_err(|e| StartError::Secret {
                arn: arn.clone(),
                problem: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        let text = value.secret_string.unwrap_or_default();
        Ok(SecretEnv::over(parse(&arn, &text)?, base))
    }

    /// The process environment behind the secret.
    pub async fn load_process(config: &SdkConfig) -> Result<SecretEnv, StartError> {
        SecretEnv::load(config, Box::new(ProcessEnv)).await
    }

    pub fn over(secret: HashMap<String, String>, base: Box<dyn Env + Send + Sync>) -> SecretEnv {
        SecretEnv { secret, base }
    }
}

impl Env for SecretEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.secret
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .or_else(|| self.base.get(name))
    }
}

/// The secret's JSON object of string values.
fn parse(arn: &str, text: &str) -> Result<HashMap<String, String>, StartError> {
    serde_json::from_str(text).map_err(|e| StartError::Secret {
        arn: arn.to_owned(),
        problem: format!(
            "its value must be a JSON object of strings, such as \
             {{\"MicrosoftAppPassword\": \"...\"}}: {e}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_stand_in_front_of_the_environment() {
        let secret = parse("arn", r#"{"MicrosoftAppPassword": "pw", "EMPTY": " "}"#).unwrap();
        let env = SecretEnv::over(
            secret,
            Box::new([
                ("MicrosoftAppPassword", "from-env"),
                ("EMPTY", "env"),
                ("OTHER", "o"),
            ]),
        );
        assert_eq!(env.get("MicrosoftAppPassword").as_deref(), Some("pw"));
        assert_eq!(env.get("EMPTY").as_deref(), Some("env"));
        assert_eq!(env.get("OTHER").as_deref(), Some("o"));
        assert_eq!(env.get("MISSING"), None);
    }

    #[test]
    fn a_secret_that_is_not_an_object_of_strings_is_refused() {
        for bad in ["hunter2", "[1]", r#"{"n": 1}"#] {
            let error = parse("arn:x", bad).unwrap_err();
            assert!(error.to_string().contains("arn:x"), "{error}");
        }
    }
}
