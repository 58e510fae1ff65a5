//! One span per HTTP request, on every host: `request`, with the method and
//! the matched route (never the raw path, which a caller controls), and,
//! once answered, the status and the latency. What the handlers log inside
//! it carries those fields; the answer itself is one debug line (a warning
//! for a 5xx).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::Empty;
use tracing::Instrument;

pub async fn trace(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        status = Empty,
        latency_ms = Empty,
    );
    let began = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("status", status);
    span.record(
        "latency_ms",
        u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!("answered");
        } else {
            tracing::debug!("answered");
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    /// Log lines written into a buffer the test reads.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_request_is_a_span_with_its_route_status_and_latency() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route("/items/{id}", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(super::trace));
        for uri in ["/items/secret-id-7", "/nowhere/else"] {
            let request = Request::get(uri).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let answered: Vec<&str> = text.lines().filter(|l| l.contains("answered")).collect();
        assert_eq!(answered.len(), 2, "one line per request: {text}");
        assert!(
            answered[0].contains("method=GET")
                && answered[0].contains("route=/items/{id}")
                && answered[0].contains("status=200")
                && answered[0].contains("latency_ms="),
            "{}",
            answered[0]
        );
        assert!(
            answered[1].contains("route=unmatched") && answered[1].contains("status=404"),
            "{}",
            answered[1]
        );
        assert!(
            !text.contains("secret-id-7") && !text.contains("nowhere"),
            "raw paths are not logged: {text}"
        );
    }
}
