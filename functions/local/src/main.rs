//! `nudge`: the embedded local host and its operator commands.
//!
//! Wiring only: read the configuration, start the library's local host, stop
//! it cleanly on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nudge::config::{ProcessEnv, Settings};
use nudge::local::chat::{self, ChatOptions};
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
