//! The recovery catalogue: every fix Startup Medic knows, what it risks, and which failures it serves.
//!
//! Ids are the seed engine's (plus `wait_for_port_release` and `retry_with_backoff`, which real recovery
//! needs). This module only describes and plans; the supervisor executes and verifies. Everything about
//! an action is read from one `match` in [`ActionId::info`], so a label can never disagree with a risk.

use serde::{Deserialize, Serialize};

use super::{ErrorType, Facts, Incident};

/// A recovery action. Serialized as its stable snake_case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionId {
    /// Stop the process that holds the port (ours without asking; anyone else's only with consent).
    KillProcessOnPort,
    /// Relaunch the service on a free port near the wanted one.
    FindAlternativePort,
    /// Relaunch on an unprivileged port from the fallback ranges (for ports < 1024 and refused binds).
    TryAlternativePorts,
    /// Wait until a port held only in TIME_WAIT is free again, then relaunch on the same port.
    WaitForPortRelease,
    /// Read-only diagnosis: is a firewall active, does it allow the port.
    CheckFirewallExceptions,
    /// Add a firewall rule for the port (the exact command is shown; runs only with consent).
    SuggestFirewallException,
    /// Install the missing module or package into the service's environment.
    InstallMissingDependencies,
    /// Run the service inside its existing virtual environment.
    ActivateVirtualEnvironment,
    /// Create a virtual environment for the service (and use it).
    CreateVirtualEnvironment,
    /// Back up the configuration file, repair or restore it.
    RepairConfigFile,
    /// Relaunch with the error type's fallback parameters (bind host, args, env, command names).
    RestartWithDifferentParams,
    /// Raise the startup timeout by the fallback factor, up to its cap, and relaunch.
    IncreaseTimeout,
    /// Relaunch unchanged after an exponential backoff delay.
    RetryWithBackoff,
}

/// What carrying out an action may change; anything but `Safe` needs a person's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Only changes how Startup Medic launches the service.
    Safe,
    /// Changes a file of the user's (always after a backup).
    EditsFiles,
    /// Downloads and installs software.
    InstallsSoftware,
    /// Stops a process.
    StopsProcess,
    /// Changes system settings such as firewall rules.
    ChangesSystem,
}

impl Risk {
    /// A short phrase for buttons and reports.
    pub fn label(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::EditsFiles => "edits files",
            Risk::InstallsSoftware => "installs software",
            Risk::StopsProcess => "stops a process",
            Risk::ChangesSystem => "changes system settings",
        }
    }
}

/// Everything the catalogue says about one action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionInfo {
    /// Button text.
    pub label: &'static str,
    /// One line saying what it does.
    pub description: &'static str,
    /// What it may change.
    pub risk: Risk,
    /// Rough time it takes, for progress display.
    pub estimated_secs: u32,
}

impl ActionId {
    /// Every action, in catalogue order.
    pub const ALL: [ActionId; 13] = [
        ActionId::FindAlternativePort,
        ActionId::KillProcessOnPort,
        ActionId::WaitForPortRelease,
        ActionId::TryAlternativePorts,
        ActionId::CheckFirewallExceptions,
        ActionId::SuggestFirewallException,
        ActionId::ActivateVirtualEnvironment,
        ActionId::InstallMissingDependencies,
        ActionId::CreateVirtualEnvironment,
        ActionId::RepairConfigFile,
        ActionId::RestartWithDifferentParams,
        ActionId::IncreaseTimeout,
        ActionId::RetryWithBackoff,
    ];

