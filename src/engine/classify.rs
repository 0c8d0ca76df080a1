//! Log lines in, incidents out — incrementally, so the supervisor can feed live output.
//!
//! A failure rarely fits on one line: a Python traceback, a Node error with its stack and error object,
//! an `npm ERR!` block, Spring's "APPLICATION FAILED TO START" report, a Rust panic or `Caused by:`
//! chain, a PowerShell error record. [`LineStream`] groups such a block into one incident and decides
//! its type from the root-cause evidence (the exception line, not a frame path that happens to contain
//! "config"). A closed incident is held for a few lines so that its consequences ("exit status 1",
//! "[nodemon] app crashed", "npm ERR! code ELIFECYCLE") join it instead of raising a second incident.
//!
//! Cost: an ordinary line is one pass of a `RegexSet` (no allocation); only lines that match anything
//! are looked at more closely.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::rules::{Classifier, Role};
use super::{ErrorType, Fact, Facts, Incident};

/// Lines longer than this are matched on their first bytes only (a 1 MiB line costs no more than this).
pub const MAX_MATCH_BYTES: usize = 4096;
/// Stored context lines per incident.
const MAX_CONTEXT_LINES: usize = 200;
/// Longest stored context line, in bytes.
const MAX_CONTEXT_LINE_BYTES: usize = 2000;
/// A block is closed after this many lines whatever follows.
const MAX_BLOCK_LINES: usize = 5000;
/// Lines after an incident during which its consequences join it.
const MERGE_WINDOW_LINES: usize = 12;
/// Spring's failure report has no indentation; it ends at the next log record or after this many lines.
const MAX_SPRING_LINES: usize = 60;

/// The shape of a multi-line block, which decides what continues it and what counts as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// `Traceback (most recent call last):` … frames … the exception line.
    PythonTraceback,
    /// Spring Boot's `APPLICATION FAILED TO START` report.
    Spring,
    /// Go's `panic:` / `fatal error:` with goroutine dumps.
    GoPanic,
    /// Rust's `thread 'main' panicked at …:` and the message line after it.
    RustPanic,
    /// An exception line followed by `at …` frames / `Caused by:` (JS, Java, .NET, anyhow).
    Stack,
    /// `npm ERR!` / `npm error` lines.
    Npm,
    /// Any other matching line and what is indented under it.
    Generic,
}

impl BlockKind {
    /// Blocks that mean the program died even when no rule names the cause.
    fn is_fatal(self) -> bool {
        !matches!(self, BlockKind::Generic | BlockKind::Npm)
    }
}

/// Block start markers, appended to the rules' `RegexSet` so one pass finds both.
pub(crate) const MARKERS: &[(&str, BlockKind)] = &[
    (
        r"Traceback \(most recent call last\):",
        BlockKind::PythonTraceback,
    ),
    (r"^\s*APPLICATION FAILED TO START\s*$", BlockKind::Spring),
    (r"^(?:panic: |fatal error: )", BlockKind::GoPanic),
    (r"^thread '[^']*' panicked at ", BlockKind::RustPanic),
    (r"^Exception in thread ", BlockKind::Stack),
    // Ruby's uncaught exception: `app.rb:12:in `run!': message (RuntimeError)`, then `\tfrom …` lines.
    (
        r"^\S+:\d+:in [`'][^'`]*': .+ \((?:[A-Z]\w*::)*[A-Z]\w*(?:Error|Exception)\)$",
        BlockKind::Stack,
    ),
    (r"^Unhandled [eE]xception[.:]", BlockKind::Stack),
    (
        r"^(?:Uncaught )?(?:[A-Za-z_$][\w$]*(?:\.|::))*(?:[A-Z][\w$]*)?(?:Error|Exception)(?: \[[A-Za-z_0-9]+\])?:",
        BlockKind::Stack,
    ),
    (r"^npm (?:ERR!|error) ", BlockKind::Npm),
];

/// Ports (and hosts) in every common spelling, tried in order on lines of incidents where a port
/// matters: `('127.0.0.1', 8000)`, `http://127.0.0.1:5000`, `Port 8080 was already in use`,
/// `port: 3000`, `range: 7860-7860`, `:::3000`, `0.0.0.0:80`, `*:6379`, `tcp :8080: bind`, and a
/// traceback's source line `app.listen(8888)`.
static PORT_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\(\s*['\x22](?P<host>[^'\x22]*)['\x22]\s*,\s*(?P<port>\d{1,5})\s*(?:,\s*\d+\s*)*\)",
        r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?(?P<host>\[[0-9a-f:.]+\]|[a-z0-9_.-]+):(?P<port>\d{1,5})\b",
        r"(?i)\bhost (?P<host>[a-z0-9_.-]*[a-z0-9]|\[[0-9a-f:.]+\]) port (?P<port>\d{1,5})\b",
        r"(?i)\bhost=['\x22]?(?P<host>[a-z0-9_.-]*[a-z0-9]|\[[0-9a-f:.]+\])['\x22]?,\s*port=(?P<port>\d{1,5})\b",
        r"\b(?:for|to) (?P<host>[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*):(?P<port>\d{1,5})(?:$|[^\d:.]|\.(?:\s|$))",
        r"(?i)\b(?:to|for|on|bind) \x22?(?P<host>localhost|(?:\d{1,3}\.){3}\d{1,3}|[a-z0-9-]+(?:\.[a-z0-9-]+)+|\[[0-9a-f:.]+\])\x22? port (?P<port>\d{1,5})\b",
        r"(?i)\bconnection (?:failed|refused|error|timed out)(?: to)?:? (?P<host>[a-z][\w.-]*):(?P<port>\d{2,5})\b",
        r#"(?i)\(\s*['"](?P<host>localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)['"]\s*,\s*(?P<port>\d{2,5})\s*,\s*\w+\s*="#,
        r"(?i)(?:^|[\s(:])(?P<host>[a-z][\w.-]*)/<unresolved>:(?P<port>\d{1,5})\b",
        r"(?i)\b(?:addr(?:ess)?(?: ?[=:]| at) ?|ip ')(?P<host>[0-9a-f:.]*[0-9a-f]|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)*)'?,? (?:for )?port ?[=:]? ?(?P<port>\d{1,5})\b",
        r"(?i)\bport (?P<port>\d{1,5}) on (?P<host>localhost|(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:.]+\])",
        r"(?i)\bhost: (?P<host>[a-z][\w.-]*):(?P<port>\d{2,5})\b",
        r"(?:^|\s)--listen[= ](?:(?P<host>[\w.-]+)?:)?(?P<port>\d{2,5})\b",
        r"(?i)\bports?\b['\x22]?\s*(?:number\s*)?[:=#]?\s*['\x22\[]?(?P<port>\d{1,5})\b",
        r"\.listen\(\s*(?P<port>\d{2,5})\s*[,)]",
        r"(?i)\brange:?\s*(?P<port>\d{1,5})\s*-\s*\d{1,5}",
        r"(?i)\b(?:https?|ajp|h2c?)(?:-[a-z]+)*-(?P<port>\d{2,5})\b(?:$|[^\d.-])",
        r"(?:^|[\s(\[{'\x22=,/>])(?P<host>(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:.]*\]|localhost|null|\*|::ffff:(?:\d{1,3}\.){3}\d{1,3}|::1|::)?:(?P<port>\d{1,5})(?:$|[^\d:.]|[:.](?:\s|$))",
    ]
    .iter()
    .filter_map(|p| regex::bytes::RegexBuilder::new(p).unicode(false).build().ok())
    .collect()
});

/// Types whose incidents get a port (and host) read from any line of the block.
fn wants_port(t: ErrorType) -> bool {
    matches!(
        t,
        ErrorType::PortConflict
            | ErrorType::PermissionDenied
            | ErrorType::NetworkError
            | ErrorType::FirewallBlocked
            | ErrorType::TimeoutError
    )
}

/// A line saying the service got up after all ("Listening on …", "ready in 402 ms"): an error line
/// the service outlived (Grafana's `level=error msg="Could not register plugin"`) is not why it
/// failed to start. Only looked at while such a line is held, on the lines of an open error block
/// (a ready line ends it), and on the few lines before a warning (one just after the service said it
/// was up is dropped) — never on every ordinary line.
static READY_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\blistening (?:on|at)\b|\bhttp server listen\b|\brunning on [a-z]+://|\bready in \d|\bready to accept connections\b|\bapplication startup complete\b|\bnow listening on\b|\bserver (?:is |now )?(?:running|started|listening) (?:on|at)\b|\bstarted server on\b|\brunning on local url:|\bto see the gui go to:|^successfully installed\b|\bserver started\b|\bstartup complete\b|\bversion [\d.]+ running$|\bdev server ready\b|\bis now running (?:at|on) (?:https?://|\S*:\d)|\blistener opened on\b|\blisten addr=|\bserving!(?:\s|$)|\bstarting development server at https?://|\bstarted \w*service at\b|\bis up and running\b|^\.:\d{2,5}$",
    )
});

/// A line saying that a connection now works: a connection failure the program said it would retry,
/// then this, was got past (authentik's "PostgreSQL connection failed, retrying..." then "PostgreSQL
/// connection successful").
static RECONNECTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\bconnection (?:successful|succeeded|established|ok)\b|\bsuccessfully connected\b|\bconnected successfully\b|^(?:\S+\s+\|\s+)?connected to\b",
    )
});

/// A command line that activates a virtual environment, or runs its interpreter or a bundled one
/// (`.\python_embeded\python.exe -s ComfyUI\main.py`).
static ACTIVATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)(?:^|[>\s])(?:call\s+|source\s+|\.\s+)?(?P<path>[^\s>]*(?:venv|virtualenv|env)[^\s>]*[/\\](?:bin|Scripts)[/\\]activate(?:\.bat|\.ps1|\.fish|\.csh)?|[^\s>]*(?:venv|python_embed+ed)[^\s>]*[/\\](?:Scripts[/\\])?pythonw?\.exe)(?:\s|$)",
    )
});

/// A line logged at information level (`level=info`, `INFO`, Gitea's `[I]`, glog's `I1129`): after
/// a warning the program said it would retry, the program going on with its ordinary work.
static INFO_LEVEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| build_bytes_regex(r"\blevel=info\b|\bINFO\b|\[I\] |^[\[\s]*I\d{4} "));

/// Output saying a failed step will be tried again.
static RETRYING: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\bretrying\b|\bretry(?:ing)? in \d|\btrying again\b|\bsleeping\b|\bwill (?:retry|try again)\b|\battempt \d+ ?(?:/|of) ?\d+|^(?:\S+\s+\|\s+)?waiting \d+(?:\.\d+)? ?(?:s|secs?|seconds?)\b",
    )
});

/// Words saying something could not be done (see the crash case of `build_incident`).
static FAILURE_WORDS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\b(?:not|cannot|can't|could not|couldn't|unable to|failed|missing|doesn't|does not|did not|no such)\b",
    )
});

/// A line announcing that what follows is optional or only a warning ("A matching Triton is not
/// available, some optimizations will not be enabled"): a traceback printed right after it is
/// outlived if the service then gets ready.
static OPTIONAL_NOTICE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\bwarn(?:ing)?\b|\boptional(?:ly)?\b|\b(?:will not|won't) be (?:enabled|available|used|loaded)\b|\bfalling back\b|\b(?:continuing|proceeding) without\b|\bignor(?:e|ed|ing)\b",
    )
});

/// A failure the program goes on without: one that says so on its own line ("Cannot update models
/// (normal if you're offline)", "… continuing without cache"), the debugger's rather than the
/// program's (Node's "Starting inspector on 127.0.0.1:9229 failed": Node runs the program without
/// it), an ONNX Runtime execution provider that could not load (it runs on the CPU instead), or a
/// ggml backend that could not initialise (llama.cpp and stable-diffusion.cpp then use the CPU), or
/// a dotenv loader that found no `.env` file (the settings may come from the environment; Photoview
/// says "Could not load .env file" and serves, godotenv's `log.Fatal` exits).
/// Like a warning, outlived if the service then announces itself.
static TOLERATED_FAILURE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\bnormal if you(?:'re| are)\b|\b(?:continuing|proceeding) without\b|\bfalling back\b|\b(?:inspector|debugger)\b|\bTryGetProviderInfo_\w+|\bFailed to create \w+ExecutionProvider\b|^ggml_\w+_init: failed to initialize\b|\b(?:Could not|Couldn't|Error|Failed to) load(?:ing)? (?:the )?\.env file\b",
    )
});

/// A line logged at warning level (`WARN`, `Warning:`, Python's `RuntimeWarning:`, `[warn]`,
/// `level=warn`, glog's `W1129`, winston's `warn:` after a timestamp, Tornado's `[W 2026-…`): a
/// failure said as a warning that the service then gets past (Kafka's "Graceful shutdown timed out"
/// before "Kafka Server started") was not why it failed to start.
static WARNING_LEVEL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"\bWARN(?:ING)?\b|\bWRN\b|(?:^|\s)Warning:|\b[A-Z][a-z]+Warning:|\[(?i:warn(?:ing)?)\]|(?i:\blevel=warn(?:ing)?\b)|^[\[\s]*W\d{4} |^warn |(?:^|\s)warn(?:ing)?:\s|^\[W \d",
    )
});

/// A launcher's notice that this Python is not the one the program is made for (Forge's and A1111's
/// "INCOMPATIBLE PYTHON VERSION ... tested with 3.10.6 Python, but you have 3.13.0"): the program
/// may still run, but pip then finding no build of a package is the interpreter's fault.
static OTHER_PYTHON_NOTICE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)^INCOMPATIBLE PYTHON VERSION\b|\btested with (?:python )?\d[\d.]*(?: python)?, but you have (?:python )?\d",
    )
});

/// A line just before a network failure that says what was being fetched (`Downloading:
/// "https://huggingface.co/…"`, `Cloning https://github.com/…`): the host of its URL.
static FETCH_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\b(?:download(?:ing)?|fetch(?:ing)?|clon(?:e|ing)|pull(?:ing)?|get|request(?:ing)?|connect(?:ing)? to)\b.*?\bhttps?://(?:[^/@\s]*@)?(?P<host>[a-z0-9][\w.-]*\.[a-z]{2,})\b",
    )
});

/// A line saying the service is connecting somewhere.
static CONNECTING: LazyLock<Option<Regex>> =
    LazyLock::new(|| build_bytes_regex(r"(?i)\bconnecting\b|\bconnect(?:ion)? to\b"));

/// The host of a web or database address on a line (`https://huggingface.co/…`,
/// `postgres://martin@localhost/gis`).
static URL_HOST: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r"(?i)\b(?:https?|postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|nats|mqtts?)://(?:[^/@\s]*@)?(?P<host>localhost|[a-z0-9][\w.-]*\.[a-z]{2,}|(?:\d{1,3}\.){3}\d{1,3})\b",
    )
});

/// A configuration file named anywhere near a config_invalid incident that did not say which file:
/// `load_settings("settings.json")` in a traceback frame, `Loading settings from config.yaml` before it.
static CONFIG_PATH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r#"(?i)(?:^|[\s"'(=\[`]|classpath\*?:/?|\bfile:(?://)?)(?P<path>(?:[a-z]:)?[\w./\\~-]*[\w-]\.(?:json|ya?ml|toml|ini|cfg|conf|env|properties)|(?:[a-z]:)?[\w./\\~-]*(?:config|rc)[\w.-]*\.(?:js|cjs|mjs|ts))(?:$|[^\w./\\-]|\.(?:\s|$))"#,
    )
});

/// npm's own line for the path an operation failed on.
static NPM_PATH: LazyLock<Option<Regex>> =
    LazyLock::new(|| build_bytes_regex(r"^npm (?:ERR!|error) path (?P<path>\S+)$"));

