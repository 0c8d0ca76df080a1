//! The fallback-configuration editor: one tab per failure type, typed fields with validation next to
//! them, Save / Revert / Restore defaults, and a preview of what applying the fallback would change
//! for a chosen service. The file changes only on Save (atomically, by the app), and the supervisor
//! uses the saved configuration from its next recovery on.

use std::collections::{BTreeMap, BTreeSet};

use egui::{RichText, Ui};

use crate::engine::ErrorType;
use crate::engine::fallback::{FallbackConfig, Fallbacks, LaunchSpec, PortRange};
use crate::profile::Profile;
use crate::ui::state::{AppState, Request};
use crate::ui::theme;

/// Text buffers for the list fields of one tab.
#[derive(Debug, Clone, Default, PartialEq)]
struct Buffers {
    host: String,
    args: String,
    env: String,
    substitutions: String,
}

/// Editor state.
#[derive(Debug, Clone)]
pub struct FallbackEditor {
    /// What is on disk.
    pub saved: Fallbacks,
    /// What is being edited.
    pub draft: Fallbacks,
    /// The tab shown.
    pub tab: ErrorType,
    buffers: BTreeMap<ErrorType, Buffers>,
    parse_problems: BTreeMap<ErrorType, Vec<String>>,
    /// The service the preview applies to.
    pub preview_service: Option<String>,
}

fn lines(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join("\n")
}

fn buffers_of(c: &FallbackConfig) -> Buffers {
    Buffers {
        host: c.bind_host.clone().unwrap_or_default(),
        args: lines(c.extra_args.iter().cloned()),
        env: lines(c.extra_env.iter().map(|(k, v)| format!("{k}={v}"))),
        substitutions: lines(
            c.command_substitutions
                .iter()
                .map(|(k, v)| format!("{k}={v}")),
        ),
    }
}

fn parse_pairs(text: &str, field: &str, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => problems.push(format!(
                "{field}: line {}: \"{line}\" is not NAME=VALUE",
                i + 1
            )),
        }
    }
    out
}

impl FallbackEditor {
    /// An editor over the saved configurations.
    pub fn new(saved: Fallbacks) -> FallbackEditor {
        let mut e = FallbackEditor {
            draft: saved.clone(),
            saved,
            tab: ErrorType::PortConflict,
            buffers: BTreeMap::new(),
            parse_problems: BTreeMap::new(),
            preview_service: None,
        };
        e.reload_buffers();
        e
    }

    fn reload_buffers(&mut self) {
        self.buffers = ErrorType::ALL
            .iter()
            .map(|t| (*t, buffers_of(&self.draft.get(*t))))
            .collect();
        self.parse_problems.clear();
    }

    /// The draft differs from what is saved.
    pub fn dirty(&self) -> bool {
        self.draft != self.saved
    }

    fn config_mut(&mut self, t: ErrorType) -> &mut FallbackConfig {
        let current = self.draft.get(t);
        self.draft.configs.entry(t).or_insert(current)
    }

    /// Problems of one type's draft, each starting with its field name, in the context of `profile`.
    pub fn problems(&self, t: ErrorType, profile: &Profile) -> Vec<String> {
        let c = self.draft.get(t);
        let mut out = c.validate();
        for (i, r) in c.port_ranges.iter().enumerate() {
            if r.start == r.end {
                out.push(format!(
                    "port_ranges[{i}]: start {} must be below end {}",
                    r.start, r.end
                ));
            }
            for s in &profile.services {
                if let Some(p) = s.port
                    && (r.start..=r.end).contains(&p)
                {
                    out.push(format!(
                        "port_ranges[{i}]: contains {p}, the fixed port of service \"{}\"",
                        s.name
                    ));
                }
            }
        }
        if c.timeout_factor.is_some() {
            for s in &profile.services {
                if c.timeout_cap_secs < s.startup_timeout_secs {
                    out.push(format!(
                        "timeout_cap_secs: {} is below the startup timeout of service \"{}\" ({} s)",
                        c.timeout_cap_secs, s.name, s.startup_timeout_secs
                    ));
                }
            }
        }
        out.extend(self.parse_problems.get(&t).cloned().unwrap_or_default());
        out
    }

    /// True when every tab is valid.
    pub fn valid(&self, profile: &Profile) -> bool {
        ErrorType::ALL
            .iter()
            .all(|t| self.problems(*t, profile).is_empty())
    }

    /// Puts back what is saved.
    pub fn revert(&mut self) {
        self.draft = self.saved.clone();
        self.reload_buffers();
    }

    /// Restores the shipped defaults of the current tab (in the draft; Save writes them).
    pub fn restore_defaults(&mut self) {
        let t = self.tab;
        let d = Fallbacks::default().get(t);
        self.draft.configs.insert(t, d.clone());
        self.buffers.insert(t, buffers_of(&d));
        self.parse_problems.remove(&t);
    }

    /// After a successful save.
    pub fn mark_saved(&mut self) {
        self.saved = self.draft.clone();
    }

