//! The engine stays pure: no UI, no async runtime, no processes, files or sockets.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

#[test]
fn engine_imports_no_io_ui_or_runtime() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let forbidden = [
        "egui",
        "eframe",
        "tokio",
        "std::process",
        "std::fs",
        "TcpListener",
        "TcpStream",
        "UdpSocket",
        "std::thread",
        "SystemTime::now",
        "Instant::now",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in forbidden {
                assert!(
                    !code.contains(word),
                    "{}:{}: the engine must not use {word}: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} engine files found");
}
