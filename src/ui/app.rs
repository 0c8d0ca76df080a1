//! The eframe application: wires the worker, the tray, single-instance requests and notifications
//! to the [`AppState`], and lays out the panels. Each frame: drain events within a budget, apply the
//! person's intents as commands, draw. Nothing repaints unless an event, an input or a countdown
//! asks for it, so an idle stack costs next to no CPU.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use crate::engine::rules::Classifier;
use crate::profile::Profile;
use crate::protocol::{Command, Event, ServiceState};
use crate::settings::{AutoFixPolicy, Settings, Theme};
use crate::store::{FALLBACKS_FILE, SETTINGS_FILE, Store};
use crate::ui::fallbacks::FallbackEditor;
use crate::ui::fallbacks::fallbacks_ui;
use crate::ui::incidents::{consent_ui, incidents_ui};
use crate::ui::logs::logs_ui;
use crate::ui::patterns::patterns_ui;
use crate::ui::profile_editor::ProfileEditor;
use crate::ui::profile_editor::profile_ui;
use crate::ui::services::services_ui;
use crate::ui::settings::diagnostics;
use crate::ui::settings::settings_ui;
use crate::ui::state::Request;
use crate::ui::state::{AppState, Tab};
use crate::ui::tray::{Tray, TrayAction};
use crate::ui::worker::Worker;
use crate::ui::{instance, theme};

/// Time per frame spent applying events.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(10);
/// eframe storage key of the last profile opened.
pub const LAST_PROFILE_KEY: &str = "last_profile";

/// What to open.
pub struct Launch {
    /// The profile.
    pub profile: Profile,
    /// Problems met while choosing it (shown as notices).
    pub notices: Vec<String>,
    /// The state directory.
    pub store: Option<Store>,
    /// The settings.
    pub settings: Settings,
    /// The single-instance claim, if any.
    pub instance: Option<instance::Primary>,
    /// Start the stack at once.
    pub autostart: bool,
    /// Recently opened profiles, newest first.
    pub recent: Vec<PathBuf>,
}

/// eframe storage key of the recent profiles (one path per line).
pub const RECENT_KEY: &str = "recent_profiles";
const MAX_RECENT: usize = 8;

/// The running application.
pub struct MedicApp {
    /// What the window shows.
    pub state: AppState,
    store: Option<Store>,
    classifier: Classifier,
    /// A profile waiting for the old stack to stop (the thread stopping it).
    pending_switch: Option<(Profile, std::thread::JoinHandle<()>)>,
    worker: Option<Worker>,
    tray: Option<Tray>,
    instance: Option<instance::Primary>,
    visible: bool,
    quitting: bool,
    notify_failed: bool,
    /// Set when the process got SIGTERM/SIGINT/SIGHUP (Ctrl+C, logout, `kill`): quit as the tray's
    /// Quit does, stopping the services, instead of dying and leaving them running.
    stop_signal: Arc<AtomicBool>,
}

