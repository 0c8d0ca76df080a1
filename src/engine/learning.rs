//! Which fix works for which failure: patterns, outcomes and ranking, as pure arithmetic.
//!
//! A failure pattern is keyed by a stable signature of its type and normalized key facts
//! (`port_conflict|port=8000`, `dependency_missing|module=torch`). Each incident counts once and each
//! (incident, action) outcome counts once, whatever the caller repeats. Ranking blends a smoothed
//! success estimate (Beta(1,1): (s+1)/(n+2)) with the action's base priority, weighting the evidence by
//! n/(n+3): an untried action keeps its default rank, one failure does not bury a good default, and a
//! record of repeated failures or successes wins in the end. Ties break on base priority, then id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::actions::{ActionId, Risk};
use super::time::rfc3339_utc;
use super::{ErrorType, Facts, Incident};

/// Version of `patterns.ron`.
pub const PATTERNS_VERSION: u32 = 1;
/// Remembered incident/outcome keys per pattern, to count each once.
const RECENT_KEYS: usize = 64;
/// Evidence weight: after this many tries, the record and the default weigh the same.
const PRIOR_STRENGTH: f64 = 3.0;

/// Whether an attempt worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Verified to work (port free, service ready, module imports).
    Succeeded,
    /// Did not work.
    Failed,
}

/// Tries and successes of one action for one pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionStats {
    /// Times it was carried out.
    pub tried: u32,
    /// Times it was verified to work.
    pub succeeded: u32,
    /// The latest outcome.
    pub last_outcome: Option<Outcome>,
    /// When it was last tried (RFC 3339 UTC).
    pub last_tried: Option<String>,
}

impl ActionStats {
    /// Smoothed success estimate, Beta(1,1) prior: 0.5 when untried.
    pub fn success_estimate(&self) -> f64 {
        (f64::from(self.succeeded) + 1.0) / (f64::from(self.tried) + 2.0)
    }
}

/// One learned failure pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailurePattern {
    /// The signature (also the map key).
    pub id: String,
    /// The failure type.
    pub error_type: ErrorType,
    /// In words: "port 8000 conflicts", "missing module torch".
    pub description: String,
    /// Incidents seen (each once).
    pub occurrences: u32,
    /// First seen (RFC 3339 UTC).
    pub first_seen: String,
    /// Last seen (RFC 3339 UTC).
    pub last_seen: String,
    /// Per action statistics.
    #[serde(default)]
    pub actions: BTreeMap<ActionId, ActionStats>,
    /// Occurrence times (unix seconds, newest last, bounded) for the "over time" chart.
    #[serde(default)]
    pub seen_at: Vec<u64>,
    /// Keys of recently counted incidents and outcomes, so repeats are not counted again.
    #[serde(default)]
    pub recent_keys: Vec<String>,
}

/// All learned patterns (the content of `patterns.ron`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patterns {
    /// File format version.
    pub version: u32,
    /// Patterns by signature.
    #[serde(default)]
    pub patterns: BTreeMap<String, FailurePattern>,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns {
            version: PATTERNS_VERSION,
            patterns: BTreeMap::new(),
        }
    }
}

/// One action in ranked order, with the reason for its place.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedAction {
    /// The action.
    pub action: ActionId,
    /// Blended score in 0..=1 (higher first).
    pub score: f64,
    /// A short human reason: "worked 4 of 5 times for port 8000 conflicts".
    pub why: String,
    /// What it risks.
    pub risk: Risk,
    /// Whether a person must agree first.
    pub needs_consent: bool,
}

/// Keeps the part of a module path that names the package (`torch.cuda` → `torch`).
fn top_module(m: &str) -> String {
    let m = m.trim();
    let top = if let Some(scoped) = m.strip_prefix('@') {
        // npm scopes: @scope/name/sub → @scope/name
        let mut parts = scoped.splitn(3, '/');
        format!(
            "@{}/{}",
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("")
        )
    } else {
        m.split(['.', '/']).next().unwrap_or(m).to_string()
    };
    top.to_lowercase()
}

fn file_name(p: &str) -> String {
    p.rsplit(['/', '\\']).next().unwrap_or(p).to_string()
}

