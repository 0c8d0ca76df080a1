//! "New profile from a folder": look at a project and propose its services — a Python backend
//! (FastAPI/uvicorn, Flask, Django, Gradio, with its virtual environment and requirements), a Node
//! frontend (Vite, Next, or any `dev`/`start` script), or what a `Procfile` declares — with commands,
//! ports and readiness probes the person can then edit. Nothing is run; only files are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::profile::{Profile, Ready, Restart, Service};

/// Where backends and frontends usually live inside a project.
const BACKEND_DIRS: [&str; 5] = ["", "backend", "api", "server", "app"];
const FRONTEND_DIRS: [&str; 6] = ["", "frontend", "web", "client", "ui", "app"];

/// A proposed profile and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The proposed profile (path unset: the person saves it).
    pub profile: Profile,
    /// One line per finding ("backend/requirements.txt: FastAPI → uvicorn main:app").
    pub notes: Vec<String>,
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn service(name: &str, command: &[&str], port: Option<u16>, cwd: &str) -> Service {
    Service {
        name: name.into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        port,
        host: "127.0.0.1".into(),
        ready: Ready::Auto,
        cwd: if cwd.is_empty() {
            None
        } else {
            Some(PathBuf::from(cwd))
        },
        env: BTreeMap::new(),
        depends_on: Vec::new(),
        startup_timeout_secs: 60,
        restart: Restart::OnFailure,
        venv: None,
        config_files: Vec::new(),
        config_template: None,
        requirements: None,
    }
}

/// Lower-cased Python dependency names from requirements.txt and pyproject.toml.
fn python_deps(dir: &Path) -> (Vec<String>, Option<&'static str>) {
    let mut deps = Vec::new();
    let mut source = None;
    if let Some(text) = read(&dir.join("requirements.txt")) {
        source = Some("requirements.txt");
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('-') {
                continue;
            }
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if !name.is_empty() {
                deps.push(name.to_ascii_lowercase().replace('_', "-"));
            }
        }
    }
    if let Some(text) = read(&dir.join("pyproject.toml")) {
        source = source.or(Some("pyproject.toml"));
        // Dependency strings are quoted in both PEP 621 lists and Poetry tables; names are enough.
        for quoted in text.split('"').skip(1).step_by(2) {
            let name: String = quoted
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if !name.is_empty() {
                deps.push(name.to_ascii_lowercase().replace('_', "-"));
            }
        }
        for line in text.lines() {
            if let Some((k, _)) = line.split_once('=') {
                let k = k.trim().to_ascii_lowercase();
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    deps.push(k.replace('_', "-"));
                }
            }
        }
    }
    (deps, source)
}

/// The Python file and variable that create an app object, e.g. ("main", "app") for `app = FastAPI()`.
fn find_app_object(dir: &Path, constructor: &str) -> Option<(String, String)> {
    let mut candidates: Vec<PathBuf> = [
        "main.py",
        "app.py",
        "server.py",
        "api.py",
        "asgi.py",
        "wsgi.py",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        more.sort();
        candidates.extend(more);
    }
    for file in candidates {
        let Some(text) = read(&file) else { continue };
        for line in text.lines() {
            let line = line.trim();
            if let Some((var, rhs)) = line.split_once('=')
                && rhs.trim_start().starts_with(constructor)
            {
                let var = var.trim().split(':').next().unwrap_or("").trim();
                if !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    let module = file.file_stem()?.to_string_lossy().into_owned();
                    return Some((module, var.to_string()));
                }
            }
        }
    }
    None
}

fn venv_in(dir: &Path) -> Option<PathBuf> {
    [".venv", "venv", "env"]
        .iter()
        .map(PathBuf::from)
        .find(|v| dir.join(v).join("pyvenv.cfg").is_file())
}

