//! The slow recovery effects, each carried out for real and checked: stopping the port's holder and
//! waiting until the port is free, waiting out TIME_WAIT, installing a package and importing it,
//! creating a virtual environment, repairing a configuration file with a backup, firewall checks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::{Effect, Internal};
use crate::engine::Facts;
use crate::engine::actions::{ActionId, Ecosystem, ecosystem_of, installable_command};
use crate::profile::Service;
use crate::protocol::PortHolder;
use crate::system;

/// What an effect knows about its service.
pub(super) struct Context {
    pub service: String,
    pub cwd: PathBuf,
    pub port: Option<u16>,
    pub host: String,
    pub spec: Service,
    pub venv: Option<PathBuf>,
    pub facts: Facts,
    pub rule: Option<String>,
    pub holder: Option<PortHolder>,
    pub log: mpsc::UnboundedSender<Internal>,
}

impl Context {
    fn say(&self, line: impl Into<String>) {
        let _ = self.log.send(Internal::Log {
            service: self.service.clone(),
            line: line.into(),
        });
    }
}

fn relaunch(message: String) -> Result<Effect, String> {
    Ok(Effect::Relaunch {
        message,
        undo: None,
        use_venv: false,
    })
}

pub(super) async fn run(action: ActionId, ctx: Context) -> Result<Effect, String> {
    match action {
        ActionId::KillProcessOnPort => kill_holder(&ctx).await,
        ActionId::WaitForPortRelease => {
            let port = ctx.port.ok_or("the service has no port")?;
            wait_free(&ctx.host, port, Duration::from_secs(120)).await?;
            relaunch(format!("{}: port {port} is free again", ctx.service))
        }
        ActionId::InstallMissingDependencies => install(&ctx).await,
        ActionId::CreateVirtualEnvironment => create_venv(&ctx).await,
        ActionId::RepairConfigFile => repair(&ctx),
        ActionId::CheckFirewallExceptions => {
            let port = ctx.port.or_else(|| ctx.facts.port()).unwrap_or(0);
            let d = tokio::task::spawn_blocking(move || system::firewall::diagnose(port))
                .await
                .map_err(|e| e.to_string())?;
            Ok(Effect::Report {
                message: format!(
                    "firewall: {}; to allow the port: {}",
                    d.summary,
                    d.allow_command.join(" ")
                ),
            })
        }
        ActionId::SuggestFirewallException => {
            let port = ctx
                .port
                .or_else(|| ctx.facts.port())
                .ok_or("no port to allow")?;
            let argv = system::firewall::allow_command(port);
            if argv.iter().any(|a| a == "PROGRAM") {
                return Err("on macOS the firewall allows programs, not ports: run the shown command with the program's path".into());
            }
            let ok = run_logged(&ctx, &argv, &ctx.cwd, Duration::from_secs(60)).await?;
            if ok {
                relaunch(format!("{}: firewall now allows port {port}", ctx.service))
            } else {
                Err(format!(
                    "{} failed (it needs administrator rights: run it yourself with sudo / as Administrator)",
                    argv.join(" ")
                ))
            }
        }
        other => Err(format!("{} is not a background effect", other.id())),
    }
}

async fn wait_free(host: &str, port: u16, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if system::ports::is_free(host, port) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "port {port} was still taken after {} s",
        limit.as_secs()
    ))
}

async fn kill_holder(ctx: &Context) -> Result<Effect, String> {
    let port = ctx
        .port
        .or_else(|| ctx.facts.port())
        .ok_or("the service has no port")?;
    let holder = match ctx.holder.clone() {
        Some(h) => Some(h),
        None => tokio::task::spawn_blocking(move || system::ports::holder(port))
            .await
            .map_err(|e| e.to_string())?,
    };
    let Some(h) = holder else {
        if system::ports::is_free(&ctx.host, port) {
            return relaunch(format!("{}: port {port} is already free", ctx.service));
        }
        return Err(format!(
            "no process visible holds port {port}: it is another user's or only in TIME_WAIT; wait about 60 s (wait_for_port_release) instead of killing anything"
        ));
    };
    let pid = h.pid;
    let outcome =
        tokio::task::spawn_blocking(move || system::process::stop(pid, Duration::from_secs(5)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    ctx.say(outcome.clone());
    wait_free(&ctx.host, port, Duration::from_secs(10))
        .await
        .map_err(|e| format!("{outcome}, but {e} (TIME_WAIT lasts up to 60 s on Linux)"))?;
    relaunch(format!("{}: {outcome}; port {port} is free", ctx.service))
}

/// Runs argv (never a shell) in `cwd`, streaming its output into the service's log.
async fn run_logged(
    ctx: &Context,
    argv: &[String],
    cwd: &Path,
    limit: Duration,
) -> Result<bool, String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    ctx.say(format!("$ {}", argv.join(" ")));
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log = ctx.log.clone();
        let service = ctx.service.clone();
        readers.push(tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = log.send(Internal::Log {
                    service: service.clone(),
                    line,
                });
            }
        }));
    }
    let status = tokio::time::timeout(limit, child.wait()).await;
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    match status {
        Ok(Ok(s)) => Ok(s.success()),
        Ok(Err(e)) => Err(format!("{program} failed: {e}")),
        Err(_) => Err(format!(
            "{program} did not finish within {} s",
            limit.as_secs()
        )),
    }
}

fn is_node(ctx: &Context) -> bool {
    ecosystem_of(ctx.rule.as_deref(), &ctx.facts) == Ecosystem::Node
}

