//! The supervisor through the real binary, with real child processes on loopback ports chosen at run
//! time. Every wait has a timeout.

#![cfg(unix)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// A loopback port free now, and apart from every port handed out before in this test binary: the
/// tests run in parallel, each service may be moved to one of the 20 ports just above its own, and a
/// port released here can be handed out again by the system. Two tests sharing a port would see each
/// other's servers (a readiness check answered by another test's server, a conflict nobody staged).
fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut handed_out = HANDED_OUT.lock().unwrap();
        if handed_out.iter().all(|&p| p.abs_diff(port) > 64) {
            handed_out.push(port);
            return port;
        }
    }
}

/// A running `startup-medic run --json`, its events arriving on a channel.
struct Run {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Run {
    fn start(home: &Path, profile: &Path, auto_fix: bool) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_startup-medic"));
        cmd.args(["run", "--json", "--profile"])
            .arg(profile)
            .env("STARTUP_MEDIC_HOME", home);
        if auto_fix {
            cmd.arg("--auto-fix");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        Run {
            child,
            events: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for an event matching `pred` (earlier events are kept in `seen`).
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "timed out waiting for {what}; events so far:\n{}",
            self.seen
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Waits until `n` events matching `pred` have been seen.
    fn wait_nth(&mut self, what: &str, n: usize, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + WAIT;
        while self.seen.iter().filter(|v| pred(v)).count() < n {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_default();
            match self.events.recv_timeout(left) {
                Ok(v) => self.seen.push(v),
                Err(_) => panic!(
                    "timed out waiting for {what}; events so far:\n{}",
                    self.seen
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    /// Sends SIGINT and waits (with a timeout) for a clean exit.
    fn interrupt(mut self) -> Vec<Value> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "run exited with {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "run did not stop within {WAIT:?} of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        while let Ok(v) = self.events.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(v);
        }
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is(v: &Value, event: &str, service: &str) -> bool {
    v["event"] == event && v["service"] == service
}

/// A foreign process holding a port: `python3 -m http.server`.
struct Foreign(Child);

impl Foreign {
    fn hold(port: u16) -> Foreign {
        let child = Command::new("python3")
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
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the foreign server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Foreign(child)
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_profile(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("stack.ron");
    std::fs::write(&path, text).unwrap();
    path
}

fn http_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.0 200")
}

/// Processes whose command line starts with `prefix`.
fn processes_with(prefix: &str) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid=,args="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_once(' ')
                .is_some_and(|(_, args)| args.trim_start().starts_with(prefix))
        })
        .map(String::from)
        .collect()
}

fn api_profile(port: u16) -> String {
    format!(
        r#"(name: "t", services: [
            (name: "api", command: ["python3", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"], port: {port}, ready: Tcp),
        ])"#
    )
}

#[test]
fn foreign_holder_is_named_never_killed_and_the_service_moves() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut foreign = Foreign::hold(port);
    let profile = write_profile(dir.path(), &api_profile(port));
    let mut run = Run::start(&dir.path().join("home"), &profile, true);
    let incident = run.wait_for("the port conflict", |v| is(v, "incident", "api"));
    assert_eq!(incident["type"], "port_conflict");
    assert_eq!(incident["facts"]["port"], port);
    assert_eq!(incident["facts"]["pid"], foreign.0.id());
    assert_eq!(incident["facts"]["process"], "python3");
    assert_eq!(incident["holder"]["ours"], false);
    let actions: Vec<&str> = incident["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..2],
        ["find_alternative_port", "kill_process_on_port"]
    );

    let action = run.wait_for("the fix", |v| is(v, "action", "api"));
    assert_eq!(action["action"], "find_alternative_port");
    assert_eq!(action["success"], true);
    let ready = run.wait_for("ready", |v| is(v, "ready", "api"));
    let new_port = ready["port"].as_u64().unwrap() as u16;
    assert_ne!(new_port, port);
    assert_eq!(action["message"], format!("api: {port} → {new_port}"));
    assert!(http_ok(new_port), "the moved service answers on {new_port}");
    assert!(foreign.alive(), "the foreign holder was never touched");
    assert!(http_ok(port), "and it still serves its port");
    let events = run.interrupt();
    assert!(!events.iter().any(|v| v["action"] == "kill_process_on_port"));
}

#[test]
fn two_runs_count_as_one_pattern_with_two_occurrences_and_successes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = free_port();
    let _foreign = Foreign::hold(port);
    let profile = write_profile(dir.path(), &api_profile(port));
    for _ in 0..2 {
        let mut run = Run::start(&home, &profile, true);
        run.wait_for("ready", |v| is(v, "ready", "api"));
        run.wait_for("the fix", |v| is(v, "action", "api"));
        run.interrupt();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_startup-medic"))
        .args(["stats", "--json"])
        .env("STARTUP_MEDIC_HOME", &home)
        .output()
        .unwrap();
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], format!("port_conflict|port={port}"));
    assert_eq!(rows[0]["occurrences"], 2);
    assert_eq!(rows[0]["actions"]["find_alternative_port"]["tried"], 2);
    assert_eq!(rows[0]["actions"]["find_alternative_port"]["succeeded"], 2);
}

#[test]
fn own_leftover_is_recognised_and_stopped_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = free_port();
    let profile = write_profile(dir.path(), &api_profile(port));
    // First run: start the service, then kill Startup Medic itself so the service is orphaned.
    let mut first = Run::start(&home, &profile, false);
    let ready = first.wait_for("first ready", |v| is(v, "ready", "api"));
    assert_eq!(ready["port"], port);
    let leftover_pid = first.wait_for("pid", |v| is(v, "state", "api") && v["pid"].is_u64())["pid"]
        .as_u64()
        .unwrap() as u32;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // (It cannot answer requests any more: its output pipe is gone. It still holds the port.)
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the orphan still holds the port"
    );

