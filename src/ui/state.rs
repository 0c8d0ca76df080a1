//! What the window shows, built only from supervisor [`Event`]s, and what the person asked for, as
//! [`Command`]s waiting to be sent. Panels read this and push intents; nothing here draws, so tests
//! can inject events and check what the panels would show and send.

use std::time::{Duration, Instant, SystemTime};

use crate::engine::Incident;
use crate::engine::actions::ActionId;
use crate::engine::fallback::Fallbacks;
use crate::engine::learning::Patterns;
use crate::profile::Profile;
use crate::protocol::{
    Command, Event, IncidentId, OfferedAction, PortHolder, ServiceState, Stream,
};
use crate::settings::AutoFixPolicy;
use crate::settings::Settings;
use crate::ui::fallbacks::FallbackEditor;
use crate::ui::logbuf::LogBuffer;
use crate::ui::logs::LogView;
use crate::ui::patterns::PatternsView;
use crate::ui::profile_editor::ProfileEditor;

/// One service as the services panel shows it.
#[derive(Debug, Clone)]
pub struct ServiceView {
    /// Name.
    pub name: String,
    /// Current state.
    pub state: ServiceState,
    /// When the state was entered (for the retry countdown).
    pub state_since: Instant,
    /// Pid while running.
    pub pid: Option<u32>,
    /// The port of the profile.
    pub configured_port: Option<u16>,
    /// The port in use now (differs after a move).
    pub port: Option<u16>,
    /// When the current process started.
    pub started_at: Option<Instant>,
    /// Times it was started again after the first start.
    pub restarts: u32,
    /// Starts seen so far.
    starts: u32,
    /// Bind host, for the URL.
    pub host: String,
}

impl ServiceView {
    /// The address to open in a browser, once it has a port.
    pub fn url(&self) -> Option<String> {
        let port = self.port?;
        let host = match self.host.as_str() {
            "0.0.0.0" | "::" | "" => "127.0.0.1",
            h => h,
        };
        Some(format!("http://{host}:{port}/"))
    }

    /// Whole seconds until the next retry while recovering.
    pub fn retry_in_secs(&self, now: Instant) -> Option<u64> {
        match self.state {
            ServiceState::Recovering { retry_in_ms } => {
                let left = Duration::from_millis(retry_in_ms)
                    .saturating_sub(now.saturating_duration_since(self.state_since));
                Some(left.as_secs_f64().ceil() as u64)
            }
            _ => None,
        }
    }
}

/// The outcome of one action run for an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionResult {
    /// The action.
    pub action: ActionId,
    /// Verified to work.
    pub success: bool,
    /// What happened.
    pub message: String,
    /// `Undo` is possible (and not yet done).
    pub undoable: bool,
}

/// One incident card.
#[derive(Debug, Clone)]
pub struct IncidentView {
    /// Id for commands.
    pub id: IncidentId,
    /// The service.
    pub service: String,
    /// What the engine found.
    pub incident: Incident,
    /// The port holder, for port conflicts.
    pub holder: Option<PortHolder>,
    /// Ranked fixes, best first.
    pub actions: Vec<OfferedAction>,
    /// Steps for a person.
    pub manual_steps: Vec<String>,
    /// When it arrived.
    pub at: SystemTime,
    /// The action now running, with its start.
    pub running: Option<(ActionId, Instant)>,
    /// Output lines of the running (or last) action.
    pub output: Vec<String>,
    /// Results, oldest first.
    pub results: Vec<ActionResult>,
    /// Automatic recovery gave up on this service after this incident.
    pub gave_up: Option<String>,
    /// The card's context lines are unfolded.
    pub expanded: bool,
}

impl IncidentView {
    /// Fixed: the last action succeeded.
    pub fn resolved(&self) -> bool {
        self.results.last().is_some_and(|r| r.success)
    }

    /// Every offered action was tried and none worked.
    pub fn exhausted(&self) -> bool {
        self.gave_up.is_some()
            || (!self.actions.is_empty()
                && self.running.is_none()
                && self.actions.iter().all(|a| {
                    self.results
                        .iter()
                        .any(|r| r.action == a.action && !r.success)
                }))
    }
}

