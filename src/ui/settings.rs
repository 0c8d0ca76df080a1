//! Settings (auto-fix, backoff, log buffer, close to tray, notifications, theme), saved to
//! `settings.ron` and applied at once, and the diagnostics report: redacted, copied or saved by the
//! person, never sent anywhere.

use egui::{RichText, Ui};

use crate::engine::Fact;
use crate::profile::Profile;
use crate::settings::{AutoFixPolicy, Settings, Theme};
use crate::ui::state::{AppState, Request};
use crate::ui::theme;

/// Problems that keep a settings draft from being saved, each naming its field.
pub fn problems(s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    let b = &s.backoff;
    if b.base_ms == 0 {
        out.push("backoff base: must be at least 1 ms".into());
    }
    if !(b.factor.is_finite() && b.factor >= 1.0) {
        out.push(format!("backoff factor: {} must be 1 or more", b.factor));
    }
    if b.cap_ms < b.base_ms {
        out.push(format!(
            "backoff cap: {} ms is below the base ({} ms)",
            b.cap_ms, b.base_ms
        ));
    }
    if s.log_buffer_lines < 1000 {
        out.push(format!(
            "log buffer: {} lines is too few; keep at least 1000",
            s.log_buffer_lines
        ));
    }
    out
}

/// Draws the settings tab.
pub fn settings_ui(ui: &mut Ui, state: &mut AppState) {
    ui.heading("Settings");
    let draft = &mut state.settings_draft;
    egui::Grid::new("settings-grid")
        .num_columns(2)
        .spacing([16.0, 8.0])
        .show(ui, |ui| {
            ui.label("Automatic fixes");
            ui.horizontal(|ui| {
                ui.radio_value(&mut draft.auto_fix, AutoFixPolicy::Off, "off (offer fixes)");
                ui.radio_value(
                    &mut draft.auto_fix,
                    AutoFixPolicy::SafeOnly,
                    "safe fixes only",
                );
            });
            ui.end_row();
            ui.label("Retry backoff");
            ui.horizontal(|ui| {
                let l = ui.label("base");
                ui.add(
                    egui::DragValue::new(&mut draft.backoff.base_ms)
                        .range(0..=600_000)
                        .suffix(" ms"),
                )
                .labelled_by(l.id);
                let l = ui.label("factor");
                ui.add(
                    egui::DragValue::new(&mut draft.backoff.factor)
                        .speed(0.1)
                        .range(0.0..=10.0)
                        .max_decimals(2),
                )
                .labelled_by(l.id);
                let l = ui.label("cap");
                ui.add(
                    egui::DragValue::new(&mut draft.backoff.cap_ms)
                        .range(0..=3_600_000)
                        .suffix(" ms"),
                )
                .labelled_by(l.id);
                let l = ui.label("max attempts (0: no limit)");
                ui.add(egui::DragValue::new(&mut draft.backoff.max_attempts).range(0..=1000))
                    .labelled_by(l.id);
            });
            ui.end_row();
            let l = ui.label("Log buffer");
            ui.add(
                egui::DragValue::new(&mut draft.log_buffer_lines)
                    .range(0..=5_000_000)
                    .speed(1000)
                    .suffix(" lines"),
            )
            .labelled_by(l.id);
            ui.end_row();
            ui.label("Window");
            ui.vertical(|ui| {
                ui.checkbox(
                    &mut draft.close_to_tray,
                    "closing the window hides it to the tray and keeps supervising",
                );
                ui.checkbox(
                    &mut draft.notifications,
                    "notify when a service fails or recovers while the window is in the background",
                );
            });
            ui.end_row();
            ui.label("Theme");
            ui.horizontal(|ui| {
                ui.radio_value(&mut draft.theme, Theme::System, "system");
                ui.radio_value(&mut draft.theme, Theme::Light, "light");
                ui.radio_value(&mut draft.theme, Theme::Dark, "dark");
            });
            ui.end_row();
        });
    let problems = problems(draft);
    for p in &problems {
        ui.label(RichText::new(p).color(theme::BAD));
    }
    let dirty = *draft != state.settings;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                problems.is_empty() && dirty,
                egui::Button::new("Save settings"),
            )
            .clicked()
        {
            state
                .requests
                .push(Request::SaveSettings(Box::new(draft.clone())));
        }
        if ui.add_enabled(dirty, egui::Button::new("Revert")).clicked() {
            *draft = state.settings.clone();
        }
    });
    ui.separator();
    ui.heading("Diagnostics");
    ui.label(RichText::new("A report for a bug or a colleague: OS, app version, the profile without environment values or secrets, recent incidents. Nothing is sent anywhere.").weak());
    ui.horizontal(|ui| {
        if ui.button("Copy diagnostics").clicked() {
            state.requests.push(Request::CopyDiagnostics);
        }
        if ui.button("Save diagnostics…").clicked() {
            state.requests.push(Request::SaveDiagnostics);
        }
    });
}

