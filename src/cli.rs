//! The headless commands behind `startup-medic classify` and `startup-medic stats`.
//!
//! Output formats here are a contract with tools outside the repository: one JSON object per line,
//! fields as documented in README.md. Exit codes: `classify` 0 = no incident, 1 = incidents,
//! 2 = bad usage or unreadable input; `stats` 0 (also when a damaged file had to be set aside).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::engine::actions::candidates;
use crate::engine::learning::Patterns;
use crate::engine::rules::Classifier;
use crate::engine::{Facts, Incident};
use crate::store::{PATTERNS_FILE, RULES_FILE, Store};

/// Exit status: nothing found / success.
pub const EXIT_OK: i32 = 0;
/// Exit status: `classify` found at least one incident.
pub const EXIT_INCIDENTS: i32 = 1;
/// Exit status: bad usage or unreadable input.
pub const EXIT_USAGE: i32 = 2;

/// Prints a warning on stderr (the CLI's way of reporting what the app shows as a notice).
pub fn warn_stderr(message: String) {
    eprintln!("startup-medic: warning: {message}");
}

/// The classifier with the user's rules; problems go to `warn`.
pub fn load_classifier(store: Option<&Store>, warn: &mut dyn FnMut(String)) -> Classifier {
    let user = store.and_then(|s| match s.read_optional(RULES_FILE) {
        Ok(text) => text,
        Err(e) => {
            warn(format!(
                "your rules file could not be read ({e}); using the built-in rules: {}",
                s.path(RULES_FILE).display()
            ));
            None
        }
    });
    let (classifier, problems) = Classifier::with_user_rules(user.as_deref());
    for p in problems {
        let place = store
            .map(|s| s.path(RULES_FILE).display().to_string())
            .unwrap_or_default();
        warn(format!(
            "{p}; that rule is skipped, the others work: {place}"
        ));
    }
    classifier
}

/// Learned patterns; a damaged file is set aside and reported to `warn`.
pub fn load_patterns(store: Option<&Store>, warn: &mut dyn FnMut(String)) -> Patterns {
    let Some(store) = store else {
        return Patterns::default();
    };
    let loaded = store.load::<Patterns>(PATTERNS_FILE);
    if let Some(n) = loaded.notice {
        warn(n);
    }
    loaded.value
}

/// The state directory, or None (reported to `warn`) when it cannot be used.
pub fn open_store(warn: &mut dyn FnMut(String)) -> Option<Store> {
    match Store::open_default() {
        Ok(s) => Some(s),
        Err(e) => {
            warn(format!("{e}; learned patterns are not used"));
            None
        }
    }
}

#[derive(Serialize)]
struct IncidentJson<'a> {
    #[serde(rename = "type")]
    error_type: &'static str,
    line: usize,
    message: &'a str,
    facts: &'a Facts,
    actions: Vec<&'static str>,
}

/// `classify [--json] [FILE]`: returns the exit status.
pub fn classify(file: Option<&Path>, json: bool) -> i32 {
    let mut bytes = Vec::new();
    let read = match file.filter(|p| p.as_os_str() != "-") {
        Some(path) => std::fs::read(path)
            .map(|b| bytes = b)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        None => std::io::stdin()
            .read_to_end(&mut bytes)
            .map(|_| ())
            .map_err(|e| format!("cannot read standard input: {e}")),
    };
    if let Err(message) = read {
        eprintln!("startup-medic: {message}");
        return EXIT_USAGE;
    }
    let store = open_store(&mut warn_stderr);
    let classifier = load_classifier(store.as_ref(), &mut warn_stderr);
    let patterns = load_patterns(store.as_ref(), &mut warn_stderr);
    let incidents = classifier.classify_bytes(&bytes);

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = if json {
        write_json(&mut out, &incidents, &patterns)
    } else {
        let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        write_report(&mut out, &incidents, &patterns, color)
    };
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("startup-medic: cannot write the report: {e}");
        return EXIT_USAGE;
    }
    if incidents.is_empty() {
        EXIT_OK
    } else {
        EXIT_INCIDENTS
    }
}

