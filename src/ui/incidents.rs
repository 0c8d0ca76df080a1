//! Incident cards: what failed and why, the facts (port, holder, module…), the grouped log lines,
//! and the ranked fixes as buttons, best first, each with its reason and risk. Risky fixes go through
//! a consent dialog that says exactly what will happen. While a fix runs: a spinner and its output;
//! afterwards its result and Undo where possible; when everything failed, the manual steps.

use std::time::Instant;

use egui::{Color32, RichText, Ui};

use crate::engine::Fact;
use crate::engine::actions::Risk;
use crate::protocol::Command;
use crate::ui::state::{AppState, IncidentView};
use crate::ui::theme;

fn badge(ui: &mut Ui, text: &str, color: Color32) {
    egui::Frame::new()
        .fill(color)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(Color32::WHITE).strong());
        });
}

fn time_of_day(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::engine::time::rfc3339_utc(secs)
        .get(11..19)
        .unwrap_or("")
        .to_string()
}

/// Draws every incident card, newest first.
pub fn incidents_ui(ui: &mut Ui, state: &mut AppState, now: Instant) {
    let open = state.incidents.iter().filter(|c| !c.resolved()).count();
    ui.horizontal(|ui| {
        ui.heading("Incidents");
        ui.label(
            RichText::new(format!(
                "{open} open, {} fixed",
                state.incidents.len() - open
            ))
            .weak(),
        );
        if !state.incidents.is_empty() && ui.button("Clear fixed").clicked() {
            state.incidents.retain(|c| !c.resolved());
        }
    });
    ui.separator();
    if state.incidents.is_empty() {
        ui.label(
            RichText::new(
                "No incidents. When a service fails to start, the cause and the fixes appear here.",
            )
            .weak(),
        );
        return;
    }
    let mut chosen = Vec::new();
    let mut commands = Vec::new();
    egui::ScrollArea::vertical()
        .id_salt("incidents")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for card in state.incidents.iter_mut().rev() {
                card_ui(ui, card, now, &mut chosen, &mut commands);
                ui.add_space(6.0);
            }
        });
    for (incident, action) in chosen {
        state.choose_action(incident, action);
    }
    for c in commands {
        state.send(c);
    }
}

