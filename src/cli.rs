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

/// The classifier with the user's rules, problems reported on stderr.
pub fn load_classifier(store: Option<&Store>) -> Classifier {
    let user = store.and_then(|s| match s.read_optional(RULES_FILE) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("startup-medic: warning: your rules file could not be read ({e}); using the built-in rules: {}", s.path(RULES_FILE).display());
            None
        }
    });
    let (classifier, problems) = Classifier::with_user_rules(user.as_deref());
    for p in problems {
        let place = store.map(|s| s.path(RULES_FILE).display().to_string()).unwrap_or_default();
        eprintln!("startup-medic: warning: {p}; that rule is skipped, the others work: {place}");
    }
    classifier
}

/// Learned patterns, a damaged file reported on stderr.
pub fn load_patterns(store: Option<&Store>) -> Patterns {
    let Some(store) = store else { return Patterns::default() };
    let loaded = store.load::<Patterns>(PATTERNS_FILE);
    if let Some(n) = loaded.notice {
        eprintln!("startup-medic: warning: {n}");
    }
    loaded.value
}

fn open_store() -> Option<Store> {
    match Store::open_default() {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("startup-medic: warning: {e}; learned patterns are not used");
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
        Some(path) => std::fs::read(path).map(|b| bytes = b).map_err(|e| format!("cannot read {}: {e}", path.display())),
        None => std::io::stdin().read_to_end(&mut bytes).map(|_| ()).map_err(|e| format!("cannot read standard input: {e}")),
    };
    if let Err(message) = read {
        eprintln!("startup-medic: {message}");
        return EXIT_USAGE;
    }
    let store = open_store();
    let classifier = load_classifier(store.as_ref());
    let patterns = load_patterns(store.as_ref());
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
        && e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("startup-medic: cannot write the report: {e}");
            return EXIT_USAGE;
        }
    if incidents.is_empty() { EXIT_OK } else { EXIT_INCIDENTS }
}

fn write_json(out: &mut impl Write, incidents: &[Incident], patterns: &Patterns) -> std::io::Result<()> {
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

fn write_report(out: &mut impl Write, incidents: &[Incident], patterns: &Patterns, color: bool) -> std::io::Result<()> {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
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
            let facts: Vec<String> = incident.facts.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "  facts: {}", facts.join(", "))?;
        }
        if incident.context.len() > 1 {
            writeln!(out, "  lines {}–{} grouped", incident.first_line, incident.first_line + incident.context.len() - 1)?;
        }
        let ranked = patterns.rank(incident, &candidates(incident));
        if ranked.is_empty() {
            writeln!(out, "  no automatic fix; by hand:")?;
            for step in crate::engine::actions::manual_steps(incident.error_type, &incident.facts, crate::engine::actions::Os::current()) {
                writeln!(out, "    - {step}")?;
            }
        }
        for (i, r) in ranked.iter().enumerate() {
            let consent = if r.needs_consent { format!(", asks first: {}", r.risk.label()) } else { String::new() };
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
    let store = open_store();
    let patterns = load_patterns(store.as_ref());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = if json { write_stats_json(&mut out, &patterns) } else { write_stats_table(&mut out, &patterns, store.as_ref()) };
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
            actions: p.actions.iter().map(|(a, s)| (a.id(), TriedJson { tried: s.tried, succeeded: s.succeeded })).collect(),
        };
        writeln!(out, "{}", serde_json::to_string(&row).map_err(std::io::Error::other)?)?;
    }
    Ok(())
}

fn write_stats_table(out: &mut impl Write, patterns: &Patterns, store: Option<&Store>) -> std::io::Result<()> {
    if patterns.patterns.is_empty() {
        let place = store.map(|s| s.path(PATTERNS_FILE).display().to_string()).unwrap_or_default();
        return writeln!(out, "no failure patterns learned yet ({place})");
    }
    writeln!(out, "{:<40} {:>5}  {:<20}  best action", "pattern", "seen", "last seen")?;
    for p in patterns.patterns.values() {
        let best = p
            .actions
            .iter()
            .max_by(|a, b| a.1.success_estimate().total_cmp(&b.1.success_estimate()))
            .map(|(a, s)| format!("{} ({} of {})", a.id(), s.succeeded, s.tried))
            .unwrap_or_else(|| "none tried".into());
        writeln!(out, "{:<40} {:>5}  {:<20}  {best}", p.description, p.occurrences, p.last_seen)?;
    }
    Ok(())
}
