//! The eframe application: wires the worker, the tray, single-instance requests and notifications
//! to the [`AppState`], and lays out the panels. Each frame: drain events within a budget, apply the
//! person's intents as commands, draw. Nothing repaints unless an event, an input or a countdown
//! asks for it, so an idle stack costs next to no CPU.

use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use crate::profile::Profile;
use crate::protocol::{Command, ServiceState};
use crate::settings::{AutoFixPolicy, Settings, Theme};
use crate::store::Store;
use crate::ui::incidents::{consent_ui, incidents_ui};
use crate::ui::logs::logs_ui;
use crate::ui::services::services_ui;
use crate::ui::state::AppState;
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
}

/// The running application.
pub struct MedicApp {
    /// What the window shows.
    pub state: AppState,
    settings: Settings,
    worker: Option<Worker>,
    tray: Option<Tray>,
    instance: Option<instance::Primary>,
    visible: bool,
    quitting: bool,
    notify_failed: bool,
}

impl MedicApp {
    /// Builds the app, starts the worker (and the stack, when asked) and the tray.
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> MedicApp {
        let ctx = cc.egui_ctx.clone();
        apply_theme(&ctx, launch.settings.theme);
        let mut state = AppState::new(&launch.profile, launch.settings.log_buffer_lines, launch.settings.auto_fix);
        for n in launch.notices {
            state.apply(crate::protocol::Event::Notice(n), Instant::now());
        }
        let mut warnings = Vec::new();
        let classifier = crate::cli::load_classifier(launch.store.as_ref(), &mut |w| warnings.push(w));
        let (_, fallbacks) = crate::cli::load_settings(launch.store.as_ref(), &mut |w| warnings.push(w));
        for w in warnings {
            state.apply(crate::protocol::Event::Notice(w), Instant::now());
        }
        let opts = crate::supervisor::Options {
            auto_fix: launch.settings.auto_fix,
            backoff: launch.settings.backoff.clone(),
            fallbacks,
            store: launch.store,
            run_id: crate::supervisor::new_run_id(),
            stop_grace: Duration::from_secs(5),
            classifier,
        };
        let wake_ctx = ctx.clone();
        let worker = match Worker::spawn(launch.profile, opts, move || wake_ctx.request_repaint()) {
            Ok(w) => Some(w),
            Err(e) => {
                state.apply(crate::protocol::Event::Notice(format!("cannot start the supervisor thread: {e}")), Instant::now());
                None
            }
        };
        if launch.autostart {
            state.send(Command::Start(None));
        }
        let tray_ctx = ctx.clone();
        let tray = match Tray::create(move || tray_ctx.request_repaint()) {
            Ok(t) => Some(t),
            Err(e) => {
                let note = format!(
                    "No system tray is available ({e}); closing the window quits Startup Medic and stops the services."
                );
                tracing::info!("{note}");
                state.apply(crate::protocol::Event::Notice(note), Instant::now());
                None
            }
        };
        if let Some(i) = &launch.instance {
            let c = ctx.clone();
            i.set_waker(move || c.request_repaint());
        }
        MedicApp {
            state,
            settings: launch.settings,
            worker,
            tray,
            instance: launch.instance,
            visible: true,
            quitting: false,
            notify_failed: false,
        }
    }

    fn flush_outbox(&mut self) {
        for command in std::mem::take(&mut self.state.outbox) {
            let sent = self.worker.as_ref().is_some_and(|w| w.send(command.clone()));
            if !sent {
                self.state.apply(
                    crate::protocol::Event::Notice(format!("the supervisor has ended; {command:?} was not sent")),
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
        if in_view || !self.settings.notifications || self.notify_failed {
            return;
        }
        for n in pending {
            match notify_rust::Notification::new().appname("Startup Medic").summary(&n.title).body(&n.body).show() {
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

/// Applies the theme setting.
pub fn apply_theme(ctx: &egui::Context, t: Theme) {
    ctx.set_theme(match t {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    });
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
        if self.instance.as_ref().is_some_and(|i| i.take_show_request()) {
            self.show_window(ctx, true);
        }
        self.flush_outbox();
        let focused = ctx.input(|i| i.viewport().focused).unwrap_or(true);
        self.deliver_notifications(self.visible && focused);
        let health = self.state.health();
        let c = self.state.counts();
        let tooltip = format!("Startup Medic — {}: {} ready, {} failed", self.state.profile_name, c.ready, c.failed);
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
            if self.tray.is_some() && self.settings.close_to_tray {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.show_window(&ctx, false);
            } else {
                self.quit(&ctx);
            }
        }
        let now = Instant::now();
        app_ui(ui, &mut self.state, now);
        self.flush_outbox();
        // A hidden window never redraws by itself; events still wake `logic`.
        if self.visible
            && let Some(after) = next_tick(&self.state, now)
        {
            ui.ctx().request_repaint_after(after);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Some(p) = &self.state.profile_path {
            storage.set_string(LAST_PROFILE_KEY, p.to_string_lossy().into_owned());
        }
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
    egui::Panel::left("services").resizable(true).default_size(theme::SERVICES_PANEL_WIDTH).show(ui, |ui| {
        services_ui(ui, state, now);
    });
    egui::Panel::right("incidents").resizable(true).default_size(theme::INCIDENTS_PANEL_WIDTH).show(ui, |ui| {
        incidents_ui(ui, state, now);
    });
    egui::CentralPanel::default().show(ui, |ui| {
        let AppState { logs, log_view, .. } = state;
        logs_ui(ui, logs, log_view);
    });
    consent_ui(ui.ctx(), state);
}

/// When the window must next redraw by itself: every second while a countdown runs or an uptime is
/// under a minute (shown in seconds), every 30 s while anything runs (uptimes in minutes), else never.
pub fn next_tick(state: &AppState, now: Instant) -> Option<Duration> {
    let mut tick = None;
    for s in &state.services {
        let young = s.started_at.is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(60));
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
        ui.label(RichText::new(&state.profile_name).strong());
        if let Some(p) = &state.profile_path {
            ui.label(RichText::new(p.display().to_string()).weak());
        } else {
            ui.label(RichText::new("(embedded demo)").weak());
        }
        ui.separator();
        let mut auto = state.auto_fix == AutoFixPolicy::SafeOnly;
        if ui.checkbox(&mut auto, "Auto-fix (safe fixes only)").on_hover_text("Run fixes that need no consent by themselves, best first, with backoff").changed() {
            state.send(Command::SetAutoFix(if auto { AutoFixPolicy::SafeOnly } else { AutoFixPolicy::Off }));
        }
        ui.separator();
        let c = state.counts();
        ui.label(RichText::new(format!("{} ready", c.ready)).color(theme::GOOD));
        ui.label(RichText::new(format!("{} starting", c.busy)).color(theme::BUSY));
        ui.label(RichText::new(format!("{} failed", c.failed)).color(theme::BAD));
        ui.label(RichText::new(format!("{} stopped", c.stopped)).color(theme::IDLE));
        if let Some(n) = state.notices.last() {
            ui.separator();
            ui.label(RichText::new(n).weak()).on_hover_text(state.notices.join("\n"));
        }
    });
}
