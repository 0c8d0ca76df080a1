//! The profile editor: every field of every service in a form, the profile's own validation shown
//! next to the service it names, and Save / Save As / Apply (restart the stack with the edit).
//! Also where a profile proposed from a project folder lands, with what detection noticed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use egui::{RichText, Ui};

use crate::profile::{Profile, Ready, Restart, Service};
use crate::ui::state::{AppState, Request};
use crate::ui::theme;

/// Text buffers for one service's list fields.
#[derive(Debug, Clone, Default)]
struct ServiceBuffers {
    command: String,
    env: String,
    config_files: String,
    ready_text: String,
}

/// Editor state.
#[derive(Debug, Clone)]
pub struct ProfileEditor {
    /// The profile being edited.
    pub draft: Profile,
    /// What detection noticed (for a profile proposed from a folder).
    pub notes: Vec<String>,
    buffers: Vec<ServiceBuffers>,
    /// Problems of the list fields' text (lines that do not parse).
    parse_problems: BTreeMap<usize, Vec<String>>,
}

fn buffers_of(s: &Service) -> ServiceBuffers {
    ServiceBuffers {
        command: s.command.join("\n"),
        env: s
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        config_files: s
            .config_files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        ready_text: match &s.ready {
            Ready::Http(u) => u.clone(),
            Ready::Log(r) => r.clone(),
            _ => String::new(),
        },
    }
}

fn opt_path(text: &str) -> Option<PathBuf> {
    Some(PathBuf::from(text.trim())).filter(|p| !p.as_os_str().is_empty())
}

impl ProfileEditor {
    /// An editor over `profile`.
    pub fn new(profile: Profile, notes: Vec<String>) -> ProfileEditor {
        let buffers = profile.services.iter().map(buffers_of).collect();
        ProfileEditor {
            draft: profile,
            notes,
            buffers,
            parse_problems: BTreeMap::new(),
        }
    }

    /// Problems of the draft: the profile's own validation plus lines that do not parse.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.draft.validate();
        for list in self.parse_problems.values() {
            p.extend(list.iter().cloned());
        }
        p
    }

    fn sync(&mut self, i: usize) {
        let Some(b) = self.buffers.get(i).cloned() else {
            return;
        };
        let Some(s) = self.draft.services.get_mut(i) else {
            return;
        };
        let mut problems = Vec::new();
        s.command = b
            .command
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let mut env = BTreeMap::new();
        for (n, line) in b.env.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    env.insert(k.trim().to_string(), v.to_string());
                }
                _ => problems.push(format!(
                    "service \"{}\": env: line {}: \"{line}\" is not NAME=VALUE",
                    s.name,
                    n + 1
                )),
            }
        }
        s.env = env;
        s.config_files = b.config_files.lines().filter_map(opt_path).collect();
        match &mut s.ready {
            Ready::Http(u) => *u = b.ready_text.trim().to_string(),
            Ready::Log(r) => *r = b.ready_text.clone(),
            _ => {}
        }
        self.parse_problems.insert(i, problems);
    }
}

fn opt_path_edit(ui: &mut Ui, value: &mut Option<PathBuf>, hint: &str) -> bool {
    let mut text = value
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let changed = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text(hint)
                .desired_width(260.0),
        )
        .changed();
    if changed {
        *value = opt_path(&text);
    }
    changed
}

