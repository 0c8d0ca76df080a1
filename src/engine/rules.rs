//! Classification rules as data, and the compiled form the classifier runs.
//!
//! `assets/rules.ron` is embedded in the binary; a user may add rules or override built-in ones (same
//! `id`) in `$STARTUP_MEDIC_HOME/rules.ron`. The raw [`RuleSet`] is what a file says; [`Classifier`] is
//! what runs: one `RegexSet` answers "which rules (and block markers) match this line" in a single pass,
//! and each rule's own `Regex` is only run on the rare lines that matched, to read its captures.
//!
//! Patterns are byte regexes with Unicode classes off (`\d`, `\w`, `\s` and case folding are ASCII):
//! logs are ASCII where it matters, and ASCII classes keep the automaton small and fast.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

use super::classify::{BlockKind, MARKERS};
use super::{ErrorType, FACT_KEYS};

/// The built-in rules, embedded at build time.
pub const BUILTIN_RULES: &str = include_str!("../../assets/rules.ron");

/// Version of the rules file format this build reads.
pub const RULES_VERSION: u32 = 1;

/// How a matching line takes part in an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Role {
    /// Evidence of a root cause: starts (or joins) an incident.
    #[default]
    Cause,
    /// Reports the consequence of an earlier error ("exit status 1", "app crashed"): joins the incident
    /// just before it, adding its facts; only stands alone when nothing came before.
    Consequence,
    /// A bare error-level line with nothing specific in it: becomes an `unknown` incident only when no
    /// real cause follows shortly.
    Weak,
    /// A word that says what kind of failure a block is about ("installed", "permission",
    /// "timed out"), without being an error by itself. Never starts or joins an incident: hints are
    /// only read over the lines of an incident that nothing but bare error lines explained, and the
    /// type whose hints weigh most (by priority, once per line) names it instead of `unknown`.
    Hint,
}

/// One rule as written in a rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable id; a user rule with the same id replaces the built-in one.
    pub id: String,
    /// The type an incident gets when this rule is its root cause.
    #[serde(rename = "type")]
    pub error_type: ErrorType,
    /// Byte regex (ASCII classes); named groups among `port`, `host`, `module`, `command`, `library`,
    /// `path`, `exit_code` become facts (a digit suffix is ignored: `path2` is `path`).
    pub pattern: String,
    /// Higher wins when several rules match lines of one incident (0–100).
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// See [`Role`].
    #[serde(default)]
    pub role: Role,
    /// A line matching this regex is not matched by the rule (e.g. "trying another port"); empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unless: String,
    /// `false` switches a built-in rule off from the user's file.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// A name shared by rules that tell one failure in different words and of different kinds
    /// (Hugging Face answers a bad token with a 401, then "Invalid username or password."): two
    /// incidents a few lines apart whose rules share it are one failure, typed by the first. Empty:
    /// none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub retells: String,
    /// The type this rule's failure takes when the output said before it that this Python is not
    /// the one the program is made for (pip finding no build of a package is then the interpreter's
    /// fault, not a missing package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_other_python: Option<ErrorType>,
    /// The line says something failed and the next lines may say why ("Failed to load
    /// next.config.mjs" … "Error: Cannot find module '@next/bundle-analyzer'"): a specific cause
    /// of another kind printed just after it is the incident.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
}

fn default_priority() -> u8 {
    50
}

fn default_enabled() -> bool {
    true
}

/// A rules file: a version and a list of rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Format version (see [`RULES_VERSION`]).
    pub version: u32,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// Why a rules file or a single rule could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The file is not valid RON for a rule set.
    #[error("the rules file does not parse: {0}")]
    Parse(String),
    /// The file is of a newer format than this build reads.
    #[error("the rules file has version {found}, this build reads version {RULES_VERSION}")]
    Version {
        /// The version written in the file.
        found: u32,
    },
    /// One rule is unusable; the others still work.
    #[error("rule \"{id}\": {message}")]
    Rule {
        /// The rule's id.
        id: String,
        /// What is wrong (the regex error, an unknown capture name, …).
        message: String,
    },
}

impl RuleSet {
    /// Parses a rules file.
    pub fn parse(text: &str) -> Result<RuleSet, RuleError> {
        let set: RuleSet = ron::from_str(text).map_err(|e| RuleError::Parse(e.to_string()))?;
        if set.version > RULES_VERSION {
            return Err(RuleError::Version { found: set.version });
        }
        Ok(set)
    }

