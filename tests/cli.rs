//! The CLI contract, through the real binary: exit codes, JSON shapes, state handling.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use startup_medic::engine::actions::ActionId;
use startup_medic::engine::learning::{Outcome, Patterns};
use startup_medic::engine::rules::Classifier;
use startup_medic::store::{PATTERNS_FILE, Store};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_startup-medic"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin()
        .args(args)
        .env("STARTUP_MEDIC_HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("wait")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn classify_json_shape_and_exit_status() {
    let home = tempfile::tempdir().unwrap();
    let path = fixture("failures/py_uvicorn_port_linux.log");
    let out = run(
        home.path(),
        &["classify", "--json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    let row = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["actions", "facts", "line", "message", "type"]);
    assert_eq!(row["type"], "port_conflict");
    assert_eq!(row["line"], 4);
    assert_eq!(row["facts"]["port"], 8000);
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("address already in use")
    );
    let actions: Vec<&str> = row["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "find_alternative_port");
    assert!(actions.contains(&"kill_process_on_port"));
}

#[test]
fn classify_reads_stdin_and_ordinary_logs_exit_zero() {
    let home = tempfile::tempdir().unwrap();
    let ordinary = std::fs::read_to_string(fixture("ordinary/vite_ok.log")).unwrap();
    let out = run(home.path(), &["classify", "--json"], Some(&ordinary));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());

    let out = run(
        home.path(),
        &["classify", "-"],
        Some("sh: 1: vite: not found\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[dependency_missing] line 1: sh: 1: vite: not found"),
        "{text}"
    );
    assert!(text.contains("command=vite"), "{text}");
    assert!(text.contains("install_missing_dependencies"), "{text}");
}

#[test]
fn classify_usage_errors_exit_two() {
    let home = tempfile::tempdir().unwrap();
    let out = run(home.path(), &["classify", "/no/such/file.log"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /no/such/file.log"), "{err}");

    let out = run(home.path(), &["classify", "--jsn"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn learned_outcomes_change_the_ranking_and_stats_reports_them() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::at(home.path());
    let log = std::fs::read_to_string(fixture("failures/py_uvicorn_port_linux.log")).unwrap();
    let incident = Classifier::builtin().0.classify_text(&log).remove(0);
    let mut patterns = Patterns::default();
    for run_id in ["run-1", "run-2", "run-3", "run-4", "run-5"] {
        patterns.record_incident(run_id, &incident, 1_795_884_245);
        patterns.record_outcome(
            run_id,
            &incident,
            ActionId::KillProcessOnPort,
            Outcome::Succeeded,
            1_795_884_245,
        );
        patterns.record_outcome(
            run_id,
            &incident,
            ActionId::FindAlternativePort,
            Outcome::Failed,
            1_795_884_245,
        );
    }
    store.save(PATTERNS_FILE, &patterns).unwrap();

    let out = run(
        home.path(),
        &[
            "classify",
            "--json",
            fixture("failures/py_uvicorn_port_linux.log")
                .to_str()
                .unwrap(),
        ],
        None,
    );
    let rows = json_lines(&out);
    assert_eq!(rows[0]["actions"][0], "kill_process_on_port", "{rows:?}");

    let out = run(home.path(), &["stats", "--json"], None);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    let row = rows[0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["actions", "id", "last_seen", "occurrences", "type"]);
    assert_eq!(row["id"], "port_conflict|port=8000");
    assert_eq!(row["type"], "port_conflict");
    assert_eq!(row["occurrences"], 5);
    assert_eq!(row["last_seen"], "2026-11-28T16:44:05Z");
    assert_eq!(row["actions"]["kill_process_on_port"]["tried"], 5);
    assert_eq!(row["actions"]["kill_process_on_port"]["succeeded"], 5);
    assert_eq!(row["actions"]["find_alternative_port"]["succeeded"], 0);

    let out = run(home.path(), &["stats"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("port 8000 conflicts"), "{text}");
    assert!(text.contains("kill_process_on_port (5 of 5)"), "{text}");
}

#[test]
fn damaged_patterns_file_is_kept_aside_and_stats_still_succeeds() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(PATTERNS_FILE),
        "(version: 1, patterns: {\"x\": (",
    )
    .unwrap();
    let out = run(home.path(), &["stats", "--json"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("patterns.ron does not parse"), "{err}");
    assert!(err.contains(".damaged-"), "{err}");
    let names: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("patterns.ron.damaged-")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == PATTERNS_FILE));
}

#[test]
fn a_bad_user_rule_is_reported_and_the_rest_keep_working() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("rules.ron"),
        r#"(version: 1, rules: [
            (id: "my_broken", type: network_error, pattern: "([unclosed"),
            (id: "gpu_gone", type: process_failed, pattern: "GPU has fallen off the bus"),
        ])"#,
    )
    .unwrap();
    let out = run(
        home.path(),
        &["classify", "--json"],
        Some("NVRM: GPU has fallen off the bus.\nrestarting\nbash: python: command not found\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule \"my_broken\": pattern does not compile"),
        "{err}"
    );
    let rows = json_lines(&out);
    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["process_failed", "dependency_missing"]);
}

#[test]
fn the_shipped_demo_profile_names_this_program_when_opened_as_a_file() {
    let home = tempfile::tempdir().expect("temp dir");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.ron");
    let out = run(
        home.path(),
        &["doctor", "--profile", demo.to_str().expect("utf-8 path")],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = text.lines().filter(|l| l.contains(" command ")).collect();
    assert_eq!(commands.len(), 3, "{text}");
    for line in commands {
        assert!(line.starts_with("[✓]"), "{text}");
    }
}
