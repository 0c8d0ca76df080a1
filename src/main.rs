//! `startup-medic`: parse the command line, set up diagnostics, dispatch.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Gets a local server stack running and keeps it running.
#[derive(Debug, Parser)]
#[command(name = "startup-medic", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a log (FILE or standard input) and report why a start failed, with ranked fixes.
    /// Exit status: 0 no incident, 1 incidents found, 2 bad usage or unreadable input.
    Classify {
        /// One JSON object per incident per line.
        #[arg(long)]
        json: bool,
        /// The log file ("-" or nothing: standard input).
        file: Option<PathBuf>,
    },
    /// Show the learned failure patterns and which fixes worked for them.
    Stats {
        /// One JSON object per pattern per line.
        #[arg(long)]
        json: bool,
    },
    /// Start a profile's services and keep them running; Ctrl-C stops them all.
    Run {
        /// The profile (RON).
        #[arg(long)]
        profile: PathBuf,
        /// Apply fixes that need no consent, best first, with backoff; give up when none is left.
        #[arg(long)]
        auto_fix: bool,
        /// One JSON event per line.
        #[arg(long)]
        json: bool,
    },
    /// Check what would block a profile from starting. Exit status 1 when something would.
    Doctor {
        /// The profile (RON).
        #[arg(long)]
        profile: PathBuf,
        /// One JSON object per check per line.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STARTUP_MEDIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Classify { json, file }) => startup_medic::cli::classify(file.as_deref(), json),
        Some(Command::Stats { json }) => startup_medic::cli::stats(json),
        Some(Command::Run { profile, auto_fix, json }) => startup_medic::cli::run(&profile, auto_fix, json),
        Some(Command::Doctor { profile, json }) => startup_medic::cli::doctor(&profile, json),
        None => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            // Nothing to run without a subcommand yet: show what there is.
            let _ = cmd.print_help();
            0
        }
    };
    std::process::exit(code);
}