fn card_ui(
    ui: &mut Ui,
    card: &mut IncidentView,
    now: Instant,
    chosen: &mut Vec<(u64, crate::engine::actions::ActionId)>,
    commands: &mut Vec<Command>,
) {
    let t = card.incident.error_type;
    let stroke_color = if card.resolved() {
        theme::GOOD
    } else {
        theme::error_type_color(t)
    };
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.5, stroke_color))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                badge(ui, t.label(), theme::error_type_color(t));
                ui.label(RichText::new(&card.service).strong());
                ui.label(RichText::new(time_of_day(card.at)).weak());
                if card.resolved() {
                    badge(ui, "fixed", theme::GOOD);
                }
            });
            ui.label(
                RichText::new(crate::engine::classify::strip_ansi_str(
                    &card.incident.message,
                ))
                .monospace(),
            );

            // Facts, with the holder spelled out.
            ui.horizontal_wrapped(|ui| {
                for (k, v) in card.incident.facts.0.iter() {
                    let v = match v {
                        Fact::Int(n) => n.to_string(),
                        Fact::Text(s) => s.clone(),
                    };
                    ui.label(RichText::new(format!("{k}: {v}")).code());
                }
            });
            if let Some(h) = &card.holder {
                let who = if h.ours {
                    "a leftover of this service, started by Startup Medic"
                } else {
                    "another program"
                };
                ui.label(format!(
                    "Held by pid {} ({}){} — {who}",
                    h.pid,
                    h.name,
                    h.user
                        .as_deref()
                        .map(|u| format!(", user {u}"))
                        .unwrap_or_default()
                ));
                ui.label(RichText::new(&h.command).monospace().weak());
            }
            if !card.incident.context.is_empty() {
                let id = ui.make_persistent_id(("incident-context", card.id));
                egui::CollapsingHeader::new(format!("Log lines ({})", card.incident.context.len()))
                    .id_salt(id)
                    .show(ui, |ui| {
                        for l in &card.incident.context {
                            ui.label(
                                RichText::new(crate::engine::classify::strip_ansi_str(l))
                                    .monospace()
                                    .small(),
                            );
                        }
                    });
            }

            // Running action: spinner and live output.
            if let Some((action, since)) = card.running {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "{} … {}s",
                        action.info().label,
                        now.saturating_duration_since(since).as_secs()
                    ));
                });
                output_ui(ui, &card.output);
            }

            // Results.
            for r in &card.results {
                ui.horizontal(|ui| {
                    let (mark, color) = if r.success {
                        ("Worked:", theme::GOOD)
                    } else {
                        ("Did not work:", theme::BAD)
                    };
                    ui.label(
                        RichText::new(format!("{mark} {}", r.action.info().label))
                            .color(color)
                            .strong(),
                    );
                    ui.label(&r.message);
                    if r.undoable
                        && ui
                            .button("Undo")
                            .on_hover_text("Restore the backup this fix made")
                            .clicked()
                    {
                        commands.push(Command::Undo {
                            incident: card.id,
                            action: r.action,
                        });
                    }
                });
            }
            if card.running.is_none() && !card.results.is_empty() && !card.output.is_empty() {
                egui::CollapsingHeader::new("Output of the last fix")
                    .id_salt(("fix-output", card.id))
                    .show(ui, |ui| output_ui(ui, &card.output));
            }

            // Ranked fixes.
            if !card.resolved() {
                if !card.actions.is_empty() {
                    ui.label(RichText::new("Fixes, best first").weak());
                }
                let busy = card.running.is_some();
                for (rank, a) in card.actions.iter().enumerate() {
                    let tried_and_failed = card
                        .results
                        .iter()
                        .any(|r| r.action == a.action && !r.success);
                    ui.horizontal(|ui| {
                        let label = format!("{}. {}", rank + 1, a.action.info().label);
                        let mut button = egui::Button::new(RichText::new(label).strong());
                        if rank == 0 && !tried_and_failed {
                            button = button.fill(ui.visuals().selection.bg_fill);
                        }
                        let description = a.action.info().description;
                        let hover = if a.plan.is_empty() || a.plan == description {
                            description.to_string()
                        } else {
                            format!("{description}\n\nThis time: {}", a.plan)
                        };
                        if ui.add_enabled(!busy, button).on_hover_text(hover).clicked() {
                            chosen.push((card.id, a.action));
                        }
                        if a.risk != Risk::Safe || a.needs_consent {
                            ui.label(
                                RichText::new(a.risk.label())
                                    .color(theme::risk_color(a.risk))
                                    .small(),
                            );
                        } else {
                            ui.label(RichText::new("safe").color(theme::GOOD).small());
                        }
                        let why = if tried_and_failed {
                            format!("tried, did not work · {}", a.why)
                        } else {
                            a.why.clone()
                        };
                        ui.label(RichText::new(why).weak().small());
                    });
                }
                if card.exhausted() || card.actions.is_empty() {
                    if let Some(reason) = &card.gave_up {
                        ui.label(
                            RichText::new(format!("Automatic recovery gave up: {reason}"))
                                .color(theme::BAD),
                        );
                    }
                    if !card.manual_steps.is_empty() {
                        ui.label(RichText::new("What you can do by hand").strong());
                        for (i, step) in card.manual_steps.iter().enumerate() {
                            ui.label(format!("{}. {step}", i + 1));
                        }
                    }
                }
            }
        });
}

fn output_ui(ui: &mut Ui, lines: &[String]) {
    egui::ScrollArea::vertical()
        .max_height(120.0)
        .stick_to_bottom(true)
        .id_salt(lines.as_ptr())
        .show(ui, |ui| {
            for l in lines {
                ui.label(RichText::new(l).monospace().small());
            }
        });
}

/// The consent dialog for a risky fix. Returns nothing; the answer goes into the state.
pub fn consent_ui(ctx: &egui::Context, state: &mut AppState) {
    let Some(req) = state.consent.clone() else {
        return;
    };
    let info = req.action.info();
    let mut answer = None;
    let modal = egui::Modal::new(egui::Id::unique("consent")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading(info.label);
        ui.label(
            RichText::new(info.risk.label())
                .color(theme::risk_color(info.risk))
                .strong(),
        );
        ui.add_space(4.0);
        ui.label("This will:");
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new(&req.plan).monospace());
        });
        ui.label(RichText::new(info.description).weak());
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(RichText::new("Proceed").strong()).clicked() {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    if modal.should_close() && answer.is_none() {
        answer = Some(false);
    }
    if let Some(a) = answer {
        state.answer_consent(a);
    }
}