fn write_json(
    out: &mut impl Write,
    incidents: &[Incident],
    patterns: &Patterns,
) -> std::io::Result<()> {
    for incident in incidents {
        let ranked = patterns.rank(incident, &candidates(incident));
        let row = IncidentJson {
            error_type: incident.error_type.id(),
            line: incident.line,
            message: &incident.message,
            facts: &incident.facts,
            actions: ranked.iter().map(|r| r.action.id()).collect(),
        };
        let line = serde_json::to_string(&row).map_err(std::io::Error::other)?;
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn write_report(
    out: &mut impl Write,
    incidents: &[Incident],
    patterns: &Patterns,
    color: bool,
) -> std::io::Result<()> {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    for (n, incident) in incidents.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "{} {} {}",
            paint("1;31", &format!("[{}]", incident.error_type.id())),
            paint("2", &format!("line {}:", incident.line)),
            incident.message
        )?;
        if !incident.facts.is_empty() {
            let facts: Vec<String> = incident
                .facts
                .0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(out, "  facts: {}", facts.join(", "))?;
        }
        if let Some(rule) = &incident.rule_id {
            // The id a user rule in rules.ron can override or disable.
            writeln!(out, "  rule: {rule}")?;
        }
        if incident.context.len() > 1 {
            writeln!(
                out,
                "  lines {}–{} grouped",
                incident.first_line,
                incident.first_line + incident.context.len() - 1
            )?;
        }
        let ranked = patterns.rank(incident, &candidates(incident));
        if ranked.is_empty() {
            writeln!(out, "  no automatic fix; by hand:")?;
            for step in crate::engine::actions::manual_steps(
                incident.error_type,
                &incident.facts,
                crate::engine::actions::Os::current(),
            ) {
                writeln!(out, "    - {step}")?;
            }
        }
        for (i, r) in ranked.iter().enumerate() {
            let consent = if r.needs_consent {
                format!(", asks first: {}", r.risk.label())
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {}. {} ({}){consent}\n     {}",
                i + 1,
                paint("1", r.action.info().label),
                r.action.id(),
                paint("2", &r.why)
            )?;
        }
    }
    let n = incidents.len();
    if n == 0 {
        writeln!(out, "{}", paint("32", "no incident found"))?;
    } else {
        writeln!(out, "\n{n} incident{}", if n == 1 { "" } else { "s" })?;
    }
    Ok(())
}

#[derive(Serialize)]
struct TriedJson {
    tried: u32,
    succeeded: u32,
}

#[derive(Serialize)]
struct PatternJson<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    error_type: &'static str,
    occurrences: u32,
    last_seen: &'a str,
    actions: BTreeMap<&'static str, TriedJson>,
}

/// `stats [--json]`: returns the exit status.
pub fn stats(json: bool) -> i32 {
    let store = open_store(&mut warn_stderr);
    let patterns = load_patterns(store.as_ref(), &mut warn_stderr);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = if json {
        write_stats_json(&mut out, &patterns)
    } else {
        write_stats_table(&mut out, &patterns, store.as_ref())
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("startup-medic: cannot write the statistics: {e}");
            EXIT_USAGE
        }
        _ => EXIT_OK,
    }
}

fn write_stats_json(out: &mut impl Write, patterns: &Patterns) -> std::io::Result<()> {
    for p in patterns.patterns.values() {
        let row = PatternJson {
            id: &p.id,
            error_type: p.error_type.id(),
            occurrences: p.occurrences,
            last_seen: &p.last_seen,
            actions: p
                .actions
                .iter()
                .map(|(a, s)| {
                    (
                        a.id(),
                        TriedJson {
                            tried: s.tried,
                            succeeded: s.succeeded,
                        },
                    )
                })
                .collect(),
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&row).map_err(std::io::Error::other)?
        )?;
    }
    Ok(())
}

