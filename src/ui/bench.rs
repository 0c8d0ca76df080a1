//! `startup-medic --bench-log-view N`: the log view's frame-time benchmark in the real window.
//!
//! Fills the buffer with N realistic lines (three services, both streams, ANSI colours), then drives
//! the view for a fixed script of frames: 300 frames scrolling through the whole buffer, 300 frames
//! changing the service/stream filter and searching, while repainting continuously. It prints the CPU
//! time eframe measured per frame (egui pass + tessellation) and the wall time between frames
//! (including the software renderer), then exits. No services are started.

use std::time::Instant;

use crate::protocol::Stream;
use crate::settings::AutoFixPolicy;
use crate::ui::app::app_ui;
use crate::ui::logbuf::Filter;
use crate::ui::state::AppState;

const SCROLL_FRAMES: usize = 300;
const FILTER_FRAMES: usize = 300;

/// Fills `state` with `n` synthetic lines.
pub fn fill(state: &mut AppState, n: usize) {
    let services = ["api", "web", "worker"];
    for i in 0..n {
        let svc = services[i % 3];
        let (stream, line) = match i % 50 {
            0 => (Stream::Stderr, format!("\x1b[31mERROR\x1b[0m:    Exception in ASGI application (request {i})")),
            1 => (Stream::Stderr, "  File \"/srv/app/.venv/lib/python3.11/site-packages/uvicorn/protocols/http/h11_impl.py\", line 404, in run_asgi".to_string()),
            2 => (Stream::Stderr, format!("RuntimeError: boom {i}")),
            7 | 23 => (Stream::Stdout, format!("\x1b[33mWARNING\x1b[0m:  slow request took {} ms", i % 997)),
            _ => (
                Stream::Stdout,
                format!(
                    "\x1b[32mINFO\x1b[0m:     127.0.0.1:{} - \"GET /api/v1/items/{}?page={} HTTP/1.1\" \x1b[32m200 OK\x1b[0m",
                    40000 + i % 20000,
                    i,
                    i % 17
                ),
            ),
        };
        state.logs.push(svc, stream, line);
    }
}

struct BenchApp {
    state: AppState,
    frame: usize,
    cpu_ms: Vec<f32>,
    wall_ms: Vec<f32>,
    filter_ms: Vec<f32>,
    last: Option<Instant>,
    lines: usize,
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f32 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, samples: &[f32]) -> String {
    let mut s = samples.to_vec();
    s.sort_by(f32::total_cmp);
    format!(
        "{name}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} frames",
        percentile(&s, 0.5),
        percentile(&s, 0.95),
        percentile(&s, 0.99),
        s.last().copied().unwrap_or(0.0),
        s.len()
    )
}

impl eframe::App for BenchApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let now = Instant::now();
        // Skip the first frames: fonts and the atlas are being built.
        if self.frame > 5 {
            if let Some(cpu) = frame.info().cpu_usage {
                self.cpu_ms.push(cpu * 1000.0);
            }
            if let Some(last) = self.last {
                self.wall_ms
                    .push(now.duration_since(last).as_secs_f32() * 1000.0);
            }
        }
        self.last = Some(now);
        let f = self.frame;
        if f < SCROLL_FRAMES {
            let rows = self.state.logs.shown_len();
            self.state.log_view.scroll_to_row = Some(rows * f / SCROLL_FRAMES);
        } else if f < SCROLL_FRAMES + FILTER_FRAMES {
            let k = f - SCROLL_FRAMES;
            if k.is_multiple_of(10) {
                let step = k / 10;
                let filter = Filter {
                    service: if step % 4 == 3 {
                        None
                    } else {
                        Some((step % 4) as u16)
                    },
                    stderr: step.is_multiple_of(2),
                    ..Filter::default()
                };
                let t = Instant::now();
                self.state.logs.set_filter(filter);
                self.state
                    .logs
                    .set_query(if step.is_multiple_of(3) { "boom" } else { "" });
                self.filter_ms.push(t.elapsed().as_secs_f32() * 1000.0);
                self.state.log_view.scroll_to_row = Some(self.state.logs.shown_len() / 2);
            }
        } else if f == SCROLL_FRAMES + FILTER_FRAMES {
            println!(
                "log view with {} lines in the buffer ({} shown at the end)",
                self.lines,
                self.state.logs.shown_len()
            );
            println!("{}", summary("egui CPU time per frame", &self.cpu_ms));
            println!("{}", summary("wall time between frames", &self.wall_ms));
            println!(
                "{}",
                summary(
                    "of which re-filtering the buffer (frames that change the filter)",
                    &self.filter_ms
                )
            );
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        app_ui(ui, &mut self.state, now);
        self.state.outbox.clear();
        self.frame += 1;
        ui.ctx().request_repaint();
    }
}

/// Runs the benchmark window. Returns the exit status.
pub fn run(lines: usize) -> i32 {
    let profile = match crate::demo::profile() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("startup-medic: {e}");
            return 1;
        }
    };
    let mut state = AppState::new(&profile, lines.max(1), AutoFixPolicy::Off);
    let t = Instant::now();
    fill(&mut state, lines);
    println!(
        "filled {lines} lines in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Startup Medic — log view benchmark")
            .with_inner_size([1400.0, 860.0]),
        ..Default::default()
    };
    let app = BenchApp {
        state,
        frame: 0,
        cpu_ms: Vec::new(),
        wall_ms: Vec::new(),
        filter_ms: Vec::new(),
        last: None,
        lines,
    };
    match eframe::run_native(
        "startup-medic-bench",
        options,
        Box::new(move |_| Ok(Box::new(app))),
    ) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("startup-medic: cannot open the window: {e}");
            1
        }
    }
}
