//! Window tests with egui_kittest: the panels are built from plain state with events injected, found
//! by role and label, clicked, and checked on what they show and on the commands they emit. No worker,
//! no display.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use startup_medic::engine::actions::{ActionId, Risk};
use startup_medic::engine::{ErrorType, Fact, Facts, Incident};
use startup_medic::protocol::{Command, Event, OfferedAction, PortHolder, ServiceState, Stream};
use startup_medic::settings::AutoFixPolicy;
use startup_medic::ui::app::app_ui;
use startup_medic::ui::state::AppState;

fn demo_state() -> AppState {
    let profile =
        startup_medic::demo::profile_with_exe(Path::new("/usr/bin/startup-medic")).unwrap();
    AppState::new(&profile, 10_000, AutoFixPolicy::Off)
}

fn harness(state: AppState) -> Harness<'static, AppState> {
    let mut h = harness_unsettled(state);
    h.run();
    h
}

/// For UIs that keep repainting (a spinner runs): step instead of waiting to settle.
fn harness_unsettled(state: AppState) -> Harness<'static, AppState> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(
            |ui, state: &mut AppState| app_ui(ui, state, Instant::now()),
            state,
        );
    h.run_steps(3);
    h
}

fn port_conflict(id: u64) -> Event {
    let mut facts = Facts::default();
    facts.0.insert("port".into(), Fact::Int(8710));
    let incident = Incident {
        error_type: ErrorType::PortConflict,
        line: 3,
        message: "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8710): address already in use".into(),
        facts,
        rule_id: Some("errno-98".into()),
        first_line: 3,
        context: vec!["INFO:     Started server process [4242]".into()],
    };
    let offered =
        |action: ActionId, risk: Risk, needs_consent: bool, why: &str, plan: &str| OfferedAction {
            action,
            why: why.into(),
            risk,
            needs_consent,
            plan: plan.into(),
        };
    Event::Incident {
        id,
        service: "api".into(),
        incident: Box::new(incident),
        holder: Some(PortHolder {
            pid: 4242,
            name: "old-api".into(),
            command: "startup-medic demo-server --name old-api".into(),
            user: Some("dev".into()),
            ours: false,
        }),
        actions: vec![
            offered(
                ActionId::FindAlternativePort,
                Risk::Safe,
                false,
                "worked 4 of 5 times for port 8710 conflicts",
                "move api from port 8710 to the next free port",
            ),
            offered(
                ActionId::KillProcessOnPort,
                Risk::StopsProcess,
                true,
                "usual first choice",
                "stop pid 4242 (old-api): startup-medic demo-server --name old-api",
            ),
            offered(
                ActionId::WaitForPortRelease,
                Risk::Safe,
                false,
                "untried",
                "wait up to 30 s for port 8710",
            ),
        ],
        manual_steps: vec!["Find the program with `lsof -i :8710` and stop it.".into()],
    }
}

#[test]
fn incident_card_shows_ranked_fixes_in_rank_order() {
    let mut state = demo_state();
    state.apply(port_conflict(1), Instant::now());
    let h = harness(state);
    h.get_by_label_contains("Held by pid 4242 (old-api)");
    let first = h
        .get_by_role_and_label(Role::Button, "1. Move to a free port")
        .rect();
    let second = h
        .get_by_role_and_label(Role::Button, "2. Stop the process holding the port")
        .rect();
    let third = h
        .get_by_role_and_label(Role::Button, "3. Wait for the port to be released")
        .rect();
    assert!(
        first.top() < second.top() && second.top() < third.top(),
        "{first:?} {second:?} {third:?}"
    );
    h.get_by_label("worked 4 of 5 times for port 8710 conflicts");
    h.get_by_label("stops a process");
}

#[test]
fn clicking_a_safe_fix_sends_run_action_without_consent() {
    let mut state = demo_state();
    state.apply(port_conflict(7), Instant::now());
    let mut h = harness(state);
    h.get_by_role_and_label(Role::Button, "1. Move to a free port")
        .click();
    h.run();
    assert_eq!(
        h.state().outbox,
        vec![Command::RunAction {
            incident: 7,
            action: ActionId::FindAlternativePort,
            consent: false
        }]
    );
    assert!(h.state().consent.is_none());
}

