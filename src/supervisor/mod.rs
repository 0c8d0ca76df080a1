//! The supervisor: starts a profile's services, watches them, recognises failures and carries out
//! recovery actions for real, verifying each one.
//!
//! One async loop owns all state and `select!`s over commands from the front end, messages from the
//! child tasks (lines, exits), probe results, finished effects and a 100 ms tick for timers. Slow
//! effects (stopping a stranger, waiting for a port, installing) run in their own tasks so the loop
//! stays responsive. The front end only sees [`Event`]s through the sink.

pub mod child;
pub mod probe;
pub mod records;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::engine::actions::{ActionId, Os, candidates, manual_steps};
use crate::engine::classify::LineStream;
use crate::engine::fallback::{Fallbacks, LaunchSpec};
use crate::engine::learning::{Outcome, Patterns};
use crate::engine::retry::{BackoffPolicy, RetryDecision, RetryState};
use crate::engine::rules::Classifier;
use crate::engine::{ErrorType, Fact, Facts, Incident};
use crate::profile::{Placeholder, Profile, Ready, Restart, Service, placeholders, substitute};
use crate::protocol::{
    Command, Event, IncidentId, OfferedAction, PortHolder, ServiceState, Stream,
};
use crate::settings::AutoFixPolicy;
use crate::store::{PATTERNS_FILE, Store};
use crate::system;
use child::{ChildMsg, Launch, Running};
use records::{LaunchRecord, Launched};

/// Where events go (the CLI prints them; the app queues them and requests a repaint).
pub type Sink = Box<dyn FnMut(Event) + Send>;

/// How a run behaves.
pub struct Options {
    /// Which actions run without asking.
    pub auto_fix: AutoFixPolicy,
    /// Spacing of automatic attempts and restarts.
    pub backoff: BackoffPolicy,
    /// What fallback actions change.
    pub fallbacks: Fallbacks,
    /// Where learning and launch records are kept (None: nothing is persisted).
    pub store: Option<Store>,
    /// Unique id of this run (keys learning records so each incident counts once).
    pub run_id: String,
    /// Polite stop time before the process tree is killed.
    pub stop_grace: Duration,
    /// The classifier (with the user's rules).
    pub classifier: Classifier,
}

/// A unique run id from the clock and the pid.
pub fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}-{}", nanos, std::process::id())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random number in [0, 1) for backoff jitter, from the clock's low bits (no crate needed for this).
fn jitter_unit() -> f64 {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(n % 1000) / 1000.0
}

enum Internal {
    Probe {
        service: String,
        generation: u64,
        ok: bool,
    },
    Effect {
        incident: IncidentId,
        service: String,
        action: ActionId,
        result: Result<Effect, String>,
    },
    Log {
        service: String,
        line: String,
    },
}

/// One thing learned, applied to the patterns file as it is on disk at save time.
enum Learn {
    Incident {
        key: String,
        incident: Incident,
        at: u64,
    },
    Outcome {
        key: String,
        incident: Incident,
        action: ActionId,
        outcome: Outcome,
        at: u64,
    },
    Forget(String),
    Reset(String),
}

/// What a finished slow effect asks the loop to do next.
enum Effect {
    /// Relaunch the service; the action succeeds if it then becomes ready.
    Relaunch {
        message: String,
        undo: Option<system::config::Repair>,
        use_venv: bool,
    },
    /// Nothing to relaunch (a diagnosis); report and stop there.
    Report { message: String },
}

struct PendingAction {
    incident: IncidentId,
    action: ActionId,
    message: String,
}

#[derive(Default)]
struct Recovery {
    tried: BTreeSet<ActionId>,
    attempts: u32,
    pending: Option<PendingAction>,
    scheduled: Option<(Instant, IncidentId, ActionId)>,
}

struct Svc {
    spec: Service,
    original_port: Option<u16>,
    port: Option<u16>,
    use_venv: bool,
    state: ServiceState,
    wanted: bool,
    proc: Option<Running>,
    generation: u64,
    started_at: Option<Instant>,
    ready_at: Option<Instant>,
    last_probe: Option<Instant>,
    probe_in_flight: bool,
    stream: LineStream,
    lifetime_incidents: Vec<IncidentId>,
    retry: RetryState,
    relaunch_at: Option<Instant>,
    recovery: Recovery,
    timed_out: bool,
    log_ready: Option<regex::Regex>,
    restart_after_exit: bool,
    restarts: u32,
}

struct IncidentRecord {
    service: String,
    incident: Incident,
    holder: Option<PortHolder>,
    undo: BTreeMap<ActionId, system::config::Repair>,
}

struct Sup {
    profile: Profile,
    profile_key: String,
    opts: Options,
    patterns: Patterns,
    launched: Launched,
    order: Vec<String>,
    svcs: BTreeMap<String, Svc>,
    incidents: BTreeMap<IncidentId, IncidentRecord>,
    next_incident: IncidentId,
    tx: mpsc::UnboundedSender<Internal>,
    child_tx: mpsc::UnboundedSender<ChildMsg>,
    sink: Sink,
    shutting_down: bool,
}