impl MedicApp {
    /// Builds the app, starts the worker (and the stack, when asked) and the tray.
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> MedicApp {
        let ctx = cc.egui_ctx.clone();
        apply_theme(&ctx, launch.settings.theme);
        let mut state = AppState::new(
            &launch.profile,
            launch.settings.log_buffer_lines,
            launch.settings.auto_fix,
        );
        state.recent = launch.recent;
        for n in launch.notices {
            state.apply(Event::Notice(n), Instant::now());
        }
        let mut warnings = Vec::new();
        let classifier =
            crate::cli::load_classifier(launch.store.as_ref(), &mut |w| warnings.push(w));
        let (_, fallbacks) =
            crate::cli::load_settings(launch.store.as_ref(), &mut |w| warnings.push(w));
        for w in warnings {
            state.apply(Event::Notice(w), Instant::now());
        }
        state.fallback_editor = FallbackEditor::new(fallbacks);
        state.settings = launch.settings.clone();
        state.settings_draft = launch.settings.clone();
        let tray_ctx = ctx.clone();
        let tray = match Tray::create(move || tray_ctx.request_repaint()) {
            Ok(t) => Some(t),
            Err(e) => {
                let note = format!(
                    "No system tray is available ({e}); closing the window quits Startup Medic and stops the services."
                );
                tracing::info!("{note}");
                state.apply(Event::Notice(note), Instant::now());
                None
            }
        };
        if let Some(i) = &launch.instance {
            let c = ctx.clone();
            i.set_waker(move || c.request_repaint());
        }
        let stop_signal = Arc::new(AtomicBool::new(false));
        watch_stop_signals(stop_signal.clone(), ctx.clone());
        let mut app = MedicApp {
            state,
            store: launch.store,
            classifier,
            pending_switch: None,
            worker: None,
            tray,
            instance: launch.instance,
            visible: true,
            quitting: false,
            notify_failed: false,
            stop_signal,
        };
        app.start_worker(&ctx, launch.profile, launch.autostart);
        app
    }

    fn start_worker(&mut self, ctx: &egui::Context, profile: Profile, autostart: bool) {
        let opts = crate::supervisor::Options {
            auto_fix: self.state.settings.auto_fix,
            backoff: self.state.settings.backoff.clone(),
            fallbacks: self.state.fallback_editor.saved.clone(),
            store: self.store.clone(),
            run_id: crate::supervisor::new_run_id(),
            stop_grace: Duration::from_secs(5),
            classifier: self.classifier.clone(),
        };
        let wake_ctx = ctx.clone();
        match Worker::spawn(profile, opts, move || wake_ctx.request_repaint()) {
            Ok(w) => self.worker = Some(w),
            Err(e) => self.state.apply(
                Event::Notice(format!("cannot start the supervisor thread: {e}")),
                Instant::now(),
            ),
        }
        if autostart {
            self.state.send(Command::Start(None));
        }
    }

    /// Stops the running stack (on a helper thread, so the window stays responsive) and runs
    /// `profile` once it has stopped.
    fn switch_profile(&mut self, profile: Profile) {
        if self.pending_switch.is_some() {
            self.state.apply(
                Event::Notice("still stopping the previous stack; try again in a moment".into()),
                Instant::now(),
            );
            return;
        }
        if let Some(p) = &profile.path {
            self.state.recent.retain(|r| r != p);
            self.state.recent.insert(0, p.clone());
            self.state.recent.truncate(MAX_RECENT);
        }
        let old = self.worker.take();
        let handle = std::thread::spawn(move || drop(old));
        self.state.apply(
            Event::Notice(format!(
                "stopping the current stack to open \"{}\"",
                profile.name
            )),
            Instant::now(),
        );
        self.pending_switch = Some((profile, handle));
    }