    /// The catalogue entry.
    pub fn info(self) -> ActionInfo {
        let (label, description, risk, estimated_secs) = match self {
            ActionId::KillProcessOnPort => (
                "Stop the process holding the port",
                "Ends the process that listens on the port (asks first unless it is our own leftover), then checks the port is free.",
                Risk::StopsProcess,
                5,
            ),
            ActionId::FindAlternativePort => (
                "Move to a free port",
                "Picks a free port near the wanted one, relaunches there, and moves dependents that use {port:NAME}.",
                Risk::Safe,
                3,
            ),
            ActionId::TryAlternativePorts => (
                "Use an unprivileged port",
                "Relaunches on a port from the fallback ranges (1024 and above), which needs no special rights.",
                Risk::Safe,
                3,
            ),
            ActionId::WaitForPortRelease => (
                "Wait for the port to be released",
                "Waits until a socket left in TIME_WAIT by a previous run is gone, then relaunches on the same port.",
                Risk::Safe,
                60,
            ),
            ActionId::CheckFirewallExceptions => (
                "Check the firewall",
                "Reports whether a firewall is active and whether it allows this port; changes nothing.",
                Risk::Safe,
                2,
            ),
            ActionId::SuggestFirewallException => (
                "Allow the port in the firewall",
                "Shows the exact command that allows the port (netsh, ufw, firewall-cmd, socketfilterfw) and runs it only with consent.",
                Risk::ChangesSystem,
                5,
            ),
            ActionId::InstallMissingDependencies => (
                "Install the missing package",
                "Installs the missing module with the service's own pip or npm, after checking the name.",
                Risk::InstallsSoftware,
                60,
            ),
            ActionId::ActivateVirtualEnvironment => (
                "Run inside the virtual environment",
                "Relaunches with the service's virtual environment first on PATH and its python interpreter.",
                Risk::Safe,
                3,
            ),
            ActionId::CreateVirtualEnvironment => (
                "Create a virtual environment",
                "Creates .venv with the right interpreter, installs the requirements file if there is one, and uses it.",
                Risk::InstallsSoftware,
                90,
            ),
            ActionId::RepairConfigFile => (
                "Repair the configuration file",
                "Backs the file up beside itself, then repairs it conservatively or restores the last good copy; can be undone.",
                Risk::EditsFiles,
                2,
            ),
            ActionId::RestartWithDifferentParams => (
                "Restart with fallback settings",
                "Relaunches with this failure type's fallback settings: bind host, extra arguments and environment, command names.",
                Risk::Safe,
                3,
            ),
            ActionId::IncreaseTimeout => (
                "Allow more startup time",
                "Raises the startup timeout by the fallback factor, up to its cap, and relaunches.",
                Risk::Safe,
                3,
            ),
            ActionId::RetryWithBackoff => (
                "Retry with backoff",
                "Relaunches unchanged after a growing delay, for failures that pass by themselves.",
                Risk::Safe,
                5,
            ),
        };
        ActionInfo {
            label,
            description,
            risk,
            estimated_secs,
        }
    }

