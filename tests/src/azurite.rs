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
        crate::http::client(),
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
        crate::http::client(),
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

/// An Azurite of a test's own that requires what production storage does
/// of a managed identity: HTTPS (with the test certificate for `localhost`,
/// [`crate::tls`]) and Entra bearer tokens (`--oauth basic`: Azurite checks
/// a token's issuer, audience and lifetime, not its signature). Its key
/// still works, for the test's own view of the account.
pub struct OAuthAzurite {
    child: tokio::process::Child,
    queue_port: u16,
    table_port: u16,
}

impl OAuthAzurite {
    pub async fn start() -> OAuthAzurite {
        use crate::server::free_port;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let binary = root.join("scripts/azurite/node_modules/.bin/azurite");
        assert!(
            binary.is_file(),
            "{} is missing: scripts/test installs it",
            binary.display()
        );
        let tls = root.join("tests/fixtures/tls");
        let (blob_port, queue_port, table_port) = (free_port(), free_port(), free_port());
        let child = tokio::process::Command::new(binary)
            .args(["--silent", "--inMemoryPersistence", "--disableTelemetry"])
            .args(["--skipApiVersionCheck", "--loose", "--oauth", "basic"])
            .arg("--cert")
            .arg(tls.join("localhost.pem"))
            .arg("--key")
            .arg(tls.join("localhost.key"))
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &blob_port.to_string(),
            ])
            .args([
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                &queue_port.to_string(),
            ])
            .args([
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                &table_port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start Azurite");
        for port in [queue_port, table_port] {
            let mut tries = 0;
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tries += 1;
                assert!(tries < 150, "Azurite did not listen on {port} within 15 s");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        OAuthAzurite {
            child,
            queue_port,
            table_port,
        }
    }

    pub fn queue_service_uri(&self) -> String {
        format!("https://localhost:{}/devstoreaccount1", self.queue_port)
    }

    pub fn table_service_uri(&self) -> String {
        format!("https://localhost:{}/devstoreaccount1", self.table_port)
    }

    /// The account as the test reaches it: HTTPS, with the development key.
    pub fn account(&self) -> StorageAccount {
        let connection = format!(
            "{};QueueEndpoint={};TableEndpoint={}",
            DEVELOPMENT_ACCOUNT,
            self.queue_service_uri(),
            self.table_service_uri()
        );
        StorageAccount::from_connection_string(&connection).expect("a valid connection string")
    }

    /// An HTTP client that trusts the test CA.
    pub fn http(&self) -> reqwest::Client {
        let ca = std::fs::read(crate::tls::ca_file()).expect("the test CA");
        crate::http::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM certificate"))
            .build()
            .expect("an HTTP client")
    }
}

impl Drop for OAuthAzurite {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The development account's name and key (Microsoft's published Azurite
/// defaults, not a secret).
const DEVELOPMENT_ACCOUNT: &str = "AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
