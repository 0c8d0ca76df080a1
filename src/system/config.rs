//! Configuration files: check that they parse, repair conservatively, always with a backup first.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether a file parses, by its extension. `None`: a format we do not check.
pub fn check(path: &Path) -> Option<Result<(), String>> {
    let ext = path.extension()?.to_string_lossy().to_lowercase();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("cannot read it: {e}"))),
    };
    match ext.as_str() {
        "json" => Some(
            serde_json::from_str::<serde_json::Value>(&text)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        ),
        "ron" => Some(
            ron::from_str::<ron::Value>(&text)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    }
}

/// Removes commas that stand right before `}` or `]` (outside strings): the commonest hand-edit
/// mistake in JSON, and the only change made without a template.
pub fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The result of a repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The file repaired.
    pub path: PathBuf,
    /// Where the original was copied first.
    pub backup: PathBuf,
    /// What was done.
    pub message: String,
}

/// Backs `path` up beside itself (`NAME.bak-<unix time>`), then repairs it: trailing commas removed
/// for JSON, else the template copied over it. Fails (leaving the file untouched) if the result would
/// not parse.
pub fn repair(path: &Path, template: Option<&Path>) -> Result<Repair, String> {
    let original = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let (fixed, how) = if is_json
        && serde_json::from_str::<serde_json::Value>(&strip_trailing_commas(&original)).is_ok()
    {
        (
            strip_trailing_commas(&original),
            "removed trailing commas".to_string(),
        )
    } else if let Some(t) = template {
        let text = std::fs::read_to_string(t)
            .map_err(|e| format!("cannot read the template {}: {e}", t.display()))?;
        (
            text,
            format!("restored it from the template {}", t.display()),
        )
    } else {
        return Err(format!(
            "no safe automatic repair for {} (only trailing commas in JSON are fixed without a template); name a config_template in the profile or fix it by hand",
            path.display()
        ));
    };
    if fixed == original {
        return Err(format!(
            "{} needs no repair that Startup Medic can make",
            path.display()
        ));
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let backup = path.with_file_name(format!("{name}.bak-{secs}"));
    std::fs::copy(path, &backup)
        .map_err(|e| format!("cannot back up to {}: {e}", backup.display()))?;
    write_atomically(path, &fixed)?;
    if let Some(Err(e)) = check(path) {
        let _ = std::fs::copy(&backup, path);
        return Err(format!(
            "the repaired file still does not parse ({e}); the original was put back"
        ));
    }
    Ok(Repair {
        path: path.to_path_buf(),
        backup: backup.clone(),
        message: format!(
            "{}: {how}; the original is kept as {}",
            path.display(),
            backup.display()
        ),
    })
}

/// Puts a backup back in place (undo).
pub fn restore(repair: &Repair) -> Result<String, String> {
    let text = std::fs::read_to_string(&repair.backup)
        .map_err(|e| format!("cannot read the backup {}: {e}", repair.backup.display()))?;
    write_atomically(&repair.path, &text)?;
    Ok(format!(
        "{} restored from {}",
        repair.path.display(),
        repair.backup.display()
    ))
}

fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    crate::store::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_outside_strings_only() {
        let text = "{\"a\": [1, 2,], \"s\": \"x,}\", \"b\": {\"c\": 1,\n},\n}";
        assert_eq!(
            strip_trailing_commas(text),
            "{\"a\": [1, 2], \"s\": \"x,}\", \"b\": {\"c\": 1\n}\n}"
        );
    }

    #[test]
    fn repair_backs_up_and_undo_restores() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("settings.json");
        let broken = "{\"port\": 8000,\n}\n";
        std::fs::write(&path, broken).expect("write");
        assert!(matches!(check(&path), Some(Err(_))));
        let r = repair(&path, None).expect("repaired");
        assert_eq!(check(&path), Some(Ok(())));
        assert_eq!(std::fs::read_to_string(&r.backup).expect("backup"), broken);
        restore(&r).expect("undo");
        assert_eq!(std::fs::read_to_string(&path).expect("file"), broken);
    }

    #[test]
    fn unrepairable_without_template_is_left_untouched() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{port: }").expect("write");
        assert!(repair(&path, None).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("file"), "{port: }");
        let template = dir.path().join("settings.example.json");
        std::fs::write(&template, "{\"port\": 8000}").expect("write");
        let r = repair(&path, Some(&template)).expect("from template");
        assert!(r.message.contains("template"));
        assert_eq!(check(&path), Some(Ok(())));
    }
}