/// Runs a profile until `Shutdown` arrives (or the command channel closes), then stops everything.
pub async fn run(
    profile: Profile,
    opts: Options,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut sink: Sink,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Internal>();
    let (child_tx, mut child_rx) = mpsc::unbounded_channel::<ChildMsg>();
    let mut patterns = Patterns::default();
    let mut launched = Launched::default();
    if let Some(store) = &opts.store {
        let loaded = store.load::<Patterns>(PATTERNS_FILE);
        if let Some(n) = loaded.notice {
            sink(Event::Notice(n));
        }
        patterns = loaded.value;
        sink(Event::Patterns(Box::new(patterns.clone())));
        let (l, notice) = Launched::load(store);
        if let Some(n) = notice {
            sink(Event::Notice(n));
        }
        launched = l;
        launched.prune();
    }
    let order = profile.start_order();
    let mut svcs = BTreeMap::new();
    for s in &profile.services {
        let log_ready = match &s.ready {
            Ready::Log(re) => regex::Regex::new(re).ok(),
            _ => None,
        };
        svcs.insert(
            s.name.clone(),
            Svc {
                spec: s.clone(),
                original_port: s.port,
                port: s.port,
                use_venv: s.venv.is_some(),
                state: ServiceState::Stopped,
                wanted: false,
                proc: None,
                generation: 0,
                started_at: None,
                ready_at: None,
                last_probe: None,
                probe_in_flight: false,
                stream: opts.classifier.stream(),
                lifetime_incidents: Vec::new(),
                retry: RetryState::default(),
                relaunch_at: None,
                recovery: Recovery::default(),
                timed_out: false,
                log_ready,
                restart_after_exit: false,
                restarts: 0,
            },
        );
    }
    let profile_key = profile
        .path
        .as_ref()
        .map(|p| {
            p.canonicalize()
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .to_string()
        })
        .unwrap_or_else(|| profile.name.clone());
    let mut sup = Sup {
        profile,
        profile_key,
        opts,
        patterns,
        launched,
        order,
        svcs,
        incidents: BTreeMap::new(),
        next_incident: 1,
        tx,
        child_tx,
        sink,
        shutting_down: false,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            cmd = commands.recv(), if !sup.shutting_down => match cmd {
                Some(Command::Shutdown) | None => sup.begin_shutdown(),
                Some(c) => sup.handle(c),
            },
            Some(msg) = child_rx.recv() => sup.on_child(msg),
            Some(msg) = rx.recv() => sup.on_internal(msg),
            _ = tick.tick() => sup.tick(),
        }
        if sup.shutting_down && sup.svcs.values().all(|s| s.proc.is_none()) {
            break;
        }
    }
    sup.persist_launched();
    (sup.sink)(Event::Finished);
}

impl Sup {
    fn emit(&mut self, e: Event) {
        (self.sink)(e);
    }

