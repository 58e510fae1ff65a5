//! A storage connection string, read the way the Azure tools write it.

use url::Url;

use super::sas;
use crate::secret::Secret;

/// Azurite's well-known development account (documented by Microsoft;
/// not a secret).
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An account: its name, its key when it has one, and the endpoints of its
/// queue and table services (each ending in `/`).
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// The account's name.
    pub name: String,
    /// The account key (base64, as the portal shows it); `None` when
    /// requests carry Entra tokens instead.
    pub key: Option<Secret>,
    /// The queue service (`https://<account>.queue.core.windows.net/`).
    pub queue_endpoint: Url,
    /// The table service (`https://<account>.table.core.windows.net/`).
    pub table_endpoint: Url,
}

/// Why a connection string cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// A part it needs is absent.
    #[error("the storage connection string has no `{0}`")]
    Missing(&'static str),
    /// An endpoint is not a URL.
    #[error("`{0}` in the storage connection string is not a URL")]
    BadEndpoint(&'static str),
    /// The key is not base64.
    #[error("the storage connection string's AccountKey is not base64")]
    BadKey,
    /// A part is not `Name=value`.
    #[error("the storage connection string has a part that is not `Name=value`")]
    Malformed,
}

impl StorageAccount {
    /// Reads a connection string: `UseDevelopmentStorage=true` (Azurite
    /// on its default ports), or `AccountName` and `AccountKey` with
    /// `DefaultEndpointsProtocol` and `EndpointSuffix` (defaults `https`,
    /// `core.windows.net`), any of which explicit `QueueEndpoint` and
    /// `TableEndpoint` override. Names are case-insensitive; a SAS-only
    /// string is not accepted (nudge needs the key to sign its own).
    pub fn from_connection_string(text: &str) -> Result<StorageAccount, ConnectionError> {
        let mut parts = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or(ConnectionError::Malformed)?;
            parts.push((name.trim().to_ascii_lowercase(), value.trim()));
        }
        let get = |name: &str| parts.iter().rfind(|(n, _)| n == name).map(|(_, v)| *v);
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Self::azurite("127.0.0.1", 10001, 10002));
        }
        let name = get("accountname").ok_or(ConnectionError::Missing("AccountName"))?;
        let key = get("accountkey").ok_or(ConnectionError::Missing("AccountKey"))?;
        sas::decode_key(key).ok_or(ConnectionError::BadKey)?;
        let protocol = get("defaultendpointsprotocol").unwrap_or("https");
        let suffix = get("endpointsuffix").unwrap_or("core.windows.net");
        let endpoint = |explicit: Option<&str>, service: &str, label| {
            let text = explicit
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{protocol}://{name}.{service}.{suffix}"));
            with_slash(&text).ok_or(ConnectionError::BadEndpoint(label))
        };
        Ok(StorageAccount {
            name: name.to_owned(),
            key: Some(Secret::new(key)),
            queue_endpoint: endpoint(get("queueendpoint"), "queue", "QueueEndpoint")?,
            table_endpoint: endpoint(get("tableendpoint"), "table", "TableEndpoint")?,
        })
    }

    /// Azurite's development account on `host` and the given ports.
    pub fn azurite(host: &str, queue_port: u16, table_port: u16) -> StorageAccount {
        let at =
            |port| with_slash(&format!("http://{host}:{port}/{DEV_ACCOUNT}")).expect("a valid URL");
        StorageAccount {
            name: DEV_ACCOUNT.to_owned(),
            key: Some(Secret::new(DEV_KEY)),
            queue_endpoint: at(queue_port),
            table_endpoint: at(table_port),
        }
    }

    /// An account reached with Entra tokens (a managed identity): the
    /// public-cloud endpoints of `name`, no key.
    pub fn with_identity(name: &str) -> Result<StorageAccount, ConnectionError> {
        let at = |service: &str, label| {
            with_slash(&format!("https://{name}.{service}.core.windows.net"))
                .ok_or(ConnectionError::BadEndpoint(label))
        };
        Ok(StorageAccount {
            name: name.to_owned(),
            key: None,
            queue_endpoint: at("queue", "QueueEndpoint")?,
            table_endpoint: at("table", "TableEndpoint")?,
        })
    }

    /// An account reached with Entra tokens at explicit service URLs
    /// (a sovereign cloud, a private endpoint, Azurite).
    pub fn with_identity_endpoints(
        name: &str,
        queue: &str,
        table: &str,
    ) -> Result<StorageAccount, ConnectionError> {
        Ok(StorageAccount {
            name: name.to_owned(),
            key: None,
            queue_endpoint: with_slash(queue)
                .ok_or(ConnectionError::BadEndpoint("queueServiceUri"))?,
            table_endpoint: with_slash(table)
                .ok_or(ConnectionError::BadEndpoint("tableServiceUri"))?,
        })
    }

    /// The URL of queue `queue` (no trailing slash, as the queue client
    /// wants it).
    pub fn queue_url(&self, queue: &str) -> Url {
        self.queue_endpoint
            .join(queue)
            .expect("a queue name is a path segment")
    }
}

/// `text` as a URL whose path ends in `/`, so that joining a name appends.
fn with_slash(text: &str) -> Option<Url> {
    let mut url = Url::parse(text).ok()?;
    if url.cannot_be_a_base() {
        return None;
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_production_string_builds_the_public_endpoints() {
        let account = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=nudgeprod;AccountKey=a2V5;EndpointSuffix=core.windows.net",
        )
        .unwrap();
        assert_eq!(account.name, "nudgeprod");
        assert_eq!(account.key.as_ref().unwrap().expose_str(), "a2V5");
        assert_eq!(
            account.queue_url("nudge-notifications").as_str(),
            "https://nudgeprod.queue.core.windows.net/nudge-notifications"
        );
        assert_eq!(
            account.table_endpoint.as_str(),
            "https://nudgeprod.table.core.windows.net/"
        );
    }

    #[test]
    fn explicit_endpoints_win_and_names_ignore_case() {
        let account = StorageAccount::from_connection_string(
            "accountname=devstoreaccount1;ACCOUNTKEY=a2V5;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;",
        )
        .unwrap();
        assert_eq!(
            account.queue_url("q").as_str(),
            "http://127.0.0.1:41001/devstoreaccount1/q"
        );
        assert_eq!(
            account.table_endpoint.as_str(),
            "http://127.0.0.1:41002/devstoreaccount1/"
        );
    }

    #[test]
    fn development_storage_is_azurite_on_its_ports() {
        let account = StorageAccount::from_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(account.name, DEV_ACCOUNT);
        assert_eq!(
            account.queue_endpoint.as_str(),
            "http://127.0.0.1:10001/devstoreaccount1/"
        );
    }

    #[test]
    fn unusable_strings_say_why() {
        for (text, error) in [
            ("AccountName=a", ConnectionError::Missing("AccountKey")),
            ("AccountKey=a2V5", ConnectionError::Missing("AccountName")),
            (
                "AccountName=a;AccountKey=not base64!",
                ConnectionError::BadKey,
            ),
            (
                "AccountName=a;AccountKey=a2V5;QueueEndpoint=nope",
                ConnectionError::BadEndpoint("QueueEndpoint"),
            ),
            ("AccountName", ConnectionError::Malformed),
        ] {
            assert_eq!(
                StorageAccount::from_connection_string(text).unwrap_err(),
                error,
                "{text}"
            );
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        let account = StorageAccount::azurite("127.0.0.1", 1, 2);
        assert!(!format!("{account:?}").contains(DEV_KEY));
    }
}