    fn finish_switch(&mut self, ctx: &egui::Context) {
        if !self
            .pending_switch
            .as_ref()
            .is_some_and(|(_, h)| h.is_finished())
        {
            if self.pending_switch.is_some() {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
            return;
        }
        let Some((profile, handle)) = self.pending_switch.take() else {
            return;
        };
        let _ = handle.join();
        let mut state = AppState::new(
            &profile,
            self.state.settings.log_buffer_lines,
            self.state.settings.auto_fix,
        );
        state.recent = std::mem::take(&mut self.state.recent);
        state.fallback_editor = self.state.fallback_editor.clone();
        state.settings = self.state.settings.clone();
        state.settings_draft = self.state.settings.clone();
        state.patterns = std::mem::take(&mut self.state.patterns);
        state.tab = self.state.tab;
        self.state = state;
        self.start_worker(ctx, profile, true);
    }

    fn notice(&mut self, text: String) {
        self.state.apply(Event::Notice(text), Instant::now());
    }

    fn handle_requests(&mut self, ctx: &egui::Context) {
        for request in std::mem::take(&mut self.state.requests) {
            match request {
                Request::ExportPatterns { json } => {
                    let text = if json {
                        serde_json::to_string_pretty(&self.state.patterns)
                            .map_err(|e| e.to_string())
                    } else {
                        ron::ser::to_string_pretty(
                            &self.state.patterns,
                            ron::ser::PrettyConfig::default(),
                        )
                        .map_err(|e| e.to_string())
                    };
                    let name = if json {
                        "patterns.json"
                    } else {
                        "patterns.ron"
                    };
                    match text {
                        Ok(t) => self.write_chosen_file(
                            name,
                            if json { "json" } else { "ron" },
                            &t,
                            "learned patterns",
                        ),
                        Err(e) => self.notice(format!("cannot export the patterns: {e}")),
                    }
                }
                Request::SaveFallbacks(f) => match self
                    .store
                    .as_ref()
                    .map(|s| (s.save(FALLBACKS_FILE, &*f), s.path(FALLBACKS_FILE)))
                {
                    Some((Ok(()), path)) => {
                        self.state.fallback_editor.mark_saved();
                        self.state.send(Command::SetFallbacks(f));
                        self.notice(format!(
                            "fallback configuration saved; used from the next recovery on: {}",
                            path.display()
                        ));
                    }
                    Some((Err(e), _)) => {
                        self.notice(format!("the fallback configuration was not saved: {e}"))
                    }
                    None => self.notice(
                        "there is no state directory to save the fallback configuration in".into(),
                    ),
                },
                Request::SaveSettings(new) => match self
                    .store
                    .as_ref()
                    .map(|s| (s.save(SETTINGS_FILE, &*new), s.path(SETTINGS_FILE)))
                {
                    Some((Ok(()), path)) => {
                        if new.auto_fix != self.state.settings.auto_fix {
                            self.state.send(Command::SetAutoFix(new.auto_fix));
                        }
                        if new.backoff != self.state.settings.backoff {
                            self.state.send(Command::SetBackoff(new.backoff.clone()));
                        }
                        self.state.logs.set_capacity(new.log_buffer_lines);
                        apply_theme(ctx, new.theme);
                        self.state.settings = (*new).clone();
                        self.state.settings_draft = *new;
                        self.notice(format!("settings saved and applied: {}", path.display()));
                    }
                    Some((Err(e), _)) => self.notice(format!("the settings were not saved: {e}")),
                    None => {
                        self.notice("there is no state directory to save the settings in".into())
                    }
                },
                Request::OpenProfileDialog => match file_dialog() {
                    Some(d) => {
                        if let Some(path) =
                            d.add_filter("Startup Medic profile", &["ron"]).pick_file()
                        {
                            self.state.requests.push(Request::OpenProfile(path));
                        }
                    }
                    None => self.no_dialog("open a profile"),
                },
                Request::OpenProfile(path) => match Profile::load(&path) {
                    Ok(p) => {
                        self.state.profile_editor = ProfileEditor::new(p.clone(), Vec::new());
                        self.switch_profile(p);
                    }
                    Err(e) => self.notice(e.to_string()),
                },
                Request::NewProfileFromFolder => match file_dialog() {
                    Some(d) => {
                        if let Some(dir) = d.pick_folder() {
                            self.state.requests.push(Request::DetectFolder(dir));
                        }
                    }
                    None => self.no_dialog("pick a project folder"),
                },
                Request::DetectFolder(dir) => {
                    let found = crate::detect::detect(&dir);
                    let mut profile = found.profile;
                    profile.path = Some(dir.join("startup-medic.ron"));
                    let n = profile.services.len();
                    self.state.profile_editor = ProfileEditor::new(profile, found.notes);
                    self.state.tab = Tab::Profile;
                    self.notice(format!(
                        "{n} service(s) proposed for {}; check them, then Save or Apply",
                        dir.display()
                    ));
                }
                Request::SaveProfile { profile, choose } => {
                    let target = if choose || profile.path.is_none() {
                        match file_dialog() {
                            Some(d) => d
                                .add_filter("Startup Medic profile", &["ron"])
                                .set_file_name("startup-medic.ron")
                                .save_file(),
                            None => {
                                self.no_dialog("choose where to save");
                                None
                            }
                        }
                    } else {
                        profile.path.clone()
                    };
                    if let Some(path) = target {
                        match crate::profile::save(&profile, &path) {
                            Ok(()) => {
                                self.state.profile_editor.draft.path = Some(path.clone());
                                self.state.recent.retain(|r| *r != path);
                                self.state.recent.insert(0, path.clone());
                                self.state.recent.truncate(MAX_RECENT);
                                self.notice(format!("profile saved: {}", path.display()));
                            }
                            Err(e) => self.notice(e),
                        }
                    }
                }
                Request::ApplyProfile(p) => self.switch_profile(*p),
                Request::CopyDiagnostics => {
                    ctx.copy_text(diagnostics(&self.state, &self.state.profile));
                    self.notice(
                        "diagnostics copied to the clipboard (nothing was sent anywhere)".into(),
                    );
                }
                Request::SaveDiagnostics => {
                    let text = diagnostics(&self.state, &self.state.profile);
                    self.write_chosen_file(
                        "startup-medic-diagnostics.txt",
                        "txt",
                        &text,
                        "diagnostics",
                    );
                }
            }
        }
    }

    fn no_dialog(&mut self, what: &str) {
        self.notice(format!(
            "no file dialog is available here (xdg-desktop-portal is not running), so I cannot {what}; type the path in the Profile tab, or start with --profile FILE"
        ));
    }

    /// Writes `text` where the person chooses; without a file dialog, into the state directory.
    fn write_chosen_file(&mut self, name: &str, ext: &str, text: &str, what: &str) {
        let path = match file_dialog() {
            Some(d) => match d.add_filter(ext, &[ext]).set_file_name(name).save_file() {
                Some(p) => p,
                None => return,
            },
            None => match &self.store {
                Some(s) => {
                    let stamp = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    s.path(&format!("{stamp}-{name}"))
                }
                None => {
                    self.notice(format!(
                        "cannot save the {what}: no file dialog and no state directory"
                    ));
                    return;
                }
            },
        };
        match crate::store::write_atomic(&path, text.as_bytes()) {
            Ok(()) => self.notice(format!("{what} saved: {}", path.display())),
            Err(e) => self.notice(format!("cannot save the {what}: {e}: {}", path.display())),
        }
    }

    fn flush_outbox(&mut self) {
        for command in std::mem::take(&mut self.state.outbox) {
            let sent = self
                .worker
                .as_ref()
                .is_some_and(|w| w.send(command.clone()));
            if !sent {
                self.state.apply(
                    crate::protocol::Event::Notice(format!(
                        "the supervisor has ended; {command:?} was not sent"
                    )),
                    Instant::now(),
                );
            }
        }
    }

    fn show_window(&mut self, ctx: &egui::Context, show: bool) {
        self.visible = show;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(show));
        if show {
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }
    }

