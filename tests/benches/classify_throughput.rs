//! Classification throughput on a generated 1M-line startup log, next to GNU grep on the same file.
//!
//! Run: `cargo bench --bench classify_throughput` (release profile). The log is mostly ordinary
//! output from the servers we support, with a real failure block (traceback, Node stack, one-liners)
//! every ~1000 lines. We time the full pipeline (line splitting, ANSI stripping, grouping, facts) and
//! `grep -c -i -E -f patterns` over the same bytes with our rules translated to POSIX ERE, best of 5.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use startup_medic::engine::rules::Classifier;

const LINES: usize = 1_000_000;
const FAILURE_EVERY: usize = 1000;

const ORDINARY: &[&str] = &[
    "INFO:     127.0.0.1:51522 - \"GET /api/errors HTTP/1.1\" 200 OK",
    "INFO:     Application startup complete.",
    "2026-11-20T10:05:03.320Z  INFO 4242 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http) with context path '/'",
    "10:20:40 AM [vite] hmr update /src/components/ErrorBoundary.tsx",
    "[2026-11-20 09:12:01 +0000] [5120] [INFO] Booting worker with pid: 5121",
    "webpack compiled with 0 errors and 0 warnings",
    "2026/11/20 10:02:12 GET /health 200 312µs",
    "1:M 20 Nov 2026 10:11:02.003 * Ready to accept connections tcp",
    "\u{1b}[32m✓\u{1b}[39m Compiled /api/config in 612ms (512 modules)",
    "Loading checkpoint shards: 100%|##########| 4/4 [00:12<00:00,  3.01s/it]",
    "2026-11-20 10:10:01.240 UTC [812] LOG:  database system is ready to accept connections",
    "Using virtual environment at .venv",
    "step 1200/5000 loss=0.0412 lr=2.0e-05 timeout=30 retries=3",
    "127.0.0.1 - - [20/Nov/2026 10:00:00] \"GET /errors/recent HTTP/1.1\" 200 -",
];

const FAILURES: &[&str] = &[
    "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use",
    "Traceback (most recent call last):\n  File \"/app/config/loader.py\", line 3, in <module>\n    import torch\nModuleNotFoundError: No module named 'torch'",
    "Error: listen EADDRINUSE: address already in use :::3000\n    at Server.setupListenHandle [as _listen2] (node:net:1872:16)\n    at listenInCluster (node:net:1920:12) {\n  code: 'EADDRINUSE',\n  port: 3000\n}",
    "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1610:16)",
    "2026/11/20 10:02:11 listen tcp :8080: bind: address already in use\nexit status 1",
    "sh: 1: vite: not found",
];

/// A small deterministic generator (xorshift) so every run measures the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn generate() -> (Vec<u8>, usize) {
    let mut rng = Rng(0x5eed_cafe_f00d);
    let mut out = Vec::with_capacity(LINES * 80);
    let mut lines = 0;
    let mut failures = 0;
    while lines < LINES {
        if lines > 0 && lines % FAILURE_EVERY == 0 {
            let f = FAILURES[failures % FAILURES.len()];
            failures += 1;
            out.extend_from_slice(f.as_bytes());
            out.push(b'\n');
            lines += f.lines().count();
            // The trailing ordinary lines after a failure keep incidents apart.
        }
        let o = ORDINARY[(rng.next() % ORDINARY.len() as u64) as usize];
        out.extend_from_slice(o.as_bytes());
        out.push(b'\n');
        lines += 1;
    }
    (out, failures)
}

/// Our rules in POSIX ERE for `grep -E -f` (named groups, non-capturing groups, `\d`, `(?i)` rewritten).
fn to_ere(pattern: &str) -> String {
    pattern
        .replace("(?i)", "")
        .replace("(?:", "(")
        .replace(r"\d", "[0-9]")
        .replace("*?", "*")
        .replace("+?", "+")
        .replace("??", "?")
        .split("(?P<")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                format!("({}", &part[part.find('>').map_or(0, |p| p + 1)..])
            }
        })
        .collect()
}

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs {
        let start = Instant::now();
        result = f();
        best = best.min(start.elapsed());
    }
    (best, result)
}

fn main() {
    let (log, failures) = generate();
    let mb = log.len() as f64 / 1e6;
    let compile_start = Instant::now();
    let (classifier, problems) = Classifier::builtin();
    let compile = compile_start.elapsed();
    assert!(problems.is_empty(), "{problems:?}");

    let (ours, incidents) = best_of(5, || classifier.classify_bytes(&log).len());
    println!(
        "input: {LINES} lines, {mb:.1} MB, {failures} failure blocks, {} rules",
        classifier.rule_count()
    );
    println!("rules compiled in {:.1} ms", compile.as_secs_f64() * 1e3);
    println!(
        "startup-medic classify: {:.3} s, {:.1} MB/s, {incidents} incidents",
        ours.as_secs_f64(),
        mb / ours.as_secs_f64()
    );

    let dir = std::env::temp_dir().join(format!("startup-medic-bench-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        println!("grep comparison skipped: no temp directory");
        return;
    }
    let log_path = dir.join("startup.log");
    let pat_path = dir.join("patterns.ere");
    let written = std::fs::write(&log_path, &log).and_then(|_| {
        let mut f = std::fs::File::create(&pat_path)?;
        for (_, p) in classifier.patterns() {
            writeln!(f, "{}", to_ere(p))?;
        }
        Ok(())
    });
    if let Err(e) = written {
        println!("grep comparison skipped: {e}");
        return;
    }
    let (grep, matched) = best_of(5, || {
        Command::new("grep")
            .env("LC_ALL", "C")
            .args(["-c", "-i", "-E", "-f"])
            .arg(&pat_path)
            .arg(&log_path)
            .output()
            .ok()
            .filter(|o| o.status.code().is_some_and(|c| c <= 1))
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or(usize::MAX)
    });
    if matched == usize::MAX {
        println!("grep comparison skipped: grep failed or is not installed");
    } else {
        println!(
            "grep -c -i -E -f (LC_ALL=C): {:.3} s, {:.1} MB/s, {matched} matching lines",
            grep.as_secs_f64(),
            mb / grep.as_secs_f64()
        );
        println!(
            "ratio: startup-medic takes {:.2}x grep's time",
            ours.as_secs_f64() / grep.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