/// A line saying which file or directory an action that failed was on (`Error: Failed to create
/// directory /data/events`, with the refusal itself on a `Caused by:` line after it).
static FAILED_ON_PATH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r#"(?i)\bfailed to (?:create|open|write(?: to)?|read|remove|delete|rename|access)(?: the)?(?: (?:directory|dir|folder|file))? ['"`]?(?P<path>(?:/|~/|[a-z]:\\)[^\s'"`:,]*[^\s'"`:,.])"#,
    )
});

/// A line saying which settings file is being read, whatever its extension (`Loading settings from
/// deforum_settings.txt`).
static SETTINGS_FROM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r#"(?i)\b(?:load(?:ing|ed)?|read(?:ing)?|parsing|using) (?:the )?(?:settings|config(?:uration)?|options|preferences)(?: file)? (?:from|at) ['"]?(?P<path>[^\s'"]+?)['"]?\.?$"#,
    )
});

/// The program a subprocess call in a frame's code line starts, for a "file not found" that names none
/// (`subprocess.check_output(["git", "rev-parse", "HEAD"])`, `spawn('ffmpeg', args)`).
static SUBPROCESS_PROGRAM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r#"\b(?:Popen|check_output|check_call|run|call|spawn|spawnSync|execFile|execFileSync)\(\s*\[?\s*["'](?P<command>[A-Za-z][\w.+-]*)["']"#,
    )
});

/// An ordinary line setting the service's own port as a key and value (TGI's `Args { … port: 8080,`,
/// vLLM's `Namespace(… port=8000 …)`, a command line's `--port 7860`, `-p 11300` or a debugger's
/// `--listen 5678`, the first on the line): a port conflict
/// that names no port, with no port announced just before it, is about this one. `master_port: 29500`
/// is not it.
static CONFIGURED_PORT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    build_bytes_regex(
        r#"(?:^|[\s,({'"])(?:--port[= ]|--listen[= ](?:[\w.-]*:)?|-p\s+|(?:server[_-])?port['"]?\s*[=:]\s*)(?P<port>\d{2,5})\b"#,
    )
});

/// The text of group `name` of `re` in `line`, if it matches.
fn capture_text(re: &Option<Regex>, line: &[u8], name: &str) -> Option<String> {
    let m = re.as_ref()?.captures(line)?.name(name)?;
    Some(String::from_utf8_lossy(m.as_bytes()).into_owned())
}

/// Built-in helper patterns; `None` only if one were broken, which `helper_patterns_all_compile` catches.
fn build_bytes_regex(pattern: &str) -> Option<Regex> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .ok()
}

/// Output multiplexed by a process manager carries the service's name before a bar:
/// `web-1  | …` (docker compose), `0|api  | …` (PM2), `12:00:01 web.1  | …` (foreman/honcho),
/// `12:00:01    web | …` (goreman).
/// Rules anchored at the start of a line (`/bin/sh: 1: gunicorn: not found`) must see the line
/// without it.
fn strip_service_prefix(t: &[u8]) -> &[u8] {
    let mut i = 0;
    let d = |k: usize| t.get(k).is_some_and(|b| b.is_ascii_digit());
    if d(0)
        && d(1)
        && t.get(2) == Some(&b':')
        && d(3)
        && d(4)
        && t.get(5) == Some(&b':')
        && d(6)
        && d(7)
        && t.get(8) == Some(&b' ')
    {
        // goreman pads the name on the left (`10:00:02    web | …`).
        i = 9;
        while t.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    let name_start = i;
    while i < t.len()
        && i < 64
        && (t[i].is_ascii_alphanumeric() || matches!(t[i], b'_' | b'.' | b'-' | b'|'))
    {
        i += 1;
    }
    // The name must be followed by padding and the bar; PM2's `0|api` has a bar inside the name.
    let name_end = i;
    while i < t.len() && t[i] == b' ' {
        i += 1;
    }
    if name_end == name_start || i == name_end || t.get(i) != Some(&b'|') {
        return t;
    }
    match t.get(i + 1) {
        None => &t[i + 1..],
        Some(b' ') => &t[i + 2..],
        Some(_) => t,
    }
}

/// Tags a runner puts before each line of a program's output, a name or an index: concurrently's
/// `[api] `, `[0] ` and the upper-case names `-n WORKER,UI` gives (`[UI] `), process-compose's
/// `[db       ] `, a launcher's `[entrypoint] `, A1111's `*** `. A tag that is a log level (`[error]`,
/// `[INFO]`, `[WRN]`) or one the rules name (`[nodemon]`, `[vite]`, `[PM2]`, `[HPM]`) stays, and so does
/// a one-letter upper-case tag (`[E]`, glog's and Kratos's levels).
fn strip_runner_tag(t: &[u8]) -> &[u8] {
    // A1111 prints an extension's failure report with `*** ` before every line; a banner framed by
    // stars on both sides (`*** FATAL CONFIG FILE ERROR ***`) is not that.
    if let Some(body) = t.strip_prefix(b"*** ")
        && !t.trim_ascii_end().ends_with(b"***")
    {
        return body;
    }
    let Some(rest) = t.strip_prefix(b"[") else {
        return t;
    };
    let name_len = rest
        .iter()
        .take(40)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        .count();
    let name = &rest[..name_len];
    let pad = rest[name_len..].iter().take_while(|b| **b == b' ').count();
    let after = &rest[name_len + pad..];
    let Some(body) = after.strip_prefix(b"] ") else {
        return t;
    };
    let index = !name.is_empty() && name.iter().all(u8::is_ascii_digit);
    let word = name.first().is_some_and(u8::is_ascii_lowercase)
        && !name.contains(&b':')
        && !name.iter().any(u8::is_ascii_uppercase);
    let upper = name.len() > 1
        && name.first().is_some_and(u8::is_ascii_uppercase)
        && name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    const KEPT: &[&[u8]] = &[
        b"error",
        b"err",
        b"info",
        b"notice",
        b"debug",
        b"warn",
        b"warning",
        b"crit",
        b"critical",
        b"alert",
        b"emerg",
        b"fatal",
        b"trace",
        b"verbose",
        b"success",
        b"fail",
        b"failed",
        b"ok",
        b"nodemon",
        b"vite",
        b"pm2",
        b"hpm",
        b"wrn",
        b"inf",
        b"dbg",
        b"ftl",
        b"crt",
        b"severe",
        b"done",
        b"skip",
        b"pass",
        b"note",
        b"hint",
    ];
    if (index || word || upper) && !KEPT.iter().any(|k| k.eq_ignore_ascii_case(name)) {
        body
    } else {
        t
    }
}

/// Next.js and others mark an error with a glyph before it (` ⨯ Error: NEXT_PUBLIC_API_URL is not
/// set`, ` ⨯ TypeError: fetch failed`): when what follows is an error object's name, the line is read
/// from that name, so rules anchored at the start see it. Other glyph lines (` ✘ Container db
/// Error`) are left as they are.
fn strip_error_glyph(t: &[u8]) -> &[u8] {
    let start = t.iter().take(4).take_while(|b| **b == b' ').count();
    let s = &t[start..];
    let Some(rest) = ["⨯", "✖", "✘"]
        .iter()
        .find_map(|g| s.strip_prefix(g.as_bytes()))
    else {
        return t;
    };
    let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    let name_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
        .count();
    let name = &rest[..name_len];
    let is_error_name = name.ends_with(b"Error") || name.ends_with(b"Exception");
    if is_error_name && matches!(rest.get(name_len), Some(b':' | b' ' | b'[') | None) {
        rest
    } else {
        t
    }
}

/// Removes ANSI escape sequences (CSI, OSC, two-byte escapes). An unterminated sequence runs to the end
/// of the line and is dropped, so a stray ESC can never swallow later lines.
pub fn strip_ansi(line: &[u8]) -> Cow<'_, [u8]> {
    if !line.contains(&0x1b) {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != 0x1b {
            out.push(b);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(b'[') => {
                // CSI: parameters and intermediates, then one final byte in 0x40..=0x7e.
                i += 2;
                while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                    i += 1;
                }
                i += 1;
            }
            Some(b']') => {
                // OSC: ends with BEL or ESC \.
                i += 2;
                while i < line.len() {
                    if line[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if line[i] == 0x1b && line.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    Cow::Owned(out)
}

/// [`strip_ansi`] for text.
pub fn strip_ansi_str(line: &str) -> Cow<'_, str> {
    match strip_ansi(line.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(line),
        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// Cuts `bytes` to at most `max` bytes without splitting a UTF-8 character.
fn cut(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    while end > 0 && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(cut(bytes, MAX_CONTEXT_LINE_BYTES))
        .trim_end()
        .to_string()
}

fn is_blank(t: &[u8]) -> bool {
    t.iter().all(|b| b.is_ascii_whitespace())
}

/// Leading spaces and tabs of a line that is not blank (0 for a blank one).
/// The text before a Python traceback's header when it is a logger's prefix: it ends in a space and
/// is not indentation alone (A1111's indented tracebacks are read by their indentation).
fn traceback_line_prefix(t: &[u8]) -> &[u8] {
    match memchr::memmem::find(t, b"Traceback (most recent call last):") {
        Some(at)
            if at > 0 && at <= 120 && t[at - 1] == b' ' && !t[..at].iter().all(|b| *b == b' ') =>
        {
            &t[..at]
        }
        _ => &[],
    }
}

/// `t` without `prefix` when it starts with text of the same shape: the same bytes, except that any
/// digit may stand for any digit (timestamps move on, the logger's words stay).
fn strip_same_prefix<'a>(t: &'a [u8], prefix: &[u8]) -> &'a [u8] {
    let same = t.len() >= prefix.len()
        && t.iter()
            .zip(prefix)
            .all(|(a, b)| a == b || (a.is_ascii_digit() && b.is_ascii_digit()));
    if same { &t[prefix.len()..] } else { t }
}

fn indent_of(t: &[u8]) -> usize {
    if is_blank(t) {
        return 0;
    }
    t.iter().take_while(|b| matches!(b, b' ' | b'\t')).count()
}

fn is_indented(t: &[u8]) -> bool {
    matches!(t.first(), Some(b' ' | b'\t')) && !is_blank(t)
}

fn trimmed_start(t: &[u8]) -> &[u8] {
    let n = t.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &t[n..]
}

/// A stack frame: never evidence of a root cause (its path may say anything).
fn is_frame(t: &[u8]) -> bool {
    let s = trimmed_start(t);
    is_indented(t)
        && (s.starts_with(b"at ") || s.starts_with(b"File \"") || s.starts_with(b"File '"))
}

/// `    ^`, `   |         ^^^^^^^ help: …`, `~~~~`: a marker under the line before it.
fn is_caret_line(t: &[u8]) -> bool {
    let s = trimmed_start(t);
    let s = s.strip_prefix(b"|").map_or(s, trimmed_start);
    let marks = s.iter().take_while(|b| matches!(b, b'^' | b'~')).count();
    marks > 0 && s.get(marks).is_none_or(|b| *b == b' ')
}

fn starts_with_any(t: &[u8], prefixes: &[&[u8]]) -> bool {
    prefixes.iter().any(|p| t.starts_with(p))
}

fn is_python_chain_marker(t: &[u8]) -> bool {
    let s = trimmed_start(t);
    s.starts_with(b"During handling of the above exception")
        || s.starts_with(b"The above exception was the direct cause")
        || memchr_find(t, b"Traceback (most recent call last)")
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// A line introducing other options ("💡  Alternatively you could install one of these drivers:").
static ALTERNATIVES_FINDER: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"lternatively"));

/// "Python" in an ordinary line, found with a prebuilt searcher: every ordinary line is looked at for
/// `OTHER_PYTHON_NOTICE`, so the cheap test comes first.
static PYTHON_WORD: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"ython"));

/// "port" in an ordinary line, the cheap test before `CONFIGURED_PORT`.
static PORT_WORD: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"port"));

/// A short port flag on a command line (`beanstalkd -l 127.0.0.1 -p 11300`), the other cheap test
/// before `CONFIGURED_PORT`.
static PORT_FLAG: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b" -p "));

/// A debugger's listen flag (`python -m debugpy --listen 5678`), the third cheap test before
/// `CONFIGURED_PORT`; written before the program's own `--port`, it is the port bound first.
static LISTEN_FLAG: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"--listen"));

/// Lines that continue any block: indentation, frames, chains, error-object braces, PowerShell's
/// `At line:` / `+ CategoryInfo`, Node's `Node.js v20` footer, Rust's `note:`.
fn is_generic_continuation(t: &[u8]) -> bool {
    if is_indented(t) {
        return true;
    }
    starts_with_any(
        t,
        &[
            b"Caused by",
            b"caused by",
            b"Wrapped by",
            b"... ",
            b"}",
            b"]",
            b")",
            b"^",
            b"Node.js v",
            b"Require stack:",
            b"- ",
            b"Emitted 'error' event",
            b"note: ",
            b"stack backtrace:",
            b"At line:",
            b"+ ",
            b"Check the spelling",
            b"operable program or batch file",
            b"--- End of",
            b"Stack trace:",
            b"npm ERR!",
            b"npm error",
        ],
    ) || (t.starts_with(b"At ") && memchr_find(t, b" char:"))
}

fn starts_with_timestamp(t: &[u8]) -> bool {
    let d = |i: usize| t.get(i).is_some_and(|b| b.is_ascii_digit());
    (d(0) && d(1) && d(2) && d(3) && t.get(4) == Some(&b'-'))
        || (d(0) && d(1) && t.get(2) == Some(&b':') && d(3) && d(4))
}

/// Go's goroutine dump: function lines such as `main.main()` or `net/http.(*Server).Serve(0xc0)`.
fn is_go_dump_line(t: &[u8]) -> bool {
    starts_with_any(
        t,
        &[b"goroutine ", b"[signal ", b"created by ", b"exit status "],
    ) || (t.ends_with(b")") && !t.contains(&b' ') && t.contains(&b'('))
}

/// What one line matched.
#[derive(Debug, Clone, Default)]
struct Analysis {
    /// The highest-priority rule.
    rule: Option<usize>,
    /// Every matching rule (only allocated for the rare lines that match something).
    all: Vec<usize>,
    marker: Option<BlockKind>,
}

impl Classifier {
    fn analyse(&self, line: &[u8]) -> Analysis {
        if !self.set.is_match(line) {
            return Analysis::default();
        }
        let mut out = Analysis::default();
        for idx in self.set.matches(line).iter() {
            if let Some(kind) = self.marker_kind(idx) {
                out.marker.get_or_insert(kind);
                continue;
            }
            let rule = &self.rules[idx];
            if rule.unless.as_ref().is_some_and(|u| u.is_match(line)) {
                continue;
            }
            out.all.push(idx);
            let better = match out.rule {
                None => true,
                Some(b) => rule.priority > self.rules[b].priority,
            };
            if better {
                out.rule = Some(idx);
            }
        }
        out
    }

    /// Starts an incremental stream over this classifier (the stream holds a cheap clone).
    pub fn stream(&self) -> LineStream {
        LineStream {
            c: self.clone(),
            line_no: 0,
            block: None,
            pending: None,
            recent: Vec::new(),
            recent_next: 0,
            other_python_noticed: false,
            in_alternatives: false,
            configured_port: None,
        }
    }

    /// Classifies a whole text (lines split on `\n`, a trailing `\r` ignored).
    pub fn classify_text(&self, text: &str) -> Vec<Incident> {
        self.classify_bytes(text.as_bytes())
    }

    /// Classifies raw bytes: invalid UTF-8 is replaced, never an error.
    pub fn classify_bytes(&self, bytes: &[u8]) -> Vec<Incident> {
        let mut stream = self.stream();
        let mut out = Vec::new();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if !bytes.is_empty() {
            for line in body.split(|b| *b == b'\n') {
                stream.push_bytes(line, &mut out);
            }
        }
        stream.finish(&mut out);
        out
    }
}

