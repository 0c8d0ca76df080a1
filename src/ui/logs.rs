//! The live log view: all services or one, stdout/stderr/system filters, ANSI colours, search with
//! highlight and next/previous (Ctrl+F, Enter, Shift+Enter), follow-tail that pauses when the person
//! scrolls up, and copy. Only the rows on screen are laid out (`ScrollArea::show_rows`), so a million
//! buffered lines cost the same per frame as a hundred.

use std::time::Duration;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, Key, RichText, Ui};

use crate::protocol::Stream;
use crate::ui::logbuf::{LogBuffer, ansi_spans};
use crate::ui::theme;

/// Time a frame may spend searching.
pub const SEARCH_BUDGET: Duration = Duration::from_millis(4);
/// Lines copied by "Copy shown" at most.
const COPY_MAX_LINES: usize = 50_000;

/// View state of the log panel (what the person typed and where they are).
#[derive(Debug, Default)]
pub struct LogView {
    /// The search box.
    pub query: String,
    /// Index of the current match within the buffer's matches.
    pub current: Option<usize>,
    /// Jump the scroll position to this row on the next frame.
    pub scroll_to_row: Option<usize>,
    /// The view is pinned to the newest line.
    pub following: bool,
    /// Jump to the end on the next frame.
    jump_to_end: bool,
    /// Focus the search box on the next frame.
    focus_search: bool,
}

impl LogView {
    /// A view that follows the tail.
    pub fn new() -> LogView {
        LogView {
            following: true,
            ..LogView::default()
        }
    }

    /// Moves to the next (`forward`) or previous match and scrolls to it.
    pub fn step_match(&mut self, logs: &LogBuffer, forward: bool) {
        let n = logs.match_count();
        if n == 0 {
            self.current = None;
            return;
        }
        let next = match self.current {
            None if forward => 0,
            None => n - 1,
            Some(i) if forward => (i + 1) % n,
            Some(i) => (i + n - 1) % n,
        };
        self.current = Some(next);
        if let Some(seq) = logs.match_at(next) {
            self.scroll_to_row = logs.row_of(seq);
            self.following = false;
        }
    }
}

/// Draws the toolbar and the rows.
pub fn logs_ui(ui: &mut Ui, logs: &mut LogBuffer, view: &mut LogView) {
    // Ctrl+F focuses the search; Enter / Shift+Enter step through matches while it has focus.
    if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::F)) {
        view.focus_search = true;
    }
    toolbar_ui(ui, logs, view);
    ui.separator();
    rows_ui(ui, logs, view);
}

fn toolbar_ui(ui: &mut Ui, logs: &mut LogBuffer, view: &mut LogView) {
    let mut filter = logs.filter().clone();
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Logs").strong());
        let current = filter.service.and_then(|i| logs.services.get(usize::from(i)).cloned()).unwrap_or_else(|| "All services".into());
        egui::ComboBox::new("log-service", "service").selected_text(current).show_ui(ui, |ui| {
            ui.selectable_value(&mut filter.service, None, "All services");
            for (i, name) in logs.services.iter().enumerate() {
                ui.selectable_value(&mut filter.service, Some(i as u16), name);
            }
        });
        ui.checkbox(&mut filter.stdout, "stdout");
        ui.checkbox(&mut filter.stderr, "stderr");
        ui.checkbox(&mut filter.system, "Startup Medic");
        ui.separator();
        let search = egui::TextEdit::singleline(&mut view.query).hint_text("Search (Ctrl+F)").desired_width(180.0).id_salt("log-search");
        let response = ui.add(search);
        if view.focus_search {
            response.request_focus();
            view.focus_search = false;
        }
        if response.changed() {
            logs.set_query(&view.query);
            view.current = None;
        }
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let shift = ui.input(|i| i.modifiers.shift);
        if enter {
            view.step_match(logs, !shift);
            response.request_focus();
        }
        if ui.button("Prev").on_hover_text("Previous match (Shift+Enter)").clicked() {
            view.step_match(logs, false);
        }
        if ui.button("Next").on_hover_text("Next match (Enter)").clicked() {
            view.step_match(logs, true);
        }
        if !logs.query().is_empty() {
            let done = logs.search_step(SEARCH_BUDGET);
            let n = logs.match_count();
            let text = match (view.current, done) {
                (Some(i), true) => format!("{} of {n}", i + 1),
                (None, true) => format!("{n} matches"),
                (_, false) => format!("{n} matches… {:.0}%", logs.search_progress() * 100.0),
            };
            ui.label(text);
            if !done {
                ui.ctx().request_repaint();
            }
        }
        ui.separator();
        if ui.button("Copy shown").on_hover_text("Copy the filtered lines (newest 50 000) as plain text").clicked() {
            ui.ctx().copy_text(logs.shown_text(COPY_MAX_LINES));
        }
        if !view.following && ui.button("Follow tail").on_hover_text("Jump to the newest line and follow").clicked() {
            view.jump_to_end = true;
        }
        ui.label(RichText::new(format!("{} lines", logs.shown_len())).weak());
        if logs.evicted > 0 {
            ui.label(RichText::new(format!("({} older dropped)", logs.evicted)).weak())
                .on_hover_text("The buffer keeps the newest lines; raise its size in the settings to keep more.");
        }
    });
    if &filter != logs.filter() {
        logs.set_filter(filter);
        view.current = None;
    }
}

