//! What the Azure handler reads from its app settings beyond the settings
//! every host shares ([`crate::config::Settings`]): the storage account
//! (the Functions host's own `AzureWebJobsStorage`, [`StorageSetting`]),
//! the queue and table names, and the port the host gives the handler.

use crate::env::{required, ConfigError, Env};

use super::functions::QUEUE_NAME_SETTING;
use super::storage_setting::StorageSetting;

/// The table everything nudge remembers lives in.
pub const TABLE_SETTING: &str = "NUDGE_TABLE_NAME";
/// Set by the Functions host: where the handler listens.
pub const PORT_SETTING: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";

/// The queue's name unless set (`main.bicep` creates it).
pub const DEFAULT_QUEUE: &str = "nudge-notifications";
/// The table's name unless set.
pub const DEFAULT_TABLE: &str = "nudge";

/// Where the handler's Azure resources are, and where it listens.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    /// The storage account (`AzureWebJobsStorage`, a connection string or
    /// identity-based settings).
    pub storage: StorageSetting,
    /// The notification queue (its poison queue is `<name>-poison`).
    pub queue_name: String,
    /// The table.
    pub table_name: String,
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`, set by the Functions host.
    pub port: u16,
}

impl AzureSettings {
    /// Reads them; the storage and the port are required.
    pub fn from_env(env: &dyn Env) -> Result<AzureSettings, ConfigError> {
        let storage = StorageSetting::from_env(env)?;
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
    use crate::azure::functions::STORAGE_SETTING;
    use crate::env::Pairs;

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
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[(PORT_SETTING, "1")], STORAGE_SETTING),
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
}