    /// The stable snake_case id.
    pub fn id(self) -> &'static str {
        match self {
            ActionId::KillProcessOnPort => "kill_process_on_port",
            ActionId::FindAlternativePort => "find_alternative_port",
            ActionId::TryAlternativePorts => "try_alternative_ports",
            ActionId::WaitForPortRelease => "wait_for_port_release",
            ActionId::CheckFirewallExceptions => "check_firewall_exceptions",
            ActionId::SuggestFirewallException => "suggest_firewall_exception",
            ActionId::InstallMissingDependencies => "install_missing_dependencies",
            ActionId::ActivateVirtualEnvironment => "activate_virtual_environment",
            ActionId::CreateVirtualEnvironment => "create_virtual_environment",
            ActionId::RepairConfigFile => "repair_config_file",
            ActionId::RestartWithDifferentParams => "restart_with_different_params",
            ActionId::IncreaseTimeout => "increase_timeout",
            ActionId::RetryWithBackoff => "retry_with_backoff",
        }
    }

    /// Parses the snake_case id.
    pub fn from_id(id: &str) -> Option<ActionId> {
        ActionId::ALL.into_iter().find(|a| a.id() == id)
    }

    /// Whether a person must agree first. Stopping our own leftover is the supervisor's exception
    /// (it knows who started the holder).
    pub fn needs_consent(self) -> bool {
        self.info().risk != Risk::Safe
    }

    /// Base priority (0–100) of this action for a failure type, or `None` when it does not serve it.
    pub fn base_priority(self, t: ErrorType) -> Option<u8> {
        use ActionId::*;
        use ErrorType::*;
        let p = match (t, self) {
            (PortConflict, FindAlternativePort) => 80,
            (PortConflict, KillProcessOnPort) => 60,
            (PortConflict, WaitForPortRelease) => 45,
            (PortConflict, RetryWithBackoff) => 20,
            (PermissionDenied, TryAlternativePorts) => 80,
            (PermissionDenied, RestartWithDifferentParams) => 40,
            (PermissionDenied, RetryWithBackoff) => 15,
            (DependencyMissing, ActivateVirtualEnvironment) => 80,
            (DependencyMissing, RestartWithDifferentParams) => 75,
            (DependencyMissing, InstallMissingDependencies) => 70,
            (DependencyMissing, CreateVirtualEnvironment) => 45,
            (ConfigInvalid, RepairConfigFile) => 75,
            (ConfigInvalid, RestartWithDifferentParams) => 35,
            (ConfigInvalid, RetryWithBackoff) => 10,
            (ProcessFailed, RetryWithBackoff) => 60,
            (ProcessFailed, RestartWithDifferentParams) => 35,
            (ProcessFailed, IncreaseTimeout) => 20,
            (NetworkError, RetryWithBackoff) => 70,
            (NetworkError, CheckFirewallExceptions) => 40,
            (NetworkError, RestartWithDifferentParams) => 30,
            (FirewallBlocked, CheckFirewallExceptions) => 80,
            (FirewallBlocked, RestartWithDifferentParams) => 65,
            (FirewallBlocked, SuggestFirewallException) => 55,
            (FirewallBlocked, TryAlternativePorts) => 35,
            (VirtualEnvError, CreateVirtualEnvironment) => 80,
            (VirtualEnvError, ActivateVirtualEnvironment) => 70,
            (VirtualEnvError, RestartWithDifferentParams) => 30,
            (TimeoutError, IncreaseTimeout) => 85,
            (TimeoutError, RetryWithBackoff) => 50,
            (Unknown, RetryWithBackoff) => 50,
            (Unknown, RestartWithDifferentParams) => 25,
            _ => return None,
        };
        Some(p)
    }

    /// Whether the action can do anything for this incident given what is known of it.
    pub fn applicable(self, incident: &Incident) -> bool {
        let facts = &incident.facts;
        let eco = ecosystem(incident);
        match self {
            // Port actions work without a port in the log: the supervisor knows the service's port.
            ActionId::KillProcessOnPort
            | ActionId::FindAlternativePort
            | ActionId::WaitForPortRelease
            | ActionId::TryAlternativePorts
            | ActionId::SuggestFirewallException => true,
            ActionId::InstallMissingDependencies => {
                facts.text("module").is_some() && eco != Ecosystem::Other
                    || facts
                        .text("command")
                        .is_some_and(|c| installable_command(c).is_some())
            }
            ActionId::ActivateVirtualEnvironment => match incident.error_type {
                ErrorType::DependencyMissing => {
                    eco == Ecosystem::Python
                        || facts.text("command").is_some_and(|c| {
                            installable_command(c) == Some(Ecosystem::Python)
                                || is_python_command(c)
                        })
                }
                _ => true,
            },
            ActionId::CreateVirtualEnvironment => match incident.error_type {
                ErrorType::DependencyMissing => eco == Ecosystem::Python,
                _ => true,
            },
            ActionId::RestartWithDifferentParams => match incident.error_type {
                // For a missing program the fallback can only rename the command (python → python3).
                ErrorType::DependencyMissing => facts.text("command").is_some(),
                _ => true,
            },
            ActionId::CheckFirewallExceptions
            | ActionId::RepairConfigFile
            | ActionId::IncreaseTimeout
            | ActionId::RetryWithBackoff => true,
        }
    }
}

/// Which package world a missing dependency belongs to, judged from the rule that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    /// pip / venv.
    Python,
    /// npm.
    Node,
    /// Anything we do not install into (Go, Java, system libraries, …).
    Other,
}

/// The ecosystem of an incident, from its rule id (`py_*`, `pip_*`, `node_*`, `npm_*`, …).
pub fn ecosystem(incident: &Incident) -> Ecosystem {
    ecosystem_of(incident.rule_id.as_deref(), &incident.facts)
}

/// [`ecosystem`] from the parts the supervisor keeps: the rule id and the facts.
pub fn ecosystem_of(rule_id: Option<&str>, facts: &Facts) -> Ecosystem {
    let id = rule_id.unwrap_or("");
    if id.starts_with("py_") || id.starts_with("pip_") || id == "asgi_app_not_loadable" {
        Ecosystem::Python
    } else if ["node_", "npm_", "webpack_", "vite_"]
        .iter()
        .any(|p| id.starts_with(p))
    {
        Ecosystem::Node
    } else if let Some(c) = facts.text("command") {
        installable_command(c).unwrap_or(Ecosystem::Other)
    } else {
        Ecosystem::Other
    }
}

