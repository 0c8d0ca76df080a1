//! What we launched, remembered on disk (`launched.ron`), so a later run can tell its own leftover
//! (same profile, service, command and working directory, in a process group we created) from a
//! stranger holding the port.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::{Store, Versioned};

/// File name in the store.
pub const LAUNCHED_FILE: &str = "launched.ron";

/// One launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchRecord {
    /// Pid of the direct child (its process group id on Unix).
    pub pid: u32,
    /// Its start time (seconds since the epoch), to tell a reused pid apart.
    pub start_time: u64,
    /// The profile file.
    pub profile: String,
    /// The service.
    pub service: String,
    /// The argv it was started with.
    pub argv: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
}

/// All launches still believed alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// Format version.
    pub version: u32,
    /// By pid.
    #[serde(default)]
    pub records: BTreeMap<u32, LaunchRecord>,
}

impl Default for Launched {
    fn default() -> Self {
        Launched {
            version: 1,
            records: BTreeMap::new(),
        }
    }
}

impl Versioned for Launched {
    const VERSION: u32 = 1;
    fn version(&self) -> u32 {
        self.version
    }
}

/// The process group of a pid (Unix); the pid itself elsewhere.
pub fn group_of(pid: u32) -> Option<u32> {
    #[cfg(unix)]
    {
        let p = i32::try_from(pid).ok()?;
        nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(p)))
            .ok()
            .map(|g| g.as_raw() as u32)
    }
    #[cfg(not(unix))]
    {
        Some(pid)
    }
}

impl Launched {
    /// Loads the records (a damaged file is set aside by the store).
    pub fn load(store: &Store) -> (Launched, Option<String>) {
        let l = store.load::<Launched>(LAUNCHED_FILE);
        (l.value, l.notice)
    }

    /// Saves them; failures only weaken leftover detection, so they are reported, not fatal.
    pub fn save(&self, store: &Store) -> Result<(), String> {
        store.save(LAUNCHED_FILE, self).map_err(|e| e.to_string())
    }

    /// Whether `holder_pid` belongs to an earlier launch of exactly this service.
    pub fn is_leftover(
        &self,
        holder_pid: u32,
        profile: &str,
        service: &str,
        argv: &[String],
        cwd: &PathBuf,
    ) -> bool {
        let group = group_of(holder_pid);
        let ancestors = crate::system::process::ancestors(holder_pid, 8);
        self.records.values().any(|r| {
            r.profile == profile
                && r.service == service
                && r.argv == argv
                && &r.cwd == cwd
                && (r.pid == holder_pid || Some(r.pid) == group || ancestors.contains(&r.pid))
                && crate::system::process::facts(r.pid).is_none_or(|f| f.start_time == r.start_time)
        })
    }

    /// Drops records whose process group is gone.
    pub fn prune(&mut self) {
        self.records.retain(|pid, r| {
            crate::system::process::facts(*pid).is_some_and(|f| f.start_time == r.start_time)
                || group_alive(*pid)
        });
    }
}

fn group_alive(pgid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(g) = i32::try_from(pgid) else {
            return false;
        };
        // Signal 0 to the group: only checks that some member exists.
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(g), None).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
        false
    }
}
