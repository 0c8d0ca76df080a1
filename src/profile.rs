//! Profiles: the services of a stack, in RON, with defaults for everything but a name and a command.
//!
//! ```ron
//! (
//!     name: "demo",
//!     services: [
//!         (name: "api", command: ["python3", "-m", "http.server", "{port}"], port: 8000, ready: Tcp),
//!         (name: "web", command: ["npm", "run", "dev", "--", "--port", "{port}"], port: 5173,
//!          env: {"API_URL": "http://127.0.0.1:{port:api}"}, depends_on: ["api"]),
//!     ],
//! )
//! ```
//!
//! `{port}` is the port the service really gets, `{port:NAME}` another service's, `{host}` the bind
//! host; they are replaced in the command, env values and probe URLs at every launch, so a frontend
//! follows its backend when the backend moves. A bad profile is rejected with the file, the line and
//! column, the field and what was expected.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How to tell that a service is up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Ready {
    /// `Tcp` when the service has a port, else `Started`.
    #[default]
    Auto,
    /// The port accepts a TCP connection.
    Tcp,
    /// A GET on this URL answers 2xx or 3xx (`{port}` and `{host}` allowed).
    Http(String),
    /// A line of output matches this regex.
    Log(String),
    /// The process is still running a second after it started.
    Started,
}

/// When to start a service again after it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Restart {
    /// Never.
    Never,
    /// After it exited with a failure (non-zero code or a signal), with backoff.
    #[default]
    OnFailure,
    /// After any exit, with backoff.
    Always,
}

/// One service of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Unique name within the profile.
    pub name: String,
    /// Program and arguments (run directly, never through a shell).
    pub command: Vec<String>,
    /// The port it listens on, if any.
    #[serde(default)]
    pub port: Option<u16>,
    /// The bind host (`{host}`).
    #[serde(default = "default_host")]
    pub host: String,
    /// Readiness probe.
    #[serde(default)]
    pub ready: Ready,
    /// Working directory, relative to the profile file.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Extra environment (values may use `{port}`, `{port:NAME}`, `{host}`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Services that must be ready first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Time allowed to become ready.
    #[serde(default = "default_timeout")]
    pub startup_timeout_secs: u64,
    /// Restart policy.
    #[serde(default)]
    pub restart: Restart,
    /// Python virtual environment directory (relative to `cwd`), used when it exists.
    #[serde(default)]
    pub venv: Option<PathBuf>,
    /// Configuration files the service reads (relative to `cwd`): checked by `doctor`, repaired by
    /// `repair_config_file`.
    #[serde(default)]
    pub config_files: Vec<PathBuf>,
    /// A known-good copy to restore a broken configuration from (relative to `cwd`).
    #[serde(default)]
    pub config_template: Option<PathBuf>,
    /// Python requirements file (relative to `cwd`) for `doctor` and new virtual environments.
    #[serde(default)]
    pub requirements: Option<PathBuf>,
}

fn default_host() -> String {
    "127.0.0.1".into()
}

fn default_timeout() -> u64 {
    30
}