/// The stable signature of a failure: its type and the facts that identify it, normalized so the same
/// failure on another machine or path maps to the same pattern.
pub fn signature(t: ErrorType, facts: &Facts) -> String {
    let mut parts = vec![t.id().to_string()];
    let mut push = |k: &str, v: String| parts.push(format!("{k}={v}"));
    match t {
        ErrorType::PortConflict | ErrorType::FirewallBlocked => {
            if let Some(p) = facts.port() {
                push("port", p.to_string());
            }
        }
        ErrorType::PermissionDenied => {
            if let Some(p) = facts.port() {
                push("port", p.to_string());
            } else if let Some(p) = facts.text("path") {
                push("path", file_name(p));
            }
        }
        ErrorType::DependencyMissing => {
            if let Some(m) = facts.text("module") {
                push("module", top_module(m));
            } else if let Some(c) = facts.text("command") {
                push("command", file_name(c).to_lowercase());
            } else if let Some(l) = facts.text("library") {
                push("library", file_name(l));
            }
        }
        ErrorType::ConfigInvalid | ErrorType::VirtualEnvError => {
            if let Some(p) = facts.text("path") {
                push("path", file_name(p));
            }
        }
        ErrorType::NetworkError => {
            if let Some(h) = facts.text("host") {
                push("host", h.to_lowercase());
            }
            if let Some(p) = facts.port() {
                push("port", p.to_string());
            }
        }
        ErrorType::ProcessFailed => {
            if let Some(c) = facts.int("exit_code") {
                push("exit_code", c.to_string());
            }
        }
        ErrorType::TimeoutError | ErrorType::Unknown => {}
    }
    parts.join("|")
}

/// A signature in words, for the patterns panel and the "why" of ranked actions.
pub fn describe(t: ErrorType, facts: &Facts) -> String {
    let port = facts.port();
    match t {
        ErrorType::PortConflict => {
            port.map_or("port conflicts".into(), |p| format!("port {p} conflicts"))
        }
        ErrorType::FirewallBlocked => port.map_or("firewall blocks".into(), |p| {
            format!("firewall blocks on port {p}")
        }),
        ErrorType::PermissionDenied => match (port, facts.text("path")) {
            (Some(p), _) => format!("permission denied on port {p}"),
            (None, Some(path)) => format!("permission denied on {}", file_name(path)),
            _ => "permission errors".into(),
        },
        ErrorType::DependencyMissing => match (
            facts.text("module"),
            facts.text("command"),
            facts.text("library"),
        ) {
            (Some(m), _, _) => format!("missing module {}", top_module(m)),
            (_, Some(c), _) => format!("missing command {c}"),
            (_, _, Some(l)) => format!("missing library {l}"),
            _ => "missing dependencies".into(),
        },
        ErrorType::ConfigInvalid => facts
            .text("path")
            .map_or("invalid configuration".into(), |p| {
                format!("invalid {}", file_name(p))
            }),
        ErrorType::VirtualEnvError => "virtual environment problems".into(),
        ErrorType::NetworkError => match (facts.text("host"), port) {
            (Some(h), Some(p)) => format!("network errors to {h}:{p}"),
            (Some(h), None) => format!("network errors to {h}"),
            (None, Some(p)) => format!("network errors on port {p}"),
            _ => "network errors".into(),
        },
        ErrorType::ProcessFailed => facts
            .int("exit_code")
            .map_or("crashes".into(), |c| format!("crashes with exit code {c}")),
        ErrorType::TimeoutError => "startup timeouts".into(),
        ErrorType::Unknown => "unrecognised errors".into(),
    }
}

fn remember(keys: &mut Vec<String>, key: String) -> bool {
    if keys.contains(&key) {
        return false;
    }
    keys.push(key);
    if keys.len() > RECENT_KEYS {
        keys.remove(0);
    }
    true
}

impl Patterns {
    fn entry(&mut self, t: ErrorType, facts: &Facts, now_secs: u64) -> &mut FailurePattern {
        let id = signature(t, facts);
        let now = rfc3339_utc(now_secs);
        self.patterns
            .entry(id.clone())
            .or_insert_with(|| FailurePattern {
                id,
                error_type: t,
                description: describe(t, facts),
                occurrences: 0,
                first_seen: now.clone(),
                last_seen: now,
                actions: BTreeMap::new(),
                seen_at: Vec::new(),
                recent_keys: Vec::new(),
            })
    }

    /// Counts an incident (identified by `incident_key`, unique per run and incident) once. Returns the
    /// pattern's signature and whether this call counted it.
    pub fn record_incident(
        &mut self,
        incident_key: &str,
        incident: &Incident,
        now_secs: u64,
    ) -> (String, bool) {
        let p = self.entry(incident.error_type, &incident.facts, now_secs);
        let counted = remember(&mut p.recent_keys, format!("incident:{incident_key}"));
        if counted {
            p.occurrences += 1;
            p.last_seen = rfc3339_utc(now_secs);
            p.seen_at.push(now_secs);
            if p.seen_at.len() > 256 {
                p.seen_at.remove(0);
            }
        }
        (p.id.clone(), counted)
    }