    let mut second = Run::start(&home, &profile, true);
    let incident = second.wait_for("the conflict", |v| is(v, "incident", "api"));
    assert_eq!(incident["holder"]["ours"], true, "{incident}");
    assert_eq!(incident["holder"]["pid"], leftover_pid);
    assert_eq!(incident["actions"][0], "kill_process_on_port");
    let action = second.wait_for("the fix", |v| is(v, "action", "api"));
    assert_eq!(action["action"], "kill_process_on_port");
    assert_eq!(action["success"], true, "{action}");
    let ready = second.wait_for("ready again", |v| is(v, "ready", "api"));
    assert_eq!(ready["port"], port, "the service keeps its own port");
    let stat = Command::new("ps")
        .args(["-o", "stat=", "-p", &leftover_pid.to_string()])
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout).trim().to_string();
    assert!(
        stat.is_empty() || stat.starts_with('Z'),
        "the leftover is gone (or a zombie awaiting its reaper), ps says {stat:?}"
    );
    second.interrupt();
}

#[test]
fn stopping_leaves_no_grandchild_behind() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!(
        "{}.{}",
        700 + std::process::id() % 200,
        std::process::id() % 1000
    );
    let profile = write_profile(
        dir.path(),
        &format!(
            r#"(name: "t", services: [
                (name: "tree", command: ["sh", "-c", "sleep {marker} & sleep {marker} & (sleep {marker} &) ; echo forked; wait"], ready: Log("forked")),
            ])"#
        ),
    );
    let mut run = Run::start(&dir.path().join("home"), &profile, false);
    run.wait_for("ready", |v| is(v, "ready", "tree"));
    assert_eq!(
        processes_with(&format!("sleep {marker}")).len(),
        3,
        "three sleepers running"
    );
    run.interrupt();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(&format!("sleep {marker}")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left behind: {:?}",
            processes_with(&format!("sleep {marker}"))
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_readiness_timeout_really_raises_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let profile = write_profile(
        dir.path(),
        &format!(
            r#"(name: "t", services: [
                (name: "slow", command: ["sh", "-c", "sleep 2.5; exec python3 -m http.server {{port}} --bind 127.0.0.1"],
                 port: {port}, ready: Tcp, startup_timeout_secs: 2),
            ])"#
        ),
    );
    let mut run = Run::start(&dir.path().join("home"), &profile, true);
    let incident = run.wait_for("the timeout", |v| is(v, "incident", "slow"));
    assert_eq!(incident["type"], "timeout_error");
    assert_eq!(incident["actions"][0], "increase_timeout");
    let action = run.wait_for("the fix", |v| is(v, "action", "slow"));
    assert_eq!(action["action"], "increase_timeout");
    assert_eq!(action["success"], true, "{action}");
    assert_eq!(action["message"], "slow: startup timeout 2 s → 4 s");
    run.wait_for("ready", |v| is(v, "ready", "slow"));
    run.interrupt();
}

#[test]
fn dependents_start_after_their_dependency_and_follow_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _foreign = Foreign::hold(port);
    let profile = write_profile(
        dir.path(),
        &format!(
            r#"(name: "t", services: [
                (name: "web", command: ["sh", "-c", "echo API=http://127.0.0.1:{{port:api}}; exec sleep 300"], depends_on: ["api"], env: {{"API_PORT": "{{port:api}}"}}),
                (name: "api", command: ["python3", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"], port: {port}, ready: Tcp),
            ])"#
        ),
    );
    let mut run = Run::start(&dir.path().join("home"), &profile, true);
    let api_ready = run.wait_for("api ready", |v| is(v, "ready", "api"));
    let api_port = api_ready["port"].as_u64().unwrap();
    assert_ne!(api_port, u64::from(port), "api moved off the taken port");
    let line = run.wait_for("web's line", |v| {
        is(v, "log", "web") && v["stream"] == "stdout"
    });
    assert_eq!(line["line"], format!("API=http://127.0.0.1:{api_port}"));
    let order: Vec<usize> = ["api", "web"]
        .iter()
        .map(|s| {
            run.seen
                .iter()
                .position(|v| {
                    v["event"] == "state" && v["service"] == *s && v["state"] == "starting"
                })
                .unwrap()
        })
        .collect();
    let api_ready_at = run.seen.iter().position(|v| is(v, "ready", "api")).unwrap();
    assert!(
        order[0] < api_ready_at && api_ready_at < order[1],
        "web starts only after api is ready"
    );
    run.interrupt();
}

