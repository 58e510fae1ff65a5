//! Opening the connection to a channel before the first send that is timed
//! to a rate-limit slot.
//!
//! A send must reach the channel within the jitter allowance of its slot
//! (`crate::rate`: 10 ms by default), or it bunches with the slots after
//! it and a sliding window breaks (429). The first send of a process to a
//! service URL also pays for the TCP connection and the TLS handshake,
//! tens to hundreds of milliseconds on a cold Lambda instance: its arrival
//! broke the Teams windows of a burst to one conversation on three
//! instances. So before the first timed send to a service URL the process
//! makes one request of its own to it (a `HEAD` of the service URL, with no
//! credentials: the answer does not matter), which leaves a connection
//! in the client's pool for the send to reuse. Each service URL is warmed
//! once per process; callers that arrive while it is under way wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::service_url::ServiceUrl;

/// How long a warming request may take; past it the send goes on cold.
const WARM_TIMEOUT: Duration = Duration::from_secs(2);

/// The service URLs this process has warmed (or is warming).
#[derive(Default)]
pub(super) struct Warmed {
    urls: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

impl Warmed {
    /// Warms `service_url` through `http` unless done before.
    pub(super) async fn warm(&self, http: &reqwest::Client, service_url: &ServiceUrl) {
        let once = {
            let mut urls = self.urls.lock().unwrap_or_else(|e| e.into_inner());
            // Looked up before it is inserted: every timed send passes
            // here, and only the first per URL needs a key of its own.
            match urls.get(service_url.as_str()) {
                Some(once) => once.clone(),
                None => urls
                    .entry(service_url.as_str().to_owned())
                    .or_default()
                    .clone(),
            }
        };
        once.get_or_init(|| async {
            let answer = http
                .head(service_url.as_str())
                .timeout(WARM_TIMEOUT)
                .send()
                .await;
            if let Err(error) = answer {
                tracing::debug!(%error, "could not open a connection ahead of the first send");
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::serve::ListenerExt;

    use super::*;

    /// A real HTTP server that counts the connections and requests it gets.
    async fn counting_server() -> (ServiceUrl, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (connections, requests) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counted = connections.clone();
        let listener = listener.tap_io(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let asked = requests.clone();
        let app = axum::Router::new().fallback(move || {
            asked.fetch_add(1, Ordering::Relaxed);
            async { "" }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/").parse().unwrap();
        (url, connections, requests)
    }

    #[tokio::test]
    async fn a_service_url_is_warmed_once_and_the_send_reuses_its_connection() {
        let (url, connections, requests) = counting_server().await;
        let http = crate::connector::ConnectorClient::http_client();
        let warmed = Warmed::default();
        assert_eq!(connections.load(Ordering::Relaxed), 0);
        tokio::join!(warmed.warm(&http, &url), warmed.warm(&http, &url));
        warmed.warm(&http, &url).await;
        assert_eq!(requests.load(Ordering::Relaxed), 1, "one warming request");
        assert_eq!(connections.load(Ordering::Relaxed), 1);
        http.post(url.join("v3/conversations/c/activities"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            connections.load(Ordering::Relaxed),
            1,
            "the send went over the warmed connection"
        );
    }
}