const SECRET_WORDS: [&str; 8] = [
    "token", "secret", "password", "passwd", "apikey", "api_key", "api-key", "auth",
];

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| n.contains(w)) || n.ends_with("_key") || n.ends_with("-key")
}

/// Replaces what looks like a secret in free text: `NAME=value` / `NAME: value` with a secret-ish
/// name, the value after `--token`-like flags, and credentials in URLs (`user:pass@`).
pub fn redact(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut hide_next = false;
    for w in words {
        if hide_next && !w.is_empty() {
            out.push("<redacted>".into());
            hide_next = false;
            continue;
        }
        let mut w = w.to_string();
        if let Some((k, _)) = w.split_once('=')
            && is_secret_name(k.trim_start_matches('-'))
        {
            w = format!("{k}=<redacted>");
        } else if (w.starts_with("--") && is_secret_name(w.trim_start_matches('-')))
            || (w.ends_with(':') && is_secret_name(w.trim_end_matches(':')))
        {
            hide_next = true;
        }
        if let Some(scheme) = w.find("://")
            && let Some(at) = w[scheme + 3..].find('@')
            && w[scheme + 3..scheme + 3 + at].contains(':')
        {
            w = format!(
                "{}://<redacted>@{}",
                &w[..scheme],
                &w[scheme + 3 + at + 1..]
            );
        }
        out.push(w);
    }
    out.join(" ")
}

/// The diagnostics report.
pub fn diagnostics(state: &AppState, profile: &Profile) -> String {
    let mut r = String::new();
    r.push_str("# Startup Medic diagnostics\n\n");
    r.push_str(&format!(
        "app: startup-medic {}\n",
        env!("CARGO_PKG_VERSION")
    ));
    r.push_str(&format!(
        "os: {} {} ({})\n",
        std::env::consts::OS,
        sysinfo::System::os_version().unwrap_or_default(),
        std::env::consts::ARCH
    ));
    r.push_str(&format!(
        "auto-fix: {:?}\n\n## Profile \"{}\"\n",
        state.settings.auto_fix, profile.name
    ));
    for s in &profile.services {
        let command: Vec<String> = s.command.iter().map(|a| redact(a)).collect();
        r.push_str(&format!("- {}: {}\n", s.name, redact(&command.join(" "))));
        r.push_str(&format!(
            "  port {:?}, host {}, ready {:?}, timeout {} s, restart {:?}, depends on {:?}\n",
            s.port, s.host, s.ready, s.startup_timeout_secs, s.restart, s.depends_on
        ));
        if !s.env.is_empty() {
            let names: Vec<&str> = s.env.keys().map(String::as_str).collect();
            r.push_str(&format!(
                "  env (values not included): {}\n",
                names.join(", ")
            ));
        }
        if let Some(v) = state.service(&s.name) {
            r.push_str(&format!(
                "  now: {:?}, port {:?}, restarts {}\n",
                v.state, v.port, v.restarts
            ));
        }
    }
    r.push_str("\n## Recent incidents\n");
    for c in state.incidents.iter().rev().take(20) {
        let facts: Vec<String> = c
            .incident
            .facts
            .0
            .iter()
            .map(|(k, v)| match v {
                Fact::Int(n) => format!("{k}={n}"),
                Fact::Text(t) => format!("{k}={}", redact(t)),
            })
            .collect();
        r.push_str(&format!(
            "- {} {}: {}\n  facts: {}\n",
            c.service,
            c.incident.error_type.id(),
            redact(&c.incident.message),
            facts.join(", ")
        ));
        for res in &c.results {
            r.push_str(&format!(
                "  fix {}: {} — {}\n",
                res.action.id(),
                if res.success { "worked" } else { "failed" },
                redact(&res.message)
            ));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact("python app.py --token abc123 --port 80"),
            "python app.py --token <redacted> --port 80"
        );
        assert_eq!(
            redact("HF_TOKEN=hf_xyz OPENAI_API_KEY=sk-1 PORT=8000"),
            "HF_TOKEN=<redacted> OPENAI_API_KEY=<redacted> PORT=8000"
        );
        assert_eq!(
            redact("connect postgres://admin:hunter2@db:5432/app failed"),
            "connect postgres://<redacted>@db:5432/app failed"
        );
        assert_eq!(redact("password: hunter2"), "password: <redacted>");
    }
}