fn write_stats_table(
    out: &mut impl Write,
    patterns: &Patterns,
    store: Option<&Store>,
) -> std::io::Result<()> {
    if patterns.patterns.is_empty() {
        let place = store
            .map(|s| s.path(PATTERNS_FILE).display().to_string())
            .unwrap_or_default();
        return writeln!(out, "no failure patterns learned yet ({place})");
    }
    writeln!(
        out,
        "{:<40} {:>5}  {:<20}  best action",
        "pattern", "seen", "last seen"
    )?;
    for p in patterns.patterns.values() {
        let best = p
            .actions
            .iter()
            .max_by(|a, b| a.1.success_estimate().total_cmp(&b.1.success_estimate()))
            .map(|(a, s)| format!("{} ({} of {})", a.id(), s.succeeded, s.tried))
            .unwrap_or_else(|| "none tried".into());
        writeln!(
            out,
            "{:<40} {:>5}  {:<20}  {best}",
            p.description, p.occurrences, p.last_seen
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------- run and doctor

use crate::engine::fallback::Fallbacks;
use crate::profile::Profile;
use crate::protocol::{Event, ServiceState, Stream};
use crate::settings::{AutoFixPolicy, Settings};
use crate::store::{FALLBACKS_FILE, SETTINGS_FILE};

fn load_profile(path: &Path) -> Option<Profile> {
    match Profile::load(path) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("startup-medic: {e}");
            None
        }
    }
}

fn event_json(e: &Event) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match e {
        Event::Log {
            service,
            stream,
            line,
        } => json!({"event": "log", "service": service, "stream": stream, "line": line}),
        Event::State {
            service,
            state,
            pid,
            port,
        } => {
            let mut v = json!({"event": "state", "service": service, "pid": pid, "port": port});
            if let (Some(obj), Ok(serde_json::Value::Object(s))) =
                (v.as_object_mut(), serde_json::to_value(state))
            {
                obj.extend(s);
            }
            v
        }
        Event::Incident {
            id,
            service,
            incident,
            holder,
            actions,
            ..
        } => json!({
            "event": "incident", "id": id, "service": service, "type": incident.error_type.id(),
            "message": incident.message, "facts": incident.facts,
            "actions": actions.iter().map(|a| a.action.id()).collect::<Vec<_>>(),
            "holder": holder,
        }),
        Event::ActionStarted {
            incident,
            service,
            action,
        } => {
            json!({"event": "action_started", "incident": incident, "service": service, "action": action.id()})
        }
        Event::ActionFinished {
            incident,
            service,
            action,
            success,
            message,
            undoable,
        } => json!({
            "event": "action", "incident": incident, "service": service, "action": action.id(),
            "success": success, "message": message, "undoable": undoable,
        }),
        Event::Ready { service, port } => {
            json!({"event": "ready", "service": service, "port": port})
        }
        Event::Exited { service, code } => {
            json!({"event": "exited", "service": service, "code": code})
        }
        Event::GaveUp { service, reason } => {
            json!({"event": "gave_up", "service": service, "reason": reason})
        }
        Event::Notice(text) => json!({"event": "notice", "message": text}),
        Event::Finished | Event::Patterns(_) => return None,
    })
}

fn event_text(e: &Event, color: bool) -> Option<String> {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    Some(match e {
        Event::Log {
            service,
            stream,
            line,
        } => {
            let tag = match stream {
                Stream::Stdout => paint("36", &format!("{service:>10} |")),
                Stream::Stderr => paint("33", &format!("{service:>10} !")),
                Stream::System => paint("35", &format!("{service:>10} *")),
            };
            format!("{tag} {line}")
        }
        Event::State { service, state, .. } => {
            let s = match state {
                ServiceState::Recovering { retry_in_ms } => {
                    format!("recovering, next try in {} s", retry_in_ms.div_ceil(1000))
                }
                other => serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(String::from))
                    .unwrap_or_default(),
            };
            paint("2", &format!("{service:>10} = {s}"))
        }
        Event::Incident {
            service,
            incident,
            actions,
            ..
        } => {
            let mut t = format!(
                "{} {}",
                paint(
                    "1;31",
                    &format!("{service:>10} ✗ [{}]", incident.error_type.id())
                ),
                incident.message
            );
            for (i, a) in actions.iter().enumerate() {
                let consent = if a.needs_consent { " (asks first)" } else { "" };
                t.push_str(&format!(
                    "\n{:>13}{}. {}{consent} — {}",
                    "",
                    i + 1,
                    a.action.id(),
                    a.why
                ));
            }
            t
        }
        Event::ActionStarted {
            service, action, ..
        } => paint("35", &format!("{service:>10} → {}", action.info().label)),
        Event::ActionFinished {
            service,
            action,
            success,
            message,
            ..
        } => {
            let mark = if *success {
                paint("1;32", "✓")
            } else {
                paint("1;31", "✗")
            };
            format!("{service:>10} {mark} {}: {message}", action.id())
        }
        Event::Ready { service, port } => paint(
            "1;32",
            &format!(
                "{service:>10} ready{}",
                port.map(|p| format!(" on port {p}")).unwrap_or_default()
            ),
        ),
        Event::Exited { service, code } => paint(
            "2",
            &format!(
                "{service:>10} exited{}",
                code.map(|c| format!(" with code {c}"))
                    .unwrap_or_else(|| " (signal)".into())
            ),
        ),
        Event::GaveUp { service, reason } => {
            paint("1;31", &format!("{service:>10} gave up: {reason}"))
        }
        Event::Notice(text) => paint("33", &format!("note: {text}")),
        // The learned patterns are for the window; `stats` prints them.
        Event::Finished | Event::Patterns(_) => return None,
    })
}

