//! A fake token endpoint, for the outbound-token tests: it answers Entra ID
//! client-credentials requests (`POST {authority}/oauth2/v2.0/token`, form
//! body) and managed-identity requests (`GET` with a query), records every
//! request, and can be told to be slow or to fail.
//!
//! Tokens it issues are `token-1`, `token-2`, ... in order, so a test can
//! tell a cached token from a fresh one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::server::serve_loopback;

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub method: String,
    pub path: String,
    /// Query parameters (managed identity) or form fields (client
    /// credentials).
    pub params: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

struct Inner {
    requests: Mutex<Vec<TokenRequest>>,
    script: Mutex<VecDeque<(u16, Value)>>,
    delay_ms: AtomicU64,
    expires_in: AtomicU64,
    issued: AtomicUsize,
}

pub struct FakeEntra {
    base_url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeEntra {
    pub async fn start() -> FakeEntra {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            delay_ms: AtomicU64::new(0),
            expires_in: AtomicU64::new(3600),
            issued: AtomicUsize::new(0),
        });
        let (base_url, server) =
            serve_loopback(|_| Router::new().fallback(answer).with_state(inner.clone())).await;
        FakeEntra {
            base_url,
            inner,
            server,
        }
    }

    /// What `ToChannelFromBotLoginUrl` would be for `authority`
    /// (`botframework.com` or a tenant id).
    pub fn login_url(&self, authority: &str) -> String {
        format!("{}/{authority}", self.base_url)
    }

    /// A managed-identity endpoint on this server.
    pub fn msi_url(&self) -> String {
        format!("{}/msi/token", self.base_url)
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        self.inner.requests.lock().expect("lock").clone()
    }

    /// Answers the next requests with these statuses and bodies, then goes
    /// back to issuing tokens.
    pub fn respond_with(&self, answers: impl IntoIterator<Item = (u16, Value)>) {
        self.inner.script.lock().expect("lock").extend(answers);
    }

    /// Makes every answer take this long.
    pub fn set_delay(&self, delay: Duration) {
        self.inner
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Lifetime of the tokens issued from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.inner.expires_in.store(seconds, Ordering::SeqCst);
    }
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The resource of Azure Storage tokens.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// A token shaped as Entra issues them for Azure Storage: a JWT whose
/// issuer, audience and lifetime Azurite's `--oauth basic` checks (it does
/// not check signatures, so this one is unsigned); `uti` tells tokens apart.
fn storage_token(n: usize, now: i64, expires_on: i64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = json!({
        "aud": STORAGE_RESOURCE,
        "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        "iat": now, "nbf": now - 60, "exp": expires_on,
        "oid": "00000000-0000-0000-0000-00000000cafe",
        "uti": format!("token-{n}"),
    });
    format!(
        "{}.{}.{}",
        part(json!({"typ": "JWT", "alg": "RS256"})),
        part(claims),
        URL_SAFE_NO_PAD.encode(b"unsigned")
    )
}

fn pairs(raw: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

async fn answer(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let params = if parts.method == Method::GET {
        pairs(parts.uri.query().unwrap_or_default())
    } else {
        pairs(&String::from_utf8_lossy(&body))
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    inner.requests.lock().expect("lock").push(TokenRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        params: params.clone(),
        headers,
    });
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some((status, body)) = inner.script.lock().expect("lock").pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, Json(body)).into_response();
    }
    let n = inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_in = inner.expires_in.load(Ordering::SeqCst);
    let body = if parts.method == Method::GET {
        // The App Service managed-identity shape: strings, `expires_on`.
        let now = jiff::Timestamp::now().as_second();
        let expires_on = now + expires_in as i64;
        let resource = params.get("resource").cloned().unwrap_or_default();
        let token = if resource == STORAGE_RESOURCE {
            storage_token(n, now, expires_on)
        } else {
            format!("token-{n}")
        };
        json!({"access_token": token, "expires_on": expires_on.to_string(),
               "resource": resource, "token_type": "Bearer"})
    } else {
        json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
               "access_token": format!("token-{n}")})
    };
    (StatusCode::OK, Json(body)).into_response()
}
