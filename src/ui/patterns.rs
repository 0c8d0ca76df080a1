//! The learned-patterns panel: a sortable table of failure patterns (what failed, how often, when,
//! which fix works best), and for the selected one its per-action numbers, a chart of success rates
//! and of occurrences over time, and Forget / Reset / Export. Scores and reasons come from the same
//! engine function as the fix buttons' ([`FailurePattern::ranked_actions`]).

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Bar, BarChart, Plot};

use crate::engine::learning::{FailurePattern, Outcome, Patterns};
use crate::engine::time::parse_rfc3339_utc;
use crate::protocol::Command;
use crate::ui::state::{AppState, Request};
use crate::ui::theme;

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Failure type.
    Type,
    /// The pattern in words.
    Pattern,
    /// Occurrences.
    Occurrences,
    /// First seen.
    FirstSeen,
    /// Last seen.
    #[default]
    LastSeen,
    /// Best action's success estimate.
    BestRate,
}

/// Sorting and selection of the table.
#[derive(Debug, Clone, Default)]
pub struct PatternsView {
    /// Sort column.
    pub sort: SortBy,
    /// Ascending (false: descending, the default for numbers and times).
    pub ascending: bool,
    /// The selected pattern's id.
    pub selected: Option<String>,
}

fn best_rate(p: &FailurePattern) -> f64 {
    p.ranked_actions().first().map(|r| r.2).unwrap_or(-1.0)
}

/// Pattern ids in display order.
pub fn sorted_ids(patterns: &Patterns, view: &PatternsView) -> Vec<String> {
    let mut rows: Vec<&FailurePattern> = patterns.patterns.values().collect();
    rows.sort_by(|a, b| {
        let o = match view.sort {
            SortBy::Type => a.error_type.id().cmp(b.error_type.id()),
            SortBy::Pattern => a.description.cmp(&b.description),
            SortBy::Occurrences => a.occurrences.cmp(&b.occurrences),
            SortBy::FirstSeen => a.first_seen.cmp(&b.first_seen),
            SortBy::LastSeen => a.last_seen.cmp(&b.last_seen),
            SortBy::BestRate => best_rate(a).total_cmp(&best_rate(b)),
        };
        let o = if view.ascending { o } else { o.reverse() };
        o.then(a.id.cmp(&b.id))
    });
    rows.into_iter().map(|p| p.id.clone()).collect()
}

fn header_button(ui: &mut Ui, view: &mut PatternsView, col: SortBy, label: &str) {
    let arrow = if view.sort == col {
        if view.ascending { " ^" } else { " v" }
    } else {
        ""
    };
    if ui
        .button(RichText::new(format!("{label}{arrow}")).strong())
        .on_hover_text("Sort by this column")
        .clicked()
    {
        if view.sort == col {
            view.ascending = !view.ascending;
        } else {
            view.sort = col;
            view.ascending = matches!(col, SortBy::Type | SortBy::Pattern);
        }
    }
}

fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

/// Draws the panel.
pub fn patterns_ui(ui: &mut Ui, state: &mut AppState) {
    ui.horizontal(|ui| {
        ui.heading("Learned patterns");
        ui.label(RichText::new(format!("{} patterns", state.patterns.patterns.len())).weak());
        if ui.button("Export JSON").clicked() {
            state.requests.push(Request::ExportPatterns { json: true });
        }
        if ui.button("Export RON").clicked() {
            state.requests.push(Request::ExportPatterns { json: false });
        }
    });
    if state.patterns.patterns.is_empty() {
        ui.label(
            RichText::new(
                "Nothing learned yet. Every failure and every fix you run is counted here.",
            )
            .weak(),
        );
        return;
    }
    let ids = sorted_ids(&state.patterns, &state.patterns_view);
    let view = &mut state.patterns_view;
    let patterns = &state.patterns;
    let table_height = (ui.available_height() * 0.45).max(120.0);
    ui.push_id("patterns-table", |ui| {
        // Clicking anywhere on a row selects it, so the cells' text is not selectable.
        ui.style_mut().interaction.selectable_labels = false;
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
        TableBuilder::new(ui)
            .striped(true)
            .sense(egui::Sense::click())
            .max_scroll_height(table_height)
            .column(Column::auto().at_least(130.0))
            .column(Column::auto().at_least(200.0).resizable(true))
            .column(Column::auto().at_least(90.0))
            .column(Column::auto().at_least(120.0))
            .column(Column::auto().at_least(120.0))
            .column(Column::auto().at_least(220.0).resizable(true))
            .column(Column::remainder().at_least(100.0))
            .header(24.0, |mut h| {
                h.col(|ui| header_button(ui, view, SortBy::Type, "Type"));
                h.col(|ui| header_button(ui, view, SortBy::Pattern, "Pattern"));
                h.col(|ui| header_button(ui, view, SortBy::Occurrences, "Seen"));
                h.col(|ui| header_button(ui, view, SortBy::FirstSeen, "First seen"));
                h.col(|ui| header_button(ui, view, SortBy::LastSeen, "Last seen"));
                h.col(|ui| header_button(ui, view, SortBy::BestRate, "Best fix"));
                h.col(|ui| {
                    ui.label(RichText::new("Last outcome").strong());
                });
            })
            .body(|mut body| {
                for id in &ids {
                    let Some(p) = patterns.patterns.get(id) else {
                        continue;
                    };
                    body.row(22.0, |mut row| {
                        row.set_selected(view.selected.as_deref() == Some(id.as_str()));
                        row.col(|ui| {
                            ui.label(
                                RichText::new(p.error_type.label())
                                    .color(theme::error_type_color(p.error_type)),
                            );
                        });
                        row.col(|ui| {
                            ui.label(&p.description);
                        });
                        row.col(|ui| {
                            ui.label(p.occurrences.to_string());
                        });
                        row.col(|ui| {
                            ui.label(short_time(&p.first_seen));
                        });
                        row.col(|ui| {
                            ui.label(short_time(&p.last_seen));
                        });
                        row.col(|ui| {
                            match p.ranked_actions().first() {
                                Some((a, _, rate, _)) => {
                                    ui.label(format!("{} ({:.0} %)", a.info().label, rate * 100.0))
                                }
                                None => ui.label(RichText::new("no fix tried").weak()),
                            };
                        });
                        row.col(|ui| {
                            match p.last_outcome() {
                                Some((a, Outcome::Succeeded)) => ui.label(
                                    RichText::new(format!("worked: {}", a.id())).color(theme::GOOD),
                                ),
                                Some((a, Outcome::Failed)) => ui.label(
                                    RichText::new(format!("failed: {}", a.id())).color(theme::BAD),
                                ),
                                None => ui.label(RichText::new("—").weak()),
                            };
                        });
                        if row.response().clicked() {
                            view.selected = Some(id.clone());
                        }
                    });
                }
            });
    });
    ui.separator();
    let selected = state
        .patterns_view
        .selected
        .clone()
        .and_then(|id| state.patterns.patterns.get(&id).cloned());
    match selected {
        Some(p) => details_ui(ui, state, &p),
        None => {
            ui.label(RichText::new("Select a pattern to see its fixes and history.").weak());
        }
    }
}

