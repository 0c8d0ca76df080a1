//! "New profile from a folder" on fixture projects (tests/fixtures/projects), and a detected profile
//! that really starts its project.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use startup_medic::detect::detect;
use startup_medic::profile::{Profile, Ready};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/projects")
        .join(name)
}

fn names(p: &Profile) -> Vec<&str> {
    p.services.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn fastapi_backend_and_vite_frontend() {
    let d = detect(&fixture("fastapi_vite"));
    assert_eq!(names(&d.profile), ["backend", "frontend"], "{:?}", d.notes);
    let api = &d.profile.services[0];
    assert_eq!(
        api.command,
        [
            "python",
            "-m",
            "uvicorn",
            "server:api",
            "--host",
            "{host}",
            "--port",
            "{port}"
        ]
    );
    assert_eq!(api.port, Some(8000));
    assert_eq!(api.cwd.as_deref(), Some(Path::new("backend")));
    assert_eq!(
        api.requirements.as_deref(),
        Some(Path::new("requirements.txt"))
    );
    assert_eq!(api.ready, Ready::Http("http://{host}:{port}/docs".into()));
    let web = &d.profile.services[1];
    assert_eq!(web.command[..4], ["npm", "run", "dev", "--"]);
    assert!(web.command.contains(&"--strictPort".to_string()));
    assert_eq!(web.port, Some(5173));
    assert_eq!(web.depends_on, ["backend"]);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("node_modules is missing")),
        "{:?}",
        d.notes
    );
    assert!(
        d.profile.validate().is_empty(),
        "{:?}",
        d.profile.validate()
    );
}

#[test]
fn flask_app_with_its_venv() {
    let d = detect(&fixture("flask"));
    assert_eq!(names(&d.profile), ["api"]);
    let s = &d.profile.services[0];
    assert_eq!(
        s.command,
        [
            "python", "-m", "flask", "--app", "hello", "run", "--host", "{host}", "--port",
            "{port}"
        ]
    );
    assert_eq!(s.port, Some(5000));
    assert_eq!(s.venv.as_deref(), Some(Path::new(".venv")));
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains(".venv: virtual environment")),
        "{:?}",
        d.notes
    );
}

#[test]
fn django_from_manage_py_and_pyproject() {
    let d = detect(&fixture("django"));
    assert_eq!(names(&d.profile), ["api"]);
    assert_eq!(
        d.profile.services[0].command,
        [
            "python",
            "manage.py",
            "runserver",
            "{host}:{port}",
            "--noreload"
        ]
    );
    assert_eq!(d.profile.services[0].port, Some(8000));
}

#[test]
fn next_app() {
    let d = detect(&fixture("next"));
    assert_eq!(names(&d.profile), ["web"]);
    assert_eq!(
        d.profile.services[0].command,
        ["npm", "run", "dev", "--", "-p", "{port}", "-H", "{host}"]
    );
    assert_eq!(d.profile.services[0].port, Some(3000));
}

#[test]
fn procfile_entries_become_services() {
    let d = detect(&fixture("procfile"));
    assert_eq!(names(&d.profile), ["web", "worker"]);
    let web = &d.profile.services[0];
    assert_eq!(
        web.command,
        [
            "python3",
            "-m",
            "http.server",
            "{port}",
            "--bind",
            "127.0.0.1"
        ]
    );
    assert_eq!(web.port, Some(5000));
    assert_eq!(web.env.get("PORT").map(String::as_str), Some("{port}"));
    let worker = &d.profile.services[1];
    assert_eq!(
        worker.command,
        ["python3", "-c", "import time; time.sleep(3600)"]
    );
    assert_eq!(worker.port, None);
    assert_eq!(worker.ready, Ready::Started);
}

#[test]
fn an_empty_folder_says_what_it_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = detect(dir.path());
    assert!(d.profile.services.is_empty());
    assert!(d.notes[0].contains("Procfile"), "{:?}", d.notes);
}

/// A profile detected from a real project folder, saved and loaded back, starts that project.
#[cfg(unix)]
#[test]
fn a_detected_profile_starts_its_project() {
    use startup_medic::protocol::{Command, Event};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("Procfile"),
        "web: python3 -m http.server $PORT --bind 127.0.0.1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("index.html"), "hello from the project\n").unwrap();
    let mut d = detect(dir.path());
    d.profile.services[0].port = Some(port);
    let path = dir.path().join("stack.ron");
    startup_medic::profile::save(&d.profile, &path).unwrap();
    let profile = Profile::load(&path).unwrap();

    let mut worker =
        startup_medic::ui::worker::Worker::spawn(profile, common::options(None), || {}).unwrap();
    assert!(worker.send(Command::Start(None)));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut ready = None;
    while ready.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "web did not become ready in time"
        );
        worker.drain(Duration::from_millis(50), |e| {
            if let Event::Ready { service, port: p } = e
                && service == "web"
            {
                ready = Some(p);
            }
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ready, Some(Some(port)));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    write!(s, "GET /index.html HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.read_to_string(&mut body).unwrap();
    assert!(body.contains("hello from the project"), "{body}");
    worker.shutdown();
}
