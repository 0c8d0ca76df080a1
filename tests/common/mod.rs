//! Shared by the integration tests that run the supervisor.

use std::path::Path;
use std::time::Duration;

use startup_medic::engine::fallback::Fallbacks;
use startup_medic::engine::retry::BackoffPolicy;
use startup_medic::engine::rules::Classifier;
use startup_medic::settings::AutoFixPolicy;
use startup_medic::store::Store;
use startup_medic::supervisor::{self, Options};

/// Supervisor options for a test: no auto-fix, default backoff and fallbacks, the built-in rules, a
/// 3 s stop grace, and learning kept under `home` (None: nothing persisted).
pub fn options(home: Option<&Path>) -> Options {
    Options {
        auto_fix: AutoFixPolicy::Off,
        backoff: BackoffPolicy::default(),
        fallbacks: Fallbacks::default(),
        store: home.map(Store::at),
        run_id: supervisor::new_run_id(),
        stop_grace: Duration::from_secs(3),
        classifier: Classifier::builtin().0,
    }
}
