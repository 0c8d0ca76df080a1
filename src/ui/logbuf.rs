//! The log buffer behind the live log view: a bounded ring of lines from every service, a filtered
//! index kept up to date as lines arrive, and a search that scans in time-boxed slices so typing a
//! query over a million lines never stalls a frame.
//!
//! Nothing here draws; `logs.rs` renders what this holds, only the rows on screen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::protocol::Stream;

/// One buffered line.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Monotonic sequence number (never reused, survives eviction of older lines).
    pub seq: u64,
    /// Index into [`LogBuffer::services`].
    pub service: u16,
    /// Which stream.
    pub stream: Stream,
    /// The text, ANSI escapes kept.
    pub text: String,
}

/// Which lines are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Only this service (index into [`LogBuffer::services`]); `None` = all.
    pub service: Option<u16>,
    /// Show standard output.
    pub stdout: bool,
    /// Show standard error.
    pub stderr: bool,
    /// Show Startup Medic's own lines (installer output, action progress).
    pub system: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            service: None,
            stdout: true,
            stderr: true,
            system: true,
        }
    }
}

impl Filter {
    fn accepts(&self, line: &LogLine) -> bool {
        self.service.is_none_or(|s| s == line.service)
            && match line.stream {
                Stream::Stdout => self.stdout,
                Stream::Stderr => self.stderr,
                Stream::System => self.system,
            }
    }
}

/// Search progress over the filtered lines.
#[derive(Debug, Clone, Default)]
struct Search {
    /// Lower-cased query (ASCII case folding; non-ASCII compared as is).
    needle: String,
    /// Sequence numbers of matching lines, ascending.
    matches: VecDeque<u64>,
    /// Next position in `shown` still to scan.
    scanned: usize,
}

/// Ring buffer of log lines with a filtered view and an incremental search.
#[derive(Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    next_seq: u64,
    /// Service names by index.
    pub services: Vec<String>,
    filter: Filter,
    /// Sequence numbers of lines that pass the filter, ascending.
    shown: VecDeque<u64>,
    search: Search,
    /// Lines dropped from the front since start (so the view can say so).
    pub evicted: u64,
}