    fn set_state(&mut self, name: &str, state: ServiceState) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        if s.state == state {
            return;
        }
        s.state = state.clone();
        let (pid, port) = (s.proc.as_ref().map(|p| p.pid), s.port);
        self.emit(Event::State {
            service: name.to_string(),
            state,
            pid,
            port,
        });
    }

    fn system_log(&mut self, service: &str, line: String) {
        self.emit(Event::Log {
            service: service.to_string(),
            stream: Stream::System,
            line,
        });
    }

    // ------------------------------------------------------------------ commands

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Start(target) => {
                for name in self.targets(target.as_deref(), true) {
                    if let Some(s) = self.svcs.get_mut(&name) {
                        s.wanted = true;
                        s.retry.reset();
                        s.recovery = Recovery::default();
                        if s.proc.is_none() {
                            s.relaunch_at = Some(Instant::now());
                        }
                    }
                }
            }
            Command::Stop(target) => {
                for name in self.targets(target.as_deref(), false) {
                    self.stop_service(&name);
                }
            }
            Command::Restart(target) => {
                for name in self.targets(target.as_deref(), false) {
                    if let Some(s) = self.svcs.get_mut(&name) {
                        s.wanted = true;
                        s.retry.reset();
                        s.recovery = Recovery::default();
                        if let Some(p) = s.proc.as_mut() {
                            s.restart_after_exit = true;
                            p.request_stop();
                        } else {
                            s.relaunch_at = Some(Instant::now());
                        }
                    }
                    self.set_state(&name, ServiceState::Stopping);
                }
            }
            Command::RunAction {
                incident,
                action,
                consent,
            } => self.start_action(incident, action, consent, false),
            Command::Undo { incident, action } => self.undo(incident, action),
            Command::SetAutoFix(p) => self.opts.auto_fix = p,
            Command::SetBackoff(b) => self.opts.backoff = b,
            Command::SetFallbacks(f) => self.opts.fallbacks = *f,
            Command::ForgetPattern(id) => self.learn(Learn::Forget(id)),
            Command::ResetPattern(id) => self.learn(Learn::Reset(id)),
            Command::Shutdown => self.begin_shutdown(),
        }
    }

    /// Services a command applies to; starting one also starts what it depends on.
    fn targets(&self, name: Option<&str>, with_dependencies: bool) -> Vec<String> {
        let Some(name) = name else {
            return self.order.clone();
        };
        let mut out = vec![name.to_string()];
        if with_dependencies {
            let mut i = 0;
            while i < out.len() {
                if let Some(s) = self.profile.service(&out[i]) {
                    for d in &s.depends_on {
                        if !out.contains(d) {
                            out.push(d.clone());
                        }
                    }
                }
                i += 1;
            }
        }
        out.retain(|n| self.svcs.contains_key(n));
        out
    }

    fn stop_service(&mut self, name: &str) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        s.wanted = false;
        s.relaunch_at = None;
        s.recovery.scheduled = None;
        if let Some(p) = s.proc.as_mut() {
            p.request_stop();
            self.set_state(name, ServiceState::Stopping);
        } else {
            self.set_state(name, ServiceState::Stopped);
        }
    }

    fn begin_shutdown(&mut self) {
        self.shutting_down = true;
        let names: Vec<String> = self.svcs.keys().cloned().collect();
        for n in names {
            self.stop_service(&n);
        }
    }

    // ------------------------------------------------------------------ launching

    fn ports_map(&self) -> BTreeMap<String, u16> {
        self.svcs
            .iter()
            .filter_map(|(n, s)| s.port.map(|p| (n.clone(), p)))
            .collect()
    }

    fn launch_spec(&self, name: &str) -> Option<(Vec<String>, BTreeMap<String, String>, PathBuf)> {
        let s = self.svcs.get(name)?;
        let ports = self.ports_map();
        let host = s.spec.host.clone();
        let mut argv: Vec<String> = s
            .spec
            .command
            .iter()
            .map(|a| substitute(a, s.port, &host, &ports))
            .collect();
        let mut env: BTreeMap<String, String> = s
            .spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), substitute(v, s.port, &host, &ports)))
            .collect();
        let cwd = self.profile.cwd_of(&s.spec);
        if s.use_venv
            && let Some(v) = system::venv::find(&cwd, s.spec.venv.as_deref())
        {
            system::venv::activate(&mut argv, &mut env, &v);
        }
        Some((argv, env, cwd))
    }

    fn deps_ready(&self, name: &str) -> bool {
        self.profile.service(name).is_none_or(|s| {
            s.depends_on.iter().all(|d| {
                self.svcs
                    .get(d)
                    .is_some_and(|x| x.state == ServiceState::Ready)
            })
        })
    }

    fn launch(&mut self, name: &str) {
        let Some((argv, env, cwd)) = self.launch_spec(name) else {
            return;
        };
        let (port, host) = match self.svcs.get(name) {
            Some(s) => (s.port, s.spec.host.clone()),
            None => return,
        };
        // A taken port is a certain failure: say who holds it before starting anything.
        if let Some(p) = port
            && !system::ports::is_free(&host, p)
        {
            let mut holder = system::ports::holder(p);
            if let Some(h) = holder.as_mut() {
                h.ours = self
                    .launched
                    .is_leftover(h.pid, &self.profile_key, name, &argv, &cwd);
            }
            let incident = port_conflict_incident(name, &host, p, holder.as_ref());
            self.set_state(name, ServiceState::Failed);
            let id = self.raise(name, incident, holder);
            self.on_failure(name, id);
            return;
        }
        let grace = self.opts.stop_grace;
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        s.generation += 1;
        s.stream = self.opts.classifier.stream();
        s.lifetime_incidents.clear();
        s.timed_out = false;
        s.ready_at = None;
        s.last_probe = None;
        s.probe_in_flight = false;
        let launch = Launch {
            service: name.to_string(),
            generation: s.generation,
            argv: argv.clone(),
            cwd: cwd.clone(),
            env,
            env_remove: if s.use_venv {
                vec!["PYTHONHOME".into()]
            } else {
                Vec::new()
            },
            grace,
        };
        self.system_log(
            name,
            format!("starting: {}  (in {})", argv.join(" "), cwd.display()),
        );
        match child::spawn(launch, self.child_tx.clone()) {
            Ok(running) => {
                let pid = running.pid;
                let s = self.svcs.get_mut(name).expect_or_log();
                s.proc = Some(running);
                s.started_at = Some(Instant::now());
                let start_time = system::process::facts(pid)
                    .map(|f| f.start_time)
                    .unwrap_or(0);
                self.launched.records.insert(
                    pid,
                    LaunchRecord {
                        pid,
                        start_time,
                        profile: self.profile_key.clone(),
                        service: name.to_string(),
                        argv,
                        cwd,
                    },
                );
                self.persist_launched();
                self.set_state(name, ServiceState::Starting);
            }
            Err(e) => {
                let program = argv.first().cloned().unwrap_or_default();
                let mut facts = Facts::new();
                let (t, message) = if e.kind() == std::io::ErrorKind::NotFound {
                    facts.insert("command", Fact::Text(program.clone()));
                    (
                        ErrorType::DependencyMissing,
                        format!(
                            "{name}: cannot start {program}: it is not installed or not on PATH"
                        ),
                    )
                } else if e.kind() == std::io::ErrorKind::PermissionDenied {
                    facts.insert("path", Fact::Text(program.clone()));
                    (
                        ErrorType::PermissionDenied,
                        format!("{name}: cannot start {program}: permission denied"),
                    )
                } else {
                    (
                        ErrorType::ProcessFailed,
                        format!("{name}: cannot start {program}: {e}"),
                    )
                };
                let incident = synthetic(t, message, facts);
                self.set_state(name, ServiceState::Failed);
                let id = self.raise(name, incident, None);
                self.on_failure(name, id);
            }
        }
    }

    fn persist_launched(&mut self) {
        if let Some(store) = &self.opts.store
            && let Err(e) = self.launched.save(store)
        {
            tracing::warn!("launch records not saved: {e}");
        }
    }

    // ------------------------------------------------------------------ child messages

    fn on_child(&mut self, msg: ChildMsg) {
        match msg {
            ChildMsg::Line {
                service,
                generation,
                stream,
                line,
            } => {
                let Some(s) = self.svcs.get_mut(&service) else {
                    return;
                };
                if s.generation != generation {
                    return;
                }
                let mut found = Vec::new();
                s.stream.push(&line, &mut found);
                let log_ready = s.state == ServiceState::Starting
                    && s.log_ready.as_ref().is_some_and(|re| {
                        re.is_match(&crate::engine::classify::strip_ansi_str(&line))
                    });
                self.emit(Event::Log {
                    service: service.clone(),
                    stream,
                    line,
                });
                self.raise_found(&service, found);
                if log_ready {
                    self.became_ready(&service);
                }
            }
            ChildMsg::Exited {
                service,
                generation,
                code,
                requested,
            } => self.on_exit(&service, generation, code, requested),
        }
    }

    fn on_exit(&mut self, name: &str, generation: u64, code: Option<i32>, requested: bool) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        let pid = s.proc.take().map(|p| p.pid);
        if let Some(pid) = pid {
            self.launched.records.remove(&pid);
            self.persist_launched();
        }
        let s = self.svcs.get_mut(name).expect_or_log();
        let mut found = Vec::new();
        s.stream.flush(&mut found);
        let was = s.state.clone();
        let timed_out = s.timed_out;
        let healthy_secs = s.ready_at.map_or(0, |t| t.elapsed().as_secs());
        let restart_after = std::mem::take(&mut s.restart_after_exit);
        self.raise_found(name, found);
        self.emit(Event::Exited {
            service: name.to_string(),
            code,
        });
        if self.shutting_down || (requested && !timed_out && !restart_after) {
            self.set_state(name, ServiceState::Stopped);
            return;
        }
        if restart_after {
            if let Some(s) = self.svcs.get_mut(name) {
                s.relaunch_at = Some(Instant::now());
            }
            self.set_state(name, ServiceState::Stopped);
            return;
        }
        if timed_out {
            // The timeout incident was raised and handled when the deadline passed.
            return;
        }
        if was == ServiceState::Ready {
            self.after_crash(name, code, healthy_secs);
            return;
        }
        // It died before it was ready: that is a failed start. Its root cause is the last real
        // incident it printed, else its exit.
        let root = self.root_incident(name).unwrap_or_else(|| {
            let mut facts = Facts::new();
            if let Some(c) = code {
                facts.insert("exit_code", Fact::Int(i64::from(c)));
            }
            let what = code.map_or_else(
                || "was killed by a signal".to_string(),
                |c| format!("exited with code {c}"),
            );
            let incident = synthetic(
                ErrorType::ProcessFailed,
                format!("{name} {what} before it was ready"),
                facts,
            );
            self.raise(name, incident, None)
        });
        self.set_state(name, ServiceState::Failed);
        self.on_failure(name, root);
    }

    fn root_incident(&self, name: &str) -> Option<IncidentId> {
        let s = self.svcs.get(name)?;
        let ids = &s.lifetime_incidents;
        ids.iter()
            .rev()
            .find(|id| {
                self.incidents
                    .get(id)
                    .is_some_and(|r| r.incident.error_type != ErrorType::Unknown)
            })
            .or(ids.last())
            .copied()
    }

    fn after_crash(&mut self, name: &str, code: Option<i32>, healthy_secs: u64) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        let restart = match s.spec.restart {
            Restart::Never => false,
            Restart::Always => true,
            Restart::OnFailure => code != Some(0),
        };
        if !restart || !s.wanted {
            self.set_state(
                name,
                if code == Some(0) {
                    ServiceState::Stopped
                } else {
                    ServiceState::Failed
                },
            );
            return;
        }
        match s
            .retry
            .on_failure(&self.opts.backoff, healthy_secs, jitter_unit())
        {
            RetryDecision::RetryAfter { delay_ms, .. } => {
                s.relaunch_at = Some(Instant::now() + Duration::from_millis(delay_ms));
                s.restarts += 1;
                self.set_state(
                    name,
                    ServiceState::Recovering {
                        retry_in_ms: delay_ms,
                    },
                );
            }
            RetryDecision::GiveUp { attempts } => {
                self.set_state(name, ServiceState::Failed);
                self.emit(Event::GaveUp {
                    service: name.to_string(),
                    reason: format!(
                        "it crashed {attempts} times in a row without staying up {} s",
                        self.opts.backoff.reset_after_healthy_secs
                    ),
                });
            }
        }
    }

    // ------------------------------------------------------------------ readiness and timers

    fn tick(&mut self) {
        let names = self.order.clone();
        for name in names {
            self.tick_service(&name);
        }
    }

    fn tick_service(&mut self, name: &str) {
        let now = Instant::now();
        let deps_ready = self.deps_ready(name);
        let ports = self.ports_map();
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        if self.shutting_down {
            return;
        }
        // Scheduled recovery actions.
        if let Some((at, incident, action)) = s.recovery.scheduled {
            if at <= now && s.proc.is_none() {
                s.recovery.scheduled = None;
                self.start_action(incident, action, false, true);
                return;
            }
            if let ServiceState::Recovering { .. } = s.state {
                let left = at.saturating_duration_since(now).as_millis() as u64;
                let rounded = left.div_ceil(1000) * 1000;
                if s.state
                    != (ServiceState::Recovering {
                        retry_in_ms: rounded,
                    })
                    && left > 0
                {
                    self.set_state(
                        name,
                        ServiceState::Recovering {
                            retry_in_ms: rounded,
                        },
                    );
                }
            }
            return;
        }
        // Launches that are due (waiting for dependencies first).
        if let Some(at) = s.relaunch_at {
            if at <= now && s.proc.is_none() && s.wanted {
                if deps_ready {
                    s.relaunch_at = None;
                    self.launch(name);
                } else if s.state != ServiceState::Waiting {
                    self.set_state(name, ServiceState::Waiting);
                }
            }
            return;
        }
        if s.state != ServiceState::Starting || s.proc.is_none() {
            return;
        }
        let started = s.started_at.unwrap_or(now);
        if now.duration_since(started) > Duration::from_secs(s.spec.startup_timeout_secs) {
            self.timed_out(name);
            return;
        }
        let ready = match &s.spec.ready {
            Ready::Auto if s.port.is_some() => Ready::Tcp,
            Ready::Auto => Ready::Started,
            r => r.clone(),
        };
        match ready {
            Ready::Started => {
                if now.duration_since(started) >= Duration::from_secs(1) {
                    self.became_ready(name);
                }
            }
            Ready::Tcp | Ready::Http(_) => {
                let due = s
                    .last_probe
                    .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(250));
                if due && !s.probe_in_flight {
                    s.probe_in_flight = true;
                    s.last_probe = Some(now);
                    let (host, port, generation) = (s.spec.host.clone(), s.port, s.generation);
                    let url = match &ready {
                        Ready::Http(u) => Some(substitute(u, s.port, &s.spec.host, &ports)),
                        _ => None,
                    };
                    let tx = self.tx.clone();
                    let service = name.to_string();
                    tokio::spawn(async move {
                        let ok = match (url, port) {
                            (Some(u), _) => probe::http(&u, Duration::from_secs(1)).await,
                            (None, Some(p)) => probe::tcp(&host, p, Duration::from_secs(1)).await,
                            (None, None) => false,
                        };
                        let _ = tx.send(Internal::Probe {
                            service,
                            generation,
                            ok,
                        });
                    });
                }
            }
            Ready::Log(_) | Ready::Auto => {}
        }
    }

    fn timed_out(&mut self, name: &str) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        let secs = s.spec.startup_timeout_secs;
        let waiting_for = match &s.spec.ready {
            Ready::Http(u) => format!("GET {u}"),
            Ready::Log(re) => format!("a line matching {re}"),
            _ => s
                .port
                .map_or("the process".into(), |p| format!("tcp {}:{p}", s.spec.host)),
        };
        s.timed_out = true;
        if let Some(p) = s.proc.as_mut() {
            p.request_stop();
        }
        let incident = synthetic(
            ErrorType::TimeoutError,
            format!("{name} did not become ready within {secs} s (waiting for {waiting_for})"),
            Facts::new(),
        );
        self.set_state(name, ServiceState::Failed);
        let id = self.raise(name, incident, None);
        self.on_failure(name, id);
    }

    fn became_ready(&mut self, name: &str) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        if s.state != ServiceState::Starting {
            return;
        }
        s.ready_at = Some(Instant::now());
        // An error it printed on the way up and got past (a retried connection, a bare error line)
        // was no startup failure.
        let mut found = Vec::new();
        s.stream.service_ready(&mut found);
        let port = s.port;
        let pending = s.recovery.pending.take();
        s.recovery = Recovery::default();
        self.raise_found(name, found);
        self.set_state(name, ServiceState::Ready);
        self.emit(Event::Ready {
            service: name.to_string(),
            port,
        });
        if let Some(p) = pending {
            self.finish_action(p.incident, name, p.action, true, p.message);
        }
    }

    fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Probe {
                service,
                generation,
                ok,
            } => {
                let Some(s) = self.svcs.get_mut(&service) else {
                    return;
                };
                if s.generation != generation {
                    return;
                }
                s.probe_in_flight = false;
                if ok {
                    self.became_ready(&service);
                }
            }
            Internal::Effect {
                incident,
                service,
                action,
                result,
            } => self.effect_done(incident, &service, action, result),
            Internal::Log { service, line } => self.system_log(&service, line),
        }
    }

    // ------------------------------------------------------------------ incidents

    /// Raises what the classifier found in a service's output and remembers it for that service's
    /// lifetime.
    fn raise_found(&mut self, name: &str, found: Vec<Incident>) {
        for incident in found {
            let id = self.raise(name, incident, None);
            if let Some(s) = self.svcs.get_mut(name) {
                s.lifetime_incidents.push(id);
            }
        }
    }

    fn raise(&mut self, name: &str, incident: Incident, holder: Option<PortHolder>) -> IncidentId {
        let id = self.next_incident;
        self.next_incident += 1;
        let key = format!("{}#{id}", self.opts.run_id);
        self.learn(Learn::Incident {
            key,
            incident: incident.clone(),
            at: now_secs(),
        });
        let actions = self.offered(&incident, holder.as_ref());
        let steps = manual_steps(incident.error_type, &incident.facts, Os::current());
        self.incidents.insert(
            id,
            IncidentRecord {
                service: name.to_string(),
                incident: incident.clone(),
                holder: holder.clone(),
                undo: BTreeMap::new(),
            },
        );
        self.emit(Event::Incident {
            id,
            service: name.to_string(),
            incident: Box::new(incident),
            holder,
            actions,
            manual_steps: steps,
        });
        id
    }

    fn offered(&self, incident: &Incident, holder: Option<&PortHolder>) -> Vec<OfferedAction> {
        let mut offered: Vec<OfferedAction> = self
            .patterns
            .rank(incident, &candidates(incident))
            .into_iter()
            .map(|r| {
                let needs_consent = effective_consent(r.action, holder);
                OfferedAction {
                    action: r.action,
                    why: r.why,
                    risk: r.risk,
                    needs_consent,
                    plan: plan_text(r.action, incident, holder),
                }
            })
            .collect();
        // Our own stale instance holds the port: stopping it is the real fix, and needs no consent.
        if holder.is_some_and(|h| h.ours)
            && let Some(i) = offered
                .iter()
                .position(|o| o.action == ActionId::KillProcessOnPort)
        {
            let mut kill = offered.remove(i);
            kill.why = format!(
                "the port is held by this service's own leftover from an earlier run; {}",
                kill.why
            );
            offered.insert(0, kill);
        }
        offered
    }

    /// Records what was learned and saves it. Another process (a second window, a CLI `run`) may
    /// have saved the same file since we read it, so the change is applied to the file's current
    /// content, not to our copy: recording is idempotent per incident key, so nothing counts twice
    /// and nothing the other process learned is lost.
    fn learn(&mut self, change: Learn) {
        let apply = |p: &mut Patterns, change: &Learn| match change {
            Learn::Incident { key, incident, at } => {
                p.record_incident(key, incident, *at);
            }
            Learn::Outcome {
                key,
                incident,
                action,
                outcome,
                at,
            } => {
                p.record_outcome(key, incident, *action, *outcome, *at);
            }
            Learn::Forget(id) => {
                p.forget(id);
            }
            Learn::Reset(id) => {
                p.reset_stats(id);
            }
        };
        if let Some(store) = self.opts.store.clone() {
            let current = store.load::<Patterns>(PATTERNS_FILE);
            // A file damaged since we read it was set aside by `load`; start again from what we know.
            let mut patterns = if current.notice.is_some() {
                self.patterns.clone()
            } else {
                current.value
            };
            if let Some(n) = current.notice {
                self.emit(Event::Notice(n));
            }
            apply(&mut patterns, &change);
            if let Err(e) = store.save(PATTERNS_FILE, &patterns) {
                // Keep what we know in memory; the next save tries again with it.
                apply(&mut self.patterns, &change);
                self.emit(Event::Notice(format!(
                    "learned patterns were not saved: {e}"
                )));
            } else {
                self.patterns = patterns;
            }
        } else {
            apply(&mut self.patterns, &change);
        }
        self.emit(Event::Patterns(Box::new(self.patterns.clone())));
    }

    /// A start failed with this incident: verify a pending action as failed, then auto-fix or wait.
    fn on_failure(&mut self, name: &str, incident: IncidentId) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        if let Some(p) = s.recovery.pending.take() {
            let why = self
                .incidents
                .get(&incident)
                .map(|r| r.incident.message.clone())
                .unwrap_or_default();
            self.finish_action(
                p.incident,
                name,
                p.action,
                false,
                format!("{}; the service still failed: {why}", p.message),
            );
        }
        if self.opts.auto_fix != AutoFixPolicy::SafeOnly || self.shutting_down {
            return;
        }
        let Some(rec) = self.incidents.get(&incident) else {
            return;
        };
        let offered = self.offered(&rec.incident, rec.holder.as_ref());
        let s = self.svcs.get_mut(name).expect_or_log();
        let next = offered
            .iter()
            .find(|o| !o.needs_consent && !s.recovery.tried.contains(&o.action));
        match next {
            Some(o) => {
                let delay_ms = if s.recovery.attempts == 0 {
                    0
                } else {
                    self.opts
                        .backoff
                        .delay_ms(s.recovery.attempts, jitter_unit())
                };
                if self.opts.backoff.max_attempts != 0
                    && s.recovery.attempts >= self.opts.backoff.max_attempts
                {
                    let reason = format!(
                        "{} automatic attempts made; stopping to let you decide",
                        s.recovery.attempts
                    );
                    self.emit(Event::GaveUp {
                        service: name.to_string(),
                        reason,
                    });
                    return;
                }
                s.recovery.tried.insert(o.action);
                s.recovery.attempts += 1;
                s.recovery.scheduled = Some((
                    Instant::now() + Duration::from_millis(delay_ms),
                    incident,
                    o.action,
                ));
                self.set_state(
                    name,
                    ServiceState::Recovering {
                        retry_in_ms: delay_ms,
                    },
                );
            }
            None => {
                let tried: Vec<&str> = s.recovery.tried.iter().map(|a| a.id()).collect();
                let consent: Vec<String> = offered
                    .iter()
                    .filter(|o| o.needs_consent)
                    .map(|o| format!("{} ({})", o.action.id(), o.plan))
                    .collect();
                let mut reason = if tried.is_empty() {
                    "no automatic fix applies".to_string()
                } else {
                    format!("tried {}", tried.join(", "))
                };
                if !consent.is_empty() {
                    reason.push_str(&format!(
                        "; left for you to approve: {}",
                        consent.join("; ")
                    ));
                }
                self.set_state(name, ServiceState::Failed);
                self.emit(Event::GaveUp {
                    service: name.to_string(),
                    reason,
                });
            }
        }
    }

    // ------------------------------------------------------------------ actions

    fn start_action(
        &mut self,
        incident: IncidentId,
        action: ActionId,
        consent: bool,
        automatic: bool,
    ) {
        let Some(rec) = self.incidents.get(&incident) else {
            self.emit(Event::Notice(format!("no incident {incident}")));
            return;
        };
        let name = rec.service.clone();
        let holder = rec.holder.clone();
        if effective_consent(action, holder.as_ref()) && !consent {
            let plan = plan_text(action, &rec.incident, holder.as_ref());
            self.emit(Event::Notice(format!(
                "{} needs your consent first: {plan}",
                action.id()
            )));
            return;
        }
        if !automatic && let Some(s) = self.svcs.get_mut(&name) {
            s.recovery.tried.insert(action);
            s.wanted = true;
        }
        self.emit(Event::ActionStarted {
            incident,
            service: name.clone(),
            action,
        });
        // Quick changes happen here; slow effects go to a task.
        let result: Result<Option<String>, String> = match action {
            ActionId::FindAlternativePort | ActionId::TryAlternativePorts => {
                self.move_port(&name, action)
            }
            ActionId::IncreaseTimeout => self.raise_timeout(&name),
            ActionId::RestartWithDifferentParams => self.apply_fallback(&name, incident),
            ActionId::RetryWithBackoff => Ok(Some(format!("{name}: relaunched unchanged"))),
            ActionId::ActivateVirtualEnvironment => self.activate_venv(&name),
            _ => {
                self.spawn_effect(incident, &name, action, holder);
                return;
            }
        };
        match result {
            Ok(Some(message)) => self.relaunch_for(incident, &name, action, message),
            Ok(None) => {}
            Err(message) => self.finish_action(incident, &name, action, false, message),
        }
    }

    fn relaunch_for(
        &mut self,
        incident: IncidentId,
        name: &str,
        action: ActionId,
        message: String,
    ) {
        let Some(s) = self.svcs.get_mut(name) else {
            return;
        };
        s.recovery.pending = Some(PendingAction {
            incident,
            action,
            message,
        });
        s.wanted = true;
        s.relaunch_at = Some(Instant::now());
        if let Some(p) = s.proc.as_mut() {
            s.restart_after_exit = true;
            p.request_stop();
        }
    }

    fn finish_action(
        &mut self,
        incident: IncidentId,
        name: &str,
        action: ActionId,
        success: bool,
        message: String,
    ) {
        let outcome = if success {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        let undoable = self
            .incidents
            .get(&incident)
            .is_some_and(|r| r.undo.contains_key(&action));
        if action != ActionId::CheckFirewallExceptions
            && let Some(rec) = self.incidents.get(&incident)
        {
            let key = format!("{}#{incident}", self.opts.run_id);
            let inc = rec.incident.clone();
            self.learn(Learn::Outcome {
                key,
                incident: inc,
                action,
                outcome,
                at: now_secs(),
            });
        }
        self.emit(Event::ActionFinished {
            incident,
            service: name.to_string(),
            action,
            success,
            message: message.clone(),
            undoable,
        });
        if !success {
            self.system_log(name, format!("{} did not fix it: {message}", action.id()));
            let auto_continue = self.opts.auto_fix == AutoFixPolicy::SafeOnly
                && self.svcs.get(name).is_some_and(|s| {
                    s.proc.is_none()
                        && s.recovery.pending.is_none()
                        && s.recovery.scheduled.is_none()
                        && s.state != ServiceState::Ready
                });
            if auto_continue {
                self.on_failure(name, incident);
            }
        }
    }

    fn move_port(&mut self, name: &str, action: ActionId) -> Result<Option<String>, String> {
        let t = if action == ActionId::TryAlternativePorts {
            ErrorType::PermissionDenied
        } else {
            ErrorType::PortConflict
        };
        let config = self.opts.fallbacks.get(t);
        let taken: BTreeSet<u16> = self
            .svcs
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .filter_map(|(_, s)| s.port)
            .collect();
        let s = self.svcs.get(name).ok_or("no such service")?;
        let current = s
            .port
            .ok_or_else(|| format!("{name} has no port to move"))?;
        let host = s.spec.host.clone();
        let free = config
            .port_candidates(Some(current), &taken)
            .into_iter()
            .find(|p| system::ports::is_free(&host, *p))
            .ok_or_else(|| format!("no free port found for {name} in the fallback ranges"))?;
        let original = s.original_port;
        self.svcs.get_mut(name).expect_or_log().port = Some(free);
        // Dependents that use {port:name} follow.
        let dependents: Vec<String> = self
            .svcs
            .iter()
            .filter(|(n, x)| n.as_str() != name && uses_port_of(&x.spec, name))
            .map(|(n, _)| n.clone())
            .collect();
        for d in &dependents {
            if let Some(x) = self.svcs.get_mut(d)
                && let Some(p) = x.proc.as_mut()
            {
                x.restart_after_exit = true;
                p.request_stop();
            }
        }
        let from = original
            .filter(|o| *o != current)
            .map_or(current.to_string(), |o| format!("{o}"));
        let mut message = format!("{name}: {from} → {free}");
        if !dependents.is_empty() {
            message.push_str(&format!(
                " ({} follow{})",
                dependents.join(", "),
                if dependents.len() == 1 { "s" } else { "" }
            ));
        }
        Ok(Some(message))
    }

    fn raise_timeout(&mut self, name: &str) -> Result<Option<String>, String> {
        let config = self.opts.fallbacks.get(ErrorType::TimeoutError);
        let s = self.svcs.get_mut(name).ok_or("no such service")?;
        let before = s.spec.startup_timeout_secs;
        let after = config.raised_timeout(before);
        if after <= before {
            return Err(format!(
                "{name}: the startup timeout is already {before} s, the fallback cap ({} s)",
                config.timeout_cap_secs
            ));
        }
        s.spec.startup_timeout_secs = after;
        Ok(Some(format!(
            "{name}: startup timeout {before} s → {after} s"
        )))
    }

    fn apply_fallback(
        &mut self,
        name: &str,
        incident: IncidentId,
    ) -> Result<Option<String>, String> {
        let t = self
            .incidents
            .get(&incident)
            .map(|r| r.incident.error_type)
            .ok_or("no such incident")?;
        let config = self.opts.fallbacks.get(t);
        let s = self.svcs.get_mut(name).ok_or("no such service")?;
        let spec = LaunchSpec {
            command: s.spec.command.clone(),
            env: s.spec.env.clone(),
            host: s.spec.host.clone(),
            port: s.port,
            startup_timeout_secs: s.spec.startup_timeout_secs,
        };
        let (next, changes) = config.apply(&spec);
        if changes.is_empty() {
            return Err(format!(
                "{name}: the {} fallback changes nothing for this service; edit it in fallbacks.ron",
                t.id()
            ));
        }
        s.spec.command = next.command;
        s.spec.env = next.env;
        s.spec.host = next.host;
        s.spec.startup_timeout_secs = next.startup_timeout_secs;
        let list: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {} → {}", c.field, c.before, c.after))
            .collect();
        Ok(Some(format!("{name}: {}", list.join(", "))))
    }

    fn activate_venv(&mut self, name: &str) -> Result<Option<String>, String> {
        let cwd = self
            .profile
            .cwd_of(&self.svcs.get(name).ok_or("no such service")?.spec);
        let s = self.svcs.get_mut(name).ok_or("no such service")?;
        let venv = system::venv::find(&cwd, s.spec.venv.as_deref()).ok_or_else(|| {
            format!(
                "{name}: no virtual environment at {} (create one first)",
                system::venv::target(&cwd, s.spec.venv.as_deref()).display()
            )
        })?;
        s.use_venv = true;
        Ok(Some(format!("{name}: runs inside {}", venv.display())))
    }

    fn spawn_effect(
        &mut self,
        incident: IncidentId,
        name: &str,
        action: ActionId,
        holder: Option<PortHolder>,
    ) {
        let Some(rec) = self.incidents.get(&incident) else {
            return;
        };
        let facts = rec.incident.facts.clone();
        let rule = rec.incident.rule_id.clone();
        let Some(s) = self.svcs.get(name) else { return };
        let cwd = self.profile.cwd_of(&s.spec);
        let port = s.port;
        let host = s.spec.host.clone();
        let spec = s.spec.clone();
        let venv = system::venv::find(&cwd, spec.venv.as_deref());
        let tx = self.tx.clone();
        let service = name.to_string();
        let log = self.tx.clone();
        tokio::spawn(async move {
            let ctx = effects::Context {
                service: service.clone(),
                cwd,
                port,
                host,
                spec,
                venv,
                facts,
                rule,
                holder,
                log,
            };
            let result = effects::run(action, ctx).await;
            let _ = tx.send(Internal::Effect {
                incident,
                service,
                action,
                result,
            });
        });
    }

    fn effect_done(
        &mut self,
        incident: IncidentId,
        name: &str,
        action: ActionId,
        result: Result<Effect, String>,
    ) {
        match result {
            Ok(Effect::Relaunch {
                message,
                undo,
                use_venv,
            }) => {
                if let Some(u) = undo
                    && let Some(r) = self.incidents.get_mut(&incident)
                {
                    r.undo.insert(action, u);
                }
                if use_venv && let Some(s) = self.svcs.get_mut(name) {
                    s.use_venv = true;
                }
                self.system_log(name, message.clone());
                self.relaunch_for(incident, name, action, message);
            }
            Ok(Effect::Report { message }) => {
                self.system_log(name, message.clone());
                self.finish_action(incident, name, action, true, message);
            }
            Err(message) => self.finish_action(incident, name, action, false, message),
        }
    }

    fn undo(&mut self, incident: IncidentId, action: ActionId) {
        let Some(rec) = self.incidents.get_mut(&incident) else {
            return;
        };
        let Some(repair) = rec.undo.remove(&action) else {
            self.emit(Event::Notice(format!(
                "{} cannot be undone for incident {incident}",
                action.id()
            )));
            return;
        };
        let service = rec.service.clone();
        match system::config::restore(&repair) {
            Ok(m) => self.system_log(&service, format!("undone: {m}")),
            Err(e) => self.emit(Event::Notice(format!("undo failed: {e}"))),
        }
    }
}

