//! Recovery actions that need a person's consent, driven through the `Command`/`Event` protocol the
//! desktop app uses, against real processes and files. Every wait has a timeout.

#![cfg(unix)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use startup_medic::engine::ErrorType;
use startup_medic::engine::actions::ActionId;
use startup_medic::profile::Profile;
use startup_medic::protocol::{Command, Event, IncidentId};
use startup_medic::supervisor;

const WAIT: Duration = Duration::from_secs(120);

struct Harness {
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: std_mpsc::Receiver<Event>,
    seen: Vec<Event>,
    /// Events already matched by a wait (each event answers one wait at most).
    claimed: Vec<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Harness {
    fn start(profile_path: &Path, home: &Path) -> Harness {
        let profile = Profile::load(profile_path).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (etx, erx) = std_mpsc::channel();
        let opts = common::options(Some(home));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(supervisor::run(
                profile,
                opts,
                rx,
                Box::new(move |e| {
                    let _ = etx.send(e);
                }),
            ));
        });
        tx.send(Command::Start(None)).unwrap();
        Harness {
            commands: tx,
            events: erx,
            seen: Vec::new(),
            claimed: Vec::new(),
            thread: Some(thread),
        }
    }

    /// The first event, already seen but unclaimed or still to come, that `pick` accepts.
    fn wait_for<T>(&mut self, what: &str, pick: impl Fn(&Event) -> Option<T>) -> T {
        for (i, e) in self.seen.iter().enumerate() {
            if !self.claimed[i]
                && let Some(v) = pick(e)
            {
                self.claimed[i] = true;
                return v;
            }
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| self.fail(what));
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let got = pick(&e);
                    self.seen.push(e);
                    self.claimed.push(got.is_some());
                    if let Some(v) = got {
                        return v;
                    }
                }
                Err(_) => self.fail(what),
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "timed out waiting for {what}; events:\n{}",
            self.seen
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn incident(&mut self, t: ErrorType) -> IncidentId {
        self.wait_for(&format!("a {t} incident"), |e| match e {
            Event::Incident { id, incident, .. } if incident.error_type == t => Some(*id),
            _ => None,
        })
    }

    fn finished(&mut self, action: ActionId) -> (bool, String, bool) {
        self.wait_for(&format!("{} to finish", action.id()), |e| match e {
            Event::ActionFinished {
                action: a,
                success,
                message,
                undoable,
                ..
            } if *a == action => Some((*success, message.clone(), *undoable)),
            _ => None,
        })
    }

    fn send(&self, c: Command) {
        self.commands.send(c).unwrap();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn python_service(dir: &Path, body: &str, extra: &str) -> PathBuf {
    let profile = dir.join("stack.ron");
    let text = format!(
        r#"(name: "t", services: [(name: "app", command: ["python3", "-c", "{body}"], ready: Log("^ready$"), restart: Never{extra})])"#
    );
    std::fs::write(&profile, text).unwrap();
    profile
}

#[test]
fn repair_config_file_backs_up_fixes_verifies_and_undoes() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "{\"port\": 8000,\n \"name\": \"demo\",\n}\n";
    std::fs::write(dir.path().join("settings.json"), broken).unwrap();
    let body = "import json, time; json.load(open('settings.json')); print('ready', flush=True); time.sleep(120)";
    let profile = python_service(dir.path(), body, r#", config_files: ["settings.json"]"#);
    let mut h = Harness::start(&profile, &dir.path().join("home"));
    let id = h.incident(ErrorType::ConfigInvalid);

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::RepairConfigFile,
        consent: false,
    });
    h.wait_for("a consent refusal", |e| match e {
        Event::Notice(t) if t.contains("needs your consent") => Some(()),
        _ => None,
    });
    assert_eq!(
        std::fs::read_to_string(dir.path().join("settings.json")).unwrap(),
        broken,
        "nothing changed without consent"
    );

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::RepairConfigFile,
        consent: true,
    });
    let (success, message, undoable) = h.finished(ActionId::RepairConfigFile);
    assert!(success, "{message}");
    assert!(undoable);
    assert!(message.contains("removed trailing commas"), "{message}");
    let fixed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(fixed["port"], 8000);
    let backups: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("settings.json.bak-"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), broken);

    h.send(Command::Undo {
        incident: id,
        action: ActionId::RepairConfigFile,
    });
    h.wait_for("the undo", |e| match e {
        Event::Log { line, .. } if line.starts_with("undone:") => Some(()),
        _ => None,
    });
    assert_eq!(
        std::fs::read_to_string(dir.path().join("settings.json")).unwrap(),
        broken
    );
}