    /// The embedded built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        RuleSet::parse(BUILTIN_RULES)
    }

    /// Built-in rules with a user's rules laid over them: same id replaces, new ids are appended,
    /// `enabled: false` removes.
    pub fn merged(mut self, user: RuleSet) -> RuleSet {
        for rule in user.rules {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => *existing = rule,
                None => self.rules.push(rule),
            }
        }
        self.rules.retain(|r| r.enabled);
        self
    }
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) id: String,
    pub(crate) error_type: ErrorType,
    pub(crate) priority: u8,
    pub(crate) role: Role,
    pub(crate) regex: Regex,
    pub(crate) unless: Option<Regex>,
    /// Capture group names that are facts (index, name).
    pub(crate) fact_groups: Vec<(usize, String)>,
    /// See [`Rule::retells`]; `None` for none.
    pub(crate) retells: Option<String>,
    /// See [`Rule::with_other_python`].
    pub(crate) with_other_python: Option<ErrorType>,
    /// See [`Rule::headline`].
    pub(crate) headline: bool,
}

/// The compiled rules plus block markers: build once, then classify any number of streams. Cloning is
/// cheap (shared), so every stream can own one.
#[derive(Debug, Clone)]
pub struct Classifier {
    pub(crate) rules: Arc<Vec<CompiledRule>>,
    /// Patterns `0..rules.len()` are rules; the rest are [`MARKERS`] in order.
    pub(crate) set: RegexSet,
    /// [`Role::Hint`] rules: kept out of `set`, so they cost nothing on ordinary lines.
    pub(crate) hints: Arc<Vec<CompiledRule>>,
}

fn compile_one(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| e.to_string())
}

fn compile_rule(rule: &Rule) -> Result<CompiledRule, RuleError> {
    let fail = |message: String| RuleError::Rule {
        id: rule.id.clone(),
        message,
    };
    if rule.id.trim().is_empty() {
        return Err(fail("the id is empty".into()));
    }
    let regex =
        compile_one(&rule.pattern).map_err(|e| fail(format!("pattern does not compile: {e}")))?;
    let unless = match rule.unless.as_str() {
        "" => None,
        p => Some(compile_one(p).map_err(|e| fail(format!("`unless` does not compile: {e}")))?),
    };
    let mut fact_groups = Vec::new();
    for (idx, name) in regex.capture_names().enumerate() {
        let Some(name) = name else { continue };
        // A regex cannot name two groups alike, so `path2`, `module3`, … count as `path`, `module`.
        let key = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if !FACT_KEYS.contains(&key) {
            return Err(fail(format!(
                "capture group \"{name}\" is not a fact; use one of {}",
                FACT_KEYS.join(", ")
            )));
        }
        fact_groups.push((idx, key.to_string()));
    }
    Ok(CompiledRule {
        id: rule.id.clone(),
        error_type: rule.error_type,
        priority: rule.priority,
        role: rule.role,
        regex,
        unless,
        fact_groups,
        retells: Some(rule.retells.trim())
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        with_other_python: rule.with_other_python,
        headline: rule.headline,
    })
}

impl Classifier {
    /// Compiles a rule set. Rules that do not compile are left out and reported; the rest work.
    pub fn build(set: &RuleSet) -> (Classifier, Vec<RuleError>) {
        let mut problems = Vec::new();
        let mut rules: Vec<CompiledRule> = Vec::with_capacity(set.rules.len());
        let mut hints: Vec<CompiledRule> = Vec::new();
        let mut seen = BTreeMap::new();
        for rule in set.rules.iter().filter(|r| r.enabled) {
            if seen.insert(rule.id.clone(), ()).is_some() {
                problems.push(RuleError::Rule {
                    id: rule.id.clone(),
                    message: "the id is used twice; the later rule is ignored".into(),
                });
                continue;
            }
            match compile_rule(rule) {
                Ok(c) if c.role == Role::Hint => hints.push(c),
                Ok(c) => rules.push(c),
                Err(e) => problems.push(e),
            }
        }
        let hints = Arc::new(hints);
        let patterns: Vec<&str> = rules
            .iter()
            .map(|r| r.regex.as_str())
            .chain(MARKERS.iter().map(|(p, _)| *p))
            .collect();
        let built = RegexSetBuilder::new(&patterns)
            .unicode(false)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build();
        match built {
            Ok(set) => (
                Classifier {
                    rules: Arc::new(rules),
                    set,
                    hints,
                },
                problems,
            ),
            Err(e) => {
                // Every pattern compiled alone, so only the combined size can fail: keep the markers
                // and say why the rules are off rather than classifying nothing in silence.
                problems.push(RuleError::Rule {
                    id: "*".into(),
                    message: format!("rules too large together: {e}"),
                });
                let set = RegexSetBuilder::new(MARKERS.iter().map(|(p, _)| *p))
                    .unicode(false)
                    .build()
                    .unwrap_or_else(|_| RegexSet::empty());
                (
                    Classifier {
                        rules: Arc::new(Vec::new()),
                        set,
                        hints,
                    },
                    problems,
                )
            }
        }
    }

