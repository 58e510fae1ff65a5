//! What `nudge bench` runs, and how it prints each figure: one line per
//! run, tab-separated, rates with their ratio to the limit (or to the
//! target) so a noisy machine's figures can still be compared.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Settings;

use super::super::StartError;
use super::{limited, run as throughput};

/// One kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// A broadcast to the conversations in one tenant, Teams limits on.
    Broadcast,
    /// The same broadcast over five tenants.
    Tenants,
    /// The users each write `subscribe` within about two seconds.
    Replies,
    /// Limits off: the notifications over the conversations, once per
    /// latency.
    Throughput,
}

impl std::str::FromStr for Run {
    type Err = String;

    fn from_str(s: &str) -> Result<Run, String> {
        match s.trim() {
            "broadcast" => Ok(Run::Broadcast),
            "tenants" => Ok(Run::Tenants),
            "replies" => Ok(Run::Replies),
            "throughput" => Ok(Run::Throughput),
            other => Err(format!(
                "`{other}` is not broadcast, tenants, replies or throughput"
            )),
        }
    }
}

/// A whole `nudge bench`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// Notifications in a throughput run.
    pub notifications: usize,
    /// Conversations (users, in the replies run).
    pub conversations: usize,
    /// The sink's latencies, one throughput run each.
    pub latencies: Vec<Duration>,
}

/// Runs the plan, printing each run's line as it ends.
pub async fn run(settings: &Settings, plan: &Plan) -> Result<(), StartError> {
    for (n, run) in plan.runs.iter().enumerate() {
        match run {
            Run::Broadcast | Run::Tenants => {
                let tenants = if *run == Run::Tenants { 5 } else { 1 };
                let dir = scratch(n);
                let f =
                    limited::broadcast(settings.clone(), &dir, plan.conversations, tenants).await;
                let _ = std::fs::remove_dir_all(&dir);
                let f = f?;
                println!(
                    "broadcast\t{} conversations\t{} tenant(s)\t{:.1}/s\t{:.1} % of {}/s\t{} × 429\t{} delivered\t{} MiB",
                    f.conversations,
                    f.tenants,
                    f.per_second,
                    f.of_limit() * 100.0,
                    f.limit_per_second,
                    f.throttled,
                    f.delivered,
                    mib(f.peak_rss_kib),
                );
            }
            Run::Replies => {
                let dir = scratch(n);
                let f = limited::replies(settings.clone(), &dir, plan.conversations).await;
                let _ = std::fs::remove_dir_all(&dir);
                let f = f?;
                println!(
                    "replies\t{} users\t{} replies\t{} confirmations\t{} × 429\tturn p50 {} ms\tp99 {} ms\tall in {:.1} s",
                    f.users,
                    f.replies,
                    f.confirmations,
                    f.throttled,
                    f.turn_p50.as_millis(),
                    f.turn_p99.as_millis(),
                    f.took.as_secs_f64(),
                );
            }
            Run::Throughput => {
                for &latency in &plan.latencies {
                    let dir = scratch(n);
                    let f = throughput(
                        settings.clone(),
                        &dir,
                        plan.notifications,
                        plan.conversations,
                        latency,
                    )
                    .await;
                    let _ = std::fs::remove_dir_all(&dir);
                    let f = f?;
                    println!(
                        "throughput\t{} notifications\t{} ms latency\tconcurrency {}\t{:.0}/s\tp50 {:.0} ms\tp99 {:.0} ms\t{} MiB",
                        f.notifications,
                        f.latency.as_millis(),
                        f.concurrency,
                        f.per_second,
                        f.p50.as_secs_f64() * 1000.0,
                        f.p99.as_secs_f64() * 1000.0,
                        mib(f.peak_rss_kib),
                    );
                }
            }
        }
    }
    Ok(())
}

/// A fresh data directory for run `n`.
fn scratch(n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nudge-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_owned(), |k| (k / 1024).to_string())
}