#[derive(Debug)]
struct BlockLine {
    no: usize,
    text: String,
    rule: Option<usize>,
    /// All rules that matched (the best one included).
    rules: Vec<usize>,
    evidence: bool,
    /// The raw (ANSI-free, cut) bytes, kept only for evidence lines, to read captures from.
    raw: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Block {
    kind: BlockKind,
    first_line: usize,
    lines: Vec<BlockLine>,
    blanks: Vec<usize>,
    total: usize,
    python_seen_exception: bool,
    /// How far the traceback's header was indented: A1111 prints whole tracebacks indented under
    /// "*** Error loading script", so "indented" means deeper than that.
    python_indent: usize,
    /// The exception line ended in `:` (`ImportError:`): its message follows on the next lines,
    /// unindented, up to a blank line.
    python_message_open: bool,
    rust_expect_message: bool,
    /// What a logger put before the traceback's header (`14:42:18.004 [Warning] [ComfyUI-0/STDERR] `,
    /// `Nov 29 14:55:02 host python3[812]: `): the same prefix, digits aside, is taken off the
    /// traceback's following lines so that their frames and exception line read as such.
    line_prefix: Vec<u8>,
}

/// How much an incident stands on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    Weak,
    Consequence,
    Strong,
}

#[derive(Debug)]
struct Pending {
    incident: Incident,
    strength: Strength,
    quiet_lines: usize,
    /// The output said it will try again ("retrying in 2s", "Trying again in 2.00 seconds"): if the
    /// service then announces itself, it recovered and this was no startup failure.
    retrying: bool,
    /// The line just before it said what follows is optional or a warning, or the failure itself
    /// was logged as a warning: outlived, too, if the service then announces itself.
    optional: bool,
    /// A configuration file named on the line right after it, where a location follows the message
    /// (wrangler's `✘ [ERROR] Unterminated string` … `    wrangler.toml:5:23:`): the path, should
    /// the incident turn out to be about configuration.
    path_after: Option<String>,
}

impl Pending {
    fn new(incident: Incident, strength: Strength) -> Pending {
        let retrying = says_retrying(&incident);
        Pending {
            incident,
            strength,
            quiet_lines: 0,
            retrying,
            optional: false,
            path_after: None,
        }
    }

    /// A bare error line, or a failure the output said it would retry: the service getting ready
    /// afterwards means it got past it.
    fn outlived_if_ready(&self) -> bool {
        self.strength == Strength::Weak || self.retrying || self.optional
    }
}

/// Two values of one fact name the same thing: equal, or (for a module) the same Python distribution
/// as pip normalizes names (`comfyui-frontend-package` is `comfyui_frontend_package`).
fn same_fact(key: &str, a: &Fact, b: &Fact) -> bool {
    match (key, a, b) {
        ("module", Fact::Text(a), Fact::Text(b)) => {
            let norm = |s: &str| {
                s.chars()
                    .map(|c| match c {
                        '-' | '.' => '_',
                        c => c.to_ascii_lowercase(),
                    })
                    .collect::<String>()
            };
            norm(a) == norm(b)
        }
        _ => a == b,
    }
}

/// The kind the hints name over bare error lines that only "it failed" followed (a consequence such as
/// "Application startup failed. Exiting."): only a kind other than a crash says more than the
/// consequence does. Used for such lines in one block and for a held bare line.
fn kind_before_consequence<'c, 'a>(
    c: &'c Classifier,
    lines: impl IntoIterator<Item = &'a str>,
) -> Option<(ErrorType, &'c str)> {
    c.hinted_type(lines)
        .filter(|(t, _)| *t != ErrorType::ProcessFailed)
}

fn says_retrying(incident: &Incident) -> bool {
    RETRYING
        .as_ref()
        .is_some_and(|r| incident.context.iter().any(|l| r.is_match(l.as_bytes())))
}

/// An incremental classifier over one stream of lines (one service's output).
#[derive(Debug)]
pub struct LineStream {
    c: Classifier,
    line_no: usize,
    block: Option<Block>,
    pending: Option<Pending>,
    /// The last few ordinary lines with their numbers, newest at `recent_next - 1`: a bind failure
    /// that names no port is about the port a line just before announced ("Listening on
    /// http://localhost:8000/"). Searched only when such a failure happens; the buffers are reused,
    /// so an ordinary line costs one copy and no allocation.
    recent: Vec<(usize, Vec<u8>)>,
    recent_next: usize,
    /// The output said this Python is not the one the program is made for (see
    /// `OTHER_PYTHON_NOTICE`).
    other_python_noticed: bool,
    /// Inside an indented list of alternatives (see `ALTERNATIVES_FINDER`).
    in_alternatives: bool,
    /// The port an ordinary line last set for the service (see `CONFIGURED_PORT`).
    configured_port: Option<u16>,
}

/// How far back an announced port still explains a port conflict that names none.
const RECENT_PORT_LINES: usize = 8;

impl LineStream {
    /// Number of lines seen so far.
    pub fn lines_seen(&self) -> usize {
        self.line_no
    }

    /// Feeds one line (without its `\n`); finished incidents are appended to `out`.
    pub fn push(&mut self, line: &str, out: &mut Vec<Incident>) {
        self.push_bytes(line.as_bytes(), out);
    }

    /// Feeds one line of raw bytes (invalid UTF-8 is fine).
    pub fn push_bytes(&mut self, line: &[u8], out: &mut Vec<Incident>) {
        self.line_no += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let clean = strip_ansi(line);
        let t = strip_error_glyph(strip_runner_tag(strip_service_prefix(cut(
            &clean,
            MAX_MATCH_BYTES,
        ))));
        // Under "Alternatively you could install one of these drivers:", the indented list says what
        // else could have been used and why it was not; it is not this failure.
        if self.in_alternatives {
            if is_indented(t) && !is_blank(t) {
                return;
            }
            self.in_alternatives = false;
        }
        let t = match &self.block {
            Some(b) if !b.line_prefix.is_empty() => strip_same_prefix(t, &b.line_prefix),
            _ => t,
        };
        let analysis = self.c.analyse(t);

        if self.block.is_some() {
            if self.continues(t, &analysis) {
                self.append(t, analysis);
                if self
                    .block
                    .as_ref()
                    .is_some_and(|b| b.total >= MAX_BLOCK_LINES)
                {
                    self.close_block(out);
                }
                return;
            }
            self.close_block(out);
        }
        if analysis.rule.is_some() || analysis.marker.is_some() {
            self.block = Some(Block {
                kind: analysis.marker.unwrap_or(BlockKind::Generic),
                first_line: self.line_no,
                lines: Vec::new(),
                blanks: Vec::new(),
                total: 0,
                python_seen_exception: false,
                python_indent: if analysis.marker == Some(BlockKind::PythonTraceback) {
                    indent_of(t)
                } else {
                    0
                },
                python_message_open: false,
                rust_expect_message: false,
                line_prefix: if analysis.marker == Some(BlockKind::PythonTraceback) {
                    traceback_line_prefix(t).to_vec()
                } else {
                    Vec::new()
                },
            });
            self.append(t, analysis);
        } else {
            if self.recent.len() < RECENT_PORT_LINES {
                self.recent.push((self.line_no, t.to_vec()));
            } else {
                let slot = &mut self.recent[self.recent_next % RECENT_PORT_LINES];
                slot.0 = self.line_no;
                slot.1.clear();
                slot.1.extend_from_slice(t);
            }
            self.recent_next = (self.recent_next + 1) % RECENT_PORT_LINES;
            if t.trim_ascii_end().ends_with(b":") && ALTERNATIVES_FINDER.find(t).is_some() {
                self.in_alternatives = true;
            }
            if !self.other_python_noticed
                && (PYTHON_WORD.find(t).is_some() || t.starts_with(b"INCOMPATIBLE PYTHON"))
                && OTHER_PYTHON_NOTICE.as_ref().is_some_and(|r| r.is_match(t))
            {
                self.other_python_noticed = true;
            }
            if (PORT_WORD.find(t).is_some()
                || PORT_FLAG.find(t).is_some()
                || LISTEN_FLAG.find(t).is_some())
                && let Some(port) = capture_text(&CONFIGURED_PORT, t, "port")
                    .and_then(|p| p.parse::<u16>().ok())
                    .filter(|&p| p > 0)
            {
                self.configured_port = Some(port);
            }
            // An error the service outlived (a bare error line, or one it said it would retry):
            // once it announces itself ready, that was no startup failure.
            if let Some(p) = &mut self.pending {
                if !p.retrying && RETRYING.as_ref().is_some_and(|r| r.is_match(t)) {
                    p.retrying = true;
                }
                if p.quiet_lines == 0
                    && p.path_after.is_none()
                    && p.incident.facts.get("path").is_none()
                    && !is_blank(t)
                {
                    p.path_after = capture_text(&CONFIG_PATH, t, "path");
                }
                let reconnected = p.retrying
                    && p.incident.error_type == ErrorType::NetworkError
                    && RECONNECTED.as_ref().is_some_and(|r| r.is_match(t));
                // A warning it would retry, then ordinary work logged at information level.
                let went_on =
                    p.retrying && p.optional && INFO_LEVEL.as_ref().is_some_and(|r| r.is_match(t));
                if reconnected
                    || went_on
                    || (p.outlived_if_ready() && READY_LINE.as_ref().is_some_and(|r| r.is_match(t)))
                {
                    self.pending = None;
                } else {
                    // An indented line under a failure (an example config, a list) is still its
                    // explanation, not output that moved on.
                    if !is_blank(t) && !is_indented(t) {
                        p.quiet_lines += 1;
                    }
                    if p.quiet_lines > MERGE_WINDOW_LINES {
                        self.emit_pending(out);
                    }
                }
            }
        }
    }

    /// Closes whatever is open and hands out every held incident (call on silence or process exit;
    /// the stream stays usable).
    pub fn flush(&mut self, out: &mut Vec<Incident>) {
        self.close_block(out);
        self.emit_pending(out);
    }

    /// The supervisor saw the service get ready (a readiness probe answered, not a log line): a held
    /// bare error line, or a failure the output said it would retry, is dropped as a line saying
    /// "listening on" would drop it. A held real cause stays.
    /// The block still open is closed first; incidents it pushes out land in `out`.
    pub fn service_ready(&mut self, out: &mut Vec<Incident>) {
        self.close_block(out);
        if self
            .pending
            .as_ref()
            .is_some_and(Pending::outlived_if_ready)
        {
            self.pending = None;
        }
    }

    /// End of input: like [`flush`](Self::flush).
    pub fn finish(mut self, out: &mut Vec<Incident>) {
        self.flush(out);
    }

    fn continues(&mut self, t: &[u8], a: &Analysis) -> bool {
        let Some(b) = self.block.as_mut() else {
            return false;
        };
        if is_blank(t) {
            return true; // held in `blanks` until something continues the block
        }
        match b.kind {
            BlockKind::PythonTraceback => {
                if indent_of(t) > b.python_indent || is_python_chain_marker(t) {
                    return true;
                }
                if indent_of(t) < b.python_indent {
                    return false;
                }
                (b.python_message_open && b.blanks.is_empty()) || !b.python_seen_exception
            }
            BlockKind::Spring => !starts_with_timestamp(t) && b.total < MAX_SPRING_LINES,
            BlockKind::GoPanic => {
                is_go_dump_line(t) || is_generic_continuation(t) || a.rule.is_some()
            }
            BlockKind::RustPanic => b.rust_expect_message || is_generic_continuation(t),
            BlockKind::Npm | BlockKind::Stack | BlockKind::Generic => {
                if !b.blanks.is_empty() && a.rule.is_none() && !is_generic_continuation(t) {
                    return false;
                }
                // The service saying it is up, even indented in a box (serve's "│ Serving! │"),
                // is not more of the error.
                if a.rule.is_none() && READY_LINE.as_ref().is_some_and(|r| r.is_match(t)) {
                    return false;
                }
                is_generic_continuation(t) || a.rule.is_some() || a.marker.is_some()
            }
        }
    }

    fn append(&mut self, t: &[u8], a: Analysis) {
        let no = self.line_no;
        let Some(b) = self.block.as_mut() else { return };
        if is_blank(t) {
            b.blanks.push(no);
            return;
        }
        // A generic block takes the shape of the first structured block that joins it
        // (e.g. "error when starting dev server:" followed by a JS error and its stack).
        if let Some(kind) = a.marker
            && b.kind == BlockKind::Generic
            && kind != BlockKind::Generic
        {
            b.kind = kind;
            if kind == BlockKind::PythonTraceback {
                b.python_indent = indent_of(t);
            }
        }
        let blanks = std::mem::take(&mut b.blanks);
        for blank in blanks {
            if b.lines.len() < MAX_CONTEXT_LINES {
                b.lines.push(BlockLine {
                    no: blank,
                    text: String::new(),
                    rule: None,
                    rules: Vec::new(),
                    evidence: false,
                    raw: None,
                });
            }
            b.total += 1;
        }
        b.total += 1;
        // A caret under a line marks that line as a source excerpt (Node's uncaught-error header,
        // rustc's snippets): code that mentions an error is not the error.
        if is_caret_line(t)
            && let Some(code) = b.lines.last_mut()
        {
            code.rule = None;
            code.rules.clear();
            code.evidence = false;
            code.raw = None;
        }
        let evidence = match b.kind {
            BlockKind::PythonTraceback => {
                let marker = is_python_chain_marker(t);
                if marker {
                    b.python_seen_exception = false;
                }
                let deeper = indent_of(t) > b.python_indent;
                let exception = !deeper && !marker;
                // Lines indented under the exception line continue its message
                // (`  in "config.yaml", line 3, column 9`); indented lines before it are frames and code.
                let continuation = deeper && b.python_seen_exception;
                if exception {
                    b.python_seen_exception = true;
                    if t.trim_ascii_end().ends_with(b":") {
                        b.python_message_open = true;
                    }
                }
                exception || continuation
            }
            BlockKind::RustPanic => {
                let header = a.marker == Some(BlockKind::RustPanic);
                b.rust_expect_message = header && t.ends_with(b":");
                !is_frame(t)
            }
            _ => !is_frame(t),
        };
        let rule = if evidence { a.rule } else { None };
        if b.lines.len() < MAX_CONTEXT_LINES || rule.is_some() {
            b.lines.push(BlockLine {
                no,
                text: text_of(t),
                rule,
                rules: if evidence { a.all } else { Vec::new() },
                evidence,
                raw: evidence.then(|| t.to_vec()),
            });
        }
    }

    fn close_block(&mut self, out: &mut Vec<Incident>) {
        let Some(block) = self.block.take() else {
            return;
        };
        let Some((incident, strength)) = self.build_incident(block) else {
            return;
        };
        self.hold(incident, strength, out);
    }