    fn apply_buffers(&mut self, t: ErrorType) {
        let Some(b) = self.buffers.get(&t).cloned() else {
            return;
        };
        let mut problems = Vec::new();
        let env = parse_pairs(&b.env, "extra_env", &mut problems);
        let subs = parse_pairs(&b.substitutions, "command_substitutions", &mut problems);
        let c = self.config_mut(t);
        c.bind_host = Some(b.host.trim().to_string()).filter(|h| !h.is_empty());
        c.extra_args = b
            .args
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        c.extra_env = env;
        c.command_substitutions = subs;
        self.parse_problems.insert(t, problems);
    }
}

fn field_problems_ui(ui: &mut Ui, problems: &[String], field: &str) {
    for p in problems.iter().filter(|p| p.starts_with(field)) {
        ui.label(RichText::new(p).color(theme::BAD).small());
    }
}

/// Draws the editor.
pub fn fallbacks_ui(ui: &mut Ui, state: &mut AppState) {
    let profile = state.profile.clone();
    let editor = &mut state.fallback_editor;
    ui.horizontal(|ui| {
        ui.heading("Fallback configuration");
        if editor.dirty() {
            ui.label(RichText::new("unsaved changes").color(theme::BUSY));
        }
    });
    ui.label(RichText::new("What the fixes change when a service fails: the ports to try, the bind host, how much more startup time, extra arguments and environment. Used from the next recovery on, once saved.").weak());
    ui.horizontal_wrapped(|ui| {
        for t in ErrorType::ALL {
            let bad = !editor.problems(t, &profile).is_empty();
            let text = if bad {
                RichText::new(t.label()).color(theme::BAD)
            } else {
                RichText::new(t.label())
            };
            ui.selectable_value(&mut editor.tab, t, text);
        }
    });
    ui.separator();
    let t = editor.tab;
    let problems = editor.problems(t, &profile);
    let mut changed_buffers = false;
    egui::ScrollArea::vertical()
        .id_salt("fallback-form")
        .auto_shrink([false, true])
        .max_height(ui.available_height() - 200.0)
        .show(ui, |ui| {
            egui::Grid::new("fallback-grid")
                .num_columns(2)
                .spacing([16.0, 8.0])
                .show(ui, |ui| {
                    let c = editor.config_mut(t);
                    let l = ui.label("Ports to try above the wanted one");
                    ui.vertical(|ui| {
                        ui.add(egui::DragValue::new(&mut c.search_above_current).range(0..=1000))
                            .labelled_by(l.id);
                        field_problems_ui(ui, &problems, "search_above_current");
                    });
                    ui.end_row();

                    ui.label("Port ranges (1024–65535)");
                    ui.vertical(|ui| {
                        let mut remove = None;
                        for (i, r) in c.port_ranges.iter_mut().enumerate() {
                            ui.horizontal(|ui| {
                                let l = ui.label("from");
                                ui.add(egui::DragValue::new(&mut r.start).range(1..=65535))
                                    .labelled_by(l.id);
                                let l = ui.label("to");
                                ui.add(egui::DragValue::new(&mut r.end).range(1..=65535))
                                    .labelled_by(l.id);
                                if ui.button("Remove").clicked() {
                                    remove = Some(i);
                                }
                            });
                        }
                        if let Some(i) = remove {
                            c.port_ranges.remove(i);
                        }
                        if ui.button("Add range").clicked() {
                            let start = c
                                .port_ranges
                                .last()
                                .map(|r| r.end.saturating_add(1000))
                                .unwrap_or(18000)
                                .clamp(1024, 65000);
                            c.port_ranges.push(PortRange {
                                start,
                                end: start.saturating_add(99),
                            });
                        }
                        field_problems_ui(ui, &problems, "port_ranges");
                    });
                    ui.end_row();

                    let factor_label = ui.label("Timeout factor");
                    ui.vertical(|ui| {
                        ui.horizontal(|ui| {
                            let mut on = c.timeout_factor.is_some();
                            if ui
                                .checkbox(&mut on, "raise the startup timeout by ×")
                                .changed()
                            {
                                c.timeout_factor = if on { Some(2.0) } else { None };
                            }
                            if let Some(f) = c.timeout_factor.as_mut() {
                                ui.add(
                                    egui::DragValue::new(f)
                                        .speed(0.1)
                                        .range(0.0..=100.0)
                                        .max_decimals(2),
                                )
                                .labelled_by(factor_label.id);
                            }
                        });
                        field_problems_ui(ui, &problems, "timeout_factor");
                    });
                    ui.end_row();

                    let l = ui.label("Timeout cap (s)");
                    ui.vertical(|ui| {
                        ui.add(egui::DragValue::new(&mut c.timeout_cap_secs).range(0..=86_400))
                            .labelled_by(l.id);
                        field_problems_ui(ui, &problems, "timeout_cap_secs");
                    });
                    ui.end_row();
                });
            let b = editor.buffers.entry(t).or_default();
            egui::Grid::new("fallback-lists")
                .num_columns(2)
                .spacing([16.0, 8.0])
                .show(ui, |ui| {
                    let l = ui.label("Bind host (empty: keep)");
                    ui.vertical(|ui| {
                        changed_buffers |= ui
                            .add(
                                egui::TextEdit::singleline(&mut b.host)
                                    .hint_text("127.0.0.1")
                                    .desired_width(220.0),
                            )
                            .labelled_by(l.id)
                            .changed();
                        field_problems_ui(ui, &problems, "bind_host");
                    });
                    ui.end_row();
                    let l = ui.label("Extra arguments (one per line)");
                    ui.vertical(|ui| {
                        changed_buffers |= ui
                            .add(
                                egui::TextEdit::multiline(&mut b.args)
                                    .desired_rows(2)
                                    .desired_width(320.0)
                                    .code_editor(),
                            )
                            .labelled_by(l.id)
                            .changed();
                        field_problems_ui(ui, &problems, "extra_args");
                    });
                    ui.end_row();
                    let l = ui.label("Extra environment (NAME=VALUE)");
                    ui.vertical(|ui| {
                        changed_buffers |= ui
                            .add(
                                egui::TextEdit::multiline(&mut b.env)
                                    .desired_rows(2)
                                    .desired_width(320.0)
                                    .code_editor(),
                            )
                            .labelled_by(l.id)
                            .changed();
                        field_problems_ui(ui, &problems, "extra_env");
                    });
                    ui.end_row();
                    let l = ui.label("Program renames (from=to)");
                    ui.vertical(|ui| {
                        changed_buffers |= ui
                            .add(
                                egui::TextEdit::multiline(&mut b.substitutions)
                                    .desired_rows(2)
                                    .desired_width(320.0)
                                    .code_editor(),
                            )
                            .labelled_by(l.id)
                            .changed();
                        field_problems_ui(ui, &problems, "command_substitutions");
                    });
                    ui.end_row();
                });
        });
    if changed_buffers {
        editor.apply_buffers(t);
    }
    let valid = editor.valid(&profile);
    ui.separator();
    ui.horizontal(|ui| {
        let save = ui.add_enabled(valid && editor.dirty(), egui::Button::new("Save"));
        if !valid {
            ui.label(RichText::new("Fix the marked fields to save.").color(theme::BAD));
        }
        if save.clicked() {
            state
                .requests
                .push(Request::SaveFallbacks(Box::new(editor.draft.clone())));
        }
        if ui
            .add_enabled(editor.dirty(), egui::Button::new("Revert"))
            .clicked()
        {
            editor.revert();
        }
        if ui
            .button("Restore defaults")
            .on_hover_text("The shipped defaults for this failure type (Save to keep them)")
            .clicked()
        {
            editor.restore_defaults();
        }
    });
    preview_ui(ui, editor, &profile);
}

