//! Fallback configurations: what to change in a service's launch when a given failure happens.
//!
//! One [`FallbackConfig`] per [`ErrorType`], editable by the user and stored in `fallbacks.ron`. Every
//! key changes something real when applied to a [`LaunchSpec`]: ports to try, bind host, startup timeout
//! factor and cap, extra arguments and environment, command renames. [`FallbackConfig::apply`] returns
//! the new spec and the list of changes, so the app can show "before → after" and the supervisor can
//! relaunch with exactly that.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ErrorType;
use super::actions::Os;

/// Version of `fallbacks.ron`.
pub const FALLBACKS_VERSION: u32 = 1;

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

/// What to change for one failure type. `None`/empty means "leave as it is".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FallbackConfig {
    /// Try this many ports directly above the wanted one first (0: none).
    pub search_above_current: u16,
    /// Then these ranges, in order.
    pub port_ranges: Vec<PortRange>,
    /// Bind to this host instead (e.g. 127.0.0.1 so no firewall is involved).
    pub bind_host: Option<String>,
    /// Multiply the startup timeout by this (> 1).
    pub timeout_factor: Option<f64>,
    /// … but never beyond this many seconds.
    pub timeout_cap_secs: u64,
    /// Arguments appended to the command.
    pub extra_args: Vec<String>,
    /// Environment variables set for the service.
    pub extra_env: BTreeMap<String, String>,
    /// Program renames for the command's first word (`python` → `python3`).
    pub command_substitutions: BTreeMap<String, String>,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        FallbackConfig {
            search_above_current: 0,
            port_ranges: Vec::new(),
            bind_host: None,
            timeout_factor: None,
            timeout_cap_secs: 600,
            extra_args: Vec::new(),
            extra_env: BTreeMap::new(),
            command_substitutions: BTreeMap::new(),
        }
    }
}

/// How a service is launched, as far as fallbacks are concerned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchSpec {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Environment set for the service.
    pub env: BTreeMap<String, String>,
    /// The bind host (`{host}` in commands).
    pub host: String,
    /// The port (`{port}`), when the service has one.
    pub port: Option<u16>,
    /// Startup timeout.
    pub startup_timeout_secs: u64,
}

/// One field changed by applying a fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Which field ("host", "startup_timeout_secs", "command", "env.NAME").
    pub field: String,
    /// Value before.
    pub before: String,
    /// Value after.
    pub after: String,
}

