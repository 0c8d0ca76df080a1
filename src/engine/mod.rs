//! The pure core of Startup Medic: what went wrong, what could fix it, and what worked before.
//!
//! Nothing in here spawns processes, touches the network, writes files or knows about egui or tokio, so
//! the whole engine runs in microseconds inside unit tests and is shared by the CLI, the supervisor and
//! the desktop app alike. Effects (killing, installing, relaunching) are planned here and carried out by
//! the supervisor.

pub mod actions;
pub mod classify;
pub mod fallback;
pub mod learning;
pub mod retry;
pub mod rules;
pub mod time;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a service failed to start or stay up. Serialized in snake_case; these names are part of the
/// CLI's JSON contract and of every stored file, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// Another socket already listens on the address the service wants.
    PortConflict,
    /// The OS refused an operation: a privileged port, a file or directory, a socket permission.
    PermissionDenied,
    /// A module, package, shared library or program the service needs is not installed.
    DependencyMissing,
    /// A configuration file or setting does not parse or is rejected.
    ConfigInvalid,
    /// The process crashed or exited for a reason no more specific type explains.
    ProcessFailed,
    /// A connection the service makes failed: refused, unresolvable host, reset.
    NetworkError,
    /// Traffic is being dropped or rejected by a firewall.
    FirewallBlocked,
    /// The Python virtual environment is missing, broken, or not the one in use.
    VirtualEnvError,
    /// Something did not finish or become ready in the time allowed.
    TimeoutError,
    /// An error was reported but nothing more specific can be said about it.
    Unknown,
}

impl ErrorType {
    /// Every type, in declaration order.
    pub const ALL: [ErrorType; 10] = [
        ErrorType::PortConflict,
        ErrorType::PermissionDenied,
        ErrorType::DependencyMissing,
        ErrorType::ConfigInvalid,
        ErrorType::ProcessFailed,
        ErrorType::NetworkError,
        ErrorType::FirewallBlocked,
        ErrorType::VirtualEnvError,
        ErrorType::TimeoutError,
        ErrorType::Unknown,
    ];

    /// The stable snake_case id (same as the serialized form).
    pub fn id(self) -> &'static str {
        match self {
            ErrorType::PortConflict => "port_conflict",
            ErrorType::PermissionDenied => "permission_denied",
            ErrorType::DependencyMissing => "dependency_missing",
            ErrorType::ConfigInvalid => "config_invalid",
            ErrorType::ProcessFailed => "process_failed",
            ErrorType::NetworkError => "network_error",
            ErrorType::FirewallBlocked => "firewall_blocked",
            ErrorType::VirtualEnvError => "virtual_env_error",
            ErrorType::TimeoutError => "timeout_error",
            ErrorType::Unknown => "unknown",
        }
    }

    /// A short human name ("port conflict").
    pub fn label(self) -> &'static str {
        match self {
            ErrorType::PortConflict => "port conflict",
            ErrorType::PermissionDenied => "permission denied",
            ErrorType::DependencyMissing => "missing dependency",
            ErrorType::ConfigInvalid => "invalid configuration",
            ErrorType::ProcessFailed => "process failed",
            ErrorType::NetworkError => "network error",
            ErrorType::FirewallBlocked => "blocked by a firewall",
            ErrorType::VirtualEnvError => "virtual environment problem",
            ErrorType::TimeoutError => "timeout",
            ErrorType::Unknown => "unknown error",
        }
    }

    /// Parses the snake_case id.
    pub fn from_id(id: &str) -> Option<ErrorType> {
        ErrorType::ALL.into_iter().find(|t| t.id() == id)
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One fact value: a number (ports, exit codes, pids) or a piece of text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fact {
    /// A whole number such as a port or an exit code.
    Int(i64),
    /// Anything else: a module name, a host, a path.
    Text(String),
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Int(n) => write!(f, "{n}"),
            Fact::Text(s) => f.write_str(s),
        }
    }
}

/// An IPv6 host without the brackets an address puts round it (`[::1]:5432` names `::1`).
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// A Windows path as Python's repr prints it (`'C:\\ProgramData\\app'`) becomes the path itself.
/// Only when every run of backslashes has an even length: a path as it is (`C:\app`,
/// `\\server\share`) always has an odd run somewhere.
fn unescape_repr_backslashes(value: &str) -> String {
    let mut runs = value
        .split(|c| c != '\\')
        .filter(|run| !run.is_empty())
        .peekable();
    if runs.peek().is_none() || !runs.all(|run| run.len() % 2 == 0) {
        return value.to_string();
    }
    value.replace("\\\\", "\\")
}

/// Keys a rule may capture. Others are rejected when rules are loaded, so a typo in a user rule is
/// reported instead of silently producing a fact nobody reads.
pub const FACT_KEYS: [&str; 7] = [
    "port",
    "host",
    "module",
    "command",
    "library",
    "path",
    "exit_code",
];

/// Keys whose values are numbers.
const NUMERIC_KEYS: [&str; 2] = ["port", "exit_code"];

/// Facts about an incident, keyed by name (`port`, `host`, `module`, `command`, `library`, `path`,
/// `exit_code`; the supervisor adds `pid`, `process`, …). Ordered so output is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Facts(pub BTreeMap<String, Fact>);

impl Facts {
    /// An empty set of facts.
    pub fn new() -> Facts {
        Facts::default()
    }

