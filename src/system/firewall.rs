//! Firewall diagnosis per OS: read-only checks we may run, and the exact command that would allow a
//! port (shown, and run only with consent).

use std::process::Command;

/// What a read-only check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Human summary.
    pub summary: String,
    /// The command that would allow the port, as argv.
    pub allow_command: Vec<String>,
}

fn run(argv: &[&str]) -> Option<String> {
    let (prog, args) = argv.split_first()?;
    let out = Command::new(prog).args(args).output().ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text.trim().to_string())
}

/// The command that allows inbound TCP on `port` on this OS (needs administrator rights).
pub fn allow_command(port: u16) -> Vec<String> {
    let v: Vec<String> = if cfg!(windows) {
        vec![
            "netsh".into(),
            "advfirewall".into(),
            "firewall".into(),
            "add".into(),
            "rule".into(),
            format!("name=Startup Medic {port}"),
            "dir=in".into(),
            "action=allow".into(),
            "protocol=TCP".into(),
            format!("localport={port}"),
        ]
    } else if cfg!(target_os = "macos") {
        vec![
            "/usr/libexec/ApplicationFirewall/socketfilterfw".into(),
            "--add".into(),
            "PROGRAM".into(),
        ]
    } else if which("firewall-cmd") {
        vec!["firewall-cmd".into(), format!("--add-port={port}/tcp")]
    } else {
        vec!["ufw".into(), "allow".into(), format!("{port}/tcp")]
    };
    v
}

fn which(program: &str) -> bool {
    super::which(program, std::path::Path::new("."), None).is_some()
}

/// Checks whether a firewall is active (read-only commands only).
pub fn diagnose(port: u16) -> Diagnosis {
    let summary = if cfg!(windows) {
        run(&["netsh", "advfirewall", "show", "allprofiles", "state"])
            .unwrap_or_else(|| "netsh is not available".into())
    } else if cfg!(target_os = "macos") {
        run(&[
            "/usr/libexec/ApplicationFirewall/socketfilterfw",
            "--getglobalstate",
        ])
        .unwrap_or_else(|| "socketfilterfw is not available".into())
    } else {
        let mut parts = Vec::new();
        if which("ufw") {
            parts.push(format!(
                "ufw: {}",
                run(&["ufw", "status"]).unwrap_or_default()
            ));
        }
        if which("firewall-cmd") {
            parts.push(format!(
                "firewalld: {}",
                run(&["firewall-cmd", "--state"]).unwrap_or_default()
            ));
        }
        if parts.is_empty() {
            "no ufw or firewalld found on PATH; an nftables/iptables ruleset may still apply (sudo nft list ruleset)".into()
        } else {
            parts.join("; ")
        }
    };
    Diagnosis {
        summary,
        allow_command: allow_command(port),
    }
}
