//! The double-click path without the window: the embedded demo profile, run by the app's own worker
//! thread into the app's own state, with real `startup-medic demo-server` processes on ports chosen
//! at run time. A port conflict must be explained with the holder's pid and name, one click on the
//! best fix must make the API ready on a new port, and the frontend must follow it.
#![cfg(unix)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use startup_medic::engine::ErrorType;
use startup_medic::engine::actions::{ActionId, Risk};
use startup_medic::engine::fallback::Fallbacks;
use startup_medic::protocol::{Command, ServiceState};
use startup_medic::settings::AutoFixPolicy;
use startup_medic::store::Store;
use startup_medic::ui::state::AppState;
use startup_medic::ui::worker::Worker;

const WAIT: Duration = Duration::from_secs(60);

/// Two distinct free loopback ports, not adjacent (the fix moves to the next free port).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn pump(worker: &Worker, state: &mut AppState, what: &str, done: impl Fn(&AppState) -> bool) {
    let start = Instant::now();
    loop {
        worker.drain(Duration::from_millis(50), |e| {
            state.apply(e, Instant::now())
        });
        for c in std::mem::take(&mut state.outbox) {
            assert!(worker.send(c), "supervisor ended early");
        }
        if done(state) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}; notices: {:?}; log:\n{}",
            state.notices,
            state.logs.shown_text(60)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The demo profile with run-time ports (old-api and api share one, on purpose), run by the app's
/// worker into the app's state, with `before` sent ahead of `Start`.
fn start_demo(home: &Path, before: Vec<Command>) -> (Worker, AppState, u16) {
    let mut profile =
        startup_medic::demo::profile_with_exe(Path::new(env!("CARGO_BIN_EXE_startup-medic")))
            .unwrap();
    let (shared, web) = free_ports();
    profile.services[0].port = Some(shared);
    profile.services[1].port = Some(shared);
    profile.services[2].port = Some(web);
    let mut state = AppState::new(&profile, 10_000, AutoFixPolicy::Off);
    let opts = common::options(Some(home));
    let worker = Worker::spawn(profile, opts, || {}).unwrap();
    for c in before {
        state.send(c);
    }
    state.send(Command::Start(None));
    (worker, state, shared)
}

#[test]
fn demo_stack_conflict_is_explained_and_fixed_with_one_click() {
    let home = tempfile::tempdir().unwrap();
    let (mut worker, mut state, shared) = start_demo(home.path(), Vec::new());

    pump(&worker, &mut state, "the port conflict", |s| {
        s.incidents.iter().any(|c| c.service == "api")
    });
    let card = state
        .incidents
        .iter()
        .find(|c| c.service == "api")
        .unwrap()
        .clone();
    assert_eq!(card.incident.error_type, ErrorType::PortConflict);
    let holder = card.holder.clone().expect("the holder is named");
    let old_api_pid = state.service("old-api").unwrap().pid.expect("old-api runs");
    assert_eq!(holder.pid, old_api_pid, "the holder is old-api's process");
    assert!(
        holder.command.contains("--name old-api"),
        "{}",
        holder.command
    );
    assert!(
        !holder.ours,
        "another service's process is not api's own leftover"
    );
    let best = &card.actions[0];
    assert_eq!(best.action, ActionId::FindAlternativePort);
    assert_eq!(best.risk, Risk::Safe);
    let stop = card
        .actions
        .iter()
        .find(|a| a.action == ActionId::KillProcessOnPort)
        .expect("stopping the holder is offered");
    assert!(
        stop.needs_consent && stop.plan.contains(&old_api_pid.to_string()),
        "{stop:?}"
    );

    // One click on the best fix.
    state.choose_action(card.id, best.action);
    assert!(state.consent.is_none(), "a safe fix needs no dialog");
    pump(&worker, &mut state, "api and web ready", |s| {
        s.service("api")
            .is_some_and(|a| a.state == ServiceState::Ready)
            && s.service("web")
                .is_some_and(|w| w.state == ServiceState::Ready)
    });
    let api = state.service("api").unwrap();
    let moved_to = api.port.unwrap();
    assert_ne!(moved_to, shared, "api moved");
    assert!(
        state.incident(card.id).unwrap().resolved(),
        "the card shows the fix worked"
    );
    let needle = format!("using API at http://127.0.0.1:{moved_to}");
    let mut found = false;
    for row in 0..state.logs.shown_len() {
        found |= state.logs.shown_line(row).unwrap().text.contains(&needle);
    }
    assert!(found, "web follows the API to its new port ({needle})");
    assert_eq!(
        state.service("old-api").unwrap().state,
        ServiceState::Ready,
        "the holder was left alone"
    );

    worker.shutdown();
    assert!(
        TcpListener::bind(("127.0.0.1", moved_to)).is_ok(),
        "api's port is free again after shutdown"
    );
    assert!(
        TcpListener::bind(("127.0.0.1", shared)).is_ok(),
        "old-api's port is free again after shutdown"
    );
}

