//! Colours and sizes in one place, so panels say what a thing is (a ready service, a risky fix) and
//! this file says how it looks, in both light and dark mode.

use egui::{Color32, Visuals};

use crate::engine::ErrorType;
use crate::engine::actions::Risk;
use crate::protocol::ServiceState;
use crate::ui::logbuf::AnsiColor;
use crate::ui::state::Health;

/// Width of the services side panel.
pub const SERVICES_PANEL_WIDTH: f32 = 330.0;
/// Default width of the incidents panel.
pub const INCIDENTS_PANEL_WIDTH: f32 = 470.0;
/// Monospace size of log lines.
pub const LOG_FONT_SIZE: f32 = 12.5;

/// Green / amber / red that read on both light and dark backgrounds.
pub const GOOD: Color32 = Color32::from_rgb(46, 160, 67);
/// Amber.
pub const BUSY: Color32 = Color32::from_rgb(214, 152, 0);
/// Red.
pub const BAD: Color32 = Color32::from_rgb(218, 54, 51);
/// Grey.
pub const IDLE: Color32 = Color32::from_rgb(130, 130, 130);

/// The dot colour of a service state.
pub fn state_color(state: &ServiceState) -> Color32 {
    match state {
        ServiceState::Ready => GOOD,
        ServiceState::Starting
        | ServiceState::Waiting
        | ServiceState::Recovering { .. }
        | ServiceState::Stopping => BUSY,
        ServiceState::Failed => BAD,
        ServiceState::Stopped => IDLE,
    }
}

/// The word for a service state.
pub fn state_label(state: &ServiceState) -> &'static str {
    match state {
        ServiceState::Stopped => "stopped",
        ServiceState::Waiting => "waiting",
        ServiceState::Starting => "starting",
        ServiceState::Ready => "ready",
        ServiceState::Stopping => "stopping",
        ServiceState::Failed => "failed",
        ServiceState::Recovering { .. } => "recovering",
    }
}

/// The tray icon colour.
pub fn health_color(h: Health) -> Color32 {
    match h {
        Health::Idle => IDLE,
        Health::Good => GOOD,
        Health::Busy => BUSY,
        Health::Failed => BAD,
    }
}

/// Badge colour of an error type.
pub fn error_type_color(t: ErrorType) -> Color32 {
    match t {
        ErrorType::PortConflict => Color32::from_rgb(156, 39, 176),
        ErrorType::PermissionDenied => Color32::from_rgb(198, 40, 40),
        ErrorType::DependencyMissing => Color32::from_rgb(230, 81, 0),
        ErrorType::ConfigInvalid => Color32::from_rgb(0, 121, 107),
        ErrorType::ProcessFailed => Color32::from_rgb(183, 28, 28),
        ErrorType::NetworkError => Color32::from_rgb(21, 101, 192),
        ErrorType::FirewallBlocked => Color32::from_rgb(69, 90, 100),
        ErrorType::VirtualEnvError => Color32::from_rgb(85, 139, 47),
        ErrorType::TimeoutError => Color32::from_rgb(175, 120, 0),
        ErrorType::Unknown => IDLE,
    }
}

/// Colour of a risk label.
pub fn risk_color(r: Risk) -> Color32 {
    match r {
        Risk::Safe => GOOD,
        Risk::EditsFiles | Risk::InstallsSoftware => BUSY,
        Risk::StopsProcess | Risk::ChangesSystem => BAD,
    }
}

/// A stable colour per service name for log prefixes.
pub fn service_color(index: u16, dark: bool) -> Color32 {
    const DARK: [Color32; 6] = [
        Color32::from_rgb(110, 180, 255),
        Color32::from_rgb(255, 170, 90),
        Color32::from_rgb(140, 220, 140),
        Color32::from_rgb(230, 130, 230),
        Color32::from_rgb(100, 210, 210),
        Color32::from_rgb(230, 210, 110),
    ];
    const LIGHT: [Color32; 6] = [
        Color32::from_rgb(20, 90, 190),
        Color32::from_rgb(180, 80, 0),
        Color32::from_rgb(30, 130, 40),
        Color32::from_rgb(150, 40, 150),
        Color32::from_rgb(0, 120, 130),
        Color32::from_rgb(140, 110, 0),
    ];
    let table = if dark { &DARK } else { &LIGHT };
    table[usize::from(index) % table.len()]
}

/// Marker colour of standard-error lines.
pub fn stderr_color(v: &Visuals) -> Color32 {
    if v.dark_mode {
        Color32::from_rgb(255, 110, 100)
    } else {
        Color32::from_rgb(190, 30, 30)
    }
}

/// Background of search hits.
pub fn highlight_bg(v: &Visuals, current: bool) -> Color32 {
    match (v.dark_mode, current) {
        (true, true) => Color32::from_rgb(200, 120, 0),
        (true, false) => Color32::from_rgb(110, 90, 20),
        (false, true) => Color32::from_rgb(255, 150, 50),
        (false, false) => Color32::from_rgb(255, 230, 120),
    }
}

/// An ANSI colour for the current theme (the xterm palette, brightened on dark backgrounds).
pub fn ansi_color(c: AnsiColor, v: &Visuals) -> Color32 {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 49, 49),
        (13, 160, 80),
        (190, 150, 0),
        (36, 114, 200),
        (188, 63, 188),
        (17, 168, 205),
        (160, 160, 160),
        (102, 102, 102),
        (241, 76, 76),
        (35, 209, 139),
        (220, 200, 40),
        (59, 142, 234),
        (214, 112, 214),
        (41, 184, 219),
        (229, 229, 229),
    ];
    let rgb = match c {
        AnsiColor::Indexed(i) | AnsiColor::Palette(i @ 0..=15) => BASE[usize::from(i % 16)],
        AnsiColor::Palette(i @ 16..=231) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + n * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        AnsiColor::Palette(i) => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
        AnsiColor::Rgb(r, g, b) => (r, g, b),
    };
    let color = Color32::from_rgb(rgb.0, rgb.1, rgb.2);
    // Black on a dark background and white on a light one would vanish.
    let invisible = if v.dark_mode {
        rgb == (0, 0, 0)
    } else {
        rgb.0 > 200 && rgb.1 > 200 && rgb.2 > 200
    };
    if invisible { v.text_color() } else { color }
}