fn is_python_command(c: &str) -> bool {
    matches!(c, "python" | "python3" | "pip" | "pip3" | "py")
}

/// Development servers that come from a project's own packages (so installing the project's
/// dependencies brings them), with the ecosystem that installs them.
pub fn installable_command(command: &str) -> Option<Ecosystem> {
    const NODE: &[&str] = &[
        "vite",
        "next",
        "nuxt",
        "nodemon",
        "react-scripts",
        "ts-node",
        "tsx",
        "tsc",
        "webpack",
        "webpack-cli",
        "vue-cli-service",
        "ng",
        "astro",
        "svelte-kit",
        "remix",
        "concurrently",
        "parcel",
        "esbuild",
        "rollup",
    ];
    const PYTHON: &[&str] = &[
        "uvicorn",
        "gunicorn",
        "flask",
        "django-admin",
        "gradio",
        "streamlit",
        "celery",
        "hypercorn",
        "waitress-serve",
        "daphne",
        "fastapi",
        "jupyter",
        "alembic",
    ];
    if NODE.contains(&command) {
        Some(Ecosystem::Node)
    } else if PYTHON.contains(&command) {
        Some(Ecosystem::Python)
    } else {
        None
    }
}

/// Actions that serve this incident and can do something for it, in catalogue order (ranking is
/// [`crate::engine::learning`]'s job).
pub fn candidates(incident: &Incident) -> Vec<ActionId> {
    ActionId::ALL
        .into_iter()
        .filter(|a| a.base_priority(incident.error_type).is_some() && a.applicable(incident))
        .collect()
}

/// The operating system family, for manual steps and firewall commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Os {
    /// Linux and other Unix-likes.
    Linux,
    /// macOS.
    MacOs,
    /// Windows.
    Windows,
}