/// A fallback edited in the app (sent as `SetFallbacks`, as the editor's Save does) changes the next
/// recovery: the service moves into the edited range instead of just above its port; and the patterns
/// the window shows are the ones on disk that `stats` reads.
#[test]
fn an_edited_fallback_changes_the_next_recovery() {
    use startup_medic::engine::fallback::PortRange;
    use startup_medic::engine::learning::Patterns;
    let home = tempfile::tempdir().unwrap();
    let (range_start, _) = free_ports();
    let mut edited = Fallbacks::default();
    let mut c = edited.get(ErrorType::PortConflict);
    c.search_above_current = 0;
    c.port_ranges = vec![PortRange {
        start: range_start,
        end: range_start.saturating_add(20),
    }];
    edited.configs.insert(ErrorType::PortConflict, c);
    let (mut worker, mut state, _) =
        start_demo(home.path(), vec![Command::SetFallbacks(Box::new(edited))]);
    pump(&worker, &mut state, "the port conflict", |s| {
        s.incidents.iter().any(|c| c.service == "api")
    });
    let card = state
        .incidents
        .iter()
        .find(|c| c.service == "api")
        .unwrap()
        .clone();
    state.choose_action(card.id, ActionId::FindAlternativePort);
    pump(&worker, &mut state, "api ready", |s| {
        s.service("api")
            .is_some_and(|a| a.state == ServiceState::Ready)
    });
    let moved = state.service("api").unwrap().port.unwrap();
    assert!(
        (range_start..=range_start + 20).contains(&moved),
        "api moved to {moved}, inside the edited range from {range_start}"
    );
    pump(&worker, &mut state, "the outcome in the patterns", |s| {
        s.patterns.patterns.values().any(|p| {
            p.actions
                .get(&ActionId::FindAlternativePort)
                .is_some_and(|a| a.succeeded == 1)
        })
    });
    let on_disk = Store::at(home.path())
        .load::<Patterns>(startup_medic::store::PATTERNS_FILE)
        .value;
    assert_eq!(state.patterns, on_disk, "the window shows what stats reads");
    worker.shutdown();
}

/// Two processes on one state directory (the window and a CLI `run`, say): what one learns while the
/// other runs is not overwritten when the other saves.
#[test]
fn learning_from_another_process_is_not_lost() {
    use startup_medic::engine::learning::Patterns;
    use startup_medic::engine::{Fact, Facts, Incident};
    let home = tempfile::tempdir().unwrap();
    let store = Store::at(home.path());
    let (mut worker, mut state, _) = start_demo(home.path(), Vec::new());
    pump(&worker, &mut state, "the port conflict", |s| {
        s.incidents.iter().any(|c| c.service == "api")
    });

    // Meanwhile another process records a failure of its own into the same file.
    let mut other = store
        .load::<Patterns>(startup_medic::store::PATTERNS_FILE)
        .value;
    let mut facts = Facts::default();
    facts.0.insert("module".into(), Fact::Text("torch".into()));
    let torch = Incident {
        error_type: ErrorType::DependencyMissing,
        line: 1,
        message: "ModuleNotFoundError: No module named 'torch'".into(),
        facts,
        rule_id: None,
        first_line: 1,
        context: vec![],
    };
    other.record_incident("other-process#1", &torch, 1_800_000_000);
    store
        .save(startup_medic::store::PATTERNS_FILE, &other)
        .unwrap();

    let card = state
        .incidents
        .iter()
        .find(|c| c.service == "api")
        .unwrap()
        .clone();
    state.choose_action(card.id, ActionId::FindAlternativePort);
    pump(&worker, &mut state, "the outcome saved", |s| {
        s.patterns.patterns.values().any(|p| {
            p.actions
                .get(&ActionId::FindAlternativePort)
                .is_some_and(|a| a.succeeded == 1)
        })
    });
    worker.shutdown();
    let on_disk = store
        .load::<Patterns>(startup_medic::store::PATTERNS_FILE)
        .value;
    assert_eq!(
        on_disk
            .patterns
            .get("dependency_missing|module=torch")
            .map(|p| p.occurrences),
        Some(1),
        "the other process's pattern survived"
    );
    let port = on_disk
        .patterns
        .values()
        .find(|p| p.error_type == ErrorType::PortConflict)
        .expect("ours is there too");
    assert_eq!(port.occurrences, 1, "our incident counted once");
    assert_eq!(
        port.actions
            .get(&ActionId::FindAlternativePort)
            .map(|a| (a.tried, a.succeeded)),
        Some((1, 1))
    );
}