#[test]
fn a_damaged_profile_is_rejected_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "(\n  name: \"t\",\n  services: [\n    (name: \"api\", command: [\"x\"], port: \"eighty\"),\n  ],\n)\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_startup-medic"))
        .args(["run", "--profile"])
        .arg(&profile)
        .env("STARTUP_MEDIC_HOME", dir.path().join("home"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stack.ron:4:"), "{err}");
    assert!(err.to_lowercase().contains("expected"), "{err}");
}

#[test]
fn doctor_reports_a_broken_project() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _foreign = Foreign::hold(port);
    let backend = dir.path().join("backend");
    std::fs::create_dir_all(&backend).unwrap();
    std::fs::write(
        backend.join("requirements.txt"),
        "startup-medic-missing-package-xyz==1.0\n",
    )
    .unwrap();
    std::fs::write(backend.join("settings.json"), "{\"port\": 8000,\n}\n").unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("package.json"),
        "{\"name\": \"web\", \"scripts\": {\"dev\": \"vite\"}}",
    )
    .unwrap();
    let profile = write_profile(
        dir.path(),
        &format!(
            r#"(name: "t", services: [
                (name: "api", command: ["python3", "-m", "http.server", "{{port}}"], port: {port}, cwd: "backend",
                 config_files: ["settings.json"], requirements: "requirements.txt"),
                (name: "web", command: ["startup-medic-no-such-program", "dev"], cwd: "web"),
            ])"#
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_startup-medic"))
        .args(["doctor", "--json", "--profile"])
        .arg(&profile)
        .env("STARTUP_MEDIC_HOME", dir.path().join("home"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |service: &str, check: &str| {
        rows.iter()
            .find(|r| r["service"] == service && r["check"] == check)
            .cloned()
            .unwrap_or_else(|| panic!("no {service}/{check} in {rows:?}"))
    };
    assert_eq!(find("api", "command")["status"], "ok");
    assert_eq!(find("api", "port")["status"], "error");
    assert!(
        find("api", "port")["message"]
            .as_str()
            .unwrap()
            .contains("python3")
    );
    assert_eq!(find("api", "requirements")["status"], "error");
    assert!(
        find("api", "requirements")["message"]
            .as_str()
            .unwrap()
            .contains("startup-medic-missing-package-xyz")
    );
    assert_eq!(find("api", "config")["status"], "error");
    assert_eq!(find("web", "command")["status"], "error");
    assert_eq!(find("web", "node_modules")["status"], "error");
}

#[test]
fn a_crash_after_ready_is_restarted_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        r#"(name: "t", services: [
            (name: "flaky", command: ["sh", "-c", "echo up; sleep 0.3; exit 3"], ready: Log("^up$"), restart: OnFailure),
        ])"#,
    );
    let mut run = Run::start(&dir.path().join("home"), &profile, false);
    run.wait_for("first ready", |v| is(v, "ready", "flaky"));
    let exit = run.wait_for("the crash", |v| is(v, "exited", "flaky"));
    assert_eq!(exit["code"], 3);
    let recovering = run.wait_for("a scheduled restart", |v| {
        is(v, "state", "flaky") && v["state"] == "recovering"
    });
    assert!(
        recovering["retry_in_ms"].as_u64().unwrap() >= 900,
        "first retry after about a second: {recovering}"
    );
    run.wait_nth("a second ready", 2, |v| is(v, "ready", "flaky"));
    run.interrupt();
}

#[test]
fn auto_fix_gives_up_and_says_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        r#"(name: "t", services: [(name: "tool", command: ["startup-medic-no-such-program", "--serve"])])"#,
    );
    let mut run = Run::start(&dir.path().join("home"), &profile, true);
    let incident = run.wait_for("the incident", |v| is(v, "incident", "tool"));
    assert_eq!(incident["type"], "dependency_missing");
    assert_eq!(
        incident["facts"]["command"],
        "startup-medic-no-such-program"
    );
    let gave_up = run.wait_for("gave up", |v| is(v, "gave_up", "tool"));
    assert!(
        gave_up["reason"]
            .as_str()
            .unwrap()
            .contains("restart_with_different_params"),
        "{gave_up}"
    );
    run.interrupt();
}