    fn build_incident(&self, block: Block) -> Option<(Incident, Strength)> {
        let rules = &self.c.rules;
        let hits: Vec<&BlockLine> = block.lines.iter().filter(|l| l.rule.is_some()).collect();
        let strength = if hits
            .iter()
            .any(|l| l.rule.is_some_and(|r| rules[r].role == Role::Cause))
        {
            Strength::Strong
        } else if hits
            .iter()
            .any(|l| l.rule.is_some_and(|r| rules[r].role == Role::Consequence))
        {
            Strength::Consequence
        } else {
            Strength::Weak
        };
        // Best evidence: highest priority; a Python traceback ends in its cause, and so does a chain
        // of `Caused by:` (its deepest cause); elsewhere the first line states it.
        let prefer_later = block.kind == BlockKind::PythonTraceback;
        let best = hits.iter().copied().reduce(|acc, l| {
            let (pa, pl) = (
                rules[acc.rule.unwrap_or(0)].priority,
                rules[l.rule.unwrap_or(0)].priority,
            );
            let deeper_cause = l.text.trim_start().starts_with("Caused by:");
            if pl > pa || (pl == pa && (prefer_later || deeper_cause)) {
                l
            } else {
                acc
            }
        });

        let fatal_without_cause = block.kind.is_fatal() && strength != Strength::Strong;
        let context: Vec<String> = block.lines.iter().map(|l| l.text.clone()).collect();
        let (mut error_type, root, rule_id, mut strength) = match best {
            Some(l) if !fatal_without_cause => {
                let r = &rules[l.rule.unwrap_or(0)];
                // Only a consequence ("Application startup failed. Exiting.") after bare error lines:
                // the words of those lines may say what failed ("MODEL_DIR=… does not exist").
                let hinted = (strength == Strength::Consequence
                    && r.error_type == ErrorType::ProcessFailed)
                    .then(|| {
                        let is_weak =
                            |b: &&BlockLine| b.rule.is_some_and(|i| rules[i].role == Role::Weak);
                        let first = block.lines.iter().find(is_weak)?;
                        let weak = block.lines.iter().filter(is_weak);
                        kind_before_consequence(&self.c, weak.map(|b| b.text.as_str()))
                            .map(|(t, id)| (t, first, id.to_string()))
                    })
                    .flatten();
                match hinted {
                    Some((t, weak_root, id)) => (t, weak_root, Some(id), strength),
                    None => (r.error_type, l, Some(r.id.clone()), strength),
                }
            }
            _ if block.kind.is_fatal() => {
                let root = self.fatal_root_line(&block)?;
                // A crash no rule explained, whose own message says something could not be done:
                // the hints on that message may name the kind ("Electron failed to install
                // correctly"). A message that only mentions a kind word ("Invalid time value") stays
                // a crash.
                let says_failure = FAILURE_WORDS
                    .as_ref()
                    .is_some_and(|r| r.is_match(root.text.as_bytes()));
                // Spring's failure analysis explains itself over the whole block (its "Action:" says
                // what to configure); elsewhere only the message is read. Hints are only read when
                // the message says something failed.
                let hinted = if let Some(code) = looked_up_by_name(&block, root) {
                    self.c.hinted_type([code])
                } else if !says_failure {
                    None
                } else if block.kind == BlockKind::Spring {
                    self.c
                        .hinted_type(block.lines.iter().map(|l| l.text.as_str()))
                } else if let Some(code) = raising_code_line(&block, root) {
                    self.c.hinted_type([root.text.as_str(), code])
                } else {
                    self.c.hinted_type([root.text.as_str()])
                };
                // A crash block whose lines only say that something ended ("Error: Command failed
                // with exit code 1") is the consequence of whatever came before it.
                let crash_strength = if strength == Strength::Consequence {
                    Strength::Consequence
                } else {
                    Strength::Strong
                };
                match hinted {
                    Some((t, id)) if t != ErrorType::ProcessFailed => {
                        (t, root, Some(id.to_string()), crash_strength)
                    }
                    _ => (ErrorType::ProcessFailed, root, None, crash_strength),
                }
            }
            _ => return None,
        };

        // Facts: the root rule's captures first, then every other rule of the same type that matched
        // in the block; other types only lend an exit code.
        let mut facts = Facts::new();
        if let (Some(id), Some(raw)) = (root.rule, root.raw.as_deref()) {
            capture_facts(&rules[id], raw, &mut facts);
        }
        for l in std::iter::once(root).chain(hits.iter().copied()) {
            let Some(raw) = l.raw.as_deref() else {
                continue;
            };
            for &id in &l.rules {
                let mut more = Facts::new();
                capture_facts(&rules[id], raw, &mut more);
                if rules[id].error_type == error_type {
                    facts.fill_from(&more);
                    continue;
                }
                // Another kind's rule on the root line itself still read where it happened
                // (`connection to server at "postgres" …, port 5432` under "database does not exist").
                let lent: &[&str] = if l.no == root.no {
                    &["exit_code", "host", "port"]
                } else {
                    &["exit_code"]
                };
                for key in lent {
                    if let Some(v) = more.get(key) {
                        facts.fill(key, v.clone());
                    }
                }
            }
        }
        // The rule named the host: the port written right after it (`addr=cache:6379`, `'mongodb:27017'`
        // in a driver's server map) beats the first port on the line (the DNS server's `127.0.0.11:53`).
        if wants_port(error_type)
            && facts.port().is_none()
            && let Some(Fact::Text(host)) = facts.get("host").cloned()
            && let Some(port) = std::iter::once(root)
                .chain(block.lines.iter())
                .map(|l| l.raw.as_deref().unwrap_or(l.text.as_bytes()))
                .filter(|raw| !is_frame(raw))
                .find_map(|raw| port_after_host(raw, host.as_bytes()))
        {
            facts.insert("port", Fact::Int(i64::from(port)));
        }
        if wants_port(error_type) {
            let candidates = std::iter::once(root).chain(block.lines.iter());
            fill_port_and_host(
                candidates.map(|l| l.raw.as_deref().unwrap_or(l.text.as_bytes())),
                &mut facts,
            );
        }
        // An exit status that is all we know still says something: 127 (and cmd's 9009) is the
        // shell's "command not found", 126 its "found but not executable".
        if error_type == ErrorType::ProcessFailed && strength == Strength::Consequence {
            match facts.int("exit_code") {
                Some(127 | 9009) => error_type = ErrorType::DependencyMissing,
                Some(126) => error_type = ErrorType::PermissionDenied,
                _ => {}
            }
        }
        // After the launcher said this Python is not the one the program is made for, some failures
        // are the interpreter's (pip finding no build of a package): the rule says which type then.
        if self.other_python_noticed
            && let Some(t) = rule_id
                .as_deref()
                .and_then(|id| self.c.rule(id))
                .and_then(|r| r.with_other_python)
        {
            error_type = t;
        }
        // npm says which path it could not write on a line of its own (`npm error path /home/ana/.npm/…`);
        // an error chain says it on the line its `Caused by:` explains.
        if error_type == ErrorType::PermissionDenied
            && facts.get("path").is_none()
            && let Some(path) = block.lines.iter().find_map(|l| {
                capture_text(&NPM_PATH, l.text.as_bytes(), "path")
                    .or_else(|| capture_text(&FAILED_ON_PATH, l.text.as_bytes(), "path"))
            })
        {
            facts.insert("path", Fact::Text(path));
        }
        // A refused connection naming no server, just after a line saying where it was connecting
        // ("connecting to redis at redis://127.0.0.1:6379" … "Connection refused (os error 111)").
        if error_type == ErrorType::NetworkError
            && facts.port().is_none()
            && facts.get("host").is_none()
            && let Some((host, port)) = self
                .recent_before(block.first_line, 3)
                .filter(|line| CONNECTING.as_ref().is_some_and(|r| r.is_match(line)))
                .find_map(find_port)
        {
            facts.insert("port", Fact::Int(i64::from(port)));
            if let Some(h) = host {
                facts.insert("host", Fact::Text(h));
            }
        }
        // A failed fetch that names no host in its words: the URL on its own line (`429 Client Error:
        // Too Many Requests for url: https://huggingface.co/…`), else the URL a line just before said
        // it was fetching.
        if error_type == ErrorType::NetworkError
            && facts.get("host").is_none()
            && let Some(host) =
                capture_text(&URL_HOST, root.text.as_bytes(), "host").or_else(|| {
                    self.recent_before(block.first_line, RECENT_PORT_LINES)
                        .find_map(|line| capture_text(&FETCH_URL, line, "host"))
                })
        {
            facts.insert("host", Fact::Text(host));
        }
        if error_type == ErrorType::ConfigInvalid
            && facts.get("path").is_none()
            && let Some(path) = self.config_path_near(&block, root)
        {
            facts.insert("path", Fact::Text(path));
        }
        if error_type == ErrorType::DependencyMissing
            && ["command", "module", "library"]
                .iter()
                .all(|k| facts.get(k).is_none())
            && let Some(program) = block
                .lines
                .iter()
                .rev()
                .find_map(|l| capture_text(&SUBPROCESS_PROGRAM, l.text.as_bytes(), "command"))
        {
            facts.insert("command", Fact::Text(program));
        }
        // cmd says only "The system cannot find the path specified."; the command it echoed just
        // before says which path: a venv's activate script that is not there.
        if strength == Strength::Weak
            && root.text.contains("cannot find the path specified")
            && let Some(path) = self.activation_just_before(block.first_line)
        {
            error_type = ErrorType::VirtualEnvError;
            strength = Strength::Strong;
            facts.insert("path", Fact::Text(path));
        }
        // A bind failure that names no port is about the port just announced; so is a refusal to
        // let the service have a port ("You don't have permission to access that port", WinError
        // 10013 after `--port 8000`) and a refusal naming nothing at all (actix's bare `Os { code:
        // 13, kind: PermissionDenied, … }` after "starting HTTP server at 0.0.0.0:80").
        let about_a_port = error_type == ErrorType::PortConflict
            || (error_type == ErrorType::PermissionDenied && {
                let said = root.text.to_ascii_lowercase();
                said.contains("port")
                    || said.contains("forbidden by its access permissions")
                    || (facts.get("path").is_none()
                        && (said.contains("permission denied") || said.contains("eacces")))
            });
        if about_a_port
            && facts.port().is_none()
            && let Some((host, port)) = self.announced_port(block.first_line)
        {
            facts.insert("port", Fact::Int(i64::from(port)));
            if let Some(h) = host {
                facts.fill("host", Fact::Text(h));
            }
        }
        if error_type == ErrorType::PortConflict
            && facts.port().is_none()
            && let Some(port) = self.configured_port
        {
            facts.insert("port", Fact::Int(i64::from(port)));
        }
        Some((
            Incident {
                error_type,
                line: root.no,
                message: root.text.trim().to_string(),
                facts,
                rule_id,
                first_line: block.first_line,
                context,
            },
            strength,
        ))
    }

    /// The configuration file a config_invalid incident is about when its own lines do not say: the
    /// root line, then the block's other lines from the cause backwards (a frame's code line), then
    /// the few ordinary lines just before the block, newest first.
    fn config_path_near(&self, block: &Block, root: &BlockLine) -> Option<String> {
        std::iter::once(root)
            .chain(block.lines.iter().rev())
            .filter(|l| !is_frame(l.text.as_bytes()))
            .find_map(|l| capture_text(&CONFIG_PATH, l.text.as_bytes(), "path"))
            .or_else(|| location_path(block))
            .or_else(|| {
                self.recent_before(block.first_line, RECENT_PORT_LINES)
                    .find_map(|line| {
                        capture_text(&CONFIG_PATH, line, "path")
                            .or_else(|| capture_text(&SETTINGS_FROM, line, "path"))
                    })
            })
    }

    /// A venv activation command echoed in the two lines before `first_line` (`C:\\app>call
    /// venv\\Scripts\\activate.bat`, `$ source .venv/bin/activate`): the activate script's path.
    fn activation_just_before(&self, first_line: usize) -> Option<String> {
        self.recent_before(first_line, 2)
            .find_map(|line| capture_text(&ACTIVATION, line, "path"))
    }

    /// The port the newest of the last few ordinary lines before `first_line` names, if any.
    fn announced_port(&self, first_line: usize) -> Option<(Option<String>, u16)> {
        self.recent_before(first_line, RECENT_PORT_LINES)
            .find_map(find_port)
    }

    /// The ordinary lines kept from the `within` lines before `first_line`, newest first.
    fn recent_before(&self, first_line: usize, within: usize) -> impl Iterator<Item = &[u8]> {
        (1..=self.recent.len())
            .map(|back| {
                &self.recent[(self.recent_next + RECENT_PORT_LINES - back) % RECENT_PORT_LINES]
            })
            .filter(move |(no, _)| *no < first_line && first_line - *no <= within)
            .map(|(_, line)| line.as_slice())
    }

    /// Whether the ordinary line just before `first_line` (blank lines aside) announced what
    /// follows as optional or a warning.
    fn announced_optional(&self, first_line: usize) -> bool {
        let Some(re) = OPTIONAL_NOTICE.as_ref() else {
            return false;
        };
        self.recent_before(first_line, 2)
            .find(|l| !is_blank(l))
            .is_some_and(|l| re.is_match(l))
    }