/// Writes a profile as RON (with implicit `Some`, like hand-written files), atomically; an existing
/// file is first copied to `FILE.bak`.
pub fn save(profile: &Profile, path: &Path) -> Result<(), String> {
    let config = ron::ser::PrettyConfig::default()
        .struct_names(false)
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME);
    let text = ron::ser::to_string_pretty(profile, config)
        .map_err(|e| format!("cannot encode the profile: {e}"))?;
    if path.is_file() {
        let mut backup = path.as_os_str().to_owned();
        backup.push(".bak");
        std::fs::copy(path, &backup)
            .map_err(|e| format!("cannot back up {}: {e}", path.display()))?;
    }
    crate::store::write_atomic(path, format!("{text}\n").as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A whole profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// The services, in the order they are shown.
    pub services: Vec<Service>,
    /// Where the profile was read from (relative paths resolve against its directory).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read.
    #[error("cannot read the profile {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The RON does not parse or has wrong fields.
    #[error("{}:{line}:{col}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What RON said was expected.
        message: String,
    },
    /// The profile parses but makes no sense.
    #[error("{}: {}", path.display(), problems.join("; "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Each problem, naming its service and field.
        problems: Vec<String>,
    },
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut profile = Profile::parse(&text, path)?;
        // `assets/demo.ron` opened as a file (`doctor --profile assets/demo.ron`, the window's Open)
        // starts the same demo servers as the embedded copy.
        if let Ok(exe) = std::env::current_exe() {
            profile.expand_self(&exe);
        }
        Ok(profile)
    }

    /// Replaces a command's `{self}` (the demo profile's way of naming this very program) with `exe`.
    pub fn expand_self(&mut self, exe: &Path) {
        for s in &mut self.services {
            for arg in &mut s.command {
                if arg == "{self}" {
                    *arg = exe.to_string_lossy().into_owned();
                }
            }
        }
    }

    /// Parses and validates profile text; `path` names it in messages and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let mut profile: Profile = options.from_str(text).map_err(|e| ProfileError::Syntax {
            path: path.to_path_buf(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })?;
        profile.path = Some(path.to_path_buf());
        let problems = profile.validate();
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(ProfileError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Problems that would stop the stack from starting, each naming the service and field.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.services.is_empty() {
            problems.push("services: the profile has no service".into());
        }
        let names: BTreeSet<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
        let mut seen = BTreeSet::new();
        for s in &self.services {
            let at = format!("service \"{}\"", s.name);
            if s.name.trim().is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.push(format!("{at}: name: use letters, digits, - and _ only"));
            }
            if !seen.insert(s.name.as_str()) {
                problems.push(format!("{at}: name: used by two services"));
            }
            if s.command.first().is_none_or(|c| c.trim().is_empty()) {
                problems.push(format!(
                    "{at}: command: must name a program, e.g. [\"python3\", \"app.py\"]"
                ));
            }
            if s.port == Some(0) {
                problems.push(format!(
                    "{at}: port: 0 is not a port; use 1–65535 or leave it out"
                ));
            }
            if s.startup_timeout_secs == 0 {
                problems.push(format!("{at}: startup_timeout_secs: must be at least 1"));
            }
            if s.ready == Ready::Tcp && s.port.is_none() {
                problems.push(format!("{at}: ready: Tcp needs a port"));
            }
            if let Ready::Log(re) = &s.ready
                && let Err(e) = regex::Regex::new(re)
            {
                problems.push(format!("{at}: ready: Log regex does not compile: {e}"));
            }
            for d in &s.depends_on {
                if !names.contains(d.as_str()) {
                    problems.push(format!("{at}: depends_on: no service named \"{d}\""));
                }
            }
            let texts = s
                .command
                .iter()
                .chain(s.env.values())
                .chain(match &s.ready {
                    Ready::Http(u) => Some(u),
                    _ => None,
                });
            for text in texts {
                for reference in placeholders(text) {
                    match reference {
                        Placeholder::Port(None) if s.port.is_none() => {
                            problems.push(format!("{at}: uses {{port}} but has no port"));
                        }
                        Placeholder::Port(Some(other)) => {
                            match self.services.iter().find(|o| o.name == other) {
                                None => problems.push(format!(
                                    "{at}: {{port:{other}}}: no service named \"{other}\""
                                )),
                                Some(o) if o.port.is_none() => problems.push(format!(
                                    "{at}: {{port:{other}}}: \"{other}\" has no port"
                                )),
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(cycle) = self.dependency_cycle() {
            problems.push(format!(
                "depends_on: services depend on each other in a circle: {}",
                cycle.join(" → ")
            ));
        }
        problems
    }

    fn dependency_cycle(&self) -> Option<Vec<String>> {
        fn visit<'a>(
            p: &'a Profile,
            name: &'a str,
            stack: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<Vec<String>> {
            if let Some(i) = stack.iter().position(|n| *n == name) {
                let mut cycle: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            if done.contains(name) {
                return None;
            }
            stack.push(name);
            if let Some(s) = p.services.iter().find(|s| s.name == name) {
                for d in &s.depends_on {
                    if let Some(c) = visit(p, d, stack, done) {
                        return Some(c);
                    }
                }
            }
            stack.pop();
            done.insert(name);
            None
        }
        let mut done = BTreeSet::new();
        self.services
            .iter()
            .find_map(|s| visit(self, &s.name, &mut Vec::new(), &mut done))
    }

    /// The directory relative paths resolve against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// A service's working directory.
    pub fn cwd_of(&self, s: &Service) -> PathBuf {
        match &s.cwd {
            Some(c) if c.is_absolute() => c.clone(),
            Some(c) => self.base_dir().join(c),
            None => self.base_dir(),
        }
    }

    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Service names in an order where dependencies come first (stable otherwise).
    pub fn start_order(&self) -> Vec<String> {
        let mut order: Vec<String> = Vec::new();
        while order.len() < self.services.len() {
            let before = order.len();
            for s in &self.services {
                if !order.contains(&s.name) && s.depends_on.iter().all(|d| order.contains(d)) {
                    order.push(s.name.clone());
                }
            }
            if order.len() == before {
                break; // a cycle: validation reports it
            }
        }
        order
    }
}

/// A `{…}` reference in a command, env value or URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `{port}` (None) or `{port:NAME}`.
    Port(Option<String>),
    /// `{host}`.
    Host,
}

/// The placeholders a text uses.
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + len];
        if inner == "port" {
            out.push(Placeholder::Port(None));
        } else if let Some(name) = inner.strip_prefix("port:") {
            out.push(Placeholder::Port(Some(name.to_string())));
        } else if inner == "host" {
            out.push(Placeholder::Host);
        }
        rest = &rest[start + len + 1..];
    }
    out
}

/// Replaces `{port}`, `{port:NAME}` and `{host}`; unknown names are left as they are.
pub fn substitute(
    text: &str,
    own_port: Option<u16>,
    host: &str,
    ports: &BTreeMap<String, u16>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 1..start + len];
        let replaced = match inner {
            "port" => own_port.map(|p| p.to_string()),
            "host" => Some(host.to_string()),
            _ => inner
                .strip_prefix("port:")
                .and_then(|n| ports.get(n))
                .map(|p| p.to_string()),
        };
        match replaced {
            Some(r) => out.push_str(&r),
            None => out.push_str(&rest[start..start + len + 1]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"(
    name: "demo",
    services: [
        (
            name: "api",
            command: ["python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"],
            port: 8000,
            ready: Tcp,
        ),
        ( name: "worker", command: ["sh", "-c", "echo up; sleep 1000"], ready: Log("up") ),
    ],
)"#;

    #[test]
    fn the_minimal_profile_is_valid_with_defaults() {
        let p = Profile::parse(MINIMAL, Path::new("/tmp/demo.ron")).expect("valid");
        assert_eq!(p.services.len(), 2);
        let w = &p.services[1];
        assert_eq!(w.port, None);
        assert_eq!(w.startup_timeout_secs, 30);
        assert_eq!(w.restart, Restart::OnFailure);
        assert_eq!(w.host, "127.0.0.1");
        assert_eq!(p.cwd_of(w), PathBuf::from("/tmp"));
    }

    #[test]
    fn implicit_some_and_all_fields() {
        let text = r#"(name: "x", services: [(name: "api", command: ["uvicorn", "main:app", "--port", "{port}"], port: 8000,
            ready: Http("http://{host}:{port}/health"), cwd: "backend", venv: ".venv", env: {"A": "1"},
            startup_timeout_secs: 90, restart: Always, config_files: ["settings.json"], requirements: "requirements.txt"),
            (name: "web", command: ["npm", "run", "dev"], port: 5173, depends_on: ["api"], env: {"API": "http://127.0.0.1:{port:api}"})])"#;
        let p = Profile::parse(text, Path::new("/p/x.ron")).expect("valid");
        assert_eq!(p.services[0].venv.as_deref(), Some(Path::new(".venv")));
        assert_eq!(p.cwd_of(&p.services[0]), PathBuf::from("/p/backend"));
        assert_eq!(p.start_order(), ["api", "web"]);
    }

    #[test]
    fn syntax_errors_name_file_line_and_expectation() {
        let text = "(\n  name: \"x\",\n  services: [ (name: \"a\", comand: [\"x\"]) ],\n)";
        let e = Profile::parse(text, Path::new("stack.ron"))
            .expect_err("invalid")
            .to_string();
        assert!(e.starts_with("stack.ron:3:"), "{e}");
        assert!(e.contains("comand"), "{e}");
        let e = Profile::parse(
            "(name: \"x\", services: [(name: \"a\", command: [\"x\"], port: \"80\")])",
            Path::new("s.ron"),
        )
        .expect_err("invalid")
        .to_string();
        assert!(
            e.contains("s.ron:1:") && e.to_lowercase().contains("expected"),
            "{e}"
        );
    }

    #[test]
    fn semantic_problems_name_service_and_field() {
        let text = r#"(name: "x", services: [
            (name: "a", command: [], port: 0),
            (name: "b", command: ["x", "{port}"], depends_on: ["c", "b"]),
            (name: "c", command: ["y", "{port:a}", "{port:zz}"], depends_on: ["b"], ready: Log("(")),
        ])"#;
        let e = Profile::parse(text, Path::new("s.ron"))
            .expect_err("invalid")
            .to_string();
        for want in [
            "service \"a\": command: must name a program",
            "service \"a\": port: 0 is not a port",
            "service \"b\": uses {port} but has no port",
            "{port:zz}: no service named \"zz\"",
            "ready: Log regex does not compile",
            "depend on each other in a circle",
        ] {
            assert!(e.contains(want), "missing {want:?} in {e}");
        }
    }

    #[test]
    fn substitution() {
        let ports: BTreeMap<String, u16> = [("api".to_string(), 8001)].into();
        assert_eq!(
            substitute(
                "http://{host}:{port:api}/x{port}",
                Some(5173),
                "127.0.0.1",
                &ports
            ),
            "http://127.0.0.1:8001/x5173"
        );
        assert_eq!(
            substitute("{unknown} {port:nope} {", None, "h", &ports),
            "{unknown} {port:nope} {"
        );
    }
}