    /// Sets `key` from captured text: numeric keys are parsed (a port outside 1..=65535 or an
    /// unparsable number is dropped, since a wrong port is worse than none); a host with no letter
    /// or digit in it (`:` from a mis-split `::1:7860`) is dropped for the same reason.
    pub fn set_captured(&mut self, key: &str, raw: &str) {
        let mut value = raw.trim();
        // A quoted value at the end of a sentence (`'tsconfig.json'.`): the punctuation is not part of it.
        if let Some(v) = value.strip_suffix(['.', ',', ';', ':'])
            && v.ends_with(['\'', '"', '`'])
        {
            value = v;
        }
        let value = value.trim_matches(|c| c == '\'' || c == '"' || c == '`');
        let value = match key {
            "host" => bare_host(value),
            _ => value,
        };
        if value.is_empty() || (key == "host" && !value.chars().any(|c| c.is_ascii_alphanumeric()))
        {
            return;
        }
        // "the package is not installed": a word for a package is not its name.
        if matches!(key, "module" | "library" | "command")
            && [
                "package", "module", "library", "program", "command", "it", "this", "that",
            ]
            .iter()
            .any(|w| value.eq_ignore_ascii_case(w))
        {
            return;
        }
        if NUMERIC_KEYS.contains(&key) {
            let Ok(n) = value.parse::<i64>() else { return };
            if key == "port" && !(1..=65535).contains(&n) {
                return;
            }
            self.0.insert(key.to_string(), Fact::Int(n));
        } else if key == "path" {
            self.0.insert(
                key.to_string(),
                Fact::Text(unescape_repr_backslashes(value)),
            );
        } else if key == "module" && value.contains("%2") {
            // A scoped npm package as its registry URL spells it (`@shop%2fui`).
            let value = value.replace("%2f", "/").replace("%2F", "/");
            self.0.insert(key.to_string(), Fact::Text(value));
        } else {
            self.0
                .insert(key.to_string(), Fact::Text(value.to_string()));
        }
    }

    /// Inserts `key` only when it is not present yet.
    pub fn fill(&mut self, key: &str, value: Fact) {
        self.0.entry(key.to_string()).or_insert(value);
    }

    /// Inserts or replaces `key`.
    pub fn insert(&mut self, key: &str, value: Fact) {
        self.0.insert(key.to_string(), value);
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Fact> {
        self.0.get(key)
    }

    /// The text value of `key` (numbers are not converted).
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(Fact::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// The numeric value of `key` (text is not parsed).
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key) {
            Some(Fact::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// The port, when it is a valid one.
    pub fn port(&self) -> Option<u16> {
        self.int("port")
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
    }

    /// True when no fact is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Merges `other` in without overwriting what is already known.
    pub fn fill_from(&mut self, other: &Facts) {
        for (k, v) in &other.0 {
            self.0.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// One recognised failure: a root-cause line, its type, the facts read from it, and the grouped lines
/// around it (a whole traceback, an `npm ERR!` block, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The type decided from the root-cause evidence.
    pub error_type: ErrorType,
    /// 1-based number of the root-cause line in the stream.
    pub line: usize,
    /// The root-cause line, without ANSI escapes or surrounding white space.
    pub message: String,
    /// Facts read from the block (see [`Facts`]).
    pub facts: Facts,
    /// Id of the rule that decided the type (`None` for a fatal block no rule explained).
    pub rule_id: Option<String>,
    /// 1-based number of the first grouped line.
    pub first_line: usize,
    /// The grouped lines, as printed (ANSI removed), capped in count and length.
    pub context: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_for_a_package_is_not_its_name_and_registry_spellings_are_decoded() {
        let mut f = Facts::new();
        f.set_captured("module", "package");
        assert_eq!(f.text("module"), None);
        f.set_captured("module", "@shop%2fui");
        assert_eq!(f.text("module"), Some("@shop/ui"));
        f.set_captured("command", "It");
        assert_eq!(f.text("command"), None);
    }

    #[test]
    fn a_python_repr_windows_path_is_unescaped_and_real_paths_are_kept() {
        let mut f = Facts::new();
        f.set_captured("path", r"C:\\ProgramData\\imggen\\cache");
        assert_eq!(f.text("path"), Some(r"C:\ProgramData\imggen\cache"));
        f.set_captured("path", r"\\\\server\\share\\x");
        assert_eq!(f.text("path"), Some(r"\\server\share\x"));
        for kept in [
            r"C:\ProgramData\imggen",
            r"\\server\share\x",
            "/var/log/app.log",
            r"\\\\server\\share\x",
        ] {
            f.set_captured("path", kept);
            assert_eq!(f.text("path"), Some(kept));
        }
        f.set_captured("host", ":");
        assert_eq!(
            f.text("host"),
            None,
            "a host of punctuation only is no host"
        );
        f.set_captured("host", "[::1]");
        assert_eq!(
            f.text("host"),
            Some("::1"),
            "an IPv6 host loses its brackets"
        );
        f.set_captured("command", r"a\\b");
        assert_eq!(f.text("command"), Some(r"a\\b"), "only paths are unescaped");
    }

    #[test]
    fn a_quoted_value_ending_a_sentence_loses_the_full_stop_only() {
        let mut f = Facts::new();
        f.set_captured("path", "'tsconfig.json'.");
        assert_eq!(f.text("path"), Some("tsconfig.json"));
        f.set_captured("path", "./");
        assert_eq!(f.text("path"), Some("./"));
        f.set_captured("path", "app.");
        assert_eq!(
            f.text("path"),
            Some("app."),
            "unquoted values are kept as read"
        );
    }
}
