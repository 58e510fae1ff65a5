//! The signing keys of one token family, fetched through its OpenID
//! metadata and cached.
//!
//! - The set is fetched on first use and again once it is older than
//!   `key_refresh` (a day by default; the Connector's keys change rarely and
//!   the SDKs cache them for days).
//! - A token signed with a key id that is not in the set makes the cache
//!   fetch again, because that is how a key rotation looks from here, but
//!   at most once per `unknown_key_cooldown`: made-up key ids cost an
//!   attacker nothing and must not turn the bot into a load generator
//!   against the metadata endpoint.
//! - One fetch at a time: concurrent requests that need a fetch wait for the
//!   same one. A request whose key is in a set that is merely due for a
//!   refresh does not wait: it uses the set it has.
//! - A failed fetch keeps the previous set (the keys did not stop being
//!   valid because a network call failed). With no set at all the check
//!   cannot be made: [`AuthFailure::Unavailable`], a 503 the channel retries.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use super::jwks::{self, KeySet, SigningKey};
use crate::auth::AuthFailure;
use crate::fetch::{describe, read_bounded, truncate};

/// Largest metadata or key set document read.
const MAX_DOCUMENT: usize = 512 * 1024;
/// With no key set at all, fetch again at most this often (or the cooldown,
/// if shorter): short enough to recover quickly from a failed first fetch.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(10);

pub struct KeyCache {
    http: reqwest::Client,
    metadata_url: String,
    refresh_every: Duration,
    cooldown: Duration,
    current: RwLock<Option<Snapshot>>,
    /// When the last fetch started; held while fetching.
    fetching: Mutex<Option<Instant>>,
}

struct Snapshot {
    keys: KeySet,
    fetched_at: Instant,
}

enum Lookup {
    Fresh(Arc<SigningKey>),
    Stale(Arc<SigningKey>),
    Missing,
}

impl KeyCache {
    pub fn new(
        http: reqwest::Client,
        metadata_url: String,
        refresh_every: Duration,
        cooldown: Duration,
    ) -> Self {
        KeyCache {
            http,
            metadata_url,
            refresh_every,
            cooldown,
            current: RwLock::new(None),
            fetching: Mutex::new(None),
        }
    }

    /// The key with id `kid`.
    pub async fn key(&self, kid: &str) -> Result<Arc<SigningKey>, AuthFailure> {
        let fetching = match self.lookup(kid).await {
            Lookup::Fresh(key) => return Ok(key),
            Lookup::Stale(key) => match self.fetching.try_lock() {
                Ok(guard) => guard,
                // Someone is refreshing already: this key is still good.
                Err(_) => return Ok(key),
            },
            Lookup::Missing => self.fetching.lock().await,
        };
        self.refresh_if_allowed(fetching).await;
        match self.lookup(kid).await {
            Lookup::Fresh(key) | Lookup::Stale(key) => Ok(key),
            Lookup::Missing if self.current.read().await.is_some() => {
                // Unverified input: quoted and cut, so it cannot forge log lines.
                let kid = truncate(kid, 100);
                Err(AuthFailure::Unauthorized(format!(
                    "no published key has id {kid:?}"
                )))
            }
            Lookup::Missing => Err(AuthFailure::Unavailable(format!(
                "no signing keys could be fetched from {}",
                self.metadata_url
            ))),
        }
    }

    async fn lookup(&self, kid: &str) -> Lookup {
        let current = self.current.read().await;
        let Some(snapshot) = current.as_ref() else {
            return Lookup::Missing;
        };
        match snapshot.keys.get(kid) {
            Some(key) if snapshot.fetched_at.elapsed() < self.refresh_every => {
                Lookup::Fresh(key.clone())
            }
            Some(key) => Lookup::Stale(key.clone()),
            None => Lookup::Missing,
        }
    }

    /// Fetches the set unless the last fetch was too recent (it may have
    /// been made by another request while this one waited for the lock).
    async fn refresh_if_allowed(
        &self,
        mut last_fetch: tokio::sync::MutexGuard<'_, Option<Instant>>,
    ) {
        let have_keys = self.current.read().await.is_some();
        let wait = if have_keys {
            self.cooldown
        } else {
            self.cooldown.min(RETRY_WITHOUT_KEYS)
        };
        if last_fetch.is_some_and(|at| at.elapsed() < wait) {
            return;
        }
        *last_fetch = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(metadata = %self.metadata_url, keys = keys.len(), "fetched the token signing keys");
                *self.current.write().await = Some(Snapshot {
                    keys,
                    fetched_at: Instant::now(),
                });
            }
            Err(error) => {
                tracing::error!(metadata = %self.metadata_url, %error, have_keys, "could not fetch the token signing keys");
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let metadata = self.get(&self.metadata_url).await?;
        let jwks_uri = jwks::jwks_uri(&metadata)?;
        jwks::parse_key_set(&self.get(&jwks_uri).await?)
    }

    async fn get(&self, url: &str) -> Result<bytes::Bytes, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        read_bounded(response, MAX_DOCUMENT)
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}