async fn install(ctx: &Context) -> Result<Effect, String> {
    if is_node(ctx) {
        let package = ctx.facts.text("module").map(system::install::npm_package);
        if let Some(p) = &package
            && !system::install::valid_npm_name(p)
        {
            return Err(format!(
                "\"{p}\" is not a valid npm package name; nothing was installed"
            ));
        }
        if !ctx.cwd.join("package.json").exists() {
            return Err(format!(
                "no package.json in {}; nothing was installed",
                ctx.cwd.display()
            ));
        }
        // A missing dev tool (vite, next, …) means node_modules is missing: install what package.json lists.
        let argv = system::install::npm_install(if ctx.facts.text("module").is_some() {
            package.as_deref()
        } else {
            None
        })
        .ok_or("invalid package name")?;
        if !run_logged(ctx, &argv, &ctx.cwd, Duration::from_secs(900)).await? {
            return Err(format!("{} failed; see its output above", argv.join(" ")));
        }
        if let Some(cmd) = ctx.facts.text("command") {
            let bin = ctx.cwd.join("node_modules").join(".bin").join(cmd);
            if !bin.exists() {
                return Err(format!(
                    "npm install finished but {} is still missing",
                    bin.display()
                ));
            }
        }
        return relaunch(format!(
            "{}: installed {}",
            ctx.service,
            package.unwrap_or_else(|| "the packages package.json lists".into())
        ));
    }
    let (module, dist) = match (ctx.facts.text("module"), ctx.facts.text("command")) {
        (Some(m), _) => (Some(m.to_string()), system::install::python_distribution(m)),
        (None, Some(c)) if installable_command(c) == Some(Ecosystem::Python) => {
            (None, c.to_string())
        }
        _ => return Err("nothing to install: the incident names no module".into()),
    };
    let python = match &ctx.venv {
        Some(v) => system::venv::python(v),
        None => PathBuf::from(system::venv::base_interpreter().remove(0)),
    };
    let argv = system::install::pip_install(&python, &dist)
        .ok_or_else(|| format!("\"{dist}\" is not a valid package name; nothing was installed"))?;
    if !run_logged(ctx, &argv, &ctx.cwd, Duration::from_secs(900)).await? {
        let hint = if ctx.venv.is_none() {
            " (no virtual environment: create one, system Pythons often refuse installs)"
        } else {
            ""
        };
        return Err(format!("pip could not install {dist}{hint}"));
    }
    if let Some(m) = module {
        let check = vec![
            python.to_string_lossy().to_string(),
            "-c".into(),
            format!("import {m}"),
        ];
        if !valid_module_path(&m)
            || !run_logged(ctx, &check, &ctx.cwd, Duration::from_secs(120)).await?
        {
            return Err(format!("{dist} installed, but import {m} still fails"));
        }
    }
    Ok(Effect::Relaunch {
        message: format!("{}: installed {dist}", ctx.service),
        undo: None,
        use_venv: ctx.venv.is_some(),
    })
}

fn valid_module_path(m: &str) -> bool {
    !m.is_empty()
        && m.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
}

async fn create_venv(ctx: &Context) -> Result<Effect, String> {
    let target = system::venv::target(&ctx.cwd, ctx.spec.venv.as_deref());
    let mut argv = system::venv::base_interpreter();
    argv.extend([
        "-m".into(),
        "venv".into(),
        target.to_string_lossy().to_string(),
    ]);
    if !run_logged(ctx, &argv, &ctx.cwd, Duration::from_secs(300)).await? {
        return Err(format!(
            "creating {} failed (on Debian/Ubuntu install python3-venv)",
            target.display()
        ));
    }
    let python = system::venv::python(&target);
    if !python.exists() {
        return Err(format!(
            "{} has no interpreter after creation",
            target.display()
        ));
    }
    let requirements = ctx
        .spec
        .requirements
        .as_ref()
        .map(|r| ctx.cwd.join(r))
        .or_else(|| Some(ctx.cwd.join("requirements.txt")).filter(|p| p.exists()));
    if let Some(req) = requirements {
        let argv = vec![
            python.to_string_lossy().to_string(),
            "-m".into(),
            "pip".into(),
            "install".into(),
            "-r".into(),
            req.to_string_lossy().to_string(),
        ];
        if !run_logged(ctx, &argv, &ctx.cwd, Duration::from_secs(1800)).await? {
            return Err(format!(
                "{} was created, but installing {} failed",
                target.display(),
                req.display()
            ));
        }
    }
    Ok(Effect::Relaunch {
        message: format!(
            "{}: created {} and runs inside it",
            ctx.service,
            target.display()
        ),
        undo: None,
        use_venv: true,
    })
}

fn repair(ctx: &Context) -> Result<Effect, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = ctx.facts.text("path") {
        let p = Path::new(p);
        candidates.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            ctx.cwd.join(p)
        });
    }
    for c in &ctx.spec.config_files {
        let p = ctx.cwd.join(c);
        if matches!(system::config::check(&p), Some(Err(_))) || !candidates.contains(&p) {
            candidates.push(p);
        }
    }
    let template = ctx.spec.config_template.as_ref().map(|t| ctx.cwd.join(t));
    let broken = candidates
        .iter()
        .find(|p| p.exists() && !matches!(system::config::check(p), Some(Ok(()))))
        .ok_or("no configuration file of this service is broken (list them in config_files)")?;
    let r = system::config::repair(broken, template.as_deref())?;
    Ok(Effect::Relaunch {
        message: r.message.clone(),
        undo: Some(r),
        use_venv: false,
    })
}