impl FallbackConfig {
    /// Problems that make the config unusable, each naming its field.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, r) in self.port_ranges.iter().enumerate() {
            if r.start < 1024 {
                problems.push(format!(
                    "port_ranges[{i}]: start {} is below 1024 (privileged)",
                    r.start
                ));
            }
            if r.start > r.end {
                problems.push(format!(
                    "port_ranges[{i}]: start {} is after end {}",
                    r.start, r.end
                ));
            }
        }
        for (i, a) in self.port_ranges.iter().enumerate() {
            for (j, b) in self.port_ranges.iter().enumerate().skip(i + 1) {
                if a.start <= b.end && b.start <= a.end {
                    problems.push(format!("port_ranges[{i}] and port_ranges[{j}] overlap"));
                }
            }
        }
        if let Some(h) = &self.bind_host
            && !is_valid_host(h)
        {
            problems.push(format!(
                "bind_host: \"{h}\" is not an IP address or host name"
            ));
        }
        if let Some(f) = self.timeout_factor
            && !(f.is_finite() && f > 1.0)
        {
            problems.push(format!("timeout_factor: {f} must be greater than 1"));
        }
        if self.timeout_cap_secs == 0 {
            problems.push("timeout_cap_secs: must be at least 1".into());
        }
        for k in self.extra_env.keys() {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                problems.push(format!("extra_env: \"{k}\" is not a valid variable name"));
            }
        }
        problems
    }

    /// Candidate ports in order: just above `current`, then the ranges; never `current` itself, never a
    /// port in `taken` (reserved by other services of the run). The caller bind-tests each.
    pub fn port_candidates(&self, current: Option<u16>, taken: &BTreeSet<u16>) -> Vec<u16> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |p: u16| {
            if Some(p) != current && p >= 1024 && !taken.contains(&p) && seen.insert(p) {
                out.push(p);
            }
        };
        if let Some(c) = current {
            for step in 1..=self.search_above_current {
                match c.checked_add(step) {
                    Some(p) => push(p),
                    None => break,
                }
            }
        }
        for r in &self.port_ranges {
            for p in r.start..=r.end {
                push(p);
            }
        }
        out
    }

    /// The raised startup timeout: × factor, at most the cap, never lower than before.
    pub fn raised_timeout(&self, current_secs: u64) -> u64 {
        let Some(f) = self.timeout_factor.filter(|f| f.is_finite() && *f > 1.0) else {
            return current_secs;
        };
        let raised = (current_secs.max(1) as f64 * f).ceil() as u64;
        raised.min(self.timeout_cap_secs).max(current_secs)
    }

    /// Applies every key (except ports, which need a bind test) to a launch spec.
    pub fn apply(&self, spec: &LaunchSpec) -> (LaunchSpec, Vec<Change>) {
        let mut next = spec.clone();
        let mut changes = Vec::new();
        if let Some(h) = &self.bind_host
            && *h != spec.host
        {
            next.host = h.clone();
            changes.push(Change {
                field: "host".into(),
                before: spec.host.clone(),
                after: h.clone(),
            });
        }
        let t = self.raised_timeout(spec.startup_timeout_secs);
        if t != spec.startup_timeout_secs {
            next.startup_timeout_secs = t;
            changes.push(Change {
                field: "startup_timeout_secs".into(),
                before: spec.startup_timeout_secs.to_string(),
                after: t.to_string(),
            });
        }
        if let Some(first) = next.command.first_mut()
            && let Some(new) = self.command_substitutions.get(first.as_str())
        {
            let before = first.clone();
            *first = new.clone();
            changes.push(Change {
                field: "command[0]".into(),
                before,
                after: new.clone(),
            });
        }
        let missing: Vec<&String> = self
            .extra_args
            .iter()
            .filter(|a| !spec.command.contains(a))
            .collect();
        if !missing.is_empty() {
            let before = spec.command.join(" ");
            next.command.extend(missing.into_iter().cloned());
            changes.push(Change {
                field: "command".into(),
                before,
                after: next.command.join(" "),
            });
        }
        for (k, v) in &self.extra_env {
            if spec.env.get(k) != Some(v) {
                let before = spec.env.get(k).cloned().unwrap_or_else(|| "(unset)".into());
                next.env.insert(k.clone(), v.clone());
                changes.push(Change {
                    field: format!("env.{k}"),
                    before,
                    after: v.clone(),
                });
            }
        }
        (next, changes)
    }
}

/// An IP address or an RFC 1123 host name.
pub fn is_valid_host(h: &str) -> bool {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// All fallback configurations (the content of `fallbacks.ron`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallbacks {
    /// File format version.
    pub version: u32,
    /// Config per failure type; a missing type uses its default.
    #[serde(default)]
    pub configs: BTreeMap<ErrorType, FallbackConfig>,
}

impl Default for Fallbacks {
    fn default() -> Self {
        Fallbacks::defaults_for(Os::current())
    }
}

impl Fallbacks {
    /// The shipped defaults for an OS.
    pub fn defaults_for(os: Os) -> Fallbacks {
        let mut configs = BTreeMap::new();
        for t in ErrorType::ALL {
            configs.insert(t, default_config(t, os));
        }
        Fallbacks {
            version: FALLBACKS_VERSION,
            configs,
        }
    }

    /// The config for a type (its default when the file has none).
    pub fn get(&self, t: ErrorType) -> FallbackConfig {
        self.configs
            .get(&t)
            .cloned()
            .unwrap_or_else(|| default_config(t, Os::current()))
    }
}