fn details_ui(ui: &mut Ui, state: &mut AppState, p: &FailurePattern) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(&p.description).strong());
        ui.label(RichText::new(&p.id).monospace().weak());
        if ui
            .button("Reset statistics")
            .on_hover_text("Forget which fixes worked; keep the occurrences")
            .clicked()
        {
            state.send(Command::ResetPattern(p.id.clone()));
        }
        if ui
            .button("Forget pattern")
            .on_hover_text("Remove this pattern and everything learned about it")
            .clicked()
        {
            state.send(Command::ForgetPattern(p.id.clone()));
            state.patterns_view.selected = None;
        }
    });
    let ranked = p.ranked_actions();
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        egui::Grid::new(("pattern-actions", &p.id))
            .striped(true)
            .show(ui, |ui| {
                ui.label(RichText::new("Fix").strong());
                ui.label(RichText::new("Tried").strong());
                ui.label(RichText::new("Worked").strong());
                ui.label(RichText::new("Estimate").strong());
                ui.end_row();
                for (a, _, rate, why) in &ranked {
                    let stats = p.actions.get(a).cloned().unwrap_or_default();
                    ui.label(a.info().label).on_hover_text(why);
                    ui.label(stats.tried.to_string());
                    ui.label(stats.succeeded.to_string());
                    ui.label(format!("{:.0} %", rate * 100.0));
                    ui.end_row();
                }
            });
        if ranked.is_empty() {
            ui.label(RichText::new("No fix was tried for this pattern yet.").weak());
        }
        let ui = &mut cols[1];
        ui.label(RichText::new("Success estimate per fix (Beta(1,1) smoothed)").small());
        let bars: Vec<Bar> = ranked
            .iter()
            .enumerate()
            .map(|(i, (a, _, rate, _))| {
                Bar::new(i as f64, rate * 100.0)
                    .name(a.id())
                    .width(0.6)
                    .fill(theme::GOOD)
            })
            .collect();
        let names: Vec<&'static str> = ranked.iter().map(|(a, ..)| a.id()).collect();
        let n = names.len().max(1) as f64;
        Plot::new(("rates", &p.id))
            .height(140.0)
            .include_y(0.0)
            .include_y(100.0)
            .include_x(-0.5)
            .include_x(n - 0.5)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .x_axis_formatter(move |mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                    names
                        .get(i as usize)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new("success %", bars));
            });
        ui.label(RichText::new("Occurrences per day").small());
        let days = occurrences_per_day(p);
        let bars: Vec<Bar> = days
            .iter()
            .map(|(day, n)| {
                Bar::new(*day as f64, *n as f64)
                    .width(0.8)
                    .fill(theme::error_type_color(p.error_type))
            })
            .collect();
        Plot::new(("occurrences", &p.id))
            .height(140.0)
            .include_y(0.0)
            .include_y(1.0)
            .include_x(-30.5)
            .include_x(0.5)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .x_axis_label("days before the last occurrence")
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new("occurrences", bars));
            });
    });
}

/// (days before the last occurrence as a negative number, count), for the history chart.
pub fn occurrences_per_day(p: &FailurePattern) -> Vec<(i64, u32)> {
    let last = p
        .seen_at
        .last()
        .copied()
        .or_else(|| parse_rfc3339_utc(&p.last_seen))
        .unwrap_or(0);
    let mut days: std::collections::BTreeMap<i64, u32> = std::collections::BTreeMap::new();
    for t in &p.seen_at {
        let ago = (last.saturating_sub(*t) / 86_400) as i64;
        *days.entry(-ago).or_default() += 1;
    }
    days.into_iter().collect()
}