    /// The line that states a crash no rule explained.
    fn fatal_root_line<'b>(&self, block: &'b Block) -> Option<&'b BlockLine> {
        let evidence = || {
            block
                .lines
                .iter()
                .filter(|l| l.evidence && !l.text.is_empty())
        };
        match block.kind {
            BlockKind::PythonTraceback => evidence().next_back(),
            BlockKind::RustPanic => {
                // Since Rust 1.73 the message is on the line after "panicked at …:".
                let mut it = evidence();
                let header = it.next();
                match header {
                    Some(h) if h.text.ends_with(':') => it.next().or(Some(h)),
                    other => other,
                }
            }
            BlockKind::Spring => {
                let mut after_description = false;
                for l in evidence() {
                    if after_description {
                        return Some(l);
                    }
                    after_description = l.text.trim() == "Description:";
                }
                evidence().find(|l| l.text.contains("FAILED TO START"))
            }
            _ => evidence().next(),
        }
    }

    fn hold(&mut self, incident: Incident, strength: Strength, out: &mut Vec<Incident>) {
        let optional = self.announced_optional(incident.first_line)
            || [&WARNING_LEVEL, &TOLERATED_FAILURE].into_iter().any(|re| {
                re.as_ref()
                    .is_some_and(|r| r.is_match(incident.message.as_bytes()))
            });
        // A warning just after the service announced itself ready is not why it failed to start
        // (go2rtc's "can't get public IP" once its listeners are open).
        if optional
            && READY_LINE.as_ref().is_some_and(|r| {
                self.recent_before(incident.first_line, RECENT_PORT_LINES)
                    .any(|l| r.is_match(l))
            })
        {
            return;
        }
        // A crash no rule explained (typed by hints on its message, or not at all).
        let pending_causeless = self.pending.as_ref().is_some_and(|p| {
            p.strength == Strength::Strong
                && match p.incident.rule_id.as_deref() {
                    None => p.incident.error_type == ErrorType::ProcessFailed,
                    Some(id) => self.c.is_hint(id),
                }
        });
        let Some(p) = self.pending.as_mut() else {
            let mut p = Pending::new(incident, strength);
            p.optional = optional;
            self.pending = Some(p);
            return;
        };
        // The same failure again, or told again naming more or less of it ("Port 8080 is not open
        // on localhost" … "Could not start Firestore Emulator, port taken"): same type, and no fact
        // that differs.
        // One failure told in words of two kinds (rules that say they retell each other, like
        // Hugging Face's 401 and the "Invalid username or password." it appends): typed by what
        // came first.
        let retold = p.quiet_lines <= 3
            && self
                .c
                .retell_each_other(p.incident.rule_id.as_deref(), incident.rule_id.as_deref());
        let same = (p.incident.error_type == incident.error_type || retold)
            && incident.facts.0.iter().all(|(k, v)| {
                p.incident
                    .facts
                    .get(k)
                    .is_none_or(|known| same_fact(k, known, v))
            });
        // A one-line crash headline ("🚨 Build failed.") followed by a specific cause: the cause is
        // the incident.
        // Only right after it: an ordinary line in between ("restarting") means the cause belongs to
        // something else.
        // So is a line a rule calls a headline ("Failed to load next.config.mjs"), a line or two
        // before the cause of another kind.
        // The rule is looked up only once the cheap conditions hold.
        let headline_then_cause = p.strength == Strength::Strong
            && strength == Strength::Strong
            && !matches!(
                incident.error_type,
                ErrorType::ProcessFailed | ErrorType::Unknown
            )
            && ((p.quiet_lines == 0
                && p.incident.error_type == ErrorType::ProcessFailed
                && p.incident.context.len() == 1)
                || (p.quiet_lines <= 2
                    && incident.error_type != p.incident.error_type
                    && p.incident
                        .rule_id
                        .as_deref()
                        .and_then(|id| self.c.rule(id))
                        .is_some_and(|r| r.headline)));
        // A crash whose own lines name no cause, then (a few lines on) the output of what it ran,
        // which does ("RuntimeError: Couldn't fetch assets." … "stderr: fatal: … Could not resolve
        // host: github.com"): the cause is the incident.
        let causeless_crash_then_cause = p.quiet_lines <= 3
            && pending_causeless
            && strength == Strength::Strong
            && !matches!(
                incident.error_type,
                ErrorType::ProcessFailed | ErrorType::Unknown
            );
        // A failure the output said it would retry, then the program giving up on a timeout
        // (dockerize's "Problem with dial … Sleeping 1s" … "Timeout after 30s waiting on
        // dependencies"): the timeout is the incident.
        let retried_then_timed_out = p.retrying
            && p.strength == Strength::Strong
            && strength == Strength::Strong
            && incident.error_type == ErrorType::TimeoutError
            && p.incident.error_type != ErrorType::TimeoutError;
        // "Application run failed" printed before the exception that explains it (an exit status
        // ends a run instead, so a failure after one is a new incident).
        // An exit status that already said what kind of failure it was (127: command not found),
        // then the program's own words for it, is one failure too.
        let announcement_then_cause = p.strength == Strength::Consequence
            && strength == Strength::Strong
            && ((p.quiet_lines == 0 && p.incident.facts.get("exit_code").is_none())
                || (p.quiet_lines <= 2 && p.incident.error_type == incident.error_type));
        // A crash that names no cause, right after a specific failure, is that failure's consequence
        // (Next's "SyntaxError" after "Failed to load next.config.js").
        let cause_then_crash = p.quiet_lines <= 1
            && p.strength == Strength::Strong
            && strength == Strength::Strong
            && incident.error_type == ErrorType::ProcessFailed
            && !matches!(
                p.incident.error_type,
                ErrorType::ProcessFailed | ErrorType::Unknown
            );
        // A file missing under the directory a refused `mkdir` was making (Nexus: "cannot create
        // directory '../sonatype-work/nexus3/log': Permission denied" … "FileNotFoundException:
        // ../sonatype-work/nexus3/tmp/….lock"): the refusal's consequence.
        let missing_under_refused_dir = p.incident.error_type == ErrorType::PermissionDenied
            && incident.error_type == ErrorType::ConfigInvalid
            && match (p.incident.facts.text("path"), incident.facts.text("path")) {
                (Some(refused), Some(missing)) => {
                    refused.rsplit_once(['/', '\\']).is_some_and(|(parent, _)| {
                        !parent.is_empty()
                            && missing.len() > parent.len()
                            && missing.starts_with(parent)
                            && missing[parent.len()..].starts_with(['/', '\\'])
                    })
                }
                _ => false,
            };
        match (p.strength, strength) {
            // A bare error line followed by the real cause: the cause is the incident.
            (Strength::Weak, Strength::Strong | Strength::Consequence)
            | (Strength::Strong | Strength::Consequence, Strength::Strong)
                if p.strength == Strength::Weak
                    || headline_then_cause
                    || announcement_then_cause
                    || causeless_crash_then_cause
                    || retried_then_timed_out =>
            {
                // A bare error line, then only "it failed" (a consequence): the hints on the bare
                // line may say what failed; then that line stays the incident.
                let hinted = (p.strength == Strength::Weak
                    && strength == Strength::Consequence
                    && incident.error_type == ErrorType::ProcessFailed)
                    .then(|| {
                        kind_before_consequence(
                            &self.c,
                            p.incident.context.iter().map(String::as_str),
                        )
                    })
                    .flatten();
                if let Some((t, id)) = hinted {
                    p.incident.error_type = t;
                    p.incident.rule_id = Some(id.to_string());
                    p.strength = Strength::Consequence;
                    if let Some(code) = incident.facts.get("exit_code") {
                        p.incident.facts.fill("exit_code", code.clone());
                    }
                    let room = MAX_CONTEXT_LINES.saturating_sub(p.incident.context.len());
                    p.incident
                        .context
                        .extend(incident.context.into_iter().take(room));
                    p.quiet_lines = 0;
                    return;
                }
                let mut context = std::mem::take(&mut p.incident.context);
                context.extend(incident.context.iter().cloned());
                context.truncate(MAX_CONTEXT_LINES);
                let first_line = p.incident.first_line;
                let retrying = p.retrying;
                let exit_code = p.incident.facts.get("exit_code").cloned();
                *p = Pending::new(incident, strength);
                p.retrying |= retrying;
                if let Some(code) = exit_code {
                    p.incident.facts.fill("exit_code", code);
                }
                p.incident.context = context;
                p.incident.first_line = first_line;
            }
            // Consequences (and weak echoes) of an incident join it.
            (_, Strength::Weak | Strength::Consequence) | (Strength::Strong, Strength::Strong)
                if strength != Strength::Strong
                    || cause_then_crash
                    || missing_under_refused_dir =>
            {
                if let Some(code) = incident.facts.get("exit_code") {
                    p.incident.facts.fill("exit_code", code.clone());
                }
                p.retrying |= says_retrying(&incident);
                let room = MAX_CONTEXT_LINES.saturating_sub(p.incident.context.len());
                p.incident
                    .context
                    .extend(incident.context.into_iter().take(room));
                p.quiet_lines = 0;
            }
            // The same failure printed twice (reloaders do this) is one incident.
            (Strength::Strong, Strength::Strong) if same => {
                p.incident.facts.fill_from(&incident.facts);
                p.quiet_lines = 0;
                p.retrying |= says_retrying(&incident);
            }
            _ => {
                self.emit_pending(out);
                let mut p = Pending::new(incident, strength);
                p.optional = optional;
                self.pending = Some(p);
            }
        }
    }

    fn emit_pending(&mut self, out: &mut Vec<Incident>) {
        if let Some(p) = self.pending.take() {
            let mut incident = p.incident;
            if p.strength == Strength::Weak {
                // Only bare error lines: the words around them may still say what kind it is.
                incident.error_type = ErrorType::Unknown;
                if let Some((t, id)) = self
                    .c
                    .hinted_type(incident.context.iter().map(String::as_str))
                {
                    incident.error_type = t;
                    incident.rule_id = Some(id.to_string());
                    if wants_port(t) {
                        fill_port_and_host(
                            incident.context.iter().map(String::as_bytes),
                            &mut incident.facts,
                        );
                    }
                }
            }
            if incident.error_type == ErrorType::ConfigInvalid
                && incident.facts.get("path").is_none()
                && let Some(path) = incident
                    .context
                    .iter()
                    .filter(|l| !is_frame(l.as_bytes()))
                    .find_map(|l| capture_text(&CONFIG_PATH, l.as_bytes(), "path"))
                    .or(p.path_after)
            {
                incident.facts.insert("path", Fact::Text(path));
            }
            out.push(incident);
        }
    }
}

/// The port (and host) of an incident where a port matters, from the first of `lines` (frames aside)
/// that names one in any spelling; a host may come from a later line naming the same port. A port
/// already known stays, and only lines naming it lend a host.
fn fill_port_and_host<'l>(lines: impl Iterator<Item = &'l [u8]>, facts: &mut Facts) {
    for raw in lines {
        if facts.port().is_some() && facts.get("host").is_some() {
            break;
        }
        if is_frame(raw) {
            continue;
        }
        let Some((host, port)) = find_port(raw) else {
            continue;
        };
        match facts.port() {
            None => facts.insert("port", Fact::Int(i64::from(port))),
            Some(known) if known != port => continue,
            Some(_) => {}
        }
        if let Some(h) = host {
            facts.fill("host", Fact::Text(h));
        }
    }
}

/// The file an error report's `Location:` line points at (Astro: `Location:` then
/// `/home/dev/docs/src/content/docs/guides/setup.md:0:0` on the next line), without line and column.
fn location_path(block: &Block) -> Option<String> {
    let at = block
        .lines
        .iter()
        .position(|l| l.text.trim() == "Location:")?;
    let mut path = block.lines[at + 1..]
        .iter()
        .map(|l| l.text.trim())
        .find(|t| !t.is_empty())?;
    // `:line:column` (or `:line`) after the file.
    for _ in 0..2 {
        if let Some((head, tail)) = path.rsplit_once(':')
            && !tail.is_empty()
            && tail.bytes().all(|b| b.is_ascii_digit())
        {
            path = head;
        }
    }
    (path.len() > 1 && path.contains(['/', '\\']) && !path.contains(' ')).then(|| path.to_string())
}

/// The source line a Python traceback shows for the call that raised `root`, when the message itself
/// names nothing (`FileNotFoundError: [Errno 2] No such file or directory` under
/// `ctx.load_cert_chain(certfile, keyfile)`): what was being done says what the failure is about.
fn raising_code_line<'b>(block: &'b Block, root: &BlockLine) -> Option<&'b str> {
    if root.text.contains(['\'', '"']) {
        return None;
    }
    code_line_above(block, root)
}

/// A module attribute looked up by a name chosen at run time (`getattr(module, target)` raising
/// `AttributeError: module 'main' has no attribute 'application'`): a server's loader looking for the
/// app its command line or settings named, so the name given is wrong. Returns that source line.
fn looked_up_by_name<'b>(block: &'b Block, root: &BlockLine) -> Option<&'b str> {
    if !root.text.starts_with("AttributeError: module '") {
        return None;
    }
    code_line_above(block, root).filter(|code| code.contains("getattr("))
}

/// The source line a Python traceback shows just above `root` (the call that raised it).
fn code_line_above<'b>(block: &'b Block, root: &BlockLine) -> Option<&'b str> {
    if block.kind != BlockKind::PythonTraceback {
        return None;
    }
    let at = block.lines.iter().position(|l| std::ptr::eq(l, root))?;
    block.lines[..at]
        .iter()
        .rev()
        .map(|l| l.text.trim())
        .find(|t| !t.is_empty() && !t.chars().all(|c| matches!(c, '^' | '~' | ' ')))
        .filter(|t| !t.starts_with("File \""))
}

fn capture_facts(rule: &super::rules::CompiledRule, raw: &[u8], facts: &mut Facts) {
    if rule.fact_groups.is_empty() {
        return;
    }
    let Some(caps) = rule.regex.captures(raw) else {
        return;
    };
    for (idx, name) in &rule.fact_groups {
        if let Some(m) = caps.get(*idx) {
            let text = String::from_utf8_lossy(m.as_bytes());
            match executable_spelling(raw, name, &text)
                .or_else(|| subcommand_executable(raw, name, &text))
            {
                Some(program) => facts.set_captured(name, &program),
                None => facts.set_captured(name, &text),
            }
        }
    }
}

/// A program named in its product's spelling (`FFmpeg is not installed`) while the same line also
/// names it in lower case (`including ffmpeg and ffprobe`): the lower-case word is the executable to
/// look for.
fn executable_spelling(line: &[u8], key: &str, name: &str) -> Option<String> {
    if key != "command" || !name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_');
    // Not inside a web address (`https://github.com/go-delve/delve` names a repository).
    let in_url = |at: usize| {
        let token = line[..at]
            .iter()
            .rposition(u8::is_ascii_whitespace)
            .map_or(0, |i| i + 1);
        memchr::memmem::find(&line[token..at], b"://").is_some()
    };
    memchr::memmem::find_iter(line, lower.as_bytes())
        .any(|at| {
            (at == 0 || !word(&line[at - 1]))
                && !line.get(at + lower.len()).is_some_and(word)
                && !in_url(at)
        })
        .then_some(lower)
}

/// A subcommand a tool does not have (`git: 'lfs' is not a git command`, `'compose' is not a docker
/// command`): such subcommands are programs of their own named after the tool (`git-lfs`,
/// `docker-compose`), and that program is what is missing.
fn subcommand_executable(line: &[u8], key: &str, name: &str) -> Option<String> {
    if key != "command" {
        return None;
    }
    let quoted = format!("'{name}' is not a ");
    let at = memchr::memmem::find(line, quoted.as_bytes())? + quoted.len();
    let rest = &line[at..];
    let tool_len = rest
        .iter()
        .take_while(|b| b.is_ascii_lowercase() || **b == b'-')
        .count();
    (tool_len > 0 && rest[tool_len..].starts_with(b" command"))
        .then(|| format!("{}-{name}", String::from_utf8_lossy(&rest[..tool_len])))
}

/// The port written right after `host:` in `line` (`'mongodb:27017'`), the host standing as a whole
/// word.
fn port_after_host(line: &[u8], host: &[u8]) -> Option<u16> {
    if host.is_empty() {
        return None;
    }
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    memchr::memmem::find_iter(line, host).find_map(|at| {
        if at > 0 && word(&line[at - 1]) {
            return None;
        }
        let rest = line[at + host.len()..].strip_prefix(b":")?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 5 || rest.get(digits).is_some_and(word) {
            return None;
        }
        std::str::from_utf8(&rest[..digits])
            .ok()?
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
    })
}

/// The first port (and its host, when written next to it) in a line, in any common spelling.
pub fn find_port(line: &[u8]) -> Option<(Option<String>, u16)> {
    let (host, port) = first_port(line, None)?;
    if host.is_some() {
        return Some((host, port));
    }
    // The first spelling named only the port (`"port":3000` in a JSON record): a later spelling of the
    // same port on the line may name the host (`0.0.0.0:3000`).
    Some((first_port(line, Some(port)).and_then(|(h, _)| h), port))
}