mod effects;

/// `expect` that cannot fail by construction but must not panic in release: used only right after
/// the same key was looked up in the same function.
trait ExpectOrLog<T> {
    fn expect_or_log(self) -> T;
}

impl<T> ExpectOrLog<T> for Option<T> {
    #[allow(clippy::expect_used)]
    fn expect_or_log(self) -> T {
        self.expect("service looked up just before")
    }
}

fn uses_port_of(spec: &Service, other: &str) -> bool {
    let url = match &spec.ready {
        Ready::Http(u) => Some(u),
        _ => None,
    };
    spec.command
        .iter()
        .chain(spec.env.values())
        .chain(url)
        .any(|t| placeholders(t).contains(&Placeholder::Port(Some(other.to_string()))))
}

fn synthetic(t: ErrorType, message: String, facts: Facts) -> Incident {
    Incident {
        error_type: t,
        line: 0,
        message,
        facts,
        rule_id: None,
        first_line: 0,
        context: Vec::new(),
    }
}

fn port_conflict_incident(
    name: &str,
    host: &str,
    port: u16,
    holder: Option<&PortHolder>,
) -> Incident {
    let mut facts = Facts::new();
    facts.insert("port", Fact::Int(i64::from(port)));
    facts.insert("host", Fact::Text(host.to_string()));
    let who = match holder {
        Some(h) => {
            facts.insert("pid", Fact::Int(i64::from(h.pid)));
            facts.insert("process", Fact::Text(h.name.clone()));
            if let Some(u) = &h.user {
                facts.insert("user", Fact::Text(u.clone()));
            }
            let ours = if h.ours {
                ", a leftover of this service from an earlier run"
            } else {
                ""
            };
            format!("pid {} ({}: {}){ours}", h.pid, h.name, h.command)
        }
        None => {
            "a process Startup Medic cannot see (another user's, or a socket in TIME_WAIT)".into()
        }
    };
    synthetic(
        ErrorType::PortConflict,
        format!("{name}: port {port} on {host} is held by {who}"),
        facts,
    )
}