/// A risky action waiting for a person's yes or no.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRequest {
    /// The incident.
    pub incident: IncidentId,
    /// The action.
    pub action: ActionId,
    /// Exactly what will happen.
    pub plan: String,
}

/// A desktop notification the app wants to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

/// Counts for the status bar and the tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Ready services.
    pub ready: usize,
    /// Starting, waiting or recovering.
    pub busy: usize,
    /// Failed.
    pub failed: usize,
    /// Stopped.
    pub stopped: usize,
}

/// The overall health the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing runs.
    Idle,
    /// Every running service is ready.
    Good,
    /// Something is starting or recovering.
    Busy,
    /// Something failed.
    Failed,
}

/// Everything the window shows.
pub struct AppState {
    /// Services in profile order.
    pub services: Vec<ServiceView>,
    /// Live logs.
    pub logs: LogBuffer,
    /// What the person does in the log view (search, follow).
    pub log_view: LogView,
    /// Incidents, oldest first.
    pub incidents: Vec<IncidentView>,
    /// Recent notices (newest last, bounded).
    pub notices: Vec<String>,
    /// A consent dialog to show.
    pub consent: Option<ConsentRequest>,
    /// Commands to send after this frame.
    pub outbox: Vec<Command>,
    /// Notifications to deliver when the window is not in view.
    pub notifications: Vec<Notification>,
    /// The supervisor has ended.
    pub finished: bool,
    /// Learned failure patterns, as the supervisor last saved them.
    pub patterns: Patterns,
    /// The patterns panel's sorting and selection.
    pub patterns_view: PatternsView,
    /// Which central tab is shown.
    pub tab: Tab,
    /// Things only the app can do (dialogs, files, switching profiles), asked for by panels.
    pub requests: Vec<Request>,
    /// The profile running now.
    pub profile: Profile,
    /// The profile editor.
    pub profile_editor: ProfileEditor,
    /// The fallback editor.
    pub fallback_editor: FallbackEditor,
    /// The settings in force (the auto-fix policy as last sent included).
    pub settings: Settings,
    /// The settings being edited.
    pub settings_draft: Settings,
    /// Recently opened profiles, newest first.
    pub recent: Vec<std::path::PathBuf>,
    /// The path typed in the Profile tab (for opening or detecting without a file dialog).
    pub path_input: String,
}

/// The central area's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// Live logs.
    #[default]
    Logs,
    /// Learned patterns.
    Patterns,
    /// Fallback configuration editor.
    Fallbacks,
    /// Profile editor.
    Profile,
    /// Settings and diagnostics.
    Settings,
}

/// What a panel asks the app to do (outside the supervisor protocol).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Export the learned patterns (`json` or RON) through a save dialog.
    ExportPatterns {
        /// JSON when true, RON otherwise.
        json: bool,
    },
    /// Save the fallback configurations and send them to the supervisor.
    SaveFallbacks(Box<crate::engine::fallback::Fallbacks>),
    /// Save the settings and apply them.
    SaveSettings(Box<crate::settings::Settings>),
    /// Show the open-profile dialog.
    OpenProfileDialog,
    /// Open this profile file.
    OpenProfile(std::path::PathBuf),
    /// Pick a project folder and propose a profile for it.
    NewProfileFromFolder,
    /// Propose a profile for this project folder.
    DetectFolder(std::path::PathBuf),
    /// Save the edited profile (to its file, or through a dialog when `choose` or it has none).
    SaveProfile {
        /// The profile.
        profile: Box<Profile>,
        /// Ask where.
        choose: bool,
    },
    /// Stop the stack and run the edited profile instead.
    ApplyProfile(Box<Profile>),
    /// Copy the diagnostics report to the clipboard.
    CopyDiagnostics,
    /// Save the diagnostics report to a file.
    SaveDiagnostics,
}

const MAX_NOTICES: usize = 50;
const MAX_ACTION_OUTPUT: usize = 200;