/// The first port (and host) the patterns find on `line`, in their order; with `same_port`, only
/// matches of that port that name a host.
fn first_port(line: &[u8], same_port: Option<u16>) -> Option<(Option<String>, u16)> {
    for re in PORT_PATTERNS.iter() {
        for caps in re.captures_iter(line) {
            let Some(port) = caps
                .name("port")
                .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                .and_then(|s| s.parse::<u16>().ok())
                .filter(|p| *p != 0)
            else {
                continue;
            };
            let host = caps
                .name("host")
                .map(|m| super::bare_host(&String::from_utf8_lossy(m.as_bytes())).to_string())
                .filter(|h| !h.is_empty());
            // `"id":20568` in JSON logs is a key and a number, not a port.
            let start = caps.name("port").map_or(0, |m| m.start());
            let bare = caps.get(0).is_some_and(|m| m.start() + 2 >= start);
            if bare
                && host.is_none()
                && start >= 2
                && line[start - 1] == b':'
                && matches!(line[start - 2], b'"' | b'\'')
            {
                continue;
            }
            if same_port.is_some_and(|p| p != port || host.is_none()) {
                continue;
            }
            return Some((host, port));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        Classifier::builtin().0
    }

    /// `failure` alone is reported once; followed by `after` (the service getting past it), nothing is.
    fn assert_outlived_by(c: &Classifier, failure: &str, after: &str) {
        let alone = c.classify_text(failure);
        assert_eq!(alone.len(), 1, "nothing got past it: {alone:?}");
        let got = c.classify_text(&format!("{failure}{after}"));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn port_patterns_all_compile() {
        assert_eq!(PORT_PATTERNS.len(), 18);
    }

    #[test]
    fn helper_patterns_all_compile() {
        assert!(
            READY_LINE.is_some()
                && RETRYING.is_some()
                && ACTIVATION.is_some()
                && CONFIG_PATH.is_some()
                && SUBPROCESS_PROGRAM.is_some()
                && OPTIONAL_NOTICE.is_some()
                && OTHER_PYTHON_NOTICE.is_some()
                && FETCH_URL.is_some()
                && FAILED_ON_PATH.is_some()
                && TOLERATED_FAILURE.is_some()
                && INFO_LEVEL.is_some()
                && SETTINGS_FROM.is_some()
                && NPM_PATH.is_some()
                && CONFIGURED_PORT.is_some()
                && WARNING_LEVEL.is_some()
                && URL_HOST.is_some()
                && CONNECTING.is_some()
                && RECONNECTED.is_some()
        );
    }

    #[test]
    fn a_bind_failure_without_a_port_takes_the_one_just_announced() {
        let c = classifier();
        let near = "Listening on http://localhost:8000/\nerror: Uncaught (in promise) AddrInUse: Address already in use (os error 98)";
        let got = c.classify_text(near);
        assert_eq!(got[0].facts.port(), Some(8000));
        let mut far = String::from("Listening on http://localhost:8000/\n");
        for i in 0..10 {
            far.push_str(&format!("loading part {i}\n"));
        }
        far.push_str(
            "error: Uncaught (in promise) AddrInUse: Address already in use (os error 98)",
        );
        let got = c.classify_text(&far);
        assert_eq!(got[0].error_type, ErrorType::PortConflict);
        assert_eq!(
            got[0].facts.port(),
            None,
            "an announcement ten lines back is not trusted"
        );
    }

    #[test]
    fn a_refusal_naming_nothing_after_a_server_announcement_is_about_its_port() {
        let c = classifier();
        let got = c.classify_text(
            "[INFO  shop_api] starting HTTP server at 0.0.0.0:80\nError: Os { code: 13, kind: PermissionDenied, message: \"Permission denied\" }",
        );
        assert_eq!(got[0].error_type, ErrorType::PermissionDenied);
        assert_eq!(got[0].facts.port(), Some(80));
        let file = c.classify_text(
            "starting HTTP server at 0.0.0.0:8080\nError: EACCES: permission denied, open '/srv/app/data/app.db'",
        );
        assert_eq!(
            file[0].facts.port(),
            None,
            "a refusal naming a file is about the file"
        );
    }

    #[test]
    fn a_bind_failure_without_a_port_takes_the_port_the_service_was_given() {
        let c = classifier();
        let mut log = String::from("Args {\n    master_port: 29500,\n    port: 8080,\n}\n");
        for i in 0..20 {
            log.push_str(&format!("loading shard {i}\n"));
        }
        log.push_str("thread 'main' panicked at router/src/server.rs:2391:10:\ncalled `Result::unwrap()` on an `Err` value: Os { code: 98, kind: AddrInUse, message: \"Address already in use\" }\n");
        let got = c.classify_text(&log);
        assert_eq!(got[0].error_type, ErrorType::PortConflict);
        assert_eq!(got[0].facts.port(), Some(8080));
        let other = "master_port: 29500\nOSError: [Errno 98] Address already in use";
        assert_eq!(
            c.classify_text(other)[0].facts.port(),
            None,
            "another key ending in port is not the service's"
        );
    }

    #[test]
    fn a_failure_on_a_connection_line_keeps_the_server_it_names() {
        let c = classifier();
        let got = c.classify_text(
            "psycopg2.OperationalError: connection to server at \"postgres\" (172.19.0.2), port 5432 failed: FATAL:  database \"openwebui\" does not exist",
        );
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        assert_eq!(got[0].facts.port(), Some(5432));
        assert_eq!(
            got[0].facts.get("host"),
            Some(&Fact::Text("postgres".into()))
        );
    }

    #[test]
    fn a_config_error_takes_the_file_named_on_the_line_after_it() {
        let c = classifier();
        let got = c.classify_text(
            "✘ [ERROR] Unterminated string\n\n    wrangler.toml:5:23:\n      5 │ main = \"src/index.ts\n",
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        assert_eq!(
            got[0].facts.get("path"),
            Some(&Fact::Text("wrangler.toml".into()))
        );
    }

    #[test]
    fn an_example_printed_under_a_failure_does_not_part_it_from_its_retelling() {
        let c = classifier();
        let mut log = String::from(
            "⚠  firestore: Port 8080 is not open on localhost (127.0.0.1,::1), could not start Firestore Emulator.\n",
        );
        for i in 0..14 {
            log.push_str(&format!("      \"key{i}\": \"value\",\n"));
        }
        log.push_str("i  emulators: Shutting down emulators.\nError: Could not start Firestore Emulator, port taken.\n");
        let got = c.classify_text(&log);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].facts.port(), Some(8080));
    }

    #[test]
    fn a_failure_logged_as_a_warning_that_the_service_gets_past_is_not_one() {
        let c = classifier();
        let warned = "[2026-11-29 10:36:01,002] WARN [RaftManager id=1] Graceful shutdown timed out after 5000ms\n[2026-11-29 10:36:01,402] INFO [KafkaRaftServer nodeId=1] Kafka Server started\n";
        assert!(c.classify_text(warned).is_empty());
        let stopped = "[2026-11-29 10:36:01,002] WARN [RaftManager id=1] Graceful shutdown timed out after 5000ms\n";
        assert_eq!(
            c.classify_text(stopped).len(),
            1,
            "a warning nothing got past is still reported"
        );
        let error = "[2026-11-29 10:36:01,002] ERROR [RaftManager id=1] Graceful shutdown timed out after 5000ms\n[2026-11-29 10:36:01,402] INFO [KafkaRaftServer nodeId=1] Kafka Server started\n";
        assert_eq!(c.classify_text(error).len(), 1, "an error is not a warning");
        // winston's level after a timestamp, then a tab.
        let winston = "2026-11-28T10:44:02.031Z warn: \tSession secret not set. Please set `sessionSecret` in your config.js file.\n2026-11-28T10:44:03.131Z info: \tHTTP Server listening at 0.0.0.0:3000\n";
        assert!(c.classify_text(winston).is_empty());
        // A warning just after the service said it was up is not a startup failure.
        let after_ready = "22:21:02.119 INF [api] listen addr=:1984\n22:21:05.402 WRN [webrtc] can't get public IP error=\"dial tcp: lookup api.ipify.org: no such host\"\n";
        assert!(c.classify_text(after_ready).is_empty());
        let error_after_ready = "22:21:02.119 INF [api] listen addr=:1984\n22:21:05.402 ERR [webrtc] can't get public IP error=\"dial tcp: lookup api.ipify.org: no such host\"\n";
        assert_eq!(
            c.classify_text(error_after_ready).len(),
            1,
            "an error is not a warning"
        );
        // Tornado's `[W …]`, then "is now running at" as the ready line.
        let tornado = "[W 2026-11-28 13:55:10.410 JupyterHub app:1893] JupyterHub.config_file /etc/jupyterhub/jupyterhub_config.py does not exist\n[I 2026-11-28 13:55:12.331 JupyterHub app:3376] JupyterHub is now running at http://:8000\n";
        assert!(c.classify_text(tornado).is_empty());
    }

    #[test]
    fn a_headline_gives_way_to_the_cause_printed_after_it() {
        let c = classifier();
        let got = c.classify_text(
            " ⨯ Failed to load next.config.mjs, see more info here https://nextjs.org/docs/messages/next-config-error\n\n> Build error occurred\nError: Cannot find module '@next/bundle-analyzer'\nRequire stack:\n- /home/ana/web/next.config.mjs\n",
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(
            got[0].facts.get("module"),
            Some(&Fact::Text("@next/bundle-analyzer".into()))
        );
    }

    #[test]
    fn a_refused_connection_naming_nothing_takes_the_server_it_was_connecting_to() {
        let c = classifier();
        let got = c.classify_text(
            "INFO worker: connecting to redis at redis://127.0.0.1:6379\nError: Connection refused (os error 111)\n",
        );
        assert_eq!(got[0].error_type, ErrorType::NetworkError);
        assert_eq!(got[0].facts.port(), Some(6379));
        assert_eq!(
            got[0].facts.get("host"),
            Some(&Fact::Text("127.0.0.1".into()))
        );
    }

    #[test]
    fn ports_in_every_spelling() {
        let cases: &[(&str, u16, Option<&str>)] = &[
            (
                r#"{"level":50,"err":{"message":"listen EADDRINUSE","port":3000},"msg":"listen EADDRINUSE: address already in use 0.0.0.0:3000"}"#,
                3000,
                Some("0.0.0.0"),
            ),
            (
                "Caused by: io.lettuce.core.RedisConnectionException: Unable to connect to cache/<unresolved>:6379",
                6379,
                Some("cache"),
            ),
            (
                "SocketException: Failed to create server socket (OS Error: Address already in use, errno = 98), address = 0.0.0.0, port = 8080",
                8080,
                Some("0.0.0.0"),
            ),
            (
                "redis.exceptions.ConnectionError: Error -3 connecting to redis:6379.",
                6379,
                Some("redis"),
            ),
            (
                "[error] [net] TCP connection failed: loki:3100 (Connection refused)",
                3100,
                Some("loki"),
            ),
            (
                "Error: listen EADDRINUSE: address already in use :::3000",
                3000,
                Some("::"),
            ),
            (
                "error while attempting to bind on address ('127.0.0.1', 8000): address already in use",
                8000,
                Some("127.0.0.1"),
            ),
            (
                "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
                80,
                Some("0.0.0.0"),
            ),
            (
                "Web server failed to start. Port 8080 was already in use.",
                8080,
                None,
            ),
            (
                "HINT:  Is another postmaster already running on port 5432?",
                5432,
                None,
            ),
            (
                "OSError: Cannot find empty port in range: 7860-7860.",
                7860,
                None,
            ),
            (
                "Could not create server TCP listening socket *:6379: bind: Address already in use",
                6379,
                Some("*"),
            ),
            ("Running on http://127.0.0.1:5000", 5000, Some("127.0.0.1")),
            ("listen tcp :8080: bind: address already in use", 8080, None),
            (
                "Error: connect ECONNREFUSED 127.0.0.1:5432",
                5432,
                Some("127.0.0.1"),
            ),
            (
                "Error 111 connecting to localhost:6379. Connection refused.",
                6379,
                Some("localhost"),
            ),
            ("  port: 3000", 3000, None),
            (
                "[ERROR] [clearml.initialize] Elastic host: elasticsearch:9200",
                9200,
                Some("elasticsearch"),
            ),
            (
                r#"{"level":"error","port":3000,"msg":"listen failed"}"#,
                3000,
                None,
            ),
            (
                "Failed to bind to address http://[::1]:5000: address already in use.",
                5000,
                Some("::1"),
            ),
        ];
        for (line, port, host) in cases {
            let got = find_port(line.as_bytes());
            assert_eq!(got.as_ref().map(|g| g.1), Some(*port), "{line}");
            assert_eq!(got.and_then(|g| g.0).as_deref(), *host, "{line}");
        }
        for line in [
            "2024-01-15 10:00:00,123 INFO started",
            "at Server.listen (node:net:1817:16)",
            "took 12:30",
            r#"{"ctx":"listen","id":20568,"msg":"x"}"#,
        ] {
            assert_eq!(find_port(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn ansi_is_stripped_and_unterminated_escapes_are_safe() {
        assert_eq!(&*strip_ansi(b"\x1b[31mError\x1b[0m: x"), b"Error: x");
        assert_eq!(
            &*strip_ansi(b"a\x1b]8;;http://x\x07link\x1b]8;;\x07b"),
            b"alinkb"
        );
        assert_eq!(&*strip_ansi(b"ok\x1b[31"), b"ok");
        assert_eq!(&*strip_ansi(b"ok\x1b"), b"ok");
    }

    #[test]
    fn traceback_type_comes_from_the_exception_line_not_a_frame_path() {
        let log = "Traceback (most recent call last):\n  File \"/srv/app/config/settings_loader.py\", line 3, in <module>\n    import torch\nModuleNotFoundError: No module named 'torch'\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].line, 4);
        assert_eq!(got[0].first_line, 1);
        assert_eq!(got[0].facts.text("module"), Some("torch"));
        assert_eq!(got[0].context.len(), 4);
    }

    #[test]
    fn unexplained_traceback_is_process_failed() {
        let log = "Traceback (most recent call last):\n  File \"app.py\", line 1, in <module>\n    1/0\nZeroDivisionError: division by zero\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].error_type, ErrorType::ProcessFailed);
        assert_eq!(got[0].message, "ZeroDivisionError: division by zero");
    }

    #[test]
    fn consequences_join_the_incident_before_them() {
        let log =
            "2024/01/15 10:00:00 listen tcp :8080: bind: address already in use\nexit status 1\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::PortConflict);
        assert_eq!(got[0].facts.port(), Some(8080));
        assert_eq!(got[0].facts.int("exit_code"), Some(1));
    }

    #[test]
    fn a_process_managers_name_prefix_is_not_part_of_the_line() {
        assert_eq!(
            strip_service_prefix(b"web-1  | /bin/sh: 1: exec: gunicorn: not found"),
            b"/bin/sh: 1: exec: gunicorn: not found"
        );
        assert_eq!(
            strip_service_prefix(b"0|api      | listening"),
            b"listening"
        );
        assert_eq!(
            strip_service_prefix(b"14:20:01 web.1  | started"),
            b"started"
        );
        assert_eq!(
            strip_service_prefix(b"14:20:01    web | Error: listen EADDRINUSE"),
            b"Error: listen EADDRINUSE"
        );
        assert_eq!(strip_service_prefix(b"web-1  |"), b"");
        assert_eq!(
            strip_service_prefix(b"a | b is a table cell"),
            b"b is a table cell"
        );
        assert_eq!(strip_service_prefix(b"| header |"), b"| header |");
        assert_eq!(strip_service_prefix(b"x||y"), b"x||y");
        assert_eq!(
            strip_error_glyph(" ⨯ Error: API_URL is not set".as_bytes()),
            b"Error: API_URL is not set"
        );
        assert_eq!(
            strip_error_glyph(" ⨯ TypeError: fetch failed".as_bytes()),
            b"TypeError: fetch failed"
        );
        assert_eq!(
            strip_runner_tag(b"[api]       throw er;"),
            b"      throw er;"
        );
        assert_eq!(strip_runner_tag(b"[db       ] 12:30 INF x"), b"12:30 INF x");
        assert_eq!(strip_runner_tag(b"[0] Error: x"), b"Error: x");
        assert_eq!(
            strip_runner_tag(b"[UI]   code: 'EADDRINUSE',"),
            b"  code: 'EADDRINUSE',"
        );
        assert_eq!(strip_runner_tag(b"[WORKER_2] ok"), b"ok");
        assert_eq!(strip_runner_tag(b"***   File \"x.py\""), b"  File \"x.py\"");
        let banner = &b"*** FATAL CONFIG FILE ERROR (Redis 7.4.1) ***"[..];
        assert_eq!(strip_runner_tag(banner), banner);
        for kept in [
            &b"[error] boom"[..],
            b"[nodemon] app crashed",
            b"[15:41:05] x",
            b"[PM2] Done",
            b"[ERROR] boom",
            b"[WRN] retrying",
            b"[HPM] Error occurred while proxying request",
            b"[E] boom",
            b"[OneTrainer] Error: x",
            b"[api]x",
            b"[4120:0x6b3c000] heap",
        ] {
            assert_eq!(strip_runner_tag(kept), kept);
        }
        let kept = " ✘ Container app-db-1   Error".as_bytes();
        assert_eq!(strip_error_glyph(kept), kept);
        let kept = " ⨯ Failed to start server".as_bytes();
        assert_eq!(strip_error_glyph(kept), kept);
        let got = classifier().classify_text(
            "web-1  | /bin/sh: 1: exec: gunicorn: not found\nweb-1 exited with code 127\n",
        );
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].facts.text("command"), Some("gunicorn"));
        assert_eq!(got[0].facts.int("exit_code"), Some(127));
    }

    #[test]
    fn an_error_line_the_service_outlives_is_not_a_startup_failure() {
        let c = classifier();
        let outlived = "level=error msg=\"Could not register plugin\"\nlevel=info msg=\"HTTP Server Listen\" address=[::]:3000\n";
        assert!(c.classify_text(outlived).is_empty());
        let fatal = "level=error msg=\"Could not register plugin\"\nshutting down\n";
        assert_eq!(c.classify_text(fatal)[0].error_type, ErrorType::Unknown);
        // A failure it said it would retry, then recovered from.
        let recovered = "WARNING database not ready (connection refused), retrying in 2s\nINFO database is up\nUvicorn running on http://0.0.0.0:8000\n";
        assert!(c.classify_text(recovered).is_empty());
        let gave_up = "ERROR Cannot connect to redis://localhost:6379/0: Error 111 connecting to localhost:6379. Connection refused.\nTrying again in 2.00 seconds... (1/100)\n";
        assert_eq!(
            c.classify_text(gave_up)[0].error_type,
            ErrorType::NetworkError
        );
        // The same when the supervisor's probe, not a log line, says the service is up.
        let mut stream = c.stream();
        let mut out = Vec::new();
        stream.push(
            "WARNING database not ready (connection refused), retrying in 2s",
            &mut out,
        );
        stream.service_ready(&mut out);
        stream.flush(&mut out);
        assert!(out.is_empty(), "{out:#?}");
        let mut stream = c.stream();
        stream.push(
            "Error: listen EADDRINUSE: address already in use :::3000",
            &mut out,
        );
        stream.service_ready(&mut out);
        stream.flush(&mut out);
        assert_eq!(out.len(), 1, "a real cause is kept");
        // A real cause stays an incident even when the server announces itself afterwards.
        let strong = "Error: listen EADDRINUSE: address already in use :::3000\nlistening on http://0.0.0.0:3000\n";
        assert_eq!(
            c.classify_text(strong)[0].error_type,
            ErrorType::PortConflict
        );
    }

    #[test]
    fn bare_error_lines_take_their_kind_from_the_words_around_them() {
        let c = classifier();
        let log = "error: failed to run custom build command for `openssl-sys v0.9.104`\n  Could not find directory of the library, and this crate cannot proceed.\n  Is OpenSSL installed? On Ubuntu that is `libssl-dev`.\n";
        let got = c.classify_text(log);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].rule_id.as_deref(), Some("hint_dependency"));
        // Nothing that says a kind: still unknown.
        let got = c.classify_text("error: the build step returned 3\n");
        assert_eq!(got[0].error_type, ErrorType::Unknown);
        // Two kinds of the same weight: unknown rather than a guess.
        let got = c.classify_text("ERROR: sync stopped (permission, proxy)\n");
        assert_eq!(got[0].error_type, ErrorType::Unknown, "{got:#?}");
        // A kind that reads ports gets one from the block.
        let got = c.classify_text("ERROR: backend gave up\n  the port 8188 is busy\n");
        assert_eq!(got[0].error_type, ErrorType::PortConflict, "{got:#?}");
        assert_eq!(got[0].facts.port(), Some(8188));
        // A line that starts with a failure phrase is a bare error line too.
        let got = c.classify_text("Cannot continue without the development headers\n");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing, "{got:#?}");
        // Hints never raise anything on their own.
        assert!(
            c.classify_text(
                "Successfully built the configuration; network permission granted, 3 installed\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_crash_whose_message_says_what_could_not_be_done_takes_its_kind_from_it() {
        let c = classifier();
        let stack = "\n    at getPath (/app/node_modules/tool/index.js:17:11)\n";
        let got = c.classify_text(&format!(
            "Error: the tool failed to unpack its binary; please reinstall it{stack}"
        ));
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing, "{got:#?}");
        // Only a kind word, no failure: still a crash.
        let got = c.classify_text(&format!("RangeError: Invalid time value{stack}"));
        assert_eq!(got[0].error_type, ErrorType::ProcessFailed, "{got:#?}");
        // A typed crash still gives way to the cause printed right after it.
        let got = c.classify_text("RuntimeError: Couldn't install torch.\nstderr: ERROR: No matching distribution found for torch==2.1.2\n");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(
            got[0].facts.get("module").map(|f| f.to_string()),
            Some("torch".into())
        );
    }

    #[test]
    fn a_traceback_printed_indented_is_read_from_its_own_margin() {
        // A1111 prints an extension's traceback indented under "*** Error loading script", then starts.
        let log = "*** Error loading script: animatediff.py\n    Traceback (most recent call last):\n      File \"/sd/scripts/animatediff.py\", line 4, in <module>\n        import imageio\n    ModuleNotFoundError: No module named 'imageio'\n\n---\nRunning on local URL:  http://127.0.0.1:7860\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(
            got[0].facts.get("module").map(|f| f.to_string()),
            Some("imageio".into())
        );
    }

    #[test]
    fn a_traceback_announced_as_optional_is_outlived_only_when_the_service_gets_ready() {
        let c = classifier();
        let traceback = "Traceback (most recent call last):\n  File \"/venv/xformers/__init__.py\", line 57, in _is_triton_available\n    import triton\nModuleNotFoundError: No module named 'triton'\n";
        let notice = "A matching Triton is not available, some optimizations will not be enabled\n";
        let ready = "Starting server\n\nTo see the GUI go to: http://127.0.0.1:8188\n";
        assert!(
            c.classify_text(&format!("{notice}{traceback}{ready}"))
                .is_empty()
        );
        // Announced as optional, but the service never got ready: still why it failed.
        let got = c.classify_text(&format!("{notice}{traceback}"));
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        // Not announced (a custom node that failed to import): kept though the server came up.
        let got = c.classify_text(&format!(
            "Import times for custom nodes:\n{traceback}{ready}"
        ));
        assert_eq!(got.len(), 1, "{got:#?}");
    }

    #[test]
    fn a_source_excerpt_marked_by_a_caret_is_not_the_error() {
        let log = "/app/node_modules/config/lib/config.js:1000\n    throw new Error(\"Cannot parse config file: '\" + name + \"': \" + e3);\n    ^\n\nError: Cannot parse config file: '/app/config/default.json': SyntaxError: Unexpected token\n    at Config.parseFile (/app/node_modules/config/lib/config.js:1000:11)\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0]
                .message
                .starts_with("Error: Cannot parse config file"),
            "{}",
            got[0].message
        );
        assert_eq!(got[0].facts.text("path"), Some("/app/config/default.json"));
        assert!(is_caret_line(b"   |         ^^^^^^^ help: prefix it"));
        assert!(!is_caret_line(b"^C"));
    }

    #[test]
    fn a_bare_exit_status_of_127_or_126_says_what_the_shell_meant() {
        let c = classifier();
        assert_eq!(
            c.classify_text("web-1 exited with code 127\n")[0].error_type,
            ErrorType::DependencyMissing
        );
        assert_eq!(
            c.classify_text("exit status 126\n")[0].error_type,
            ErrorType::PermissionDenied
        );
        assert_eq!(
            c.classify_text("exit status 1\n")[0].error_type,
            ErrorType::ProcessFailed
        );
        let crash = "Segmentation fault (core dumped)\nexit status 127\n";
        assert_eq!(
            c.classify_text(crash)[0].error_type,
            ErrorType::ProcessFailed,
            "a stated cause wins"
        );
    }

    #[test]
    fn an_announcement_and_a_causeless_crash_join_the_failure_they_belong_to() {
        let c = classifier();
        let spring = "ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed\n\njava.lang.NullPointerException: boom\n\tat com.shop.App.main(App.java:12)\n";
        let got = c.classify_text(spring);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].message.starts_with("java.lang.NullPointerException"),
            "{}",
            got[0].message
        );
        assert_eq!(got[0].first_line, 1);
        let next = " ⨯ Failed to load next.config.js, see more info here\n\n> Build error occurred\nSyntaxError: Unexpected token '}'\n    at internalCompileFunction (node:internal/vm:76:18)\n";
        let got = c.classify_text(next);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        assert_eq!(got[0].facts.text("path"), Some("next.config.js"));
        // After an exit status, a failure is a new run's.
        let two_runs = "exit status 1\nrestarting api\nError: listen EADDRINUSE: address already in use :::3000\n";
        assert_eq!(c.classify_text(two_runs).len(), 2);
    }

    #[test]
    fn a_python_exception_whose_message_follows_on_the_next_lines_is_one_incident() {
        let log = "Traceback (most recent call last):\n  File \"/app/load.py\", line 5, in <module>\n    tok = LlamaTokenizer.from_pretrained(MODEL)\nImportError: \nLlamaTokenizer requires the SentencePiece library but it was not found in your environment. Checkout the\ninstallation page of its repo.\n\nINFO shutting down\n";
        let got = classifier().classify_text(log);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].facts.text("module"), Some("SentencePiece"));
    }

    #[test]
    fn a_crash_headline_gives_way_to_the_cause_after_it() {
        let got = classifier()
            .classify_text("Build failed.\n\n@parcel/core: Port \"1234\" could not be used\n");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].error_type, ErrorType::PortConflict);
        assert_eq!(got[0].facts.port(), Some(1234));
        assert_eq!(got[0].first_line, 1);
    }

    #[test]
    fn a_config_error_that_names_no_file_takes_the_one_in_its_code_or_just_before() {
        let c = classifier();
        let framed = "Traceback (most recent call last):\n  File \"/app/server.py\", line 41, in <module>\n    settings = load_settings(\"settings.json\")\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n";
        assert_eq!(
            c.classify_text(framed)[0].facts.text("path"),
            Some("settings.json")
        );
        let before = "Loading config from conf/app.yaml\nyaml.scanner.ScannerError: mapping values are not allowed here\n";
        assert_eq!(
            c.classify_text(before)[0].facts.text("path"),
            Some("conf/app.yaml")
        );
        let unrelated = "yaml.scanner.ScannerError: mapping values are not allowed here\n";
        assert_eq!(c.classify_text(unrelated)[0].facts.text("path"), None);
    }

    #[test]
    fn a_missing_program_is_read_from_the_subprocess_call() {
        let log = "Traceback (most recent call last):\n  File \"C:\\sd\\launch.py\", line 88, in commit_hash\n    return subprocess.check_output([\"git\", \"rev-parse\", \"HEAD\"])\nFileNotFoundError: [WinError 2] The system cannot find the file specified\n";
        let got = classifier().classify_text(log);
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].facts.text("command"), Some("git"));
    }

    #[test]
    fn streaming_equals_batch_and_flush_releases_held_incidents() {
        let c = classifier();
        let log = "INFO boot\nError: listen EADDRINUSE: address already in use :::3000\n    at Server.setupListenHandle (node:net:1817:16)\n";
        let mut s = c.stream();
        let mut out = Vec::new();
        for line in log.lines() {
            s.push(line, &mut out);
        }
        assert!(out.is_empty(), "held until the block ends");
        s.flush(&mut out);
        assert_eq!(out, c.classify_text(log));
        assert_eq!(s.lines_seen(), 3);
    }

    #[test]
    fn pip_finding_no_build_after_a_wrong_python_notice_is_the_environments_fault() {
        let c = classifier();
        let pip = "ERROR: No matching distribution found for torch==2.3.1\n";
        let alone = c.classify_text(pip);
        assert_eq!(alone[0].error_type, ErrorType::DependencyMissing);
        let noticed = format!(
            "INCOMPATIBLE PYTHON VERSION\n\nThis program is tested with 3.10.6 Python, but you have 3.13.0.\nInstalling torch and torchvision\n{pip}"
        );
        let got = c.classify_text(&noticed);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::VirtualEnvError);
        assert_eq!(
            got[0].facts.get("module"),
            Some(&Fact::Text("torch".into()))
        );
    }

    #[test]
    fn a_network_failure_takes_the_host_it_was_fetching_and_the_port_written_after_that_host() {
        let c = classifier();
        let fetch = "Downloading: \"https://huggingface.co/lllyasviel/misc/resolve/main/x.pth\" to /m/x.pth\n\nTraceback (most recent call last):\n  File \"/app/x.py\", line 1, in <module>\n    f()\nurllib.error.URLError: <urlopen error [Errno 11001] getaddrinfo failed>\n";
        let got = c.classify_text(fetch);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::NetworkError);
        assert_eq!(
            got[0].facts.get("host"),
            Some(&Fact::Text("huggingface.co".into()))
        );
        let mongo = "error: MongooseServerSelectionError: getaddrinfo ENOTFOUND mongodb\n    servers: Map(1) { 'mongodb:27017' => [ServerDescription] },\n";
        let got = c.classify_text(mongo);
        assert_eq!(got[0].facts.port(), Some(27017), "{got:?}");
        assert_eq!(
            port_after_host(b"'xmongodb:1' 'mongodb:27017'", b"mongodb"),
            Some(27017)
        );
        assert_eq!(port_after_host(b"mongodb:27017x", b"mongodb"), None);
    }

    #[test]
    fn a_package_named_as_pip_spells_it_and_as_python_imports_it_is_one_failure() {
        let c = classifier();
        let text = "comfyui-frontend-package is not installed. Please install the updated requirements.txt\nTraceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\n    import comfyui_frontend_package\nModuleNotFoundError: No module named 'comfyui_frontend_package'\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert!(same_fact(
            "module",
            &Fact::Text("Foo.Bar-baz".into()),
            &Fact::Text("foo_bar_baz".into())
        ));
        assert!(!same_fact(
            "path",
            &Fact::Text("a-b".into()),
            &Fact::Text("a_b".into())
        ));
    }

    #[test]
    fn a_bare_error_line_then_only_it_failed_takes_its_kind_from_the_bare_line() {
        let c = classifier();
        let bare = "2026-11-28 18:00:01 | ERROR | api.models:load:44 - MODEL_DIR=/models/x does not exist or is empty";
        let failed = "ERROR:    Application startup failed. Exiting.";
        for text in [
            format!("{bare}\n{failed}\n"),
            format!("{bare}\nINFO:     Shutting down\n{failed}\n"),
        ] {
            let got = c.classify_text(&text);
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(got[0].error_type, ErrorType::ConfigInvalid, "{text}");
            assert_eq!(got[0].line, 1);
        }
        // Without words that name a kind, the consequence stays a crash.
        let got = c.classify_text(&format!("2026-11-28 18:00:01 | ERROR | boom\n{failed}\n"));
        assert_eq!(got[0].error_type, ErrorType::ProcessFailed);
    }

    #[test]
    fn a_list_of_alternatives_is_not_the_failure() {
        let c = classifier();
        let text = "Unable to pick a default driver. Here is what was considered:\n    - docker: Not healthy: permission denied while trying to connect to the Docker daemon socket\nAlternatively you could install one of these drivers:\n    - kvm2: Not installed: exec: \"virsh\": executable file not found in $PATH\n\nExiting due to DRV_NOT_HEALTHY\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::PermissionDenied);
        // Without the header the same indented line is read.
        let got = c.classify_text(
            "    - kvm2: Not installed: exec: \"virsh\": executable file not found in $PATH\n",
        );
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
    }

    #[test]
    fn a_product_spelling_gives_way_to_the_executable_the_line_names() {
        let c = classifier();
        let got = c.classify_text(
            "ImportError: FFmpeg is not installed. Please install FFmpeg (including ffmpeg and ffprobe) before running this script.\n",
        );
        assert_eq!(got[0].facts.text("command"), Some("ffmpeg"));
        // With no lower-case spelling on the line, the name stays as printed.
        let got = c.classify_text("FFmpeg is not installed\n");
        assert_eq!(got[0].facts.text("command"), Some("FFmpeg"));
        // A web address is not a spelling of the executable.
        let got = c.classify_text(
            "Error: Cannot find Delve debugger. Install from https://github.com/go-delve/delve & ensure it is in your Go tools path.\n",
        );
        assert_eq!(got[0].facts.text("command"), Some("Delve"));
    }

    #[test]
    fn a_debugger_that_could_not_start_is_outlived_if_the_program_runs_without_it() {
        let c = classifier();
        let failed = "Starting inspector on 127.0.0.1:9229 failed: address already in use\n";
        let got = c.classify_text(failed);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].facts.port(), Some(9229));
        let ran_on = format!("{failed}shop api listening on http://localhost:3000\n");
        assert!(c.classify_text(&ran_on).is_empty());
    }

    #[test]
    fn a_failure_that_says_it_is_tolerated_is_outlived_if_the_service_gets_ready() {
        let c = classifier();
        let offline = "Cannot update models (normal if you're offline): <urlopen error [Errno -3] Temporary failure in name resolution>\n";
        assert_outlived_by(&c, offline, "Running on http://127.0.0.1:5000\n");
        // ONNX Runtime runs on the CPU when a provider's library cannot be loaded.
        let provider = "[E:onnxruntime:Default, provider_bridge_ort.cc:1848 TryGetProviderInfo_CUDA] Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory\n";
        assert_outlived_by(
            &c,
            provider,
            "* Running on local URL:  http://127.0.0.1:7860\n",
        );
        // A dotenv loader that found no .env file: outlived when the server comes up, a failure when
        // the program stops there (godotenv under log.Fatal).
        let dotenv =
            "2026/11/29 15:00:00 Could not load .env file: open .env: no such file or directory\n";
        assert_outlived_by(
            &c,
            dotenv,
            "2026/11/29 15:00:00 Photoview UI public server listening at http://localhost:4001/\n",
        );
        let got = c.classify_text(&format!("{dotenv}exit status 1\n"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
    }

    #[test]
    fn a_ready_line_indented_in_a_box_ends_the_error_before_it() {
        let c = classifier();
        let error = " ERROR  Cannot copy server address to clipboard: Couldn't find the `xsel` binary\n\n   ┌──────────────┐\n";
        assert_outlived_by(
            &c,
            error,
            "   │   Serving!   │\n   │   - Local:    http://localhost:3000   │\n",
        );
    }

    #[test]
    fn a_refused_database_address_names_its_host() {
        let c = classifier();
        let got = c.classify_text("Error: Unable to connect to postgres://martin@localhost/gis: error connecting to server: Connection refused (os error 111)\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].facts.text("host"), Some("localhost"));
    }

    #[test]
    fn a_warning_it_retries_is_outlived_when_ordinary_work_goes_on() {
        let c = classifier();
        let warned = "time=\"2026-11-29T20:31:12Z\" level=warning msg=\"cannot fetch task: connection refused, retrying\"\n";
        assert_outlived_by(
            &c,
            warned,
            "time=\"2026-11-29T20:31:22Z\" level=info msg=\"task 1 repo is shop/web\"\n",
        );
        // Not for an error, and not for a warning that did not say it would retry.
        let error = "time=\"2026-11-29T20:31:12Z\" level=error msg=\"cannot fetch task: connection refused, retrying\"\ntime=\"2026-11-29T20:31:22Z\" level=info msg=\"task 1 repo is shop/web\"\n";
        assert_eq!(c.classify_text(error).len(), 1, "{error}");
        let once = "time=\"2026-11-29T20:31:12Z\" level=warning msg=\"cannot fetch task: connection refused\"\ntime=\"2026-11-29T20:31:22Z\" level=info msg=\"shutting down\"\n";
        assert_eq!(c.classify_text(once).len(), 1, "{once}");
    }

    #[test]
    fn a_debuggers_listen_port_is_the_one_it_could_not_bind() {
        let c = classifier();
        let text = "$ python -m debugpy --listen 5678 --wait-for-client -m uvicorn app.main:app --port 8000\nRuntimeError: Can't listen for client connections: [Errno 98] Address already in use\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].facts.port(), Some(5678));
        assert_eq!(
            find_port(b"dlv debug --headless --listen=127.0.0.1:2345"),
            Some((Some("127.0.0.1".to_string()), 2345))
        );
        // An IPv6 host is named without its brackets.
        assert_eq!(
            find_port(b"listen tcp [::1]:8080: bind: cannot assign requested address"),
            Some((Some("::1".to_string()), 8080))
        );
    }

    #[test]
    fn a_crash_block_that_only_says_something_ended_joins_the_failure_before_it() {
        let c = classifier();
        let cause = "> SDK location not found. Define a valid SDK location with an ANDROID_HOME environment variable.";
        let mut text = format!(
            "{cause}\n\n* Try:\n> Run with --stacktrace option to get the stack trace.\n\nBUILD FAILED in 6s\n"
        );
        text.push_str("error Failed to install the app. Make sure you have the Android development environment set up: https://reactnative.dev/docs/environment-setup.\n");
        text.push_str("Error: Command failed with exit code 1: ./gradlew app:installDebug\n");
        let got = c.classify_text(&text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        // Alone, the same block is still reported.
        let got =
            c.classify_text("Error: Command failed with exit code 1: ./gradlew app:installDebug\n");
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn a_retried_connection_that_then_connects_was_got_past() {
        let c = classifier();
        let failed = "{\"event\": \"PostgreSQL connection failed, retrying... (could not translate host name \\\"postgresql\\\" to address: Name or service not known)\", \"level\": \"info\"}";
        let got = c.classify_text(&format!("{failed}\n{failed}\n"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::NetworkError);
        assert_eq!(got[0].facts.text("host"), Some("postgresql"));
        let got = c.classify_text(&format!(
            "{failed}\n{{\"event\": \"PostgreSQL connection successful\", \"level\": \"info\"}}\n"
        ));
        assert!(got.is_empty(), "{got:?}");
        // "Waiting 1s" after a failed ping is a retry; "Connected to Redis broker." a connection.
        let ping = "Redis ping #0 failed.\nError: Error 111 connecting to broker:6379. Connection refused..\nWaiting 1s\n";
        assert_outlived_by(&c, ping, "Connected to Redis broker.\n");
    }

    #[test]
    fn a_retried_connection_that_ends_in_a_timeout_is_the_timeout() {
        let c = classifier();
        let refused = "Problem with dial: dial tcp 172.20.0.3:5432: connect: connection refused.";
        let gave_up =
            "Timeout after 30s waiting on dependencies to become available: [tcp://db:5432]";
        // Retried ("Sleeping 1s"), then given up a few lines on: one incident, the timeout.
        let got = c.classify_text(&format!(
            "{refused} Sleeping 1s\nstill waiting for db\nstill waiting for db\n{gave_up}\n"
        ));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::TimeoutError);
        assert_eq!(got[0].facts.text("host"), Some("db"));
        assert_eq!(got[0].facts.port(), Some(5432));
        // Not retried: the refusal stays an incident of its own.
        let got = c.classify_text(&format!(
            "{refused}\nstill waiting for db\nstill waiting for db\n{gave_up}\n"
        ));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::NetworkError);
    }

    #[test]
    fn the_deepest_cause_of_a_chain_gives_the_facts() {
        let c = classifier();
        let text = "org.springframework.context.ApplicationContextException: Unable to start web server\n\tat org.springframework.boot.SpringApplication.run(SpringApplication.java:335)\nCaused by: org.springframework.boot.web.server.WebServerException: Could not load key store 'classpath:ks.p12'\n\t... 16 common frames omitted\nCaused by: java.io.FileNotFoundException: class path resource [ks.p12] cannot be resolved to URL because it does not exist\n\t... 22 common frames omitted\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        assert_eq!(got[0].facts.text("path"), Some("ks.p12"));
    }

    /// The type of the incident a Python traceback of one frame gives, whose source line is `code` and
    /// which ends in `exception`.
    fn type_raised_under(c: &Classifier, code: &str, exception: &str) -> ErrorType {
        let traceback = format!(
            "Traceback (most recent call last):\n  File \"/srv/app/server.py\", line 124, in start\n    {code}\n{exception}\n"
        );
        c.classify_text(&traceback)[0].error_type
    }

    #[test]
    fn a_python_error_naming_nothing_is_read_with_the_code_that_raised_it() {
        let c = classifier();
        let missing = "FileNotFoundError: [Errno 2] No such file or directory";
        for (code, expected) in [
            (
                "ctx.load_cert_chain(certfile, keyfile, get_password)",
                ErrorType::ConfigInvalid,
            ),
            ("data = handle.read()", ErrorType::ProcessFailed),
        ] {
            assert_eq!(type_raised_under(&c, code, missing), expected, "{code}");
        }
    }

    #[test]
    fn a_module_attribute_looked_up_by_a_runtime_name_is_a_wrong_setting() {
        let c = classifier();
        let missing = "AttributeError: module 'main' has no attribute 'application'";
        // A name written in the code is the program's own mistake (or another version's API).
        for (code, expected) in [
            ("return getattr(module, target)", ErrorType::ConfigInvalid),
            ("return module.application", ErrorType::ProcessFailed),
            (
                "return getattr(module, \"application\")",
                ErrorType::ProcessFailed,
            ),
        ] {
            assert_eq!(type_raised_under(&c, code, missing), expected, "{code}");
        }
    }

    #[test]
    fn a_traceback_a_logger_prefixed_line_by_line_is_one_incident() {
        let c = classifier();
        let p = |ms: u32| format!("14:42:18.{ms:03} [Warning] [ComfyUI-0/STDERR] ");
        let text = format!(
            "{}Traceback (most recent call last):\n{}  File \"C:\\comfy\\main.py\", line 147, in <module>\n{}    import torchsde\n{}ModuleNotFoundError: No module named 'torchsde'\n",
            p(4),
            p(4),
            p(5),
            p(16)
        );
        let got = c.classify_text(&text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(got[0].facts.text("module"), Some("torchsde"));
        // Another logger's line after it is not part of the traceback.
        let got = c.classify_text(&format!(
            "{text}14:42:18.210 [Error] Self-start ComfyUI-0 on port 7821 failed.\n"
        ));
        assert_eq!(got[0].error_type, ErrorType::DependencyMissing);
        assert_eq!(strip_same_prefix(b"09:01 [w] x", b"12:30 [w] "), b"x");
        assert_eq!(
            strip_same_prefix(b"09:01 [e] x", b"12:30 [w] "),
            b"09:01 [e] x"
        );
        assert_eq!(
            traceback_line_prefix(b"Traceback (most recent call last):"),
            b""
        );
        assert_eq!(
            traceback_line_prefix(b"    Traceback (most recent call last):"),
            b""
        );
    }

    #[test]
    fn an_error_reports_location_line_gives_the_path() {
        let c = classifier();
        let text = "12:08:01 [ERROR] [content] InvalidContentEntryDataError: docs → guides/setup data does not match collection schema.\n\n  title: Required\n\n  Location:\n    /home/dev/docs/src/content/docs/guides/setup.md:0:0\n";
        let got = c.classify_text(text);
        assert_eq!(got[0].error_type, ErrorType::ConfigInvalid);
        assert_eq!(
            got[0].facts.text("path"),
            Some("/home/dev/docs/src/content/docs/guides/setup.md")
        );
        // A file whose name ends in digits keeps them when no line and column follow.
        let got = c.classify_text(&text.replace("setup.md:0:0", "v2"));
        assert_eq!(
            got[0].facts.text("path"),
            Some("/home/dev/docs/src/content/docs/guides/v2")
        );
    }

    #[test]
    fn a_subcommand_a_tool_lacks_is_the_program_named_after_both() {
        let c = classifier();
        let got = c.classify_text("git: 'lfs' is not a git command. See 'git --help'.\n");
        assert_eq!(got[0].facts.text("command"), Some("git-lfs"));
        assert_eq!(
            subcommand_executable(b"'x' is not a good idea", "command", "x"),
            None
        );
    }

    #[test]
    fn a_ruby_uncaught_exception_is_a_crash_with_its_from_lines() {
        let c = classifier();
        let text = "/srv/app/lib/boot.rb:12:in `start': something broke (RuntimeError)\n\tfrom /srv/app/bin/serve:4:in `<main>'\nbye\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::ProcessFailed);
        assert_eq!(got[0].line, 1);
        // A line that only quotes an exception name is not one.
        assert!(
            c.classify_text("see lib/boot.rb:12 for (RuntimeError)\n")
                .is_empty()
        );
        let local = Some("0.0.0.0".to_string());
        assert_eq!(
            find_port(b"Address already in use - bind(2) for \"0.0.0.0\" port 9292"),
            Some((local, 9292))
        );
    }

    #[test]
    fn ports_in_source_lines_and_game_servers_spellings() {
        assert_eq!(find_port(b"    app.listen(8888)"), Some((None, 8888)));
        assert_eq!(
            find_port(b"    server.listen(3000, () => {"),
            Some((None, 3000))
        );
        assert_eq!(find_port(b"    sock.listen(5)"), None);
        // Factorio's `IP ADDR:({0.0.0.0:34197})` and OpenTTD's `on 0.0.0.0 port 3979`.
        let any = Some("0.0.0.0".to_string());
        assert_eq!(
            find_port(b"Hosting game at IP ADDR:({0.0.0.0:34197})"),
            Some((any.clone(), 34197))
        );
        assert_eq!(
            find_port(b"Could not bind socket on 0.0.0.0 port 3979: x"),
            Some((any.clone(), 3979))
        );
        // QuestDB's `[errno=98, fd=42, addr=0.0.0.0, port=9009]`, RethinkDB's `address at H for port P`.
        assert_eq!(
            find_port(b"bind socket [errno=98, fd=42, addr=0.0.0.0, port=9009]"),
            Some((any, 9009))
        );
        let local = Some("127.0.0.1".to_string());
        assert_eq!(
            find_port(b"The address at 127.0.0.1 for port 8080 is already in use."),
            Some((local, 8080))
        );
        // Postfix's `fatal: bind 0.0.0.0 port 25: Address already in use`.
        assert_eq!(
            find_port(b"postfix/master[4412]: fatal: bind 0.0.0.0 port 25: Address already in use"),
            Some((Some("0.0.0.0".to_string()), 25))
        );
        // Netdata's `Cannot bind to ip '0.0.0.0', port 19999`.
        assert_eq!(
            find_port(b"LISTENER: Cannot bind to ip '0.0.0.0', port 19999 (errno 98, x)"),
            Some((Some("0.0.0.0".to_string()), 19999))
        );
        // Transmission's `Couldn't bind port 51413 on 0.0.0.0`.
        assert_eq!(
            find_port(b"Couldn't bind port 51413 on 0.0.0.0: Address already in use"),
            Some((Some("0.0.0.0".to_string()), 51413))
        );
    }

    #[test]
    fn a_file_missing_under_a_directory_a_refused_mkdir_was_making_is_that_refusal() {
        let c = classifier();
        let refused = "mkdir: cannot create directory '../work/nexus3/log': Permission denied";
        let warnings = "Warning:  Cannot open log file: ../work/nexus3/log/jvm.log\nWarning:  Forcing option -XX:LogFile=/tmp/jvm.log\n";
        let missing = |path: &str| {
            format!("java.io.FileNotFoundException: {path}/app.yml (No such file or directory)\n")
        };
        let got = c.classify_text(&format!(
            "{refused}\n{warnings}{}",
            missing("../work/nexus3/tmp")
        ));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::PermissionDenied);
        // A file missing somewhere else is a failure of its own.
        let got = c.classify_text(&format!("{refused}\n{warnings}{}", missing("/etc/shop")));
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn a_refusal_in_an_error_chain_takes_the_path_the_failed_action_was_on() {
        let c = classifier();
        let text = "Error: Failed to create directory /data/events\n\nCaused by:\n    Permission denied (os error 13)\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].error_type, ErrorType::PermissionDenied);
        assert_eq!(
            got[0].facts.get("path"),
            Some(&Fact::Text("/data/events".into()))
        );
        // A sentence ending in a full stop does not lend it to the path.
        let text = "error: failed to open file 'C:\\srv\\app\\data.db'.\nCaused by: Access is denied. (os error 5)\n";
        let got = c.classify_text(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].facts.get("path"),
            Some(&Fact::Text("C:\\srv\\app\\data.db".into()))
        );
    }
}