impl Os {
    /// The OS this binary was built for.
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// What a person can do by hand when every action has failed: concrete steps for this failure on this OS.
pub fn manual_steps(t: ErrorType, facts: &Facts, os: Os) -> Vec<String> {
    let port = facts
        .port()
        .map_or_else(|| "PORT".to_string(), |p| p.to_string());
    let path = facts.text("path").unwrap_or("the configuration file");
    let mut steps: Vec<String> = Vec::new();
    match (t, os) {
        (ErrorType::PortConflict, Os::Windows) => {
            steps.push(format!(
                "Find the holder: netstat -ano | findstr :{port}  (the last column is the PID)"
            ));
            steps.push("Identify it: tasklist /FI \"PID eq <PID>\"".into());
            steps.push("Stop it if it is yours: taskkill /PID <PID> /T  (add /F only if it ignores the request)".into());
            steps.push("If netstat shows nothing, the port may be reserved: netsh interface ipv4 show excludedportrange protocol=tcp".into());
        }
        (ErrorType::PortConflict, _) => {
            steps.push(format!("Find the holder: lsof -nP -iTCP:{port} -sTCP:LISTEN  (or: ss -ltnp 'sport = :{port}')"));
            steps.push(
                "Stop it if it is yours: kill <PID>  (kill -9 only if it ignores the request)"
                    .into(),
            );
            steps.push(format!("If only TIME_WAIT entries remain (ss -tan 'sport = :{port}'), wait about 60 seconds and start again."));
            if os == Os::MacOs && matches!(facts.port(), Some(5000 | 7000)) {
                steps.push("On macOS, ports 5000 and 7000 are used by AirPlay Receiver: turn it off in System Settings → General → AirDrop & Handoff.".into());
            }
        }
        (ErrorType::PermissionDenied, os) => {
            if facts.port().is_some_and(|p| p < 1024) {
                steps.push(format!("Port {port} is privileged (below 1024): use a port of 1024 or above, e.g. 8080."));
                if os == Os::Linux {
                    steps.push("Or allow the program to bind it: sudo setcap 'cap_net_bind_service=+ep' /path/to/program".into());
                }
            }
            if let Some(p) = facts.text("path") {
                steps.push(match os {
                    Os::Windows => format!("Check who may write {p}: icacls \"{p}\""),
                    _ => format!("Check the owner and mode of {p}: ls -ld \"{p}\"; fix with chown/chmod, not by running as root."),
                });
            }
            if os == Os::Windows {
                steps.push("If Windows reserved the port (Hyper-V, WSL), see: netsh interface ipv4 show excludedportrange protocol=tcp".into());
            }
            if steps.is_empty() {
                steps.push("Run the service as the user that owns its files and ports, not as root/Administrator.".into());
            }
        }
        (ErrorType::DependencyMissing, os) => {
            if let Some(lib) = facts.text("library") {
                steps.push(match os {
                    Os::Linux => format!("Install the system library that provides {lib}: apt-file search {lib} (Debian/Ubuntu) or dnf provides '*/{lib}'"),
                    Os::MacOs => format!("Install the library that provides {lib}, e.g. with Homebrew."),
                    Os::Windows => format!("Install the runtime that provides {lib} (often the Microsoft Visual C++ Redistributable)."),
                });
            } else if let Some(cmd) = facts.text("command") {
                steps.push(format!(
                    "Install {cmd} or put it on PATH, then open a new terminal so PATH is re-read."
                ));
                if is_python_command(cmd) && os != Os::Windows {
                    steps.push("On many systems the interpreter is called python3: use python3 in the command.".into());
                }
                if is_python_command(cmd) && os == Os::Windows {
                    steps.push("On Windows the launcher is py: try py -3 instead of python, or install Python from python.org with 'Add to PATH'.".into());
                }
            } else if let Some(module) = facts.text("module") {
                steps.push(format!("Install it into the service's environment: python -m pip install {module}  or  npm install {module}"));
                steps.push("Check that the service runs with the environment you installed into (which python / where python).".into());
            } else {
                // Nothing named to install: a driver, a runtime or a component of the wrong version.
                steps.push("The log names no package to install: its error line says what is missing or which version it needs (a GPU driver, a runtime, a build step, a component too old or too new).".into());
                steps.push("Install or update that component, or pin the version it asks for in the service's requirements, then start again.".into());
                steps.push("Check that the service runs with the environment you changed (which python / where python, node --version).".into());
            }
        }
        (ErrorType::ConfigInvalid, _) => {
            steps.push(format!("Open {path} at the line the error names and fix the syntax (trailing commas, quotes, indentation)."));
            steps.push("Compare with the project's example configuration, or restore the backup Startup Medic made beside the file.".into());
        }
        (ErrorType::ProcessFailed, _) => {
            steps.push("Read the last lines of the log above the crash: the first error printed is usually the cause.".into());
            steps.push(
                "Run the command by hand in the service's directory to see it fail interactively."
                    .into(),
            );
            if facts.int("exit_code") == Some(137) || facts.int("exit_code") == Some(-9) {
                steps.push("Exit code 137 means it was killed, usually for using too much memory: close other programs or lower the model/batch size.".into());
            }
        }
        (ErrorType::NetworkError, _) => {
            let host = facts.text("host").unwrap_or("the host");
            steps.push(format!(
                "Check that {host} is up and reachable (is the service it depends on started?)."
            ));
            steps.push("If it needs the internet, check the connection and any proxy settings (HTTP_PROXY / HTTPS_PROXY).".into());
        }
        (ErrorType::FirewallBlocked, Os::Windows) => {
            steps.push(format!("Allow the port: netsh advfirewall firewall add rule name=\"Startup Medic {port}\" dir=in action=allow protocol=TCP localport={port}  (as Administrator)"));
        }
        (ErrorType::FirewallBlocked, Os::MacOs) => {
            steps.push("Allow the program: sudo /usr/libexec/ApplicationFirewall/socketfilterfw --add /path/to/program".into());
        }
        (ErrorType::FirewallBlocked, Os::Linux) => {
            steps.push(format!("ufw: sudo ufw allow {port}/tcp   firewalld: sudo firewall-cmd --add-port={port}/tcp"));
            steps.push("Or bind the service to 127.0.0.1 if only this machine needs it.".into());
        }
        (ErrorType::VirtualEnvError, Os::Windows) => {
            steps.push("Recreate it: rmdir /s .venv, then py -3 -m venv .venv, then .venv\\Scripts\\python -m pip install -r requirements.txt".into());
        }
        (ErrorType::VirtualEnvError, _) => {
            steps.push("Recreate it: rm -rf .venv && python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt".into());
            if os == Os::Linux {
                steps.push("On Debian/Ubuntu, venv needs the python3-venv package: sudo apt install python3-venv".into());
            }
        }
        (ErrorType::TimeoutError, _) => {
            steps.push("Check what the service does at startup (downloads, migrations, model loading): it may simply need longer.".into());
            steps.push("Raise startup_timeout_secs in the profile, or check that its readiness probe points at the right port and path.".into());
        }
        (ErrorType::Unknown, _) => {
            steps.push("Read the log lines around the error and run the command by hand in the service's directory.".into());
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Fact;

    fn incident(t: ErrorType, rule: &str, facts: &[(&str, Fact)]) -> Incident {
        let mut f = Facts::new();
        for (k, v) in facts {
            f.insert(k, v.clone());
        }
        Incident {
            error_type: t,
            line: 1,
            message: String::new(),
            facts: f,
            rule_id: Some(rule.into()),
            first_line: 1,
            context: vec![],
        }
    }

    #[test]
    fn ids_round_trip_and_match_serde() {
        for a in ActionId::ALL {
            assert_eq!(ActionId::from_id(a.id()), Some(a));
            assert_eq!(ron::to_string(&a).ok().as_deref(), Some(a.id()));
        }
    }

    #[test]
    fn every_type_has_an_action_and_risky_ones_need_consent() {
        for t in ErrorType::ALL {
            assert!(
                ActionId::ALL.iter().any(|a| a.base_priority(t).is_some()),
                "{t}"
            );
        }
        assert!(ActionId::KillProcessOnPort.needs_consent());
        assert!(ActionId::InstallMissingDependencies.needs_consent());
        assert!(ActionId::RepairConfigFile.needs_consent());
        assert!(!ActionId::FindAlternativePort.needs_consent());
    }

    #[test]
    fn candidates_depend_on_facts() {
        let with_port = incident(
            ErrorType::PortConflict,
            "address_already_in_use",
            &[("port", Fact::Int(8000))],
        );
        let c = candidates(&with_port);
        assert!(
            c.contains(&ActionId::FindAlternativePort) && c.contains(&ActionId::KillProcessOnPort)
        );
        let module = incident(
            ErrorType::DependencyMissing,
            "py_no_module_named",
            &[("module", Fact::Text("torch".into()))],
        );
        let c = candidates(&module);
        assert!(
            c.contains(&ActionId::ActivateVirtualEnvironment)
                && c.contains(&ActionId::InstallMissingDependencies)
        );
        assert!(
            !c.contains(&ActionId::RestartWithDifferentParams),
            "no command to rename"
        );

        let node = incident(
            ErrorType::DependencyMissing,
            "node_cannot_find_module",
            &[("module", Fact::Text("express".into()))],
        );
        let c = candidates(&node);
        assert!(c.contains(&ActionId::InstallMissingDependencies));
        assert!(
            !c.contains(&ActionId::CreateVirtualEnvironment)
                && !c.contains(&ActionId::ActivateVirtualEnvironment)
        );

        let go = incident(
            ErrorType::DependencyMissing,
            "shared_library_missing",
            &[("library", Fact::Text("libGL.so.1".into()))],
        );
        assert!(
            candidates(&go).is_empty(),
            "nothing we can install for a system library"
        );
    }

    #[test]
    fn manual_steps_are_specific() {
        let mut f = Facts::new();
        f.insert("port", Fact::Int(8000));
        let win = manual_steps(ErrorType::PortConflict, &f, Os::Windows).join("\n");
        assert!(win.contains("findstr :8000"), "{win}");
        let lin = manual_steps(ErrorType::PortConflict, &f, Os::Linux).join("\n");
        assert!(lin.contains("lsof -nP -iTCP:8000"), "{lin}");
        // With nothing named to install, no "pip install PACKAGE" placeholder.
        let unnamed = manual_steps(ErrorType::DependencyMissing, &f, Os::Linux).join("\n");
        assert!(!unnamed.contains("PACKAGE"), "{unnamed}");
        assert!(unnamed.contains("names no package"), "{unnamed}");
        let mut named = Facts::new();
        named.insert("module", Fact::Text("torch".into()));
        let named = manual_steps(ErrorType::DependencyMissing, &named, Os::Linux).join("\n");
        assert!(named.contains("pip install torch"), "{named}");
        for t in ErrorType::ALL {
            for os in [Os::Linux, Os::MacOs, Os::Windows] {
                let steps = manual_steps(t, &f, os);
                assert!(!steps.is_empty(), "{t} {os:?}");
                assert!(
                    steps
                        .iter()
                        .all(|s| !s.to_lowercase().contains("contact support"))
                );
            }
        }
    }
}
