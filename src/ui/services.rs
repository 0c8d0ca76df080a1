//! The services side panel: one row per service with its state, port, pid, uptime and restarts,
//! per-service and all-services controls, and a link to open it in the browser.

use std::time::Instant;

use egui::{RichText, Ui};

use crate::protocol::{Command, ServiceState};
use crate::ui::state::AppState;
use crate::ui::theme;

fn uptime(since: Option<Instant>, now: Instant) -> String {
    let Some(t) = since else { return "—".into() };
    let s = now.saturating_duration_since(t).as_secs();
    // Seconds only while under a minute, so a running stack redraws twice a minute, not every second.
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Draws the panel's contents.
pub fn services_ui(ui: &mut Ui, state: &mut AppState, now: Instant) {
    ui.horizontal(|ui| {
        ui.heading("Services");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Restart all").clicked() {
                state.send(Command::Restart(None));
            }
            if ui.button("Stop all").clicked() {
                state.send(Command::Stop(None));
            }
            if ui.button("Start all").clicked() {
                state.send(Command::Start(None));
            }
        });
    });
    ui.separator();
    let mut commands = Vec::new();
    let mut open = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for svc in &state.services {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        let color = theme::state_color(&svc.state);
                        let (rect, _) =
                            ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
                        ui.painter().circle_filled(rect.center(), 5.5, color);
                        ui.label(RichText::new(&svc.name).strong().size(15.0));
                        let mut label = theme::state_label(&svc.state).to_string();
                        if let Some(secs) = svc.retry_in_secs(now) {
                            label = format!("recovering — retry in {secs}s");
                        }
                        ui.label(RichText::new(label).color(color));
                    });
                    ui.horizontal(|ui| {
                        let port = match (svc.configured_port, svc.port) {
                            (Some(a), Some(b)) if a != b => format!("port {a} → {b}"),
                            (_, Some(p)) => format!("port {p}"),
                            _ => "no port".into(),
                        };
                        ui.label(RichText::new(port).monospace());
                        ui.separator();
                        ui.label(
                            svc.pid
                                .map(|p| format!("pid {p}"))
                                .unwrap_or_else(|| "pid —".into()),
                        );
                        ui.separator();
                        ui.label(format!("up {}", uptime(svc.started_at, now)));
                        ui.separator();
                        ui.label(format!("restarts {}", svc.restarts));
                    });
                    ui.horizontal(|ui| {
                        let running =
                            !matches!(svc.state, ServiceState::Stopped | ServiceState::Failed);
                        if ui
                            .add_enabled(!running, egui::Button::new("Start"))
                            .on_hover_text(format!("Start {}", svc.name))
                            .clicked()
                        {
                            commands.push(Command::Start(Some(svc.name.clone())));
                        }
                        if ui
                            .add_enabled(running, egui::Button::new("Stop"))
                            .on_hover_text(format!("Stop {}", svc.name))
                            .clicked()
                        {
                            commands.push(Command::Stop(Some(svc.name.clone())));
                        }
                        if ui
                            .button("Restart")
                            .on_hover_text(format!("Restart {}", svc.name))
                            .clicked()
                        {
                            commands.push(Command::Restart(Some(svc.name.clone())));
                        }
                        if let Some(url) = svc.url()
                            && svc.state == ServiceState::Ready
                            && ui.link(&url).on_hover_text("Open in the browser").clicked()
                        {
                            open = Some(url);
                        }
                    });
                });
            }
        });
    for c in commands {
        state.send(c);
    }
    if let Some(url) = open {
        ui.ctx().open_url(egui::OpenUrl::new_tab(url));
    }
}