#[test]
fn a_risky_fix_asks_first_and_cancel_sends_nothing() {
    let mut state = demo_state();
    state.apply(port_conflict(3), Instant::now());
    let mut h = harness(state);
    h.get_by_role_and_label(Role::Button, "2. Stop the process holding the port")
        .click();
    h.run();
    assert!(h.state().outbox.is_empty(), "nothing runs before consent");
    h.get_by_label("stop pid 4242 (old-api): startup-medic demo-server --name old-api");
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run();
    assert!(h.state().outbox.is_empty(), "cancel sends nothing");
    assert!(h.state().consent.is_none());
    assert!(
        h.query_by_label("stop pid 4242 (old-api): startup-medic demo-server --name old-api")
            .is_none(),
        "dialog closed"
    );

    h.get_by_role_and_label(Role::Button, "2. Stop the process holding the port")
        .click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Proceed").click();
    h.run();
    assert_eq!(
        h.state().outbox,
        vec![Command::RunAction {
            incident: 3,
            action: ActionId::KillProcessOnPort,
            consent: true
        }]
    );
}

#[test]
fn action_progress_result_and_manual_steps() {
    let mut state = demo_state();
    let now = Instant::now();
    state.apply(port_conflict(5), now);
    state.apply(
        Event::ActionStarted {
            incident: 5,
            service: "api".into(),
            action: ActionId::FindAlternativePort,
        },
        now,
    );
    state.apply(
        Event::Log {
            service: "api".into(),
            stream: Stream::System,
            line: "probing port 8711".into(),
        },
        now,
    );
    let mut h = harness_unsettled(state);
    h.get_by_label_contains("Move to a free port …");
    h.get_by_label("probing port 8711");
    {
        use egui_kittest::kittest::NodeT;
        let other_fix =
            h.get_by_role_and_label(Role::Button, "3. Wait for the port to be released");
        assert!(
            other_fix.accesskit_node().is_disabled(),
            "no second fix while one runs"
        );
    }
    h.state_mut().apply(
        Event::ActionFinished {
            incident: 5,
            service: "api".into(),
            action: ActionId::FindAlternativePort,
            success: false,
            message: "no free port in 8711-8720".into(),
            undoable: false,
        },
        now,
    );
    h.state_mut().apply(
        Event::GaveUp {
            service: "api".into(),
            reason: "every fix was tried".into(),
        },
        now,
    );
    h.run();
    h.get_by_label("no free port in 8711-8720");
    h.get_by_label("What you can do by hand");
    h.get_by_label("1. Find the program with `lsof -i :8710` and stop it.");
}

#[test]
fn services_panel_follows_events() {
    let mut state = demo_state();
    let now = Instant::now();
    state.apply(
        Event::State {
            service: "api".into(),
            state: ServiceState::Starting,
            pid: Some(4343),
            port: Some(8711),
        },
        now,
    );
    state.apply(
        Event::State {
            service: "web".into(),
            state: ServiceState::Failed,
            pid: None,
            port: Some(8720),
        },
        now,
    );
    let mut h = harness(state);
    h.get_by_label("port 8710 → 8711");
    h.get_by_label("pid 4343");
    h.get_by_label("starting");
    h.get_by_label("failed");
    h.get_by_label("1 failed");
    h.state_mut().apply(
        Event::Ready {
            service: "api".into(),
            port: Some(8711),
        },
        now,
    );
    h.state_mut().apply(
        Event::State {
            service: "api".into(),
            state: ServiceState::Ready,
            pid: Some(4343),
            port: Some(8711),
        },
        now,
    );
    h.run();
    h.get_by_label("ready");
    h.get_by_label("1 ready");
    h.get_by_label("http://127.0.0.1:8711/");
    h.state_mut().apply(
        Event::State {
            service: "api".into(),
            state: ServiceState::Recovering { retry_in_ms: 4000 },
            pid: None,
            port: Some(8711),
        },
        now,
    );
    h.run();
    h.get_by_label_contains("recovering — retry in");

    // Buttons send commands.
    h.get_by_role_and_label(Role::Button, "Stop all").click();
    h.run();
    assert_eq!(h.state().outbox.last(), Some(&Command::Stop(None)));
}

