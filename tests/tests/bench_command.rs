//! `nudge bench` as a user runs it: every run of the plan prints its line,
//! in order, each from a process of its own (`NUDGE_BENCH_STEP` names the
//! one a process runs), so that a run's peak memory is its own. The
//! figures themselves are for BENCHMARKS.md, not asserted here: only that
//! every run delivered everything without a 429.

use std::process::{Command, Output};

use nudge_tests::host::binary;

const PLAN: &[&str] = &[
    "bench",
    "--runs",
    "broadcast,replies,throughput",
    "--conversations",
    "20",
    "--notifications",
    "40",
    "--latency-ms",
    "0,5",
];

fn bench(step: Option<&str>) -> Output {
    let mut command = Command::new(binary("nudge"));
    command
        .args(PLAN)
        .env_remove("MicrosoftAppId")
        .env_remove("NUDGE_LOG");
    match step {
        Some(step) => command.env("NUDGE_BENCH_STEP", step),
        None => command.env_remove("NUDGE_BENCH_STEP"),
    };
    command.output().expect("run nudge bench")
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_run_prints_its_line_in_order_with_everything_delivered() {
    let output = bench(None);
    assert!(output.status.success(), "nudge bench: {output:?}");
    let lines = lines(&output);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["broadcast", "replies", "throughput", "throughput"],
        "{lines:#?}"
    );
    assert!(
        lines[0].contains("\t0 × 429\t20 delivered\t"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\t20 replies\t20 confirmations\t0 × 429\t"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("\t0 ms latency\t"), "{}", lines[2]);
    assert!(lines[3].contains("\t5 ms latency\t"), "{}", lines[3]);
    for line in &lines {
        assert!(line.ends_with(" MiB"), "each run reports its peak: {line}");
    }
}

#[test]
fn a_step_runs_only_its_own_line_and_a_missing_one_is_refused() {
    let output = bench(Some("1"));
    assert!(output.status.success(), "nudge bench step 1: {output:?}");
    let lines = lines(&output);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("replies\t20 users\t"), "{}", lines[0]);

    let output = bench(Some("4"));
    assert!(!output.status.success(), "step 4 of 4 runs: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("NUDGE_BENCH_STEP=4, but the plan has 4 runs"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