    /// The built-in rules alone. They are tested to compile, so problems here are a build defect.
    pub fn builtin() -> (Classifier, Vec<RuleError>) {
        match RuleSet::builtin() {
            Ok(set) => Classifier::build(&set),
            Err(e) => (
                Classifier::build(&RuleSet {
                    version: RULES_VERSION,
                    rules: Vec::new(),
                })
                .0,
                vec![e],
            ),
        }
    }

    /// Built-in rules with the user's file laid over them (see [`RuleSet::merged`]). A user file that
    /// does not parse is reported and the built-in rules are used alone.
    pub fn with_user_rules(user_text: Option<&str>) -> (Classifier, Vec<RuleError>) {
        let builtin = match RuleSet::builtin() {
            Ok(s) => s,
            Err(e) => {
                return (
                    Classifier::build(&RuleSet {
                        version: RULES_VERSION,
                        rules: Vec::new(),
                    })
                    .0,
                    vec![e],
                );
            }
        };
        let Some(text) = user_text else {
            return Classifier::build(&builtin);
        };
        match RuleSet::parse(text) {
            Ok(user) => Classifier::build(&builtin.merged(user)),
            Err(e) => {
                let (c, mut problems) = Classifier::build(&builtin);
                problems.insert(0, e);
                (c, problems)
            }
        }
    }

    /// The active rule (hints included) with this id.
    pub(crate) fn rule(&self, id: &str) -> Option<&CompiledRule> {
        self.rules
            .iter()
            .chain(self.hints.iter())
            .find(|r| r.id == id)
    }

    /// Whether the rules with these ids tell one failure (see [`Rule::retells`]).
    pub(crate) fn retell_each_other(&self, a: Option<&str>, b: Option<&str>) -> bool {
        let group = |id: Option<&str>| id.and_then(|id| self.rule(id)?.retells.as_deref());
        matches!((group(a), group(b)), (Some(x), Some(y)) if x == y)
    }

    /// Whether `id` is one of the active [`Role::Hint`] rules.
    pub(crate) fn is_hint(&self, id: &str) -> bool {
        self.hints.iter().any(|h| h.id == id)
    }

    /// Number of active rules (hints included).
    pub fn rule_count(&self) -> usize {
        self.rules.len() + self.hints.len()
    }