    /// Records the outcome of `action` for an incident, once per (incident, action).
    pub fn record_outcome(
        &mut self,
        incident_key: &str,
        incident: &Incident,
        action: ActionId,
        outcome: Outcome,
        now_secs: u64,
    ) -> bool {
        let p = self.entry(incident.error_type, &incident.facts, now_secs);
        if !remember(
            &mut p.recent_keys,
            format!("outcome:{incident_key}:{}", action.id()),
        ) {
            return false;
        }
        let s = p.actions.entry(action).or_default();
        s.tried += 1;
        if outcome == Outcome::Succeeded {
            s.succeeded += 1;
        }
        s.last_outcome = Some(outcome);
        s.last_tried = Some(rfc3339_utc(now_secs));
        true
    }

    /// The pattern an incident belongs to, if it was seen before.
    pub fn pattern_for(&self, t: ErrorType, facts: &Facts) -> Option<&FailurePattern> {
        self.patterns.get(&signature(t, facts))
    }

    /// Ranks `candidates` for an incident: best first, each with its reason.
    pub fn rank(&self, incident: &Incident, candidates: &[ActionId]) -> Vec<RankedAction> {
        let t = incident.error_type;
        let pattern = self.pattern_for(t, &incident.facts);
        let desc = pattern.map_or_else(|| describe(t, &incident.facts), |p| p.description.clone());
        let mut ranked: Vec<(RankedAction, u8)> = candidates
            .iter()
            .map(|&action| {
                let base = action.base_priority(t).unwrap_or(0);
                let stats = pattern
                    .and_then(|p| p.actions.get(&action))
                    .cloned()
                    .unwrap_or_default();
                let (score, why) = blend(base, &stats, &desc);
                let info = action.info();
                (
                    RankedAction {
                        action,
                        score,
                        why,
                        risk: info.risk,
                        needs_consent: action.needs_consent(),
                    },
                    base,
                )
            })
            .collect();
        ranked.sort_by(|(a, ba), (b, bb)| {
            b.score
                .total_cmp(&a.score)
                .then(bb.cmp(ba))
                .then(a.action.id().cmp(b.action.id()))
        });
        ranked.into_iter().map(|(r, _)| r).collect()
    }
}

impl Patterns {
    /// Forgets a pattern entirely. Returns whether it existed.
    pub fn forget(&mut self, id: &str) -> bool {
        self.patterns.remove(id).is_some()
    }

    /// Clears a pattern's per-action statistics (occurrences stay). Returns whether it existed.
    pub fn reset_stats(&mut self, id: &str) -> bool {
        match self.patterns.get_mut(id) {
            Some(p) => {
                p.actions.clear();
                p.recent_keys.retain(|k| !k.starts_with("outcome:"));
                true
            }
            None => false,
        }
    }
}

impl FailurePattern {
    /// The actions with statistics for this pattern, ranked with the same [`blend`] the fix buttons
    /// use: (action, score, success estimate, why), best first.
    pub fn ranked_actions(&self) -> Vec<(ActionId, f64, f64, String)> {
        let mut out: Vec<(ActionId, f64, f64, String)> = self
            .actions
            .iter()
            .map(|(a, stats)| {
                let (score, why) = blend(
                    a.base_priority(self.error_type).unwrap_or(0),
                    stats,
                    &self.description,
                );
                (*a, score, stats.success_estimate(), why)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id().cmp(b.0.id())));
        out
    }

    /// The most recent outcome of any action, with the action.
    pub fn last_outcome(&self) -> Option<(ActionId, Outcome)> {
        self.actions
            .iter()
            .filter_map(|(a, s)| Some((s.last_tried.clone()?, *a, s.last_outcome?)))
            .max_by(|x, y| x.0.cmp(&y.0))
            .map(|(_, a, o)| (a, o))
    }
}