fn rows_ui(ui: &mut Ui, logs: &LogBuffer, view: &mut LogView) {
    let font = FontId::monospace(theme::LOG_FONT_SIZE);
    let row_height = ui.fonts_mut(|f| f.row_height(&font));
    let spacing = ui.spacing().item_spacing.y;
    let visuals = ui.visuals().clone();
    let current_seq = view.current.and_then(|i| logs.match_at(i));
    let mut area = egui::ScrollArea::both()
        .auto_shrink([false, false])
        .id_salt("log-rows")
        .stick_to_bottom(view.following);
    if let Some(row) = view.scroll_to_row.take() {
        let offset = (row as f32 * (row_height + spacing) - 3.0 * row_height).max(0.0);
        area = area.vertical_scroll_offset(offset);
    }
    if view.jump_to_end {
        area = area.vertical_scroll_offset(f32::MAX);
        view.jump_to_end = false;
        view.following = true;
    }
    let output = area.show_rows(ui, row_height, logs.shown_len(), |ui, range| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        for row in range {
            let Some(line) = logs.shown_line(row) else {
                continue;
            };
            let job = row_job(logs, line, &font, &visuals, current_seq == Some(line.seq));
            ui.add(egui::Label::new(job));
        }
    });
    let at_bottom = output.state.clamped_offset().y + output.inner_rect.height()
        >= output.content_size.y - row_height;
    let scrolled =
        ui.input(|i| i.smooth_scroll_delta.y != 0.0 || i.pointer.is_decidedly_dragging());
    if scrolled
        && output
            .inner_rect
            .contains(ui.input(|i| i.pointer.hover_pos()).unwrap_or_default())
    {
        view.following = at_bottom;
    } else if at_bottom && output.content_size.y <= output.inner_rect.height() {
        view.following = true;
    }
}

/// One row: the service name in its colour, a stderr marker, the text in its ANSI colours and the
/// search hits highlighted.
fn row_job(
    logs: &LogBuffer,
    line: &crate::ui::logbuf::LogLine,
    font: &FontId,
    v: &egui::Visuals,
    current: bool,
) -> LayoutJob {
    let mut job = LayoutJob::default();
    let name = logs
        .services
        .get(usize::from(line.service))
        .map(String::as_str)
        .unwrap_or("?");
    let plain = |color: Color32| TextFormat {
        font_id: font.clone(),
        color,
        ..Default::default()
    };
    job.append(
        &format!("{name:<8} "),
        0.0,
        plain(theme::service_color(line.service, v.dark_mode)),
    );
    let marker = match line.stream {
        Stream::Stdout => ("│ ", v.weak_text_color()),
        Stream::Stderr => ("┃ ", theme::stderr_color(v)),
        Stream::System => ("◆ ", v.hyperlink_color),
    };
    job.append(marker.0, 0.0, plain(marker.1));

    let spans = ansi_spans(&line.text);
    let text: String = spans.iter().map(|(t, _)| t.as_str()).collect();
    let hits = logs.match_ranges(&text);
    let mut at = 0usize;
    for (chunk, style) in &spans {
        let base = TextFormat {
            font_id: font.clone(),
            color: match style.fg {
                Some(c) => theme::ansi_color(c, v),
                None if line.stream == Stream::Stderr => theme::stderr_color(v),
                None => v.text_color(),
            },
            underline: if style.underline {
                egui::Stroke::new(1.0, v.text_color())
            } else {
                egui::Stroke::NONE
            },
            ..Default::default()
        };
        let start = at;
        let end = at + chunk.len();
        // Cut the chunk at hit boundaries so hits get a background.
        let mut cuts = vec![start, end];
        for h in &hits {
            for b in [h.start, h.end] {
                if b > start && b < end && text.is_char_boundary(b) {
                    cuts.push(b);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let mut fmt = base.clone();
            if hits.iter().any(|h| h.start <= a && b <= h.end) {
                fmt.background = theme::highlight_bg(v, current);
                if !v.dark_mode {
                    fmt.color = Color32::BLACK;
                }
            }
            job.append(&text[a..b], 0.0, fmt);
        }
        at = end;
    }
    job
}