/// Consent needed for this action here: stopping our own leftover needs none.
fn effective_consent(action: ActionId, holder: Option<&PortHolder>) -> bool {
    if action == ActionId::KillProcessOnPort && holder.is_some_and(|h| h.ours) {
        return false;
    }
    action.needs_consent()
}

/// Exactly what an action will do, for consent dialogs and gave-up reasons.
fn plan_text(action: ActionId, incident: &Incident, holder: Option<&PortHolder>) -> String {
    match action {
        ActionId::KillProcessOnPort => match holder {
            Some(h) => format!(
                "stop pid {} ({}) owned by {}: {}",
                h.pid,
                h.name,
                h.user.as_deref().unwrap_or("unknown user"),
                h.command
            ),
            None => "stop the process holding the port".into(),
        },
        ActionId::InstallMissingDependencies => match incident.facts.text("module") {
            Some(m) => format!(
                "install {} (for import {m}) with the service's pip or npm",
                system::install::python_distribution(m)
            ),
            None => "run npm install in the service's directory".into(),
        },
        ActionId::CreateVirtualEnvironment => {
            "create .venv in the service's directory and install its requirements".into()
        }
        ActionId::RepairConfigFile => format!(
            "back up {} beside itself, then repair it",
            incident
                .facts
                .text("path")
                .unwrap_or("the service's configuration file")
        ),
        ActionId::SuggestFirewallException => format!(
            "run: {}",
            system::firewall::allow_command(incident.facts.port().unwrap_or(0)).join(" ")
        ),
        other => other.info().description.to_string(),
    }
}