fn python_backend(root: &Path, sub: &str, notes: &mut Vec<String>) -> Option<Service> {
    let dir = root.join(sub);
    let (deps, source) = python_deps(&dir);
    let has = |d: &str| deps.iter().any(|x| x == d);
    let at = |f: &str| {
        if sub.is_empty() {
            f.to_string()
        } else {
            format!("{sub}/{f}")
        }
    };
    let manage_py = dir.join("manage.py").is_file();
    if source.is_none() && !manage_py {
        return None;
    }
    let name = if sub.is_empty() || sub == "app" {
        "api"
    } else {
        sub
    };
    let mut s = if manage_py || has("django") {
        notes.push(format!("{}: Django → manage.py runserver", at("manage.py")));
        let mut s = service(
            name,
            &[
                "python",
                "manage.py",
                "runserver",
                "{host}:{port}",
                "--noreload",
            ],
            Some(8000),
            sub,
        );
        s.ready = Ready::Tcp;
        s
    } else if has("fastapi") || has("uvicorn") || has("starlette") {
        let (module, var) = find_app_object(&dir, "FastAPI(")
            .or_else(|| find_app_object(&dir, "Starlette("))
            .unwrap_or(("main".into(), "app".into()));
        notes.push(format!(
            "{}: FastAPI → uvicorn {module}:{var}",
            at(source.unwrap_or("requirements.txt"))
        ));
        let target = format!("{module}:{var}");
        let mut s = service(
            name,
            &[
                "python", "-m", "uvicorn", &target, "--host", "{host}", "--port", "{port}",
            ],
            Some(8000),
            sub,
        );
        s.ready = Ready::Http("http://{host}:{port}/docs".into());
        s
    } else if has("flask") {
        let (module, _) = find_app_object(&dir, "Flask(").unwrap_or(("app".into(), "app".into()));
        notes.push(format!(
            "{}: Flask → flask --app {module} run",
            at(source.unwrap_or("requirements.txt"))
        ));
        let mut s = service(
            name,
            &[
                "python", "-m", "flask", "--app", &module, "run", "--host", "{host}", "--port",
                "{port}",
            ],
            Some(5000),
            sub,
        );
        s.ready = Ready::Tcp;
        s
    } else if has("gradio") {
        let file = ["app.py", "main.py", "webui.py", "launch.py"]
            .into_iter()
            .find(|f| dir.join(f).is_file())
            .unwrap_or("app.py");
        notes.push(format!(
            "{}: Gradio → python {file}",
            at(source.unwrap_or("requirements.txt"))
        ));
        let mut s = service(name, &["python", file], Some(7860), sub);
        s.env.insert("GRADIO_SERVER_PORT".into(), "{port}".into());
        s.env.insert("GRADIO_SERVER_NAME".into(), "{host}".into());
        s.ready = Ready::Http("http://{host}:{port}/".into());
        s.startup_timeout_secs = 300;
        s
    } else {
        return None;
    };
    if let Some(v) = venv_in(&dir) {
        notes.push(format!("{}: virtual environment", at(&v.to_string_lossy())));
        s.venv = Some(v);
    } else {
        notes.push(format!(
            "{}: no virtual environment yet (the fixes can create one)",
            at("")
        ));
        s.venv = Some(PathBuf::from(".venv"));
    }
    if dir.join("requirements.txt").is_file() {
        s.requirements = Some(PathBuf::from("requirements.txt"));
    }
    Some(s)
}

