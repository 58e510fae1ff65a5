//! What `nudge bench` runs, and how it prints each figure: one line per
//! run, tab-separated, rates with their ratio to the limit (or to the
//! target) so a noisy machine's figures can still be compared.

use std::path::{Path, PathBuf};
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

/// Why a `nudge bench` stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A run could not start its host.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A run's own process could not be started or failed.
    #[error("run {step} ({run:?}): {why}")]
    Step {
        /// The run's place in the plan, from 0.
        step: usize,
        /// Which run.
        run: Run,
        /// What went wrong.
        why: String,
    },
    /// `NUDGE_BENCH_STEP` names a run the plan does not have.
    #[error("{STEP}={step}, but the plan has {runs} runs")]
    NoSuchStep {
        /// The step named.
        step: usize,
        /// The runs the plan has.
        runs: usize,
    },
}

/// The environment variable that tells a `nudge bench` process it is one
/// step of a plan, and which.
const STEP: &str = "NUDGE_BENCH_STEP";

/// One line of output: a run, with the sink's latency for a throughput run.
#[derive(Debug, Clone, Copy)]
struct Step {
    run: Run,
    latency: Duration,
}

impl Plan {
    fn steps(&self) -> Vec<Step> {
        self.runs
            .iter()
            .flat_map(|&run| {
                let latencies = match run {
                    Run::Throughput => self.latencies.clone(),
                    _ => vec![Duration::ZERO],
                };
                latencies
                    .into_iter()
                    .map(move |latency| Step { run, latency })
            })
            .collect()
    }
}

/// Runs the plan, printing each run's line as it ends.
///
/// Each run of a plan of several runs has a process of its own (this
/// program again, with the same arguments and `NUDGE_BENCH_STEP` naming the run), so
/// that its peak memory is its own: in one process the allocator keeps
/// what an earlier run freed (after the replies run, some 20 MiB that a
/// later run's peak would count), and a run would measure its
/// predecessors.
pub async fn run(settings: &Settings, plan: &Plan) -> Result<(), BenchError> {
    let steps = plan.steps();
    if let Some(step) = std::env::var(STEP)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        let Some(&one) = steps.get(step) else {
            return Err(BenchError::NoSuchStep {
                step,
                runs: steps.len(),
            });
        };
        return run_step(settings, plan, step, one).await;
    }
    if let [one] = steps[..] {
        return run_step(settings, plan, 0, one).await;
    }
    for (n, step) in steps.iter().enumerate() {
        in_own_process(n, step.run).await?;
    }
    Ok(())
}

/// Runs step `n` of the plan as a child process and waits for it; its
/// line goes straight to this process's output.
async fn in_own_process(n: usize, run: Run) -> Result<(), BenchError> {
    let failed = |why: String| BenchError::Step { step: n, run, why };
    let program = std::env::current_exe().map_err(|e| failed(e.to_string()))?;
    let status = tokio::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env(STEP, n.to_string())
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(format!("its process ended with {status}")))
    }
}

/// Runs one step in this process and prints its line.
async fn run_step(
    settings: &Settings,
    plan: &Plan,
    n: usize,
    step: Step,
) -> Result<(), BenchError> {
    let dir = scratch(n);
    let line = measure(settings, plan, &dir, step).await;
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", line?);
    Ok(())
}

/// Runs `step` on the data directory `dir`; its figures as one line.
async fn measure(
    settings: &Settings,
    plan: &Plan,
    dir: &Path,
    step: Step,
) -> Result<String, StartError> {
    Ok(match step.run {
        Run::Broadcast | Run::Tenants => {
            let tenants = if step.run == Run::Tenants { 5 } else { 1 };
            let f = limited::broadcast(settings.clone(), dir, plan.conversations, tenants).await?;
            format!(
                "broadcast\t{} conversations\t{} tenant(s)\t{:.1}/s\t{:.1} % of {}/s\t{} × 429\t{} delivered\t{} MiB",
                f.conversations,
                f.tenants,
                f.per_second,
                f.of_limit() * 100.0,
                f.limit_per_second,
                f.throttled,
                f.delivered,
                mib(f.peak_rss_kib),
            )
        }
        Run::Replies => {
            let f = limited::replies(settings.clone(), dir, plan.conversations).await?;
            format!(
                "replies\t{} users\t{} replies\t{} confirmations\t{} × 429\tturn p50 {} ms\tp99 {} ms\tall in {:.1} s\t{} MiB",
                f.users,
                f.replies,
                f.confirmations,
                f.throttled,
                f.turn_p50.as_millis(),
                f.turn_p99.as_millis(),
                f.took.as_secs_f64(),
                mib(f.peak_rss_kib),
            )
        }
        Run::Throughput => {
            let f = throughput(
                settings.clone(),
                dir,
                plan.notifications,
                plan.conversations,
                step.latency,
            )
            .await?;
            format!(
                "throughput\t{} notifications\t{} ms latency\tconcurrency {}\t{:.0}/s\tp50 {:.0} ms\tp99 {:.0} ms\t{} MiB",
                f.notifications,
                f.latency.as_millis(),
                f.concurrency,
                f.per_second,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                mib(f.peak_rss_kib),
            )
        }
    })
}

/// A fresh data directory for run `n` (named by this process, which runs
/// only the one).
fn scratch(n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nudge-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_owned(), |k| (k / 1024).to_string())
}