fn preview_ui(ui: &mut Ui, editor: &mut FallbackEditor, profile: &Profile) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Preview for").strong());
        let current = editor
            .preview_service
            .clone()
            .or_else(|| profile.services.first().map(|s| s.name.clone()));
        egui::ComboBox::new("fallback-preview", "service")
            .selected_text(current.clone().unwrap_or_default())
            .show_ui(ui, |ui| {
                for s in &profile.services {
                    ui.selectable_value(&mut editor.preview_service, Some(s.name.clone()), &s.name);
                }
            });
        if editor.preview_service.is_none() {
            editor.preview_service = current;
        }
    });
    let Some(svc) = editor
        .preview_service
        .as_ref()
        .and_then(|n| profile.service(n))
    else {
        return;
    };
    let spec = LaunchSpec {
        command: svc.command.clone(),
        env: svc.env.clone(),
        host: svc.host.clone(),
        port: svc.port,
        startup_timeout_secs: svc.startup_timeout_secs,
    };
    let cfg = editor.draft.get(editor.tab);
    let (_, changes) = cfg.apply(&spec);
    for c in &changes {
        ui.label(RichText::new(format!("{}: {} -> {}", c.field, c.before, c.after)).monospace());
    }
    if svc.port.is_some() {
        let taken: BTreeSet<u16> = profile
            .services
            .iter()
            .filter(|s| s.name != svc.name)
            .filter_map(|s| s.port)
            .collect();
        let ports = cfg.port_candidates(svc.port, &taken);
        if !ports.is_empty() {
            let first: Vec<String> = ports.iter().take(8).map(u16::to_string).collect();
            ui.label(
                RichText::new(format!(
                    "port: {} -> tries {}{} ({} candidates)",
                    svc.port.unwrap_or(0),
                    first.join(", "),
                    if ports.len() > 8 { ", …" } else { "" },
                    ports.len()
                ))
                .monospace(),
            );
        }
    }
    if changes.is_empty() {
        ui.label(RichText::new("Nothing else would change for this service.").weak());
    }
}