#[test]
fn stopping_a_foreign_holder_needs_consent_and_then_really_happens() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut foreign: Child = Proc::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = dir.path().join("stack.ron");
    std::fs::write(
        &profile,
        format!(r#"(name: "t", services: [(name: "api", command: ["python3", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"], port: {port})])"#),
    )
    .unwrap();
    let mut h = Harness::start(&profile, &dir.path().join("home"));
    let id = h.incident(ErrorType::PortConflict);
    h.send(Command::RunAction {
        incident: id,
        action: ActionId::KillProcessOnPort,
        consent: false,
    });
    h.wait_for("a consent refusal", |e| match e {
        Event::Notice(t)
            if t.contains("needs your consent") && t.contains(&foreign.id().to_string()) =>
        {
            Some(())
        }
        _ => None,
    });
    assert!(
        foreign.try_wait().unwrap().is_none(),
        "not touched without consent"
    );

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::KillProcessOnPort,
        consent: true,
    });
    let (success, message, _) = h.finished(ActionId::KillProcessOnPort);
    assert!(success, "{message}");
    assert!(
        message.contains(&format!("pid {}", foreign.id())),
        "{message}"
    );
    let status = foreign.wait().unwrap();
    assert!(!status.success(), "the holder was stopped");
    h.wait_for("ready on the original port", |e| match e {
        Event::Ready { port: Some(p), .. } if *p == port => Some(()),
        _ => None,
    });
}

/// A wheel made by hand, so the install test needs no network.
fn local_wheel(dir: &Path) -> PathBuf {
    let wheels = dir.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let script = r#"
import sys, zipfile
path = sys.argv[1] + '/smtestpkg-1.0-py3-none-any.whl'
with zipfile.ZipFile(path, 'w') as z:
    z.writestr('smtestpkg/__init__.py', 'VALUE = 42\n')
    z.writestr('smtestpkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: smtestpkg\nVersion: 1.0\n')
    z.writestr('smtestpkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\nGenerator: startup-medic-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
    z.writestr('smtestpkg-1.0.dist-info/RECORD', 'smtestpkg/__init__.py,,\nsmtestpkg-1.0.dist-info/METADATA,,\nsmtestpkg-1.0.dist-info/WHEEL,,\nsmtestpkg-1.0.dist-info/RECORD,,\n')
"#;
    let ok = Proc::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&wheels)
        .status()
        .unwrap();
    assert!(ok.success());
    wheels
}

#[test]
fn create_a_venv_then_install_the_missing_module_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = local_wheel(dir.path());
    // pip reads these from the environment Startup Medic passes on: install from the local wheel only.
    // SAFETY: set before any thread of this test starts a process; other tests do not read them.
    unsafe {
        std::env::set_var("PIP_NO_INDEX", "1");
        std::env::set_var("PIP_FIND_LINKS", &wheels);
        std::env::set_var("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    }
    let body = "import smtestpkg, time; print('ready', flush=True); time.sleep(120)";
    let profile = python_service(dir.path(), body, "");
    let mut h = Harness::start(&profile, &dir.path().join("home"));
    let id = h.incident(ErrorType::DependencyMissing);

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::ActivateVirtualEnvironment,
        consent: false,
    });
    let (success, message, _) = h.finished(ActionId::ActivateVirtualEnvironment);
    assert!(
        !success && message.contains("no virtual environment"),
        "{message}"
    );

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::CreateVirtualEnvironment,
        consent: true,
    });
    let (success, message, _) = h.finished(ActionId::CreateVirtualEnvironment);
    assert!(
        !success,
        "a fresh venv does not have the module yet: {message}"
    );
    assert!(dir.path().join(".venv").join("bin").join("python").exists());
    let id = h.incident(ErrorType::DependencyMissing);

    h.send(Command::RunAction {
        incident: id,
        action: ActionId::InstallMissingDependencies,
        consent: true,
    });
    let (success, message, _) = h.finished(ActionId::InstallMissingDependencies);
    assert!(success, "{message}\n{:?}", h.seen);
    assert_eq!(message, "app: installed smtestpkg");
    let imported = Proc::new(dir.path().join(".venv/bin/python"))
        .args(["-c", "import smtestpkg; print(smtestpkg.VALUE)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&imported.stdout).trim(), "42");
}
