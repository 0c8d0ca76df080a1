//! User settings (`settings.ron`): how recovery behaves (backoff, auto-fix) and how the window
//! behaves (log buffer size, close to tray, notifications, theme).

use serde::{Deserialize, Serialize};

use crate::engine::retry::BackoffPolicy;

/// Version of `settings.ron`.
pub const SETTINGS_VERSION: u32 = 1;

/// Which recovery actions run without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AutoFixPolicy {
    /// Nothing runs by itself; fixes are offered.
    #[default]
    Off,
    /// Actions that need no consent run in rank order, with backoff.
    SafeOnly,
}

/// Light, dark, or whatever the system uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the system.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The settings file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// File format version.
    pub version: u32,
    /// Delays between automatic attempts.
    pub backoff: BackoffPolicy,
    /// What runs without asking.
    pub auto_fix: AutoFixPolicy,
    /// Log lines kept in memory (all services together).
    pub log_buffer_lines: usize,
    /// Closing the window hides it to the tray (when a tray exists) and keeps supervising.
    pub close_to_tray: bool,
    /// Desktop notifications when a service fails or recovers while the window is not in view.
    pub notifications: bool,
    /// Colour scheme.
    pub theme: Theme,
}

/// Default log buffer size in lines.
pub const DEFAULT_LOG_BUFFER_LINES: usize = 200_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: SETTINGS_VERSION,
            backoff: BackoffPolicy::default(),
            auto_fix: AutoFixPolicy::default(),
            log_buffer_lines: DEFAULT_LOG_BUFFER_LINES,
            close_to_tray: true,
            notifications: true,
            theme: Theme::default(),
        }
    }
}