/// The shipped default for one type.
pub fn default_config(t: ErrorType, os: Os) -> FallbackConfig {
    let mut c = FallbackConfig::default();
    match t {
        ErrorType::PortConflict => {
            c.search_above_current = 20;
            c.port_ranges = vec![PortRange {
                start: 18000,
                end: 18999,
            }];
        }
        ErrorType::PermissionDenied => {
            c.port_ranges = vec![
                PortRange {
                    start: 8000,
                    end: 8099,
                },
                PortRange {
                    start: 18000,
                    end: 18999,
                },
            ];
        }
        ErrorType::FirewallBlocked => {
            // Loopback traffic never meets the firewall, and local tools rarely need more.
            c.bind_host = Some("127.0.0.1".into());
            c.port_ranges = vec![PortRange {
                start: 18000,
                end: 18999,
            }];
        }
        ErrorType::TimeoutError => {
            c.timeout_factor = Some(2.0);
            c.timeout_cap_secs = 600;
        }
        ErrorType::DependencyMissing => {
            c.command_substitutions = match os {
                Os::Windows => [("python3", "python"), ("pip3", "pip")],
                _ => [("python", "python3"), ("pip", "pip3")],
            }
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        }
        ErrorType::NetworkError => {
            c.bind_host = Some("127.0.0.1".into());
        }
        ErrorType::ConfigInvalid
        | ErrorType::ProcessFailed
        | ErrorType::VirtualEnvError
        | ErrorType::Unknown => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LaunchSpec {
        LaunchSpec {
            command: vec!["python".into(), "app.py".into()],
            env: BTreeMap::new(),
            host: "0.0.0.0".into(),
            port: Some(8000),
            startup_timeout_secs: 30,
        }
    }

    #[test]
    fn defaults_are_valid() {
        for os in [Os::Linux, Os::MacOs, Os::Windows] {
            for (t, c) in Fallbacks::defaults_for(os).configs {
                assert!(c.validate().is_empty(), "{t}: {:?}", c.validate());
            }
        }
    }

    #[test]
    fn every_key_changes_a_real_field() {
        let mut c = FallbackConfig {
            bind_host: Some("127.0.0.1".into()),
            timeout_factor: Some(2.0),
            timeout_cap_secs: 45,
            extra_args: vec!["--no-reload".into()],
            ..FallbackConfig::default()
        };
        c.extra_env.insert("HF_HUB_OFFLINE".into(), "1".into());
        c.command_substitutions
            .insert("python".into(), "python3".into());
        let (next, changes) = c.apply(&spec());
        assert_eq!(next.host, "127.0.0.1");
        assert_eq!(next.startup_timeout_secs, 45, "capped");
        assert_eq!(next.command, vec!["python3", "app.py", "--no-reload"]);
        assert_eq!(next.env["HF_HUB_OFFLINE"], "1");
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "host",
                "startup_timeout_secs",
                "command[0]",
                "command",
                "env.HF_HUB_OFFLINE"
            ]
        );
        let (again, none) = c.apply(&next);
        assert_eq!(again, next);
        assert!(
            none.iter().all(|c| c.field == "startup_timeout_secs") || none.is_empty(),
            "{none:?}"
        );
    }

    #[test]
    fn ports_skip_current_taken_and_privileged() {
        let c = default_config(ErrorType::PortConflict, Os::Linux);
        let taken: BTreeSet<u16> = [8001].into();
        let p = c.port_candidates(Some(8000), &taken);
        assert_eq!(&p[..3], &[8002, 8003, 8004]);
        assert!(p.contains(&18000));
        let near_top = c.port_candidates(Some(65530), &BTreeSet::new());
        assert_eq!(&near_top[..5], &[65531, 65532, 65533, 65534, 65535]);
    }

    #[test]
    fn validation_names_fields() {
        let c = FallbackConfig {
            port_ranges: vec![
                PortRange { start: 80, end: 90 },
                PortRange {
                    start: 9000,
                    end: 8000,
                },
                PortRange {
                    start: 8500,
                    end: 8600,
                },
            ],
            bind_host: Some("not a host".into()),
            timeout_factor: Some(0.5),
            ..FallbackConfig::default()
        };
        let p = c.validate().join("\n");
        assert!(p.contains("port_ranges[0]: start 80 is below 1024"), "{p}");
        assert!(
            p.contains("port_ranges[1]: start 9000 is after end 8000"),
            "{p}"
        );
        assert!(p.contains("bind_host"), "{p}");
        assert!(p.contains("timeout_factor: 0.5"), "{p}");
        assert!(
            is_valid_host("localhost") && is_valid_host("::1") && is_valid_host("api.internal")
        );
    }
}