/// The ranking formula and its reason, shared by the fix buttons and the patterns panel.
pub fn blend(base_priority: u8, stats: &ActionStats, description: &str) -> (f64, String) {
    let prior = f64::from(base_priority.min(100)) / 100.0;
    let n = f64::from(stats.tried);
    let weight = n / (n + PRIOR_STRENGTH);
    let score = weight * stats.success_estimate() + (1.0 - weight) * prior;
    let why = if stats.tried == 0 {
        format!("not tried yet for {description}; ranked by default")
    } else {
        let times = if stats.tried == 1 { "time" } else { "times" };
        let mut why = format!(
            "worked {} of {} {times} for {description}",
            stats.succeeded, stats.tried
        );
        if stats.last_outcome == Some(Outcome::Failed) && stats.succeeded > 0 {
            why.push_str("; failed last time");
        }
        why
    };
    (score, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Fact;
    use crate::engine::actions::candidates;

    fn port_incident(port: i64) -> Incident {
        let mut facts = Facts::new();
        facts.insert("port", Fact::Int(port));
        Incident {
            error_type: ErrorType::PortConflict,
            line: 1,
            message: "address already in use".into(),
            facts,
            rule_id: Some("address_already_in_use".into()),
            first_line: 1,
            context: vec![],
        }
    }

    #[test]
    fn signatures_normalize() {
        let mut f = Facts::new();
        f.insert("module", Fact::Text("torch.cuda".into()));
        assert_eq!(
            signature(ErrorType::DependencyMissing, &f),
            "dependency_missing|module=torch"
        );
        assert_eq!(
            signature(ErrorType::PortConflict, &port_incident(8000).facts),
            "port_conflict|port=8000"
        );
        let mut g = Facts::new();
        g.insert("path", Fact::Text("/home/a/proj/config.yaml".into()));
        let mut h = Facts::new();
        h.insert("path", Fact::Text("C:\\work\\config.yaml".into()));
        assert_eq!(
            signature(ErrorType::ConfigInvalid, &g),
            signature(ErrorType::ConfigInvalid, &h)
        );
        assert_eq!(top_module("@scope/pkg/sub"), "@scope/pkg");
    }

    #[test]
    fn each_incident_and_outcome_counts_once() {
        let mut p = Patterns::default();
        let inc = port_incident(8000);
        assert!(p.record_incident("run1#1", &inc, 100).1);
        assert!(!p.record_incident("run1#1", &inc, 101).1);
        assert!(p.record_incident("run2#1", &inc, 200).1);
        assert!(p.record_outcome(
            "run1#1",
            &inc,
            ActionId::FindAlternativePort,
            Outcome::Succeeded,
            100
        ));
        assert!(!p.record_outcome(
            "run1#1",
            &inc,
            ActionId::FindAlternativePort,
            Outcome::Succeeded,
            100
        ));
        let pat = &p.patterns["port_conflict|port=8000"];
        assert_eq!(pat.occurrences, 2);
        assert_eq!(pat.actions[&ActionId::FindAlternativePort].tried, 1);
        assert_eq!(pat.last_seen, "1970-01-01T00:03:20Z");
    }

    #[test]
    fn untried_keeps_default_and_one_failure_does_not_bury_it() {
        let inc = port_incident(8000);
        let cands = candidates(&inc);
        let mut p = Patterns::default();
        let first = p.rank(&inc, &cands);
        assert_eq!(first[0].action, ActionId::FindAlternativePort);
        assert!(
            first[0]
                .why
                .contains("not tried yet for port 8000 conflicts"),
            "{}",
            first[0].why
        );

        p.record_outcome("a", &inc, ActionId::FindAlternativePort, Outcome::Failed, 1);
        assert_eq!(
            p.rank(&inc, &cands)[0].action,
            ActionId::FindAlternativePort
        );

        for k in ["b", "c", "d"] {
            p.record_outcome(k, &inc, ActionId::FindAlternativePort, Outcome::Failed, 2);
        }
        assert_ne!(
            p.rank(&inc, &cands)[0].action,
            ActionId::FindAlternativePort,
            "a record of failures wins"
        );

        for k in ["e", "f", "g", "h"] {
            p.record_outcome(k, &inc, ActionId::KillProcessOnPort, Outcome::Succeeded, 3);
        }
        let r = p.rank(&inc, &cands);
        assert_eq!(r[0].action, ActionId::KillProcessOnPort);
        assert_eq!(r[0].why, "worked 4 of 4 times for port 8000 conflicts");
    }

    #[test]
    fn ranking_is_deterministic() {
        let inc = port_incident(8000);
        let cands = candidates(&inc);
        let p = Patterns::default();
        let a: Vec<_> = p.rank(&inc, &cands).into_iter().map(|r| r.action).collect();
        let mut rev = cands.clone();
        rev.reverse();
        let b: Vec<_> = p.rank(&inc, &rev).into_iter().map(|r| r.action).collect();
        assert_eq!(a, b);
    }
}
