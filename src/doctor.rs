//! `doctor`: a preflight report like `flutter doctor` — what would block a profile from starting.
//! Every check is independent; one that cannot run says so and never aborts the report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::profile::{Profile, Service};
use crate::system;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fine.
    Ok,
    /// Worth knowing; does not block the start.
    Warning,
    /// Would block the start.
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The service (empty for profile-wide checks).
    pub service: String,
    /// Which check ("command", "venv", "requirements", "port", "config", "cwd", "node_modules").
    pub check: &'static str,
    /// How bad.
    pub status: Level,
    /// What was found, and what to do.
    pub message: String,
}

fn finding(service: &str, check: &'static str, status: Level, message: String) -> Finding {
    Finding {
        service: service.to_string(),
        check,
        status,
        message,
    }
}

/// First line of `PROGRAM --version` (5 s at most), for programs known to answer it harmlessly.
fn version_of(path: &Path) -> Option<String> {
    let name = path.file_stem()?.to_string_lossy().to_lowercase();
    const KNOWN: &[&str] = &[
        "python",
        "python3",
        "node",
        "npm",
        "go",
        "java",
        "cargo",
        "uvicorn",
        "gunicorn",
        "deno",
        "bun",
        "ruby",
        "php",
        "nginx",
        "redis-server",
        "postgres",
        "docker",
        "pnpm",
        "yarn",
        "npx",
    ];
    if !KNOWN
        .iter()
        .any(|k| name == *k || name.starts_with("python3."))
    {
        return None;
    }
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// Distribution names from a requirements file (options, URLs, paths and markers skipped).
pub fn requirement_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.contains("://")
                && !l.starts_with('.')
                && !l.starts_with('/')
        })
        .filter_map(|l| {
            let end = l
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .unwrap_or(l.len());
            let name = &l[..end];
            system::install::valid_python_name(name).then(|| name.to_string())
        })
        .collect()
}

/// Which of `names` are not installed for `python` (asked through importlib.metadata).
fn missing_distributions(python: &Path, names: &[String]) -> Result<Vec<String>, String> {
    let script = "import sys\nfrom importlib import metadata\nfor n in sys.argv[1:]:\n    try:\n        metadata.version(n)\n    except metadata.PackageNotFoundError:\n        print(n)\n";
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(names)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Runs every check for every service.
pub fn check(profile: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &profile.services {
        check_service(profile, s, &mut out);
    }
    out
}

fn check_service(profile: &Profile, s: &Service, out: &mut Vec<Finding>) {
    let name = s.name.as_str();
    let cwd = profile.cwd_of(s);
    if !cwd.is_dir() {
        out.push(finding(
            name,
            "cwd",
            Level::Error,
            format!("the working directory does not exist: {}", cwd.display()),
        ));
        return;
    }
    let venv = system::venv::find(&cwd, s.venv.as_deref());
    let program = s.command.first().cloned().unwrap_or_default();
    let is_python = matches!(
        Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .as_deref(),
        Some("python" | "python3" | "python.exe" | "py")
    );
    match (&s.venv, &venv) {
        (Some(v), None) => out.push(finding(name, "venv", Level::Error, format!("the profile names the virtual environment {} but it does not exist or has no interpreter: create it (create_virtual_environment) or fix venv", cwd.join(v).display()))),
        (Some(_), Some(v)) => out.push(finding(name, "venv", Level::Ok, format!("uses {}", v.display()))),
        (None, Some(v)) if is_python => out.push(finding(name, "venv", Level::Warning, format!("{} exists but the profile does not use it: add venv: \"{}\"", v.display(), v.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default()))),
        _ => {}
    }
    let bin = venv
        .as_ref()
        .filter(|_| s.venv.is_some())
        .map(|v| system::venv::bin_dir(v));
    match system::which(&program, &cwd, bin.as_deref()) {
        Some(path) => {
            let v = version_of(&path)
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            out.push(finding(
                name,
                "command",
                Level::Ok,
                format!("{program} → {}{v}", path.display()),
            ));
        }
        None => out.push(finding(
            name,
            "command",
            Level::Error,
            format!("{program} is not installed or not on PATH"),
        )),
    }
    let requirements = s
        .requirements
        .as_ref()
        .map(|r| cwd.join(r))
        .or_else(|| Some(cwd.join("requirements.txt")).filter(|p| p.exists()));
    if let Some(req) = requirements {
        match std::fs::read_to_string(&req) {
            Err(e) => out.push(finding(
                name,
                "requirements",
                Level::Error,
                format!("cannot read {}: {e}", req.display()),
            )),
            Ok(text) => {
                let names = requirement_names(&text);
                let python = venv
                    .as_ref()
                    .map(|v| system::venv::python(v))
                    .unwrap_or_else(|| PathBuf::from(system::venv::base_interpreter().remove(0)));
                match missing_distributions(&python, &names) {
                    Ok(m) if m.is_empty() => out.push(finding(
                        name,
                        "requirements",
                        Level::Ok,
                        format!(
                            "all {} requirements of {} are installed for {}",
                            names.len(),
                            req.display(),
                            python.display()
                        ),
                    )),
                    Ok(m) => out.push(finding(
                        name,
                        "requirements",
                        Level::Error,
                        format!(
                            "not installed for {}: {} — run {} -m pip install -r {}",
                            python.display(),
                            m.join(", "),
                            python.display(),
                            req.display()
                        ),
                    )),
                    Err(e) => out.push(finding(
                        name,
                        "requirements",
                        Level::Warning,
                        format!("could not check {}: {e}", req.display()),
                    )),
                }
            }
        }
    }
    if cwd.join("package.json").exists() && !cwd.join("node_modules").is_dir() {
        out.push(finding(
            name,
            "node_modules",
            Level::Error,
            format!(
                "{} has a package.json but no node_modules: run npm install there",
                cwd.display()
            ),
        ));
    }
    if let Some(port) = s.port {
        if system::ports::is_free(&s.host, port) {
            out.push(finding(
                name,
                "port",
                Level::Ok,
                format!("port {port} on {} is free", s.host),
            ));
        } else {
            let who = system::ports::holder(port).map_or_else(
                || "a process we cannot see".to_string(),
                |h| format!("pid {} ({}: {})", h.pid, h.name, h.command),
            );
            out.push(finding(
                name,
                "port",
                Level::Error,
                format!("port {port} on {} is held by {who}", s.host),
            ));
        }
    }
    for c in &s.config_files {
        let p = cwd.join(c);
        let f = match system::config::check(&p) {
            _ if !p.exists() => finding(
                name,
                "config",
                Level::Error,
                format!("{} does not exist", p.display()),
            ),
            Some(Ok(())) => finding(name, "config", Level::Ok, format!("{} parses", p.display())),
            Some(Err(e)) => finding(
                name,
                "config",
                Level::Error,
                format!("{} does not parse: {e}", p.display()),
            ),
            None => finding(
                name,
                "config",
                Level::Warning,
                format!("{} exists; its format is not checked", p.display()),
            ),
        };
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_skip_options_and_versions() {
        let text = "# web\nfastapi==0.115.0\nuvicorn[standard]>=0.30\n-r base.txt\n--index-url https://x\ngit+https://x/y.git\ntorch ; sys_platform != 'darwin'\n\n./local\n";
        assert_eq!(requirement_names(text), ["fastapi", "uvicorn", "torch"]);
    }
}