impl LogBuffer {
    /// An empty buffer keeping at most `capacity` lines.
    pub fn new(capacity: usize) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 0,
            services: Vec::new(),
            filter: Filter::default(),
            shown: VecDeque::new(),
            search: Search::default(),
            evicted: 0,
        }
    }

    /// The capacity in lines.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity, dropping the oldest lines if needed.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.lines.len() > self.capacity {
            self.evict_front();
        }
    }

    /// Index of a service name, registering it on first sight.
    pub fn service_index(&mut self, name: &str) -> u16 {
        if let Some(i) = self.services.iter().position(|s| s == name) {
            return i as u16;
        }
        self.services.push(name.to_string());
        (self.services.len() - 1) as u16
    }

    fn evict_front(&mut self) {
        if let Some(old) = self.lines.pop_front() {
            self.evicted += 1;
            if self.shown.front() == Some(&old.seq) {
                self.shown.pop_front();
                self.search.scanned = self.search.scanned.saturating_sub(1);
            }
            if self.search.matches.front() == Some(&old.seq) {
                self.search.matches.pop_front();
            }
        }
    }

    /// Appends a line, dropping the oldest when full.
    pub fn push(&mut self, service: &str, stream: Stream, text: String) {
        let service = self.service_index(service);
        if self.lines.len() >= self.capacity {
            self.evict_front();
        }
        let line = LogLine {
            seq: self.next_seq,
            service,
            stream,
            text,
        };
        self.next_seq += 1;
        if self.filter.accepts(&line) {
            self.shown.push_back(line.seq);
        }
        self.lines.push_back(line);
    }

    /// Number of buffered lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// A buffered line by sequence number.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let first = self.lines.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.lines.get(i)
    }

    /// The current filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Changes the filter and rebuilds the shown index (a linear pass over cheap comparisons).
    pub fn set_filter(&mut self, filter: Filter) {
        if filter == self.filter {
            return;
        }
        self.filter = filter;
        let f = &self.filter;
        let mut shown = Vec::with_capacity(self.lines.len());
        shown.extend(self.lines.iter().filter(|l| f.accepts(l)).map(|l| l.seq));
        self.shown = VecDeque::from(shown);
        self.restart_search();
    }

    /// Number of lines that pass the filter.
    pub fn shown_len(&self) -> usize {
        self.shown.len()
    }

    /// The `row`-th shown line.
    pub fn shown_line(&self, row: usize) -> Option<&LogLine> {
        self.shown.get(row).and_then(|seq| self.get(*seq))
    }

    /// The row of a shown line by sequence number.
    pub fn row_of(&self, seq: u64) -> Option<usize> {
        let (a, b) = self.shown.as_slices();
        match a.binary_search(&seq) {
            Ok(i) => Some(i),
            Err(_) => b.binary_search(&seq).ok().map(|i| i + a.len()),
        }
    }

    /// Sets the search query (empty clears it). Scanning happens in [`LogBuffer::search_step`].
    pub fn set_query(&mut self, query: &str) {
        let needle = query.to_ascii_lowercase();
        if needle == self.search.needle {
            return;
        }
        self.search.needle = needle;
        self.restart_search();
    }

    /// The current (lower-cased) query.
    pub fn query(&self) -> &str {
        &self.search.needle
    }

    fn restart_search(&mut self) {
        self.search.matches.clear();
        self.search.scanned = 0;
    }

    /// Scans shown lines for the query until done or `budget` is spent. Returns true when the whole
    /// buffer has been searched.
    pub fn search_step(&mut self, budget: Duration) -> bool {
        if self.search.needle.is_empty() {
            self.search.scanned = self.shown.len();
            return true;
        }
        let start = Instant::now();
        let needle = self.search.needle.as_bytes();
        let finder = Finder::new(needle);
        while self.search.scanned < self.shown.len() {
            let stop = (self.search.scanned + 4096).min(self.shown.len());
            for row in self.search.scanned..stop {
                let seq = self.shown[row];
                if let Some(line) = self.get(seq)
                    && finder.find(line.text.as_bytes()).is_some()
                {
                    self.search.matches.push_back(seq);
                }
            }
            self.search.scanned = stop;
            if start.elapsed() >= budget {
                break;
            }
        }
        self.search.scanned >= self.shown.len()
    }

    /// Number of matching lines found so far.
    pub fn match_count(&self) -> usize {
        self.search.matches.len()
    }

    /// The `i`-th match (sequence number; matches ascend).
    pub fn match_at(&self, i: usize) -> Option<u64> {
        self.search.matches.get(i).copied()
    }

    /// Index of the first match at or after `seq`.
    pub fn match_index_from(&self, seq: u64) -> usize {
        self.search.matches.partition_point(|m| *m < seq)
    }

    /// Fraction of the shown lines searched so far.
    pub fn search_progress(&self) -> f32 {
        if self.shown.is_empty() {
            1.0
        } else {
            self.search.scanned as f32 / self.shown.len() as f32
        }
    }

    /// Whether a line's text contains the query (for highlighting), and where.
    pub fn match_ranges(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        if self.search.needle.is_empty() {
            return Vec::new();
        }
        let finder = Finder::new(self.search.needle.as_bytes());
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            match finder.find(&bytes[at..]) {
                Some(i) => {
                    let s = at + i;
                    let e = s + self.search.needle.len();
                    out.push(s..e);
                    at = e.max(s + 1);
                }
                None => break,
            }
        }
        out
    }

    /// The shown lines as plain text (ANSI removed), at most `max_lines` of the newest.
    pub fn shown_text(&self, max_lines: usize) -> String {
        let skip = self.shown.len().saturating_sub(max_lines);
        let mut out = String::new();
        for seq in self.shown.iter().skip(skip) {
            if let Some(l) = self.get(*seq) {
                let name = self
                    .services
                    .get(usize::from(l.service))
                    .map(String::as_str)
                    .unwrap_or("?");
                out.push_str(name);
                out.push_str(" | ");
                out.push_str(&crate::engine::classify::strip_ansi_str(&l.text));
                out.push('\n');
            }
        }
        out
    }
}

/// ASCII case-insensitive substring search (the needle is already lower-case). A first-byte scan
/// with `memchr`-like speed is not needed: log lines are short and the scan is time-boxed.
struct Finder<'a> {
    needle: &'a [u8],
}

impl<'a> Finder<'a> {
    fn new(needle: &'a [u8]) -> Finder<'a> {
        Finder { needle }
    }

    fn find(&self, hay: &[u8]) -> Option<usize> {
        let n = self.needle;
        if n.is_empty() {
            return Some(0);
        }
        if hay.len() < n.len() {
            return None;
        }
        let first = n[0];
        let first_upper = first.to_ascii_uppercase();
        (0..=hay.len() - n.len()).find(|&i| {
            let b = hay[i];
            (b == first || b == first_upper) && hay[i..i + n.len()].eq_ignore_ascii_case(n)
        })
    }
}

/// An ANSI SGR colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsiColor {
    /// One of the 16 standard colours (0–7 normal, 8–15 bright).
    Indexed(u8),
    /// A 256-colour palette entry.
    Palette(u8),
    /// True colour.
    Rgb(u8, u8, u8),
}

/// The style of a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnsiStyle {
    /// Foreground colour.
    pub fg: Option<AnsiColor>,
    /// Bold / bright.
    pub bold: bool,
    /// Dim.
    pub dim: bool,
    /// Underlined.
    pub underline: bool,
}

