//! The classifier never panics and never loses its footing: arbitrary bytes, invalid UTF-8, 1 MiB
//! lines, unterminated ANSI escapes; feeding lines one at a time gives the same incidents as a batch.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::LazyLock;

use proptest::prelude::*;
use startup_medic::engine::ErrorType;
use startup_medic::engine::rules::Classifier;

static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(|| Classifier::builtin().0);

/// Pieces real logs are made of, so random inputs reach the grouping logic, not just the fast path.
const PIECES: &[&str] = &[
    "Traceback (most recent call last):",
    "  File \"/app/x.py\", line 1, in <module>",
    "ModuleNotFoundError: No module named 'torch'",
    "Error: listen EADDRINUSE: address already in use :::3000",
    "    at Server.listen (node:net:2008:7)",
    "npm ERR! code ELIFECYCLE",
    "APPLICATION FAILED TO START",
    "panic: runtime error",
    "thread 'main' panicked at src/main.rs:1:1:",
    "exit status 1",
    "",
    "INFO ok",
    "\u{1b}[31m",
    "\u{1b}]8;;",
    "\u{1b}",
    "Caused by:",
    "During handling of the above exception, another exception occurred:",
];

fn log_lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let piece = prop::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec());
    let junk = prop::collection::vec(any::<u8>(), 0..200);
    prop::collection::vec(prop_oneof![3 => piece, 1 => junk], 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let incidents = CLASSIFIER.classify_bytes(&bytes);
        let lines = bytes.split(|b| *b == b'\n').count();
        for i in &incidents {
            prop_assert!(i.line >= 1 && i.line <= lines);
            prop_assert!(i.first_line <= i.line);
        }
    }

    #[test]
    fn streaming_equals_batch(lines in log_lines()) {
        let mut joined = Vec::new();
        for l in &lines {
            joined.extend_from_slice(l);
            joined.push(b'\n');
        }
        let batch = CLASSIFIER.classify_bytes(&joined);
        let mut stream = CLASSIFIER.stream();
        let mut out = Vec::new();
        for l in joined.strip_suffix(b"\n").unwrap_or(&joined).split(|b| *b == b'\n') {
            stream.push_bytes(l, &mut out);
        }
        stream.finish(&mut out);
        prop_assert_eq!(batch, out);
    }

    #[test]
    fn incidents_come_out_in_order(lines in log_lines()) {
        let mut joined = Vec::new();
        for l in &lines {
            joined.extend_from_slice(l);
            joined.push(b'\n');
        }
        let incidents = CLASSIFIER.classify_bytes(&joined);
        for pair in incidents.windows(2) {
            prop_assert!(pair[0].line <= pair[1].line);
        }
    }
}

#[test]
fn one_mib_lines_and_invalid_utf8() {
    let mut log = vec![b'x'; 1 << 20];
    log.extend_from_slice(b" address already in use\n");
    log.extend_from_slice(&[0xff, 0xfe, b'\n']);
    log.extend_from_slice(
        "Error: listen EADDRINUSE: address already in use :::3000 \u{1b}[31".as_bytes(),
    );
    log.extend_from_slice(&[0xc3, b'\n']);
    let got = CLASSIFIER.classify_bytes(&log);
    assert_eq!(
        got.len(),
        1,
        "the 1 MiB line is matched on its first 4 KiB only: {got:?}"
    );
    assert_eq!(got[0].error_type, ErrorType::PortConflict);
    assert_eq!(got[0].line, 3);
    assert_eq!(got[0].facts.port(), Some(3000));
    assert!(got[0].context.iter().all(|l| l.len() <= 2000));
}

#[test]
fn unterminated_escape_does_not_swallow_following_lines() {
    let log = "\u{1b}[38;5;\n\u{1b}]0;title\nsh: 1: vite: not found\n";
    let got = CLASSIFIER.classify_text(log);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].facts.text("command"), Some("vite"));
    assert_eq!(got[0].line, 3);
}

#[test]
fn endless_block_is_cut_and_classified() {
    let mut log = String::from("Traceback (most recent call last):\n");
    for i in 0..20_000 {
        log.push_str(&format!("  File \"/app/m{i}.py\", line 1, in f\n"));
    }
    log.push_str("ModuleNotFoundError: No module named 'yaml'\n");
    let got = CLASSIFIER.classify_text(&log);
    assert!(!got.is_empty());
    assert!(got.iter().all(|i| i.context.len() <= 200));
    assert_eq!(got.last().unwrap().facts.text("module"), Some("yaml"));
}