/// Settings and fallbacks from the store (damaged files set aside and reported to `warn`).
pub fn load_settings(store: Option<&Store>, warn: &mut dyn FnMut(String)) -> (Settings, Fallbacks) {
    let Some(store) = store else {
        return (Settings::default(), Fallbacks::default());
    };
    let s = store.load::<Settings>(SETTINGS_FILE);
    let f = store.load::<Fallbacks>(FALLBACKS_FILE);
    for n in [s.notice, f.notice].into_iter().flatten() {
        warn(n);
    }
    (s.value, f.value)
}

/// `run --profile FILE [--auto-fix] [--json]`: returns the exit status.
pub fn run(profile_path: &Path, auto_fix: bool, json: bool) -> i32 {
    let Some(profile) = load_profile(profile_path) else {
        return EXIT_USAGE;
    };
    let store = open_store(&mut warn_stderr);
    let classifier = load_classifier(store.as_ref(), &mut warn_stderr);
    let (settings, fallbacks) = load_settings(store.as_ref(), &mut warn_stderr);
    let opts = crate::supervisor::Options {
        auto_fix: if auto_fix {
            AutoFixPolicy::SafeOnly
        } else {
            settings.auto_fix
        },
        backoff: settings.backoff,
        fallbacks,
        store,
        run_id: crate::supervisor::new_run_id(),
        stop_grace: std::time::Duration::from_secs(5),
        classifier,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("startup-medic: cannot start the async runtime: {e}");
            return EXIT_USAGE;
        }
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let sink: crate::supervisor::Sink = Box::new(move |e: Event| {
        let line = if json {
            event_json(&e).map(|v| v.to_string())
        } else {
            event_text(&e, color)
        };
        if let Some(l) = line {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{l}");
            let _ = out.flush();
        }
    });
    runtime.block_on(async move {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = tx.send(crate::protocol::Command::Start(None));
        let signals = tx.clone();
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            let _ = signals.send(crate::protocol::Command::Shutdown);
        });
        crate::supervisor::run(profile, opts, rx, sink).await;
        drop(tx);
    });
    EXIT_OK
}

/// Resolves on SIGINT, SIGTERM or SIGHUP (Ctrl+C elsewhere).
pub(crate) async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut i), Ok(mut t), Ok(mut h)) => {
                tokio::select! { _ = i.recv() => {}, _ = t.recv() => {}, _ = h.recv() => {} }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `doctor --profile FILE [--json]`: 0 when nothing blocks the start, 1 otherwise.
pub fn doctor(profile_path: &Path, json: bool) -> i32 {
    let Some(profile) = load_profile(profile_path) else {
        return EXIT_USAGE;
    };
    let findings = crate::doctor::check(&profile);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::stdout().lock();
    for f in &findings {
        let line = if json {
            serde_json::to_string(f).unwrap_or_default()
        } else {
            let mark = match f.status {
                crate::doctor::Level::Ok => {
                    if color {
                        "\x1b[32m[✓]\x1b[0m"
                    } else {
                        "[✓]"
                    }
                }
                crate::doctor::Level::Warning => {
                    if color {
                        "\x1b[33m[!]\x1b[0m"
                    } else {
                        "[!]"
                    }
                }
                crate::doctor::Level::Error => {
                    if color {
                        "\x1b[31m[✗]\x1b[0m"
                    } else {
                        "[✗]"
                    }
                }
            };
            format!("{mark} {:<10} {:<13} {}", f.service, f.check, f.message)
        };
        let _ = writeln!(out, "{line}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.status == crate::doctor::Level::Error)
        .count();
    if !json {
        let _ = writeln!(
            out,
            "\n{}",
            if errors == 0 {
                "nothing blocks the start".to_string()
            } else {
                format!(
                    "{errors} problem{} would block the start",
                    if errors == 1 { "" } else { "s" }
                )
            }
        );
    }
    if errors == 0 { EXIT_OK } else { EXIT_INCIDENTS }
}