#[test]
fn log_search_finds_highlights_and_steps() {
    let mut state = demo_state();
    let now = Instant::now();
    for i in 0..500 {
        let line = if i % 200 == 7 {
            format!("\x1b[31mERROR\x1b[0m boom number {i}")
        } else {
            format!("INFO GET /items/{i} 200")
        };
        state.apply(
            Event::Log {
                service: if i % 2 == 0 { "api" } else { "web" }.into(),
                stream: Stream::Stdout,
                line,
            },
            now,
        );
    }
    let mut h = harness(state);
    h.get_by_label("500 lines");
    let search = h.get_by_role(Role::TextInput);
    search.focus();
    search.type_text("BOOM");
    h.run();
    h.get_by_label("3 matches");
    h.get_by_role_and_label(Role::Button, "Next").click();
    h.run();
    h.get_by_label("1 of 3");
    assert!(
        !h.state().log_view.following,
        "jumping to a match stops following"
    );
    // The first match is on screen, its text intact (ANSI removed) after the service prefix.
    h.get_by_label_contains("ERROR boom number 7");
    h.get_by_role_and_label(Role::Button, "Next").click();
    h.run();
    h.get_by_label("2 of 3");
    h.get_by_label_contains("boom number 207");
    h.get_by_role_and_label(Role::Button, "Prev").click();
    h.get_by_role_and_label(Role::Button, "Prev").click();
    h.run();
    h.get_by_label("3 of 3");
}

#[test]
fn auto_fix_toggle_sends_the_policy() {
    let mut h = harness(demo_state());
    h.get_by_role_and_label(Role::CheckBox, "Auto-fix (safe fixes only)")
        .click();
    h.run();
    assert_eq!(
        h.state().outbox,
        vec![Command::SetAutoFix(AutoFixPolicy::SafeOnly)]
    );
}

#[test]
fn tray_menu_model() {
    use startup_medic::ui::tray::{MENU, TrayAction};
    let labels: Vec<_> = MENU.iter().map(|(_, l)| *l).collect();
    assert_eq!(labels, ["Show/Hide", "Start all", "Stop all", "Quit"]);
    assert_eq!(MENU[3].0, TrayAction::Quit);
    let icon = startup_medic::ui::tray::icon_rgba(startup_medic::ui::theme::BAD, 32);
    let centre_left = ((16 * 32) + 4) * 4;
    assert_eq!(
        &icon[centre_left..centre_left + 3],
        &[218, 54, 51],
        "failed stack → red icon"
    );
}

#[test]
fn notifications_for_failures_crashes_and_recoveries_not_for_stops() {
    let mut state = demo_state();
    let now = Instant::now();
    let set = |state: &mut AppState, s: ServiceState| {
        state.apply(
            Event::State {
                service: "api".into(),
                state: s,
                pid: Some(1),
                port: Some(8710),
            },
            now,
        )
    };
    set(&mut state, ServiceState::Ready);
    set(&mut state, ServiceState::Stopping);
    state.apply(
        Event::Exited {
            service: "api".into(),
            code: Some(0),
        },
        now,
    );
    set(&mut state, ServiceState::Stopped);
    assert!(
        state.notifications.is_empty(),
        "a stop we asked for is not news: {:?}",
        state.notifications
    );

    set(&mut state, ServiceState::Ready);
    state.apply(
        Event::Exited {
            service: "api".into(),
            code: None,
        },
        now,
    );
    assert_eq!(state.notifications.len(), 1);
    assert_eq!(state.notifications[0].title, "api stopped unexpectedly");
    assert_eq!(state.notifications[0].body, "api was stopped by a signal");

    state.apply(port_conflict(9), now);
    set(&mut state, ServiceState::Failed);
    assert_eq!(state.notifications[1].title, "api failed");
    assert!(
        state.notifications[1].body.starts_with("port conflict: "),
        "{}",
        state.notifications[1].body
    );
    state.apply(
        Event::Ready {
            service: "api".into(),
            port: Some(8711),
        },
        now,
    );
    assert_eq!(state.notifications[2].title, "api recovered");
    assert_eq!(state.notifications[2].body, "api is ready on port 8711");
}

