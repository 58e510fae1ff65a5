//! What the Azure handler reads from its app settings beyond the settings
//! every host shares ([`crate::config::Settings`]): the storage account
//! (the Functions host's own `AzureWebJobsStorage`), the queue and table
//! names, and the port the host gives the handler.

use crate::azure_storage::StorageAccount;
use crate::env::{required, ConfigError, Env};

use super::functions::{QUEUE_NAME_SETTING, STORAGE_SETTING};

/// The table everything nudge remembers lives in.
pub const TABLE_SETTING: &str = "NUDGE_TABLE_NAME";
/// Set by the Functions host: where the handler listens.
pub const PORT_SETTING: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
/// The managed-identity form of the storage setting
/// (`AzureWebJobsStorage__accountName`).
const IDENTITY_STORAGE_SETTING: &str = "AzureWebJobsStorage__accountName";

pub const DEFAULT_QUEUE: &str = "nudge-notifications";
pub const DEFAULT_TABLE: &str = "nudge";

#[derive(Debug, Clone)]
pub struct AzureSettings {
    pub storage: StorageAccount,
    pub queue_name: String,
    pub table_name: String,
    pub port: u16,
}

impl AzureSettings {
    pub fn from_env(env: &dyn Env) -> Result<AzureSettings, ConfigError> {
        let storage = match env.get(STORAGE_SETTING) {
            Some(text) => {
                StorageAccount::from_connection_string(&text).map_err(|e| ConfigError {
                    variable: STORAGE_SETTING,
                    problem: e.to_string(),
                })?
            }
            None if env.get(IDENTITY_STORAGE_SETTING).is_some() => {
                return Err(ConfigError {
                    variable: IDENTITY_STORAGE_SETTING,
                    problem: "storage through a managed identity is not supported yet; set \
                              AzureWebJobsStorage to the account's connection string"
                        .into(),
                })
            }
            None => {
                return Err(ConfigError {
                    variable: STORAGE_SETTING,
                    problem: "is required: the storage account's connection string".into(),
                })
            }
        };
        let queue_name = env
            .get(QUEUE_NAME_SETTING)
            .unwrap_or_else(|| DEFAULT_QUEUE.into());
        if !valid_queue_name(&queue_name) {
            return Err(ConfigError {
                variable: QUEUE_NAME_SETTING,
                problem: format!(
                    "`{queue_name}` is not a queue name (3 to 56 lowercase letters, digits \
                     and single hyphens, leaving room for `-poison`)"
                ),
            });
        }
        let table_name = env
            .get(TABLE_SETTING)
            .unwrap_or_else(|| DEFAULT_TABLE.into());
        if !valid_table_name(&table_name) {
            return Err(ConfigError {
                variable: TABLE_SETTING,
                problem: format!(
                    "`{table_name}` is not a table name (3 to 63 letters and digits, a letter first)"
                ),
            });
        }
        let port = required(env, PORT_SETTING, "the Functions host sets it")?;
        let port = port.trim().parse().map_err(|_| ConfigError {
            variable: PORT_SETTING,
            problem: format!("`{port}` is not a port"),
        })?;
        Ok(AzureSettings {
            storage,
            queue_name,
            table_name,
            port,
        })
    }
}

/// A Storage queue name whose `-poison` queue is one too.
fn valid_queue_name(name: &str) -> bool {
    (3..=56).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn valid_table_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
        && name.as_bytes()[0].is_ascii_alphabetic()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZURITE: &str = "UseDevelopmentStorage=true";

    #[test]
    fn defaults_and_the_port_the_host_gives() {
        let settings =
            AzureSettings::from_env(&[(STORAGE_SETTING, AZURITE), (PORT_SETTING, "7071")]).unwrap();
        assert_eq!(settings.queue_name, DEFAULT_QUEUE);
        assert_eq!(settings.table_name, DEFAULT_TABLE);
        assert_eq!(settings.port, 7071);
    }

    #[test]
    fn each_wrong_setting_is_named() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[(PORT_SETTING, "1")], STORAGE_SETTING),
            (
                &[(IDENTITY_STORAGE_SETTING, "acct"), (PORT_SETTING, "1")],
                IDENTITY_STORAGE_SETTING,
            ),
            (&[(STORAGE_SETTING, AZURITE)], PORT_SETTING),
            (
                &[
                    (STORAGE_SETTING, AZURITE),
                    (PORT_SETTING, "1"),
                    (QUEUE_NAME_SETTING, "Bad_Name"),
                ],
                QUEUE_NAME_SETTING,
            ),
            (
                &[
                    (STORAGE_SETTING, AZURITE),
                    (PORT_SETTING, "1"),
                    (TABLE_SETTING, "no-hyphens"),
                ],
                TABLE_SETTING,
            ),
        ];
        for (env, variable) in cases {
            let env: Vec<(&str, &str)> = env.to_vec();
            let error = AzureSettings::from_env(&Pairs(&env)).unwrap_err();
            assert_eq!(error.variable, variable, "{env:?}");
        }
    }

    struct Pairs<'a>(&'a [(&'a str, &'a str)]);

    impl Env for Pairs<'_> {
        fn get(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }
}
