//! The only two ways the UI (or the headless CLI) and the supervisor talk: [`Command`] in, [`Event`] out.
//!
//! The supervisor runs on its own thread with its own tokio runtime; the front end sends commands over
//! a channel and drains events from another. Neither side blocks on the other, and everything the
//! front end shows is built from events.

use serde::Serialize;

use crate::engine::actions::{ActionId, Risk};
use crate::engine::fallback::Fallbacks;
use crate::engine::learning::Patterns;
use crate::engine::retry::BackoffPolicy;
use crate::engine::{Facts, Incident};
use crate::settings::AutoFixPolicy;

/// Identifies an incident within one supervisor run.
pub type IncidentId = u64;

/// Front end → supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start one service (and what it depends on), or all when `None`.
    Start(Option<String>),
    /// Stop one service, or all when `None`.
    Stop(Option<String>),
    /// Stop then start one service, or all when `None`.
    Restart(Option<String>),
    /// Carry out a recovery action for an incident. `consent` says a person agreed to what the
    /// action risks; without it, risky actions are refused with a message.
    RunAction {
        /// The incident.
        incident: IncidentId,
        /// The action.
        action: ActionId,
        /// A person agreed.
        consent: bool,
    },
    /// Undo what an action changed (restores a configuration backup).
    Undo {
        /// The incident the action ran for.
        incident: IncidentId,
        /// The action.
        action: ActionId,
    },
    /// Change the auto-fix policy.
    SetAutoFix(AutoFixPolicy),
    /// Use this backoff policy from the next attempt on.
    SetBackoff(BackoffPolicy),
    /// Use these fallback configurations from the next recovery on (the app has saved them).
    SetFallbacks(Box<Fallbacks>),
    /// Forget a learned failure pattern (by signature) and save.
    ForgetPattern(String),
    /// Clear a pattern's per-action statistics and save.
    ResetPattern(String),
    /// Stop every service and end the supervisor.
    Shutdown,
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The service's standard output.
    Stdout,
    /// The service's standard error.
    Stderr,
    /// Startup Medic itself (installers' output, action progress).
    System,
}

/// A service's lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ServiceState {
    /// Not running.
    Stopped,
    /// Waiting for the services it depends on.
    Waiting,
    /// Started, readiness not yet confirmed.
    Starting,
    /// Readiness confirmed.
    Ready,
    /// Being stopped.
    Stopping,
    /// Failed; waiting for a fix or a person.
    Failed,
    /// A fix or retry is scheduled.
    Recovering {
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
}

/// The process that holds a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortHolder {
    /// Its pid.
    pub pid: u32,
    /// Its name.
    pub name: String,
    /// Its command line.
    pub command: String,
    /// Its user, when known.
    pub user: Option<String>,
    /// It is a leftover of this very service, started by Startup Medic earlier.
    pub ours: bool,
}

/// One ranked fix as offered for an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferedAction {
    /// The action.
    pub action: ActionId,
    /// The ranking's reason.
    pub why: String,
    /// What it risks.
    pub risk: Risk,
    /// Whether a person must agree first (false for stopping our own leftover).
    pub needs_consent: bool,
    /// Exactly what will happen, for the consent dialog ("stop pid 4242: python3 -m http.server").
    pub plan: String,
}

/// Supervisor → front end.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A line of output.
    Log {
        /// The service.
        service: String,
        /// Which stream.
        stream: Stream,
        /// The line (lossy UTF-8, ANSI kept, very long lines cut).
        line: String,
    },
    /// A service changed state.
    State {
        /// The service.
        service: String,
        /// The new state.
        state: ServiceState,
        /// Its pid while running.
        pid: Option<u32>,
        /// The port it uses now.
        port: Option<u16>,
    },
    /// A failure was recognised.
    Incident {
        /// Its id, for `RunAction`.
        id: IncidentId,
        /// The service.
        service: String,
        /// What the engine found.
        incident: Box<Incident>,
        /// The process holding the port, for port conflicts.
        holder: Option<PortHolder>,
        /// Ranked fixes, best first.
        actions: Vec<OfferedAction>,
        /// Steps for a person when every action fails.
        manual_steps: Vec<String>,
    },
    /// An action began.
    ActionStarted {
        /// The incident.
        incident: IncidentId,
        /// The service.
        service: String,
        /// The action.
        action: ActionId,
    },
    /// An action ended; `success` means verified.
    ActionFinished {
        /// The incident.
        incident: IncidentId,
        /// The service.
        service: String,
        /// The action.
        action: ActionId,
        /// Verified to work.
        success: bool,
        /// What happened ("api: 8000 → 8001").
        message: String,
        /// Whether `Undo` can revert it.
        undoable: bool,
    },
    /// A service became ready.
    Ready {
        /// The service.
        service: String,
        /// Its port.
        port: Option<u16>,
    },
    /// A service's process exited.
    Exited {
        /// The service.
        service: String,
        /// Exit code (None when killed by a signal).
        code: Option<i32>,
    },
    /// Automatic recovery ran out of actions.
    GaveUp {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Something the person should know (a file set aside, a refused action).
    Notice(String),
    /// The learned patterns, at start and after every change.
    Patterns(Box<Patterns>),
    /// Every service is stopped and the supervisor has ended.
    Finished,
}

/// Facts of an incident with the supervisor's additions, for JSON output.
pub fn facts_json(facts: &Facts) -> serde_json::Value {
    serde_json::to_value(facts).unwrap_or(serde_json::Value::Null)
}
