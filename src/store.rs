//! Persistent state: versioned RON files under one directory, written atomically, never reset in silence.
//!
//! Where: `$STARTUP_MEDIC_HOME` when set, else the platform data directory (`directories`). Writes go to
//! a temporary file in the same directory, are fsynced, then renamed over the old file, so a crash
//! leaves the old or the new file, never half of one. A file that cannot be read, does not parse, or
//! comes from a newer version is renamed aside (`patterns.ron.damaged-<unix time>`), never deleted; the
//! caller gets a notice to show and continues on defaults.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::fallback::{FALLBACKS_VERSION, Fallbacks};
use crate::engine::learning::{PATTERNS_VERSION, Patterns};
use crate::settings::{SETTINGS_VERSION, Settings};

/// Environment variable that overrides the state directory.
pub const HOME_ENV: &str = "STARTUP_MEDIC_HOME";
/// Learned failure patterns.
pub const PATTERNS_FILE: &str = "patterns.ron";
/// Fallback configurations.
pub const FALLBACKS_FILE: &str = "fallbacks.ron";
/// Settings.
pub const SETTINGS_FILE: &str = "settings.ron";
/// The user's own classification rules (optional, read-only for us).
pub const RULES_FILE: &str = "rules.ron";

/// Errors from saving state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No state directory could be determined.
    #[error("no place for Startup Medic's state: set {HOME_ENV} to a writable directory")]
    NoHome,
    /// Serialization failed (a bug: our types always serialize).
    #[error("could not encode {name}: {message}")]
    Encode {
        /// File name.
        name: String,
        /// The encoder's message.
        message: String,
    },
    /// The file system refused.
    #[error("could not write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A file format with a version field.
pub trait Versioned {
    /// The newest version this build reads and writes.
    const VERSION: u32;
    /// The version written in a loaded value.
    fn version(&self) -> u32;
}

impl Versioned for Patterns {
    const VERSION: u32 = PATTERNS_VERSION;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Versioned for Fallbacks {
    const VERSION: u32 = FALLBACKS_VERSION;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Versioned for Settings {
    const VERSION: u32 = SETTINGS_VERSION;
    fn version(&self) -> u32 {
        self.version
    }
}

/// A loaded value, and what the user must be told about it.
#[derive(Debug)]
pub struct Loaded<T> {
    /// The value (defaults when the file was missing or damaged).
    pub value: T,
    /// Set when a damaged file was moved aside.
    pub notice: Option<String>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store at `$STARTUP_MEDIC_HOME`, else the platform data directory.
    pub fn open_default() -> Result<Store, StoreError> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Store {
                dir: PathBuf::from(home),
            });
        }
        directories::ProjectDirs::from("", "", "startup-medic")
            .map(|d| Store {
                dir: d.data_dir().to_path_buf(),
            })
            .ok_or(StoreError::NoHome)
    }

    /// A store in a given directory.
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Full path of a file in the store.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads a text file of the store if it exists (e.g. the user's `rules.ron`).
    pub fn read_optional(&self, name: &str) -> Result<Option<String>, std::io::Error> {
        match fs::read_to_string(self.path(name)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Loads `name`, or defaults. A damaged or newer file is moved aside and reported in `notice`.
    pub fn load<T>(&self, name: &str) -> Loaded<T>
    where
        T: DeserializeOwned + Default + Versioned,
    {
        let path = self.path(name);
        let problem = match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    value: T::default(),
                    notice: None,
                };
            }
            Err(e) => format!("could not be read ({e})"),
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Err(e) => format!("is not text ({e})"),
                Ok(text) => match ron::from_str::<T>(text) {
                    Ok(v) if v.version() <= T::VERSION => {
                        return Loaded {
                            value: v,
                            notice: None,
                        };
                    }
                    Ok(v) => format!(
                        "has version {}, newer than this build reads ({})",
                        v.version(),
                        T::VERSION
                    ),
                    Err(e) => format!("does not parse ({e})"),
                },
            },
        };
        let aside = self.path(&format!("{name}.damaged-{}", unix_now()));
        let moved = match fs::rename(&path, &aside) {
            Ok(()) => format!("it was kept as {}", aside.display()),
            Err(e) => {
                format!("it could not be moved aside ({e}) and will be replaced on the next save")
            }
        };
        let notice = format!(
            "{name} {problem}; {moved}. Startup Medic continues with defaults: {}",
            path.display()
        );
        Loaded {
            value: T::default(),
            notice: Some(notice),
        }
    }

    /// Writes `name` atomically: temp file in the same directory, fsync, rename.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let text =
            ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::default()).map_err(|e| {
                StoreError::Encode {
                    name: name.into(),
                    message: e.to_string(),
                }
            })?;
        let path = self.path(name);
        let mut bytes = text.into_bytes();
        bytes.push(b'\n');
        write_atomic(&path, &bytes).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })
    }
}

/// Writes a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        // Make the rename itself durable; failure here only weakens durability, not correctness.
        let _ = d.sync_all();
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::learning::Patterns;

    #[test]
    fn round_trip_and_missing_file_is_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::at(dir.path().join("nested"));
        let loaded: Loaded<Patterns> = store.load(PATTERNS_FILE);
        assert!(loaded.notice.is_none());
        let mut p = Patterns::default();
        p.patterns.insert(
            "x".into(),
            crate::engine::learning::FailurePattern {
                id: "x".into(),
                error_type: crate::engine::ErrorType::Unknown,
                description: "d".into(),
                occurrences: 2,
                first_seen: "a".into(),
                last_seen: "b".into(),
                actions: Default::default(),
                seen_at: vec![1, 2],
                recent_keys: vec![],
            },
        );
        store.save(PATTERNS_FILE, &p).expect("save");
        let back: Loaded<Patterns> = store.load(PATTERNS_FILE);
        assert_eq!(back.value, p);
        let leftovers: Vec<_> = fs::read_dir(store.dir()).expect("dir").collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn damaged_and_newer_files_are_kept_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::at(dir.path());
        fs::write(store.path(PATTERNS_FILE), "(version: 1, patterns: {").expect("write");
        let loaded: Loaded<Patterns> = store.load(PATTERNS_FILE);
        assert_eq!(loaded.value, Patterns::default());
        let notice = loaded.notice.expect("a notice");
        assert!(
            notice.starts_with("patterns.ron does not parse"),
            "{notice}"
        );
        assert!(!store.path(PATTERNS_FILE).exists());
        let aside: Vec<String> = fs::read_dir(store.dir())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
            .collect();
        assert!(
            aside.iter().any(|n| n.starts_with("patterns.ron.damaged-")),
            "{aside:?}"
        );

        fs::write(store.path(SETTINGS_FILE), "(version: 99)").expect("write");
        let loaded: Loaded<Settings> = store.load(SETTINGS_FILE);
        assert!(loaded.notice.expect("notice").contains("has version 99"));
    }
}