fn learned() -> startup_medic::engine::learning::Patterns {
    use startup_medic::engine::learning::{Outcome, Patterns};
    let mut p = Patterns::default();
    let incident = |t: ErrorType, key: &str, value: Fact| {
        let mut facts = Facts::default();
        facts.0.insert(key.into(), value);
        Incident {
            error_type: t,
            line: 1,
            message: "x".into(),
            facts,
            rule_id: None,
            first_line: 1,
            context: vec![],
        }
    };
    let port = incident(ErrorType::PortConflict, "port", Fact::Int(8000));
    let torch = incident(
        ErrorType::DependencyMissing,
        "module",
        Fact::Text("torch".into()),
    );
    let timeout = incident(ErrorType::TimeoutError, "port", Fact::Int(7860));
    let cases = [
        (&port, 3, 1_000_000u64, ActionId::FindAlternativePort),
        (&torch, 5, 2_000_000, ActionId::InstallMissingDependencies),
        (&timeout, 1, 3_000_000, ActionId::IncreaseTimeout),
    ];
    for (i, (inc, n, t0, action)) in cases.into_iter().enumerate() {
        for k in 0..n {
            let key = format!("run#{i}-{k}");
            p.record_incident(&key, inc, t0 + k as u64 * 86_400);
            p.record_outcome(
                &key,
                inc,
                action,
                if k % 2 == 0 {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed
                },
                t0 + k as u64 * 86_400 + 5,
            );
        }
    }
    p
}

fn with_patterns() -> Harness<'static, AppState> {
    let mut state = demo_state();
    state.apply(Event::Patterns(Box::new(learned())), Instant::now());
    state.tab = startup_medic::ui::state::Tab::Patterns;
    harness(state)
}

fn row_order(h: &Harness<'static, AppState>, labels: &[&str]) -> Vec<String> {
    let mut ys: Vec<(f32, String)> = labels
        .iter()
        .map(|l| (h.get_by_label(l).rect().top(), l.to_string()))
        .collect();
    ys.sort_by(|a, b| a.0.total_cmp(&b.0));
    ys.into_iter().map(|(_, l)| l).collect()
}

#[test]
fn patterns_table_sorts_by_clicked_column() {
    let mut h = with_patterns();
    let descs = [
        "port 8000 conflicts",
        "missing module torch",
        "startup timeouts",
    ];
    for d in descs {
        h.get_by_label(d);
    }
    // Default: last seen, newest first.
    assert_eq!(
        row_order(&h, &descs),
        [
            "startup timeouts",
            "missing module torch",
            "port 8000 conflicts"
        ]
    );
    h.get_by_role_and_label(Role::Button, "Seen").click();
    h.run();
    assert_eq!(
        row_order(&h, &descs),
        [
            "missing module torch",
            "port 8000 conflicts",
            "startup timeouts"
        ],
        "most occurrences first"
    );
    h.get_by_role_and_label(Role::Button, "Seen v").click();
    h.run();
    assert_eq!(
        row_order(&h, &descs),
        [
            "startup timeouts",
            "port 8000 conflicts",
            "missing module torch"
        ],
        "second click: ascending"
    );
    h.get_by_role_and_label(Role::Button, "Pattern").click();
    h.run();
    assert_eq!(
        row_order(&h, &descs),
        [
            "missing module torch",
            "port 8000 conflicts",
            "startup timeouts"
        ],
        "text columns sort A-Z"
    );
}

#[test]
fn forget_and_reset_send_their_commands() {
    let mut h = with_patterns();
    h.get_by_label("missing module torch").click();
    h.run();
    // The details show the engine's numbers: 5 tried, 3 worked, estimate (3+1)/(5+2) = 57 %.
    h.get_by_label("57 %");
    h.get_by_role_and_label(Role::Button, "Reset statistics")
        .click();
    h.run();
    assert_eq!(
        h.state().outbox,
        vec![Command::ResetPattern(
            "dependency_missing|module=torch".into()
        )]
    );
    h.state_mut().outbox.clear();
    h.get_by_role_and_label(Role::Button, "Forget pattern")
        .click();
    h.run();
    assert_eq!(
        h.state().outbox,
        vec![Command::ForgetPattern(
            "dependency_missing|module=torch".into()
        )]
    );
}