/// Splits a line into styled runs of visible text (escape sequences removed).
pub fn ansi_spans(line: &str) -> Vec<(String, AnsiStyle)> {
    let mut out: Vec<(String, AnsiStyle)> = Vec::new();
    let mut style = AnsiStyle::default();
    let mut text = String::new();
    let mut chars = line.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\x1b' {
            text.push(c);
            continue;
        }
        match chars.peek().map(|(_, c)| *c) {
            Some('[') => {
                chars.next();
                let mut params = String::new();
                let mut final_byte = None;
                for (_, c) in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        final_byte = Some(c);
                        break;
                    }
                    params.push(c);
                }
                if final_byte == Some('m') {
                    if !text.is_empty() {
                        out.push((std::mem::take(&mut text), style));
                    }
                    apply_sgr(&mut style, &params);
                }
            }
            Some(']') => {
                // OSC (hyperlinks, titles): skip to BEL or ST.
                chars.next();
                while let Some((_, c)) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    if !text.is_empty() {
        out.push((text, style));
    }
    out
}

fn apply_sgr(style: &mut AnsiStyle, params: &str) {
    let codes: Vec<u16> = if params.is_empty() {
        vec![0]
    } else {
        params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let mut i = 0;
    while i < codes.len() {
        match codes[i] {
            0 => *style = AnsiStyle::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            4 => style.underline = true,
            22 => {
                style.bold = false;
                style.dim = false;
            }
            24 => style.underline = false,
            c @ 30..=37 => style.fg = Some(AnsiColor::Indexed((c - 30) as u8)),
            c @ 90..=97 => style.fg = Some(AnsiColor::Indexed((c - 90 + 8) as u8)),
            39 => style.fg = None,
            38 => match codes.get(i + 1) {
                Some(5) => {
                    style.fg = codes.get(i + 2).map(|n| AnsiColor::Palette(*n as u8));
                    i += 2;
                }
                Some(2) => {
                    let c = |k: usize| codes.get(i + k).copied().unwrap_or(0) as u8;
                    style.fg = Some(AnsiColor::Rgb(c(2), c(3), c(4)));
                    i += 4;
                }
                _ => {}
            },
            // Backgrounds are ignored: they fight the highlight and the theme.
            48 => {
                if codes.get(i + 1) == Some(&5) {
                    i += 2;
                } else if codes.get(i + 1) == Some(&2) {
                    i += 4;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf_with(n: usize, cap: usize) -> LogBuffer {
        let mut b = LogBuffer::new(cap);
        for i in 0..n {
            let (svc, stream) = if i % 3 == 0 {
                ("api", Stream::Stderr)
            } else {
                ("web", Stream::Stdout)
            };
            b.push(svc, stream, format!("line {i} GET /x"));
        }
        b
    }

    #[test]
    fn ring_keeps_the_newest_and_filters_follow() {
        let mut b = buf_with(10, 4);
        assert_eq!(b.len(), 4);
        assert_eq!(b.evicted, 6);
        assert_eq!(b.shown_line(0).unwrap().text, "line 6 GET /x");
        let api = b.service_index("api");
        b.set_filter(Filter {
            service: Some(api),
            ..Filter::default()
        });
        assert_eq!(b.shown_len(), 2); // lines 6 and 9
        b.push("api", Stream::Stderr, "line 10".into());
        b.push("web", Stream::Stdout, "line 11".into());
        assert_eq!(
            b.shown_len(),
            2,
            "line 9 evicted, 10 added, 11 filtered out"
        );
        assert_eq!(b.shown_line(1).unwrap().text, "line 10");
        b.set_filter(Filter {
            stderr: false,
            ..Filter::default()
        });
        assert!((0..b.shown_len()).all(|r| b.shown_line(r).unwrap().stream != Stream::Stderr));
    }

    #[test]
    fn search_is_incremental_case_insensitive_and_survives_eviction() {
        let mut b = buf_with(20_000, 100_000);
        b.set_query("LINE 1999");
        while !b.search_step(Duration::from_micros(50)) {}
        // line 1999, 19990..19999
        assert_eq!(b.match_count(), 11);
        let row = b.row_of(b.match_at(0).unwrap()).unwrap();
        assert_eq!(b.shown_line(row).unwrap().text, "line 1999 GET /x");
        assert_eq!(
            b.match_ranges("xx line 1999 and Line 1999"),
            vec![3..12, 17..26]
        );
        b.set_capacity(5);
        assert_eq!(b.match_count(), 5, "evicted matches dropped");
    }

    #[test]
    fn ansi_runs() {
        let spans = ansi_spans("\x1b[32mINFO\x1b[0m:     ok \x1b[1;38;5;196mbad\x1b[m end");
        assert_eq!(
            spans[0],
            (
                "INFO".into(),
                AnsiStyle {
                    fg: Some(AnsiColor::Indexed(2)),
                    ..Default::default()
                }
            )
        );
        assert_eq!(spans[1].0, ":     ok ");
        assert_eq!(
            spans[2],
            (
                "bad".into(),
                AnsiStyle {
                    fg: Some(AnsiColor::Palette(196)),
                    bold: true,
                    ..Default::default()
                }
            )
        );
        assert_eq!(spans[3], (" end".into(), AnsiStyle::default()));
        assert_eq!(
            ansi_spans("\x1b]8;;http://x\x07link\x1b]8;;\x07")[0].0,
            "link"
        );
    }
}
