//! The embedded demo: a profile whose services are this very binary (`startup-medic demo-server`), so
//! a first-time user sees a real stack start, a real port conflict and a real readiness wait on a
//! machine with nothing else installed.
//!
//! The demo server is a small HTTP server on std threads. It logs like the servers our users run
//! (uvicorn-style levels, ANSI colours when asked), answers `/health` once it is "loaded", and
//! fails to bind with the operating system's own error text.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::profile::Profile;

/// The demo profile's source (also shipped as `assets/demo.ron`).
pub const DEMO_PROFILE: &str = include_str!("../assets/demo.ron");

/// The demo profile, with `{self}` replaced by the path of this executable.
pub fn profile() -> Result<Profile, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find this program's own path: {e}"))?;
    profile_with_exe(&exe)
}

/// The demo profile with `{self}` replaced by `exe` (tests use the built binary).
pub fn profile_with_exe(exe: &Path) -> Result<Profile, String> {
    let mut profile =
        Profile::parse(DEMO_PROFILE, Path::new("demo.ron")).map_err(|e| e.to_string())?;
    profile.expand_self(exe);
    profile.path = None;
    Ok(profile)
}

/// Options of `demo-server`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Name shown in logs and pages.
    pub name: String,
    /// Bind host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Time spent "loading" before the port is opened.
    pub startup_delay_ms: u64,
    /// Another demo server this one forwards `/api` to (shown on its page).
    pub upstream: Option<String>,
    /// Exit with status 1 after this long (to show crash recovery).
    pub crash_after_secs: Option<u64>,
}

fn log(level: &str, msg: &str) {
    let color = match level {
        "ERROR" => "\x1b[31m",
        "WARNING" => "\x1b[33m",
        _ => "\x1b[32m",
    };
    let pad = " ".repeat(9usize.saturating_sub(level.len() + 1));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{color}{level}\x1b[0m:{pad}{msg}");
    let _ = out.flush();
}

/// Runs the demo server until it is killed (or crashes on purpose). Returns the exit status.
pub fn serve(opts: &ServerOptions) -> i32 {
    log(
        "INFO",
        &format!("Started server process [{}]", std::process::id()),
    );
    log(
        "INFO",
        &format!("{}: waiting for application startup.", opts.name),
    );
    let started = Instant::now();
    if opts.startup_delay_ms > 0 {
        let steps = 5u64;
        for i in 1..=steps {
            std::thread::sleep(Duration::from_millis(opts.startup_delay_ms / steps));
            log(
                "INFO",
                &format!("{}: loading model weights {}%", opts.name, i * 100 / steps),
            );
        }
    }
    let listener = match TcpListener::bind((opts.host.as_str(), opts.port)) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "ERROR:    [Errno {}] error while attempting to bind on address ('{}', {}): {}",
                e.raw_os_error().unwrap_or(0),
                opts.host,
                opts.port,
                e.to_string().to_lowercase()
            );
            log("INFO", "Waiting for application shutdown.");
            return 1;
        }
    };
    log("INFO", "Application startup complete.");
    log(
        "INFO",
        &format!(
            "Uvicorn-style demo server running on http://{}:{} (Press CTRL+C to quit)",
            opts.host, opts.port
        ),
    );
    if let Some(up) = &opts.upstream {
        log("INFO", &format!("{}: using API at {up}", opts.name));
    }
    if let Some(secs) = opts.crash_after_secs {
        let name = opts.name.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            let _ = writeln!(
                std::io::stderr(),
                "Traceback (most recent call last):\n  File \"demo.py\", line 1, in <module>\nRuntimeError: {name}: simulated crash"
            );
            std::process::exit(1);
        });
    }
    for stream in listener.incoming().flatten() {
        let opts = opts.clone();
        std::thread::spawn(move || answer(stream, &opts, started));
    }
    0
}

fn answer(stream: TcpStream, opts: &ServerOptions, started: Instant) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    // Read (and ignore) the headers.
    let mut header = String::new();
    while reader
        .read_line(&mut header)
        .map(|n| n > 2)
        .unwrap_or(false)
    {
        header.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (status, body) = match path.as_str() {
        "/health" => ("200 OK", "ok\n".to_string()),
        "/" => (
            "200 OK",
            format!(
                "<!doctype html><title>{0}</title><h1>{0} is up</h1><p>Served by Startup Medic's demo server for {1} s.</p>{2}",
                opts.name,
                started.elapsed().as_secs(),
                opts.upstream
                    .as_deref()
                    .map(|u| format!("<p>API: <a href=\"{u}\">{u}</a></p>"))
                    .unwrap_or_default()
            ),
        ),
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let mut out = &stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let code = status.split(' ').next().unwrap_or("");
    if path != "/health" {
        log("INFO", &format!("{peer} - \"GET {path} HTTP/1.1\" {code}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_profile_is_valid_and_conflicts_on_purpose() {
        let p = profile_with_exe(Path::new("/opt/startup-medic")).unwrap();
        assert!(p.validate().is_empty(), "{:?}", p.validate());
        assert_eq!(p.services[0].command[0], "/opt/startup-medic");
        assert_eq!(
            p.services[0].port, p.services[1].port,
            "old-api and api must want the same port"
        );
        assert_eq!(p.start_order(), vec!["old-api", "api", "web"]);
    }
}
