//! `nudge`: the embedded local host and its operator commands.
//!
//! Wiring only: read the configuration, start the library's local host, stop
//! it cleanly on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nudge::azure::operator as azure_operator;
use nudge::config::{ProcessEnv, Settings};
use nudge::ids::NotificationId;
use nudge::local::chat::{self, ChatOptions};
use nudge::local::operator;
use nudge::local::LocalHost;

#[derive(Parser)]
#[command(
    name = "nudge",
    version,
    about = "Proactive messaging for Bot Framework bots"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot locally: messages endpoint, notifier and scheduler in one
    /// process, on an embedded store and queue.
    Serve {
        /// Port to listen on (overrides PORT; default 3978).
        #[arg(long)]
        port: Option<u16>,
        /// Where the store and queue live (overrides NUDGE_DATA_DIR; default .nudge).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Talk to a running bot from this terminal: it acts as the channel,
    /// shows replies and proactive messages as they arrive.
    Chat {
        /// The bot's messages endpoint.
        #[arg(long, default_value = "http://localhost:3978/api/messages")]
        bot: String,
        /// Port of the console's own channel endpoint (its serviceUrl).
        #[arg(long, default_value_t = 3979)]
        port: u16,
        /// Conversation id to talk in.
        #[arg(long, default_value = "console")]
        conversation: String,
        /// Your name in the conversation.
        #[arg(long, default_value = "you")]
        user: String,
    },
    /// Move every dead letter back onto the queue; their deliveries start
    /// over (a delivered one is still not sent twice).
    Redrive {
        /// Where the store and queue live (overrides NUDGE_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A Function App's poison queue instead, named by the app's own
        /// settings in the environment (AzureWebJobsStorage, NUDGE_QUEUE_NAME).
        #[arg(long, conflicts_with = "data_dir")]
        azure: bool,
    },
    /// List the dead letters, oldest first, with why they died.
    DeadLetters {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A Function App's poison queue instead (as for redrive).
        #[arg(long, conflicts_with = "data_dir")]
        azure: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Measure delivery against a local sink channel: at the Teams limits
    /// (a broadcast in one tenant and in five, 1,000 users' replies; rates
    /// as a share of the limit, 429s counted) and with the limits off
    /// (deliveries per second, enqueue-to-delivery p50/p99, peak memory).
    Bench {
        /// Which runs, in order.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "broadcast,tenants,replies,throughput"
        )]
        runs: Vec<nudge::local::bench::Run>,
        /// Notifications in a throughput run.
        #[arg(long, default_value_t = 10_000)]
        notifications: usize,
        /// Conversations (users, in the replies run).
        #[arg(long, default_value_t = 1_000)]
        conversations: usize,
        /// The sink's answer latency, one run per value.
        #[arg(long, value_delimiter = ',', default_value = "0,50")]
        latency_ms: Vec<u64>,
    },
    /// Build the Teams app package to sideload (or upload to the Developer
    /// Portal): the manifest in appPackage/ with the bot's App ID filled in,
    /// zipped with its icons.
    AppPackage {
        /// The bot's Microsoft App ID (default: MicrosoftAppId).
        #[arg(long)]
        app_id: Option<String>,
        /// The template: manifest.json and the icons it names.
        #[arg(long, default_value = "appPackage")]
        dir: PathBuf,
        /// Where to write the package.
        #[arg(long, default_value = "nudge-teams-app.zip")]
        out: PathBuf,
    },
    /// Print a notification's delivery records as JSON lines: its own, or
    /// one per recipient of a broadcast.
    Deliveries {
        /// The notification id (`n-…`).
        id: NotificationId,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::from_env(&ProcessEnv) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("nudge: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { port, data_dir } => {
            settings.port = port.unwrap_or(settings.port);
            settings.data_dir = data_dir.unwrap_or(settings.data_dir);
            serve(settings).await
        }
        Command::Chat {
            bot,
            port,
            conversation,
            user,
        } => {
            let options = ChatOptions {
                bot_url: bot,
                port,
                conversation,
                user,
            };
            match chat::run(options).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("nudge chat: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Redrive { data_dir, azure } => {
            let moved = if azure {
                azure_operator::redrive(&ProcessEnv)
                    .await
                    .map_err(|e| e.to_string())
            } else {
                let dir = data_dir.unwrap_or(settings.data_dir);
                operator::redrive(&dir).await.map_err(|e| e.to_string())
            };
            report("redrive", moved, |moved| {
                println!("{moved} dead letters moved back to the queue");
            })
        }
        Command::DeadLetters {
            data_dir,
            azure,
            limit,
        } => {
            let letters = if azure {
                azure_operator::dead_letters(&ProcessEnv, limit)
                    .await
                    .map_err(|e| e.to_string())
            } else {
                let dir = data_dir.unwrap_or(settings.data_dir);
                operator::dead_letters(&dir, limit)
                    .await
                    .map_err(|e| e.to_string())
            };
            report("dead-letters", letters, |letters| {
                for letter in letters {
                    println!(
                        "{}\t{}\treceived {}\t{}\t{}",
                        letter.message_id,
                        letter.dead_at,
                        letter.receive_count,
                        letter.reason.as_deref().unwrap_or("received too often"),
                        letter.body
                    );
                }
            })
        }
        Command::Bench {
            runs,
            notifications,
            conversations,
            latency_ms,
        } => {
            // Quiet unless asked: every delivery logs a line at `info`.
            if std::env::var_os("NUDGE_LOG").is_some() {
                nudge::telemetry::init(settings.json_logs);
            }
            let plan = nudge::local::bench::Plan {
                runs,
                notifications,
                conversations,
                latencies: latency_ms
                    .into_iter()
                    .map(std::time::Duration::from_millis)
                    .collect(),
            };
            report(
                "bench",
                nudge::local::bench::run_plan(&settings, &plan).await,
                |()| {},
            )
        }
        Command::AppPackage { app_id, dir, out } => {
            let Some(app_id) = app_id.or_else(|| settings.app.map(|app| app.app_id)) else {
                eprintln!("nudge app-package: give --app-id, or set MicrosoftAppId");
                return ExitCode::from(2);
            };
            let built = nudge::local::app_package::build(&dir, &app_id)
                .map_err(|e| e.to_string())
                .and_then(|zip| {
                    std::fs::write(&out, zip)
                        .map_err(|e| format!("cannot write {}: {e}", out.display()))
                });
            report("app-package", built, |()| {
                println!(
                    "{} written: upload it in Teams (Apps, Manage your apps, Upload an app)",
                    out.display()
                );
            })
        }
        Command::Deliveries { id, data_dir } => {
            let dir = data_dir.unwrap_or(settings.data_dir);
            report(
                "deliveries",
                operator::deliveries(&dir, &id).await,
                |records| {
                    for record in records {
                        match serde_json::to_string(&record) {
                            Ok(line) => println!("{line}"),
                            Err(error) => eprintln!("nudge deliveries: {error}"),
                        }
                    }
                },
            )
        }
    }
}

/// Prints an operator command's result, or its error.
fn report<T, E: std::fmt::Display>(
    command: &str,
    result: Result<T, E>,
    print: impl FnOnce(T),
) -> ExitCode {
    match result {
        Ok(value) => {
            print(value);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("nudge {command}: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    nudge::telemetry::init(settings.json_logs);
    let host = match LocalHost::start(&settings).await {
        Ok(host) => host,
        Err(error) => {
            tracing::error!(%error, "nudge could not start");
            eprintln!("nudge: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "nudge is listening on http://localhost:{}/api/messages (Ctrl-C to stop)",
        host.addr().port()
    );
    shutdown_signal().await;
    host.stop().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
