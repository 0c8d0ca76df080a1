//! Python virtual environments: find one, run a command inside it, create one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `bin` (Unix) or `Scripts` (Windows) directory of a venv.
pub fn bin_dir(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts")
    } else {
        venv.join("bin")
    }
}

/// The venv's interpreter.
pub fn python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        bin_dir(venv).join("python.exe")
    } else {
        bin_dir(venv).join("python")
    }
}

/// A usable venv: the configured one, else `.venv` or `venv` in `cwd` — only if its interpreter exists.
pub fn find(cwd: &Path, configured: Option<&Path>) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match configured {
        Some(c) => vec![if c.is_absolute() {
            c.to_path_buf()
        } else {
            cwd.join(c)
        }],
        None => vec![cwd.join(".venv"), cwd.join("venv")],
    };
    candidates.into_iter().find(|v| python(v).exists())
}

/// Where a new venv goes: the configured path, else `.venv` in `cwd`.
pub fn target(cwd: &Path, configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(c) if c.is_absolute() => c.to_path_buf(),
        Some(c) => cwd.join(c),
        None => cwd.join(".venv"),
    }
}

/// Runs `command` inside `venv`: its bin directory first on PATH, `VIRTUAL_ENV` set, `PYTHONHOME`
/// removed, and a leading `python`/`python3`/`pip`/`pip3` (or any program the venv has) resolved to
/// the venv's own copy.
pub fn activate(command: &mut [String], env: &mut BTreeMap<String, String>, venv: &Path) {
    let bin = bin_dir(venv);
    let old_path = env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    let sep = if cfg!(windows) { ";" } else { ":" };
    let bin_text = bin.to_string_lossy().to_string();
    if !old_path.split(sep).any(|p| p == bin_text) {
        env.insert(
            "PATH".into(),
            if old_path.is_empty() {
                bin_text
            } else {
                format!("{bin_text}{sep}{old_path}")
            },
        );
    }
    env.insert("VIRTUAL_ENV".into(), venv.to_string_lossy().to_string());
    if let Some(first) = command.first_mut() {
        let name = Path::new(first.as_str())
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem = name.trim_end_matches(".exe");
        let candidate = if matches!(stem, "python" | "python3" | "py") {
            python(venv)
        } else {
            bin.join(&name)
        };
        if !first.contains(['/', '\\']) && candidate.exists() {
            *first = candidate.to_string_lossy().to_string();
        }
    }
}

/// The interpreter to create venvs with on this OS, as argv prefix.
pub fn base_interpreter() -> Vec<String> {
    if cfg!(windows) {
        vec!["py".into(), "-3".into()]
    } else {
        vec!["python3".into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_puts_the_venv_first_and_resolves_python() {
        let dir = tempfile::tempdir().expect("dir");
        let venv = dir.path().join(".venv");
        std::fs::create_dir_all(bin_dir(&venv)).expect("mkdir");
        std::fs::write(python(&venv), "").expect("python");
        assert_eq!(find(dir.path(), None), Some(venv.clone()));
        let mut cmd = vec!["python3".to_string(), "app.py".into()];
        let mut env = BTreeMap::from([("PATH".to_string(), "/usr/bin".to_string())]);
        activate(&mut cmd, &mut env, &venv);
        assert_eq!(cmd[0], python(&venv).to_string_lossy());
        assert!(env["PATH"].starts_with(&bin_dir(&venv).to_string_lossy().to_string()));
        assert_eq!(env["VIRTUAL_ENV"], venv.to_string_lossy());
    }
}