    fn quit(&mut self, ctx: &egui::Context) {
        self.quitting = true;
        if let Some(mut w) = self.worker.take() {
            w.shutdown();
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn deliver_notifications(&mut self, in_view: bool) {
        let pending = std::mem::take(&mut self.state.notifications);
        if in_view || !self.state.settings.notifications || self.notify_failed {
            return;
        }
        for n in pending {
            match notify_rust::Notification::new()
                .appname("Startup Medic")
                .summary(&n.title)
                .body(&n.body)
                .show()
            {
                Ok(_) => {}
                Err(e) => {
                    self.notify_failed = true;
                    self.state.apply(
                        crate::protocol::Event::Notice(format!("desktop notifications are not available here ({e}); they are off for this session")),
                        Instant::now(),
                    );
                    break;
                }
            }
        }
    }
}

/// A file dialog, or None where none can be shown (on Linux: no xdg-desktop-portal on the session bus;
/// rfd would then return "cancelled" and the person would not know why).
fn file_dialog() -> Option<rfd::FileDialog> {
    #[cfg(target_os = "linux")]
    {
        let portal = "org.freedesktop.portal.Desktop";
        // The portal may not run yet but be started on demand.
        if !(crate::ui::session_bus_has(portal).ok()?
            || crate::ui::session_bus_can_activate(portal).ok()?)
        {
            return None;
        }
    }
    Some(rfd::FileDialog::new())
}

/// Applies the theme setting.
pub fn apply_theme(ctx: &egui::Context, t: Theme) {
    ctx.set_theme(match t {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    });
}

/// Waits on its own thread for a stop signal, then raises `flag` and wakes the window. Should the
/// window not get to quitting (a wedged frame), the process exits after a grace period anyway.
fn watch_stop_signals(flag: Arc<AtomicBool>, ctx: egui::Context) {
    let spawned = std::thread::Builder::new()
        .name("stop-signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(crate::cli::wait_for_stop_signal());
            flag.store(true, Ordering::Relaxed);
            ctx.request_repaint();
            std::thread::sleep(Duration::from_secs(30));
            tracing::warn!("the window did not quit within 30 s of the stop signal; exiting");
            std::process::exit(1);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot watch for stop signals: {e}");
    }
}

impl eframe::App for MedicApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        if let Some(w) = &self.worker {
            let state = &mut self.state;
            let more = w.drain(DRAIN_BUDGET, |e| state.apply(e, now));
            if more {
                ctx.request_repaint();
            }
        }
        if let Some(tray) = &self.tray {
            for action in tray.poll() {
                match action {
                    TrayAction::ToggleWindow => {
                        let show = !self.visible;
                        self.show_window(ctx, show);
                    }
                    TrayAction::StartAll => self.state.send(Command::Start(None)),
                    TrayAction::StopAll => self.state.send(Command::Stop(None)),
                    TrayAction::Quit => self.quit(ctx),
                }
            }
        }
        if self.stop_signal.load(Ordering::Relaxed) && !self.quitting {
            tracing::info!("stop signal: stopping the services and quitting");
            self.quit(ctx);
        }
        if self
            .instance
            .as_ref()
            .is_some_and(|i| i.take_show_request())
        {
            self.show_window(ctx, true);
        }
        self.handle_requests(ctx);
        self.finish_switch(ctx);
        self.flush_outbox();
        let focused = ctx.input(|i| i.viewport().focused).unwrap_or(true);
        self.deliver_notifications(self.visible && focused);
        let health = self.state.health();
        let c = self.state.counts();
        let tooltip = format!(
            "Startup Medic — {}: {} ready, {} failed",
            self.state.profile.name, c.ready, c.failed
        );
        if let Some(t) = &mut self.tray {
            t.set_health(health, &tooltip);
        }
        if self.state.finished && self.quitting {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        if ctx.input(|i| i.viewport().close_requested()) && !self.quitting {
            if self.tray.is_some() && self.state.settings.close_to_tray {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.show_window(&ctx, false);
            } else {
                self.quit(&ctx);
            }
        }
        let now = Instant::now();
        app_ui(ui, &mut self.state, now);
        self.handle_requests(&ctx);
        self.flush_outbox();
        // A hidden window never redraws by itself; events still wake `logic`.
        if self.visible
            && let Some(after) = next_tick(&self.state, now)
        {
            ui.ctx().request_repaint_after(after);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Some(p) = &self.state.profile.path {
            storage.set_string(LAST_PROFILE_KEY, p.to_string_lossy().into_owned());
        }
        let recent: Vec<String> = self
            .state
            .recent
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        storage.set_string(RECENT_KEY, recent.join("\n"));
    }

    fn on_exit(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.shutdown();
        }
    }
}

/// The whole window from plain state (tests drive this without a worker).
pub fn app_ui(ui: &mut Ui, state: &mut AppState, now: Instant) {
    egui::Panel::bottom("status").show(ui, |ui| status_ui(ui, state));
    egui::Panel::left("services")
        .resizable(true)
        .default_size(theme::SERVICES_PANEL_WIDTH)
        .show(ui, |ui| {
            services_ui(ui, state, now);
        });
    // The incidents sit beside the logs; the other tabs need the width for their tables and forms.
    if state.tab == Tab::Logs {
        egui::Panel::right("incidents")
            .resizable(true)
            .default_size(theme::INCIDENTS_PANEL_WIDTH)
            .show(ui, |ui| {
                incidents_ui(ui, state, now);
            });
    }
    egui::CentralPanel::default().show(ui, |ui| {
        ui.horizontal(|ui| {
            let open = state.incidents.iter().filter(|c| !c.resolved()).count();
            let logs_label = if open > 0 && state.tab != Tab::Logs {
                format!("Logs & incidents ({open} open)")
            } else {
                "Logs & incidents".into()
            };
            for (tab, label) in [
                (Tab::Logs, logs_label.as_str()),
                (Tab::Patterns, "Patterns"),
                (Tab::Fallbacks, "Fallbacks"),
                (Tab::Profile, "Profile"),
                (Tab::Settings, "Settings"),
            ] {
                ui.selectable_value(&mut state.tab, tab, RichText::new(label).strong());
            }
        });
        ui.separator();
        match state.tab {
            Tab::Logs => {
                let AppState { logs, log_view, .. } = state;
                logs_ui(ui, logs, log_view);
            }
            Tab::Patterns => patterns_ui(ui, state),
            Tab::Fallbacks => fallbacks_ui(ui, state),
            Tab::Profile => profile_ui(ui, state),
            Tab::Settings => settings_ui(ui, state),
        }
    });
    consent_ui(ui.ctx(), state);
}

/// When the window must next redraw by itself: every second while a countdown runs or an uptime is
/// under a minute (shown in seconds), every 30 s while anything runs (uptimes in minutes), else never.
pub fn next_tick(state: &AppState, now: Instant) -> Option<Duration> {
    let mut tick = None;
    for s in &state.services {
        let young = s
            .started_at
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(60));
        if matches!(s.state, ServiceState::Recovering { .. }) || young {
            return Some(Duration::from_secs(1));
        }
        if !matches!(s.state, ServiceState::Stopped | ServiceState::Failed) {
            tick = Some(Duration::from_secs(30));
        }
    }
    tick
}

