//! Logging: human-readable text locally, JSON on cloud hosts. The filter
//! comes from `NUDGE_LOG`, else `RUST_LOG`, else `info`.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = std::env::var("NUDGE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    // Already set (a test harness, a second call): keep the first.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