fn node_frontend(root: &Path, sub: &str, notes: &mut Vec<String>) -> Option<Service> {
    let dir = root.join(sub);
    let text = read(&dir.join("package.json"))?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scripts = json.get("scripts").and_then(|s| s.as_object());
    let script = |n: &str| {
        scripts
            .and_then(|s| s.get(n))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let dep = |n: &str| {
        ["dependencies", "devDependencies"]
            .iter()
            .any(|k| json.get(k).and_then(|d| d.get(n)).is_some())
    };
    let at = if sub.is_empty() {
        "package.json".to_string()
    } else {
        format!("{sub}/package.json")
    };
    let name = if sub.is_empty() || sub == "app" {
        "web"
    } else {
        sub
    };
    let (run, body) = match (script("dev"), script("start")) {
        (Some(b), _) => ("dev", b),
        (None, Some(b)) => ("start", b),
        (None, None) => return None,
    };
    let mut s = if dep("next") || body.contains("next ") || body.ends_with("next") {
        notes.push(format!("{at}: Next.js → npm run {run} -- -p {{port}}"));
        service(
            name,
            &["npm", "run", run, "--", "-p", "{port}", "-H", "{host}"],
            Some(3000),
            sub,
        )
    } else if dep("vite") || body.contains("vite") {
        notes.push(format!(
            "{at}: Vite → npm run {run} -- --port {{port}} --strictPort"
        ));
        service(
            name,
            &[
                "npm",
                "run",
                run,
                "--",
                "--port",
                "{port}",
                "--strictPort",
                "--host",
                "{host}",
            ],
            Some(5173),
            sub,
        )
    } else {
        notes.push(format!("{at}: npm run {run} (PORT={{port}})"));
        let mut s = service(name, &["npm", "run", run], Some(3000), sub);
        s.env.insert("PORT".into(), "{port}".into());
        s
    };
    s.ready = Ready::Tcp;
    if !dir.join("node_modules").is_dir() {
        notes.push(format!(
            "{at}: node_modules is missing (the fixes can run npm install)"
        ));
    }
    Some(s)
}

/// Splits a Procfile command into words (double and single quotes group; no other shell syntax).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut has = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                has = true;
            }
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn procfile(root: &Path, notes: &mut Vec<String>) -> Vec<Service> {
    let Some(text) = read(&root.join("Procfile")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut next_port = 5000u16;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, cmd)) = line.split_once(':') else {
            continue;
        };
        let name: String = name
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let words: Vec<String> = split_words(cmd)
            .into_iter()
            .map(|w| w.replace("${PORT}", "{port}").replace("$PORT", "{port}"))
            .collect();
        if words.is_empty()
            || words[0].contains('=')
            || words
                .iter()
                .any(|w| matches!(w.as_str(), "&&" | "||" | "|" | ";"))
        {
            notes.push(format!(
                "Procfile: {name}: shell syntax is not run through a shell; edit the command"
            ));
        }
        let uses_port = words.iter().any(|w| w.contains("{port}"));
        let mut s = service(
            &name,
            &words.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
            "",
        );
        if uses_port || name == "web" {
            s.port = Some(next_port);
            s.env.insert("PORT".into(), "{port}".into());
            s.ready = Ready::Tcp;
            next_port += 100;
        } else {
            s.ready = Ready::Started;
        }
        notes.push(format!("Procfile: {name} → {}", words.join(" ")));
        out.push(s);
    }
    out
}

/// Proposes a profile for the project in `root`.
pub fn detect(root: &Path) -> Detection {
    let mut notes = Vec::new();
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let mut services = procfile(root, &mut notes);
    if services.is_empty() {
        if let Some(b) = BACKEND_DIRS
            .iter()
            .find_map(|d| python_backend(root, d, &mut notes))
        {
            services.push(b);
        }
        if let Some(mut f) = FRONTEND_DIRS
            .iter()
            .find_map(|d| node_frontend(root, d, &mut notes))
        {
            if let Some(b) = services.first() {
                f.depends_on.push(b.name.clone());
                if f.name == b.name {
                    f.name = format!("{}-web", f.name);
                }
            }
            services.push(f);
        }
    }
    if services.is_empty() {
        notes.push("no Procfile, Python backend (requirements.txt, pyproject.toml, manage.py) or package.json with a dev/start script found".into());
    }
    Detection {
        profile: Profile {
            name,
            services,
            path: None,
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfile_words() {
        assert_eq!(
            split_words(r#"gunicorn "app:create_app()" -b 0.0.0.0:$PORT"#),
            vec!["gunicorn", "app:create_app()", "-b", "0.0.0.0:$PORT"]
        );
        assert_eq!(split_words("a '' b"), vec!["a", "", "b"]);
    }
}