    /// The kind of failure the hints name over `lines` (see [`Role::Hint`]), with the id of the
    /// weightiest hint of that kind: `None` when no hint matched or two kinds weigh the same.
    pub(crate) fn hinted_type<'a>(
        &self,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Option<(ErrorType, &str)> {
        let mut weight: BTreeMap<ErrorType, (u32, usize)> = BTreeMap::new();
        for line in lines {
            let line = line.as_bytes();
            for (i, h) in self.hints.iter().enumerate() {
                if h.regex.is_match(line) && !h.unless.as_ref().is_some_and(|u| u.is_match(line)) {
                    let w = weight.entry(h.error_type).or_insert((0, i));
                    if u32::from(h.priority) > u32::from(self.hints[w.1].priority) {
                        w.1 = i;
                    }
                    w.0 += u32::from(h.priority);
                }
            }
        }
        let mut ranked: Vec<(ErrorType, (u32, usize))> = weight.into_iter().collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1.0));
        match ranked.as_slice() {
            [] => None,
            [(_, (a, _)), (_, (b, _)), ..] if a == b => None,
            [(t, (_, i)), ..] => Some((*t, self.hints[*i].id.as_str())),
        }
    }

    /// Ids and patterns of the active rules (for `grep -f` comparisons and diagnostics).
    pub fn patterns(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rules.iter().map(|r| (r.id.as_str(), r.regex.as_str()))
    }

    pub(crate) fn marker_kind(&self, set_index: usize) -> Option<BlockKind> {
        set_index
            .checked_sub(self.rules.len())
            .and_then(|i| MARKERS.get(i))
            .map(|(_, k)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_all_compile() {
        let (c, problems) = Classifier::builtin();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(c.rule_count() > 100, "only {} rules", c.rule_count());
    }

    #[test]
    fn bad_user_rule_is_named_and_builtins_keep_working() {
        let user = r#"(version: 1, rules: [
            (id: "broken", type: port_conflict, pattern: "(unclosed"),
            (id: "typo", type: port_conflict, pattern: "(?P<prot>\\d+) taken"),
            (id: "mine", type: network_error, pattern: "flux capacitor offline"),
        ])"#;
        let (c, problems) = Classifier::with_user_rules(Some(user));
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("rule \"broken\": pattern does not compile"),
            "{}",
            text[0]
        );
        assert!(text[1].contains("\"prot\" is not a fact"), "{}", text[1]);
        let incidents = c.classify_text("flux capacitor offline\n");
        assert_eq!(incidents[0].error_type, ErrorType::NetworkError);
        let incidents = c.classify_text("OSError: [Errno 98] Address already in use\n");
        assert_eq!(incidents[0].error_type, ErrorType::PortConflict);
    }

    #[test]
    fn rules_that_retell_one_failure_make_one_incident_typed_by_the_first() {
        let user = r##"(version: 1, rules: [
            (id: "vault_sealed", type: network_error, priority: 80,
             pattern: r#"^vault: server is sealed"#, retells: "vault login"),
            (id: "vault_token", type: config_invalid, priority: 80,
             pattern: r#"^vault: permission denied for token"#, retells: "vault login"),
        ])"##;
        let (c, problems) = Classifier::with_user_rules(Some(user));
        assert!(problems.is_empty(), "{problems:?}");
        let log = "vault: server is sealed\nchecking the token file\nvault: permission denied for token\n";
        let got = c.classify_text(log);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::NetworkError);
        let apart = user.replace(r#", retells: "vault login""#, "");
        let (c, _) = Classifier::with_user_rules(Some(&apart));
        assert_eq!(
            c.classify_text(log).len(),
            2,
            "without `retells`, two failures"
        );
    }

    #[test]
    fn a_rule_says_what_its_failure_is_after_a_wrong_python_notice() {
        let (c, _) = Classifier::builtin();
        let pip = "ERROR: No matching distribution found for torch==2.1.2\n";
        assert_eq!(
            c.classify_text(pip)[0].error_type,
            ErrorType::DependencyMissing
        );
        let noticed = format!(
            "INCOMPATIBLE PYTHON VERSION\n\nThis program is tested with 3.10.6 Python, but you have 3.13.0.\n\n{pip}"
        );
        assert_eq!(
            c.classify_text(&noticed)[0].error_type,
            ErrorType::VirtualEnvError
        );
    }

    #[test]
    fn user_rule_overrides_and_disables_by_id() {
        let builtin = RuleSet::builtin().expect("builtin parses");
        let first = builtin.rules[0].id.clone();
        let user = RuleSet {
            version: 1,
            rules: vec![Rule {
                id: first.clone(),
                error_type: ErrorType::Unknown,
                pattern: "x".into(),
                priority: 1,
                role: Role::Cause,
                unless: String::new(),
                enabled: false,
                retells: String::new(),
                with_other_python: None,
                headline: false,
            }],
        };
        let merged = builtin.clone().merged(user);
        assert_eq!(merged.rules.len() + 1, builtin.rules.len());
        assert!(merged.rules.iter().all(|r| r.id != first));
    }

    #[test]
    fn unreadable_user_file_keeps_builtins() {
        let (c, problems) = Classifier::with_user_rules(Some("(version: 1, rules: [ (id: "));
        assert!(matches!(problems[0], RuleError::Parse(_)));
        assert!(c.rule_count() > 100);
        let (_, problems) = Classifier::with_user_rules(Some("(version: 9, rules: [])"));
        assert_eq!(problems, vec![RuleError::Version { found: 9 }]);
    }
}