fn status_ui(ui: &mut Ui, state: &mut AppState) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(&state.profile.name).strong());
        if let Some(p) = &state.profile.path {
            ui.label(RichText::new(p.display().to_string()).weak());
        } else {
            ui.label(RichText::new("(embedded demo)").weak());
        }
        ui.separator();
        let mut auto = state.settings.auto_fix == AutoFixPolicy::SafeOnly;
        if ui
            .checkbox(&mut auto, "Auto-fix (safe fixes only)")
            .on_hover_text("Run fixes that need no consent by themselves, best first, with backoff")
            .changed()
        {
            state.send(Command::SetAutoFix(if auto {
                AutoFixPolicy::SafeOnly
            } else {
                AutoFixPolicy::Off
            }));
        }
        ui.separator();
        let c = state.counts();
        ui.label(RichText::new(format!("{} ready", c.ready)).color(theme::GOOD));
        ui.label(RichText::new(format!("{} starting", c.busy)).color(theme::BUSY));
        ui.label(RichText::new(format!("{} failed", c.failed)).color(theme::BAD));
        ui.label(RichText::new(format!("{} stopped", c.stopped)).color(theme::IDLE));
        if let Some(n) = state.notices.last() {
            ui.separator();
            ui.label(RichText::new(n).weak())
                .on_hover_text(state.notices.join("\n"));
        }
    });
}
