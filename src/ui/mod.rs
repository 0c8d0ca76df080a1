//! The desktop window (eframe/egui): services, live logs, incident cards with ranked one-click fixes,
//! a tray monitor and notifications. Panels read [`state::AppState`] and push intents; the app sends
//! them to the supervisor thread as `Command`s and builds everything it shows from `Event`s.

pub mod app;
pub mod bench;
pub mod fallbacks;
pub mod incidents;
pub mod instance;
pub mod logbuf;
pub mod logs;
pub mod patterns;
pub mod profile_editor;
pub mod services;
pub mod settings;
pub mod state;
pub mod theme;
pub mod tray;
pub mod worker;

use std::path::PathBuf;

use crate::profile::Profile;

/// Whether a D-Bus name is owned on the session bus (the tray host, the file-dialog portal).
#[cfg(target_os = "linux")]
pub fn session_bus_has(name: &str) -> Result<bool, String> {
    let bus =
        zbus::blocking::Connection::session().map_err(|e| format!("no D-Bus session bus: {e}"))?;
    let reply = bus
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "NameHasOwner",
            &(name,),
        )
        .map_err(|e| format!("cannot ask the session bus about {name}: {e}"))?;
    reply.body().deserialize().map_err(|e| e.to_string())
}

/// Whether a D-Bus service can be started on demand on the session bus.
#[cfg(target_os = "linux")]
pub fn session_bus_can_activate(name: &str) -> Result<bool, String> {
    let bus =
        zbus::blocking::Connection::session().map_err(|e| format!("no D-Bus session bus: {e}"))?;
    let reply = bus
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "ListActivatableNames",
            &(),
        )
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = reply.body().deserialize().map_err(|e| e.to_string())?;
    Ok(names.iter().any(|n| n == name))
}

/// eframe's storage file (window geometry, last profile) in the state directory.
pub const WINDOW_STATE_FILE: &str = "window.ron";

/// How the window was asked to open.
pub struct OpenRequest {
    /// `--profile FILE`, if given.
    pub profile: Option<PathBuf>,
}

/// Opens the window. Returns the process exit status.
pub fn run(request: OpenRequest) -> i32 {
    let mut notices = Vec::new();
    let store = crate::cli::open_store(&mut |w| notices.push(w));
    let instance = match store.as_ref().map(|s| instance::claim(s.dir())) {
        Some(Ok(instance::Instance::AlreadyRunning)) => {
            eprintln!("startup-medic: already running; asked that window to show itself");
            return 0;
        }
        Some(Ok(instance::Instance::Primary(p))) => Some(p),
        Some(Err(e)) => {
            notices.push(format!(
                "single-instance check failed ({e}); a second window may start"
            ));
            None
        }
        None => None,
    };
    let (settings, _) = crate::cli::load_settings(store.as_ref(), &mut |w| notices.push(w));

    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Startup Medic")
            .with_app_id("startup-medic")
            .with_inner_size([1400.0, 860.0])
            .with_min_inner_size([900.0, 500.0])
            .with_icon(tray::window_icon()),
        // The window's own memory (size, last profile) lives with the rest of our state.
        persistence_path: store.as_ref().map(|s| s.path(WINDOW_STATE_FILE)),
        ..Default::default()
    };
    let requested = request.profile;
    let result = eframe::run_native(
        "startup-medic",
        options,
        Box::new(move |cc| {
            let last = cc
                .storage
                .and_then(|s| s.get_string(app::LAST_PROFILE_KEY))
                .map(PathBuf::from);
            let recent = cc
                .storage
                .and_then(|s| s.get_string(app::RECENT_KEY))
                .map(|t| {
                    t.lines()
                        .filter(|l| !l.is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default();
            let profile = choose_profile(requested, last, &mut notices);
            let launch = app::Launch {
                profile,
                notices,
                store,
                settings,
                instance,
                autostart: true,
                recent,
            };
            Ok(Box::new(app::MedicApp::new(cc, launch)))
        }),
    );
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "startup-medic: cannot open the window: {e}. The headless commands (run, classify, doctor) work without a display."
            );
            1
        }
    }
}

/// The profile to open: the one asked for, else the last one, else the demo. Problems become notices.
pub fn choose_profile(
    requested: Option<PathBuf>,
    last: Option<PathBuf>,
    notices: &mut Vec<String>,
) -> Profile {
    let explicit = requested.is_some();
    if let Some(path) = requested.or(last) {
        match Profile::load(&path) {
            Ok(p) => {
                let problems = p.validate();
                if problems.is_empty() {
                    return p;
                }
                notices.push(format!(
                    "{} cannot be started: {}; opening the demo instead",
                    path.display(),
                    problems.join("; ")
                ));
            }
            Err(e) if explicit => notices.push(format!("{e}; opening the demo instead")),
            Err(e) => notices.push(format!(
                "the last profile could not be opened ({e}); opening the demo instead"
            )),
        }
    }
    match crate::demo::profile() {
        Ok(p) => p,
        Err(e) => {
            notices.push(e);
            Profile {
                name: "empty".into(),
                services: Vec::new(),
                path: None,
            }
        }
    }
}
