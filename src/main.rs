//! `startup-medic`: parse the command line, set up diagnostics, dispatch. No subcommand opens the
//! window.

// Release builds on Windows are GUI programs: no console window on double-click.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Gets a local server stack running and keeps it running.
#[derive(Debug, Parser)]
#[command(name = "startup-medic", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Open the window on this profile (without it: the last one used, or the embedded demo).
    #[arg(long, global = false)]
    profile: Option<PathBuf>,
    /// Measure the log view's frame times with this many lines, print them and exit.
    #[arg(long, hide = true, value_name = "LINES")]
    bench_log_view: Option<usize>,
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
    /// The demo stack's server (used by the embedded demo profile).
    #[command(hide = true)]
    DemoServer {
        /// Name shown in logs and pages.
        #[arg(long, default_value = "demo")]
        name: String,
        /// Bind host.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port.
        #[arg(long)]
        port: u16,
        /// Time spent loading before the port opens.
        #[arg(long, default_value_t = 0)]
        startup_delay_ms: u64,
        /// The API this one talks to.
        #[arg(long)]
        upstream: Option<String>,
        /// Exit with status 1 after this many seconds.
        #[arg(long)]
        crash_after_secs: Option<u64>,
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
        Some(Command::Classify { json, file }) => {
            startup_medic::cli::classify(file.as_deref(), json)
        }
        Some(Command::Stats { json }) => startup_medic::cli::stats(json),
        Some(Command::Run {
            profile,
            auto_fix,
            json,
        }) => startup_medic::cli::run(&profile, auto_fix, json),
        Some(Command::Doctor { profile, json }) => startup_medic::cli::doctor(&profile, json),
        Some(Command::DemoServer {
            name,
            host,
            port,
            startup_delay_ms,
            upstream,
            crash_after_secs,
        }) => startup_medic::demo::serve(&startup_medic::demo::ServerOptions {
            name,
            host,
            port,
            startup_delay_ms,
            upstream,
            crash_after_secs,
        }),
        None if cli.bench_log_view.is_some() => {
            startup_medic::ui::bench::run(cli.bench_log_view.unwrap_or(0))
        }
        None => startup_medic::ui::run(startup_medic::ui::OpenRequest {
            profile: cli.profile,
        }),
    };
    std::process::exit(code);
}
