//! Which storage account the handler uses, and how it proves itself: the
//! Functions host's own connection (`AzureWebJobsStorage`), read in either
//! of the forms the host accepts.
//!
//! - A connection string in `AzureWebJobsStorage` (an account key, or
//!   `UseDevelopmentStorage=true` for Azurite).
//! - Identity-based: `AzureWebJobsStorage__accountName` (public cloud), or
//!   `AzureWebJobsStorage__queueServiceUri` and `__tableServiceUri` (any
//!   endpoint), with `__credential=managedidentity` and, for a
//!   user-assigned identity, `__clientId`. Requests then carry the
//!   identity's Entra token; no key exists anywhere. The host reads the
//!   same settings for its own triggers, so one set serves both.
//!
//! As on the host, a connection string wins when both forms are set.

use crate::azure_storage::StorageAccount;
use crate::env::{ConfigError, Env};

use super::functions::STORAGE_SETTING;

const ACCOUNT_NAME: &str = "AzureWebJobsStorage__accountName";
const QUEUE_URI: &str = "AzureWebJobsStorage__queueServiceUri";
const TABLE_URI: &str = "AzureWebJobsStorage__tableServiceUri";
const CREDENTIAL: &str = "AzureWebJobsStorage__credential";
const CLIENT_ID: &str = "AzureWebJobsStorage__clientId";

/// The account, and the identity that signs for it when it has no key.
#[derive(Debug, Clone)]
pub struct StorageSetting {
    /// The account.
    pub account: StorageAccount,
    /// `Some` for identity-based settings: the user-assigned identity's
    /// client id, `None` inside for the system-assigned identity.
    pub identity: Option<Option<String>>,
}

impl StorageSetting {
    /// Reads `AzureWebJobsStorage`: a connection string, or the
    /// identity-based `__accountName` / `__queueServiceUri` +
    /// `__tableServiceUri`, `__credential`, `__clientId` settings.
    pub fn from_env(env: &dyn Env) -> Result<StorageSetting, ConfigError> {
        if let Some(text) = env.get(STORAGE_SETTING) {
            let account =
                StorageAccount::from_connection_string(&text).map_err(|e| ConfigError {
                    variable: STORAGE_SETTING,
                    problem: e.to_string(),
                })?;
            return Ok(StorageSetting {
                account,
                identity: None,
            });
        }
        let name = env.get(ACCOUNT_NAME);
        let (queue, table) = (env.get(QUEUE_URI), env.get(TABLE_URI));
        if name.is_none() && queue.is_none() && table.is_none() {
            return Err(ConfigError {
                variable: STORAGE_SETTING,
                problem: "is required: the storage account's connection string, or \
                          AzureWebJobsStorage__accountName for a managed identity"
                    .into(),
            });
        }
        if let Some(credential) = env.get(CREDENTIAL) {
            if !credential.trim().eq_ignore_ascii_case("managedidentity") {
                return Err(ConfigError {
                    variable: CREDENTIAL,
                    problem: format!("`{credential}`: only `managedidentity` is supported"),
                });
            }
        }
        let account = match (queue, table) {
            (None, None) => {
                let name = name.expect("one of the three is set");
                if !valid_account_name(&name) {
                    return Err(ConfigError {
                        variable: ACCOUNT_NAME,
                        problem: format!(
                            "`{name}` is not a storage account name (3 to 24 lowercase letters and digits)"
                        ),
                    });
                }
                StorageAccount::with_identity(&name)
            }
            (Some(queue), Some(table)) => {
                let name = name.unwrap_or_else(|| account_of(&queue));
                StorageAccount::with_identity_endpoints(&name, &queue, &table)
            }
            (None, Some(_)) | (Some(_), None) => {
                return Err(ConfigError {
                    variable: QUEUE_URI,
                    problem: format!("{QUEUE_URI} and {TABLE_URI} go together: set both"),
                })
            }
        }
        .map_err(|e| ConfigError {
            variable: ACCOUNT_NAME,
            problem: e.to_string(),
        })?;
        let client_id = env
            .get(CLIENT_ID)
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        Ok(StorageSetting {
            account,
            identity: Some(client_id),
        })
    }
}

fn valid_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The account a service URL names: its host's first label
/// (`https://acct.queue.core.windows.net`), else the host itself.
fn account_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.split('.').next().unwrap_or(h).to_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Pairs;

    fn read(env: &[(&str, &str)]) -> Result<StorageSetting, ConfigError> {
        StorageSetting::from_env(&Pairs(env))
    }

    #[test]
    fn a_connection_string_signs_with_its_key_and_wins() {
        let setting = read(&[
            (STORAGE_SETTING, "UseDevelopmentStorage=true"),
            (ACCOUNT_NAME, "other"),
        ])
        .unwrap();
        assert!(setting.account.key.is_some());
        assert_eq!(setting.identity, None);
    }

    #[test]
    fn an_account_name_means_the_identity_and_the_public_endpoints() {
        let setting = read(&[
            (ACCOUNT_NAME, "nudgeprod"),
            (CREDENTIAL, "managedidentity"),
            (CLIENT_ID, "1b2c"),
        ])
        .unwrap();
        assert!(setting.account.key.is_none());
        assert_eq!(setting.identity, Some(Some("1b2c".into())));
        assert_eq!(
            setting.account.table_endpoint.as_str(),
            "https://nudgeprod.table.core.windows.net/"
        );
        let system = read(&[(ACCOUNT_NAME, "nudgeprod")]).unwrap();
        assert_eq!(system.identity, Some(None));
    }

    #[test]
    fn service_uris_name_any_endpoint() {
        let setting = read(&[
            (QUEUE_URI, "https://127.0.0.1:10001/devstoreaccount1"),
            (TABLE_URI, "https://127.0.0.1:10002/devstoreaccount1"),
        ])
        .unwrap();
        assert_eq!(
            setting.account.queue_url("q").as_str(),
            "https://127.0.0.1:10001/devstoreaccount1/q"
        );
        assert_eq!(setting.identity, Some(None));
    }

    #[test]
    fn each_unusable_form_names_its_setting() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[], STORAGE_SETTING),
            (&[(STORAGE_SETTING, "AccountName=x")], STORAGE_SETTING),
            (&[(ACCOUNT_NAME, "Not_A_Name")], ACCOUNT_NAME),
            (
                &[(ACCOUNT_NAME, "acct"), (CREDENTIAL, "clientsecret")],
                CREDENTIAL,
            ),
            (
                &[(QUEUE_URI, "https://acct.queue.core.windows.net")],
                QUEUE_URI,
            ),
        ];
        for (env, variable) in cases {
            let error = read(env).unwrap_err();
            assert_eq!(error.variable, variable, "{env:?}: {}", error.problem);
        }
    }
}
