//! Facts about the machine and effects on it: ports and who holds them, processes, virtual
//! environments, installers, configuration files, firewalls. Everything here runs programs as argv
//! (never through a shell) and says plainly what it could not do on this OS.

pub mod config;
pub mod firewall;
pub mod install;
pub mod ports;
pub mod process;
pub mod venv;

use std::path::{Path, PathBuf};

/// Finds a program: a path as given, else on PATH (with Windows extensions).
pub fn which(program: &str, cwd: &Path, extra_path: Option<&Path>) -> Option<PathBuf> {
    if program.contains(['/', '\\']) {
        let p = if Path::new(program).is_absolute() {
            PathBuf::from(program)
        } else {
            cwd.join(program)
        };
        return p.is_file().then_some(p);
    }
    let exts: &[&str] = if cfg!(windows) {
        &["", ".exe", ".cmd", ".bat"]
    } else {
        &[""]
    };
    let mut dirs: Vec<PathBuf> = extra_path.map(Path::to_path_buf).into_iter().collect();
    if let Some(paths) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    dirs.iter()
        .flat_map(|d| exts.iter().map(move |e| d.join(format!("{program}{e}"))))
        .find(|p| p.is_file())
}
