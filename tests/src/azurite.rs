//! Emulated Azure Storage for tests: the Azurite that `scripts/test`
//! installs and starts on free loopback ports, announced in
//! [`CONNECTION_VAR`] as a connection string for its development account.
//!
//! Each test makes queues and tables of its own with unique names, so
//! tests run in parallel against one Azurite.

use nudge::azure_storage::{Credential, StorageAccount};
use nudge::queue::azure::AzureQueue;
use nudge::store::azure_table::rest::TableClient;
use nudge::store::azure_table::AzureTableStore;

use crate::suites::unique;

/// The variable `scripts/test` sets to Azurite's connection string.
pub const CONNECTION_VAR: &str = "NUDGE_AZURITE_CONNECTION";

/// Azurite's connection string. Without one these tests cannot run, and
/// they say so rather than pass without testing anything.
pub fn connection_string() -> String {
    std::env::var(CONNECTION_VAR).unwrap_or_else(|_| {
        panic!(
            "{CONNECTION_VAR} is not set: the Azure tests need the Azurite that scripts/test \
             installs and starts. Run scripts/test, or `source scripts/azure-tools.sh; \
             azure_tools_install; azurite_start` first"
        )
    })
}

/// Azurite's development account, read from the connection string as the
/// Azure host reads `AzureWebJobsStorage`.
pub fn account() -> StorageAccount {
    StorageAccount::from_connection_string(&connection_string())
        .expect("Azurite's connection string is valid")
}

/// A new queue (and its poison queue) of its own; messages are poisoned
/// after `max_receive_count` receives.
pub async fn new_queue(max_receive_count: u32) -> AzureQueue {
    let name = unique("queue");
    let queue = AzureQueue::new(
        &account(),
        &name,
        reqwest::Client::new(),
        None,
        max_receive_count,
    )
    .expect("a queue client");
    queue
        .create_if_missing()
        .await
        .expect("create the queue on Azurite");
    queue
}

/// A client for a new table of its own (table names are letters and
/// digits only).
pub async fn new_table() -> TableClient {
    let account = account();
    let name: String = unique("table")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let client = TableClient::new(
        reqwest::Client::new(),
        account.table_endpoint.clone(),
        &name,
        Credential::for_account(&account, None),
    );
    client
        .create_if_missing()
        .await
        .expect("create the table on Azurite");
    client
}

/// A Table store on a new table of its own.
pub async fn new_store() -> AzureTableStore {
    AzureTableStore::new(new_table().await)
}
