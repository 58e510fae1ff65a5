//! Serving a fake service on a random loopback port, for the fakes that
//! stand in for the channel, the identity provider and the token endpoint.

use axum::Router;
use tokio::task::JoinHandle;

/// Binds `127.0.0.1:0`, builds the app with its base URL (some fakes
/// publish URLs to themselves) and serves it until the handle is aborted.
pub async fn serve_loopback(app: impl FnOnce(&str) -> Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base_url = format!("http://{}", listener.local_addr().expect("local address"));
    let app = app(&base_url);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base_url, server)
}

/// A loopback port free now, for a process that binds it itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The socket address of a loopback server's base URL
/// (`http://127.0.0.1:{port}/`, as [`serve_loopback`] makes them).
pub fn address_of(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a socket address")
}