impl AppState {
    /// State for a profile before anything ran.
    pub fn new(profile: &Profile, log_capacity: usize, auto_fix: AutoFixPolicy) -> AppState {
        let now = Instant::now();
        let mut logs = LogBuffer::new(log_capacity);
        let services = profile
            .services
            .iter()
            .map(|s| {
                logs.service_index(&s.name);
                ServiceView {
                    name: s.name.clone(),
                    state: ServiceState::Stopped,
                    state_since: now,
                    pid: None,
                    configured_port: s.port,
                    port: s.port,
                    started_at: None,
                    restarts: 0,
                    starts: 0,
                    host: s.host.clone(),
                }
            })
            .collect();
        AppState {
            services,
            logs,
            log_view: LogView::new(),
            incidents: Vec::new(),
            notices: Vec::new(),
            consent: None,
            outbox: Vec::new(),
            notifications: Vec::new(),
            finished: false,
            patterns: Patterns::default(),
            patterns_view: PatternsView::default(),
            tab: Tab::default(),
            requests: Vec::new(),
            profile: profile.clone(),
            profile_editor: ProfileEditor::new(profile.clone(), Vec::new()),
            fallback_editor: FallbackEditor::new(Fallbacks::default()),
            settings: Settings {
                auto_fix,
                log_buffer_lines: log_capacity,
                ..Settings::default()
            },
            settings_draft: Settings {
                auto_fix,
                log_buffer_lines: log_capacity,
                ..Settings::default()
            },
            recent: Vec::new(),
            path_input: String::new(),
        }
    }

    /// The service view by name.
    pub fn service(&self, name: &str) -> Option<&ServiceView> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The incident card by id.
    pub fn incident(&self, id: IncidentId) -> Option<&IncidentView> {
        self.incidents.iter().find(|i| i.id == id)
    }

    fn incident_mut(&mut self, id: IncidentId) -> Option<&mut IncidentView> {
        self.incidents.iter_mut().find(|i| i.id == id)
    }