/// Draws the editor.
pub fn profile_ui(ui: &mut Ui, state: &mut AppState) {
    let editor = &mut state.profile_editor;
    ui.horizontal(|ui| {
        ui.heading("Profile");
        ui.label("name");
        ui.add(egui::TextEdit::singleline(&mut editor.draft.name).desired_width(220.0));
        match &editor.draft.path {
            Some(p) => ui.label(RichText::new(p.display().to_string()).weak()),
            None => ui.label(RichText::new("(not saved yet)").weak()),
        };
    });
    ui.horizontal(|ui| {
        if ui.button("Open…").clicked() {
            state.requests.push(Request::OpenProfileDialog);
        }
        if ui.button("New from folder…").clicked() {
            state.requests.push(Request::NewProfileFromFolder);
        }
        ui.separator();
        ui.add(
            egui::TextEdit::singleline(&mut state.path_input)
                .hint_text("or type a path")
                .desired_width(260.0),
        );
        let typed = PathBuf::from(state.path_input.trim());
        if ui
            .add_enabled(typed.is_file(), egui::Button::new("Open file"))
            .clicked()
        {
            state.requests.push(Request::OpenProfile(typed.clone()));
        }
        if ui
            .add_enabled(typed.is_dir(), egui::Button::new("Detect folder"))
            .clicked()
        {
            state.requests.push(Request::DetectFolder(typed));
        }
    });
    if !state.recent.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Recent:").weak());
            for p in state.recent.clone() {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if ui
                    .link(name)
                    .on_hover_text(p.display().to_string())
                    .clicked()
                {
                    state.requests.push(Request::OpenProfile(p));
                }
            }
        });
    }
    let editor = &mut state.profile_editor;
    if !editor.notes.is_empty() {
        egui::CollapsingHeader::new(format!("Found in the folder ({})", editor.notes.len()))
            .default_open(true)
            .show(ui, |ui| {
                for n in &editor.notes {
                    ui.label(RichText::new(n).small());
                }
            });
    }
    ui.separator();
    let names: Vec<String> = editor
        .draft
        .services
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let mut dirty = Vec::new();
    let mut remove = None;
    egui::ScrollArea::vertical()
        .id_salt("profile-form")
        .auto_shrink([false, true])
        .max_height(ui.available_height() - 90.0)
        .show(ui, |ui| {
            let all_problems = editor.problems();
            for (i, s) in editor.draft.services.iter_mut().enumerate() {
                if editor.buffers.len() <= i {
                    editor.buffers.push(buffers_of(s));
                }
                let b = &mut editor.buffers[i];
                let title = format!(
                    "{} — {}",
                    s.name,
                    s.command.first().cloned().unwrap_or_default()
                );
                egui::CollapsingHeader::new(title)
                    .id_salt(("service-form", i))
                    .default_open(true)
                    .show(ui, |ui| {
                        let tag = format!("service \"{}\"", s.name);
                        for p in all_problems.iter().filter(|p| p.starts_with(&tag)) {
                            ui.label(RichText::new(p).color(theme::BAD).small());
                        }
                        egui::Grid::new(("service-grid", i))
                            .num_columns(2)
                            .spacing([12.0, 6.0])
                            .show(ui, |ui| {
                                ui.label("name");
                                ui.text_edit_singleline(&mut s.name);
                                ui.end_row();
                                ui.label("command (one argument per line)");
                                if ui
                                    .add(
                                        egui::TextEdit::multiline(&mut b.command)
                                            .desired_rows(2)
                                            .desired_width(360.0)
                                            .code_editor(),
                                    )
                                    .changed()
                                {
                                    dirty.push(i);
                                }
                                ui.end_row();
                                ui.label("port");
                                ui.horizontal(|ui| {
                                    let mut has = s.port.is_some();
                                    if ui.checkbox(&mut has, "").changed() {
                                        s.port = if has { Some(8000) } else { None };
                                    }
                                    if let Some(p) = s.port.as_mut() {
                                        ui.add(egui::DragValue::new(p).range(1..=65535));
                                    }
                                    ui.label("host");
                                    ui.add(
                                        egui::TextEdit::singleline(&mut s.host)
                                            .desired_width(120.0),
                                    );
                                });
                                ui.end_row();
                                ui.label("ready when");
                                ui.horizontal(|ui| {
                                    let kind = match s.ready {
                                        Ready::Auto => 0,
                                        Ready::Tcp => 1,
                                        Ready::Http(_) => 2,
                                        Ready::Log(_) => 3,
                                        Ready::Started => 4,
                                    };
                                    let mut k = kind;
                                    egui::ComboBox::new(("ready", i), "")
                                        .selected_text(
                                            [
                                                "auto",
                                                "port accepts",
                                                "HTTP answers",
                                                "log line",
                                                "started",
                                            ][k],
                                        )
                                        .show_ui(ui, |ui| {
                                            for (n, label) in [
                                                "auto",
                                                "port accepts",
                                                "HTTP answers",
                                                "log line",
                                                "started",
                                            ]
                                            .iter()
                                            .enumerate()
                                            {
                                                ui.selectable_value(&mut k, n, *label);
                                            }
                                        });
                                    if k != kind {
                                        s.ready = match k {
                                            1 => Ready::Tcp,
                                            2 => Ready::Http(if b.ready_text.is_empty() {
                                                "http://{host}:{port}/".into()
                                            } else {
                                                b.ready_text.clone()
                                            }),
                                            3 => Ready::Log(if b.ready_text.is_empty() {
                                                "(?i)ready|listening".into()
                                            } else {
                                                b.ready_text.clone()
                                            }),
                                            4 => Ready::Started,
                                            _ => Ready::Auto,
                                        };
                                        b.ready_text = buffers_of(s).ready_text;
                                    }
                                    if matches!(s.ready, Ready::Http(_) | Ready::Log(_))
                                        && ui.text_edit_singleline(&mut b.ready_text).changed()
                                    {
                                        dirty.push(i);
                                    }
                                });
                                ui.end_row();
                                ui.label("working directory");
                                opt_path_edit(ui, &mut s.cwd, "relative to the profile");
                                ui.end_row();
                                ui.label("environment (NAME=VALUE)");
                                if ui
                                    .add(
                                        egui::TextEdit::multiline(&mut b.env)
                                            .desired_rows(2)
                                            .desired_width(360.0)
                                            .code_editor(),
                                    )
                                    .changed()
                                {
                                    dirty.push(i);
                                }
                                ui.end_row();
                                ui.label("depends on");
                                ui.horizontal_wrapped(|ui| {
                                    for other in names.iter().filter(|n| **n != s.name) {
                                        let mut on = s.depends_on.contains(other);
                                        if ui.checkbox(&mut on, other.as_str()).changed() {
                                            if on {
                                                s.depends_on.push(other.clone());
                                            } else {
                                                s.depends_on.retain(|d| d != other);
                                            }
                                        }
                                    }
                                });
                                ui.end_row();
                                ui.label("startup timeout (s)");
                                ui.add(
                                    egui::DragValue::new(&mut s.startup_timeout_secs)
                                        .range(0..=86_400),
                                );
                                ui.end_row();
                                ui.label("restart");
                                ui.horizontal(|ui| {
                                    ui.radio_value(&mut s.restart, Restart::Never, "never");
                                    ui.radio_value(
                                        &mut s.restart,
                                        Restart::OnFailure,
                                        "on failure",
                                    );
                                    ui.radio_value(&mut s.restart, Restart::Always, "always");
                                });
                                ui.end_row();
                                ui.label("virtual environment");
                                opt_path_edit(ui, &mut s.venv, ".venv");
                                ui.end_row();
                                ui.label("requirements");
                                opt_path_edit(ui, &mut s.requirements, "requirements.txt");
                                ui.end_row();
                                ui.label("config files (one per line)");
                                if ui
                                    .add(
                                        egui::TextEdit::multiline(&mut b.config_files)
                                            .desired_rows(1)
                                            .desired_width(360.0),
                                    )
                                    .changed()
                                {
                                    dirty.push(i);
                                }
                                ui.end_row();
                                ui.label("config template");
                                opt_path_edit(ui, &mut s.config_template, "a known-good copy");
                                ui.end_row();
                            });
                        if ui.button(format!("Remove {}", s.name)).clicked() {
                            remove = Some(i);
                        }
                    });
            }
        });
    for i in dirty {
        editor.sync(i);
    }
    if let Some(i) = remove {
        editor.draft.services.remove(i);
        editor.buffers.remove(i);
        editor.parse_problems.remove(&i);
    }
    ui.separator();
    let problems = editor.problems();
    let general: Vec<&String> = problems
        .iter()
        .filter(|p| !p.starts_with("service \""))
        .collect();
    for p in &general {
        ui.label(RichText::new(p.as_str()).color(theme::BAD));
    }
    ui.horizontal(|ui| {
        if ui.button("Add service").clicked() {
            let n = editor.draft.services.len() + 1;
            let s = Service {
                name: format!("service{n}"),
                command: vec![
                    "python3".into(),
                    "-m".into(),
                    "http.server".into(),
                    "{port}".into(),
                ],
                port: Some(8000 + n as u16),
                host: "127.0.0.1".into(),
                ready: Ready::Auto,
                cwd: None,
                env: BTreeMap::new(),
                depends_on: Vec::new(),
                startup_timeout_secs: 30,
                restart: Restart::OnFailure,
                venv: None,
                config_files: Vec::new(),
                config_template: None,
                requirements: None,
            };
            editor.buffers.push(buffers_of(&s));
            editor.draft.services.push(s);
        }
        let ok = problems.is_empty();
        if ui
            .add_enabled(ok && editor.draft.path.is_some(), egui::Button::new("Save"))
            .clicked()
        {
            state.requests.push(Request::SaveProfile {
                profile: Box::new(editor.draft.clone()),
                choose: false,
            });
        }
        if ui.add_enabled(ok, egui::Button::new("Save as…")).clicked() {
            state.requests.push(Request::SaveProfile {
                profile: Box::new(editor.draft.clone()),
                choose: true,
            });
        }
        if ui
            .add_enabled(
                ok,
                egui::Button::new("Apply: restart the stack with this profile"),
            )
            .clicked()
        {
            state
                .requests
                .push(Request::ApplyProfile(Box::new(editor.draft.clone())));
        }
        if !ok {
            ui.label(
                RichText::new(format!(
                    "{} problem(s) to fix before saving",
                    problems.len()
                ))
                .color(theme::BAD),
            );
        }
    });
}