#[test]
fn an_invalid_port_range_cannot_be_saved_and_says_why() {
    use startup_medic::engine::fallback::PortRange;
    let mut state = demo_state();
    state.tab = startup_medic::ui::state::Tab::Fallbacks;
    let mut h = harness(state);
    {
        use egui_kittest::kittest::NodeT;
        assert!(
            h.get_by_role_and_label(Role::Button, "Save")
                .accesskit_node()
                .is_disabled(),
            "nothing to save yet"
        );
    }
    {
        let e = &mut h.state_mut().fallback_editor;
        let mut c = e.draft.get(ErrorType::PortConflict);
        c.port_ranges = vec![
            PortRange {
                start: 9000,
                end: 8000,
            },
            PortRange {
                start: 8700,
                end: 8715,
            },
        ];
        e.draft.configs.insert(ErrorType::PortConflict, c);
    }
    h.run();
    h.get_by_label("port_ranges[0]: start 9000 is after end 8000");
    h.get_by_label("port_ranges[1]: contains 8710, the fixed port of service \"old-api\"");
    h.get_by_label("Fix the marked fields to save.");
    h.get_by_role_and_label(Role::Button, "Save").click();
    h.run();
    assert!(
        h.state().requests.is_empty(),
        "an invalid configuration is not saved"
    );

    // Fixed: Save asks the app to write it, and the preview shows what it would change.
    {
        let e = &mut h.state_mut().fallback_editor;
        let mut c = e.draft.get(ErrorType::PortConflict);
        c.port_ranges = vec![PortRange {
            start: 18000,
            end: 18099,
        }];
        e.draft.configs.insert(ErrorType::PortConflict, c);
    }
    h.run();
    h.get_by_label_contains("port: 8710 -> tries 8711, 8712");
    h.get_by_role_and_label(Role::Button, "Save").click();
    h.run();
    assert!(
        matches!(h.state().requests.as_slice(), [startup_medic::ui::state::Request::SaveFallbacks(f)] if f.get(ErrorType::PortConflict).port_ranges[0].start == 18000)
    );
}

#[test]
fn settings_validate_and_save_through_the_app() {
    let mut state = demo_state();
    state.tab = startup_medic::ui::state::Tab::Settings;
    let mut h = harness(state);
    h.state_mut().settings_draft.backoff.cap_ms = 10;
    h.run();
    h.get_by_label("backoff cap: 10 ms is below the base (1000 ms)");
    h.get_by_role_and_label(Role::Button, "Save settings")
        .click();
    h.run();
    assert!(h.state().requests.is_empty());
    h.state_mut().settings_draft.backoff.cap_ms = 60_000;
    h.run();
    h.get_by_role_and_label(Role::Button, "Save settings")
        .click();
    h.run();
    assert!(
        matches!(h.state().requests.as_slice(), [startup_medic::ui::state::Request::SaveSettings(s)] if s.backoff.cap_ms == 60_000)
    );
}

#[test]
fn diagnostics_leave_out_env_values_and_secrets() {
    let mut profile =
        startup_medic::demo::profile_with_exe(Path::new("/usr/bin/startup-medic")).unwrap();
    profile.services[1]
        .env
        .insert("HF_TOKEN".into(), "hf_supersecret".into());
    profile.services[1]
        .command
        .extend(["--api-key".into(), "sk-live-123".into()]);
    let mut state = AppState::new(&profile, 1000, AutoFixPolicy::Off);
    state.apply(port_conflict(1), Instant::now());
    let report = startup_medic::ui::settings::diagnostics(&state, &profile);
    assert!(
        report.contains("env (values not included): HF_TOKEN"),
        "{report}"
    );
    assert!(report.contains("--api-key <redacted>"), "{report}");
    assert!(
        !report.contains("hf_supersecret") && !report.contains("sk-live-123"),
        "{report}"
    );
    assert!(report.contains("api port_conflict"), "{report}");
    assert!(report.contains(std::env::consts::OS));
}
