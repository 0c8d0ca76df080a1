//! User settings that shape recovery (`settings.ron`): the backoff policy and the auto-fix policy.

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings { version: SETTINGS_VERSION, backoff: BackoffPolicy::default(), auto_fix: AutoFixPolicy::default() }
    }
}