    /// Service counts.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.services {
            match s.state {
                ServiceState::Ready => c.ready += 1,
                ServiceState::Failed => c.failed += 1,
                ServiceState::Stopped => c.stopped += 1,
                _ => c.busy += 1,
            }
        }
        c
    }

    /// The stack's overall health.
    pub fn health(&self) -> Health {
        let c = self.counts();
        if c.failed > 0 {
            Health::Failed
        } else if c.busy > 0 {
            Health::Busy
        } else if c.ready > 0 {
            Health::Good
        } else {
            Health::Idle
        }
    }

    /// A person clicked a fix: safe ones are sent at once, risky ones wait for consent.
    pub fn choose_action(&mut self, incident: IncidentId, action: ActionId) {
        let Some(card) = self.incident(incident) else {
            return;
        };
        if card.running.is_some() {
            return;
        }
        let Some(offered) = card.actions.iter().find(|a| a.action == action) else {
            return;
        };
        if offered.needs_consent {
            self.consent = Some(ConsentRequest {
                incident,
                action,
                plan: offered.plan.clone(),
            });
        } else {
            self.outbox.push(Command::RunAction {
                incident,
                action,
                consent: false,
            });
        }
    }

    /// The consent dialog was answered.
    pub fn answer_consent(&mut self, agreed: bool) {
        if let Some(req) = self.consent.take()
            && agreed
        {
            self.outbox.push(Command::RunAction {
                incident: req.incident,
                action: req.action,
                consent: true,
            });
        }
    }

    /// Queues a command.
    pub fn send(&mut self, command: Command) {
        if let Command::SetAutoFix(p) = command {
            self.settings.auto_fix = p;
            self.settings_draft.auto_fix = p;
        }
        if let Command::Undo { incident, action } = command
            && let Some(card) = self.incident_mut(incident)
        {
            for r in card.results.iter_mut().filter(|r| r.action == action) {
                r.undoable = false;
            }
        }
        self.outbox.push(command);
    }

    fn notice(&mut self, text: String) {
        self.notices.push(text);
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    /// Applies one event from the supervisor.
    pub fn apply(&mut self, event: Event, now: Instant) {
        match event {
            Event::Log {
                service,
                stream,
                line,
            } => {
                if stream == Stream::System
                    && let Some(card) = self
                        .incidents
                        .iter_mut()
                        .rev()
                        .find(|c| c.service == service && c.running.is_some())
                    && card.output.len() < MAX_ACTION_OUTPUT
                {
                    card.output
                        .push(crate::engine::classify::strip_ansi_str(&line).into_owned());
                }
                self.logs.push(&service, stream, line);
            }
            Event::State {
                service,
                state,
                pid,
                port,
            } => {
                let Some(s) = self.services.iter_mut().find(|s| s.name == service) else {
                    return;
                };
                let was = std::mem::replace(&mut s.state, state.clone());
                if was != state {
                    s.state_since = now;
                }
                if state == ServiceState::Starting && was != ServiceState::Starting {
                    s.starts += 1;
                    s.restarts = s.starts.saturating_sub(1);
                    s.started_at = Some(now);
                }
                if matches!(state, ServiceState::Stopped | ServiceState::Failed) {
                    s.started_at = None;
                }
                s.pid = pid;
                if port.is_some() {
                    s.port = port;
                }
                if state == ServiceState::Failed && was != ServiceState::Failed {
                    self.notifications.push(Notification {
                        title: format!("{service} failed"),
                        body: self.last_cause(&service),
                    });
                }
            }
            Event::Incident {
                id,
                service,
                incident,
                holder,
                actions,
                manual_steps,
            } => {
                self.incidents.push(IncidentView {
                    id,
                    service,
                    incident: *incident,
                    holder,
                    actions,
                    manual_steps,
                    at: SystemTime::now(),
                    running: None,
                    output: Vec::new(),
                    results: Vec::new(),
                    gave_up: None,
                    expanded: false,
                });
            }
            Event::ActionStarted {
                incident, action, ..
            } => {
                if let Some(card) = self.incident_mut(incident) {
                    card.running = Some((action, now));
                    card.output.clear();
                }
            }
            Event::ActionFinished {
                incident,
                action,
                success,
                message,
                undoable,
                ..
            } => {
                if let Some(card) = self.incident_mut(incident) {
                    card.running = None;
                    card.results.push(ActionResult {
                        action,
                        success,
                        message,
                        undoable,
                    });
                }
            }
            Event::Ready { service, port } => {
                let recovered = self
                    .incidents
                    .iter()
                    .any(|c| c.service == service && !c.resolved());
                if let Some(s) = self.services.iter_mut().find(|s| s.name == service) {
                    if port.is_some() {
                        s.port = port;
                    }
                    if recovered {
                        self.notifications.push(Notification {
                            title: format!("{service} recovered"),
                            body: format!(
                                "{service} is ready{}",
                                port.map(|p| format!(" on port {p}")).unwrap_or_default()
                            ),
                        });
                    }
                }
            }
            Event::Exited { service, code } => {
                let how = code
                    .map(|c| format!("exited with status {c}"))
                    .unwrap_or_else(|| "was stopped by a signal".into());
                if let Some(s) = self.services.iter_mut().find(|s| s.name == service) {
                    s.pid = None;
                    // Exits we asked for come after Stopping; any other exit of a running service is news.
                    if matches!(s.state, ServiceState::Ready | ServiceState::Starting) {
                        self.notifications.push(Notification {
                            title: format!("{service} stopped unexpectedly"),
                            body: format!("{service} {how}"),
                        });
                    }
                }
                self.logs.push(
                    &service,
                    Stream::System,
                    format!("[startup-medic] {service} {how}"),
                );
            }
            Event::GaveUp { service, reason } => {
                if let Some(card) = self
                    .incidents
                    .iter_mut()
                    .rev()
                    .find(|c| c.service == service)
                {
                    card.gave_up = Some(reason.clone());
                }
                self.notifications.push(Notification {
                    title: format!("{service}: automatic recovery gave up"),
                    body: reason.clone(),
                });
                self.notice(format!("{service}: {reason}"));
            }
            Event::Notice(text) => self.notice(text),
            Event::Patterns(p) => self.patterns = *p,
            Event::Finished => self.finished = true,
        }
    }

    fn last_cause(&self, service: &str) -> String {
        self.incidents
            .iter()
            .rev()
            .find(|c| c.service == service)
            .map(|c| format!("{}: {}", c.incident.error_type.label(), c.incident.message))
            .unwrap_or_else(|| "see the log".into())
    }
}
