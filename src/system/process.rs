//! Process facts and stopping processes we did not start — only with consent and never the
//! untouchables (pid 0 and 1, ourselves, our parent, another user's process).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, Signal, System, UpdateKind, Users};

/// What we know of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFacts {
    /// Pid.
    pub pid: u32,
    /// Short name.
    pub name: String,
    /// Command line words.
    pub cmd: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Owner's name.
    pub user: Option<String>,
    /// Owner's id as text.
    pub uid: Option<String>,
    /// Parent pid.
    pub parent: Option<u32>,
    /// Start time, seconds since the epoch.
    pub start_time: u64,
}

impl ProcessFacts {
    /// The command line as one string (for display only; never run).
    pub fn command_line(&self) -> String {
        if self.cmd.is_empty() {
            self.name.clone()
        } else {
            self.cmd.join(" ")
        }
    }
}

fn system_for(pids: &[Pid]) -> Option<System> {
    let mut sys = System::new().ok()?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(pids),
        true,
        ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_cwd(UpdateKind::Always)
            .with_user(UpdateKind::Always),
    );
    Some(sys)
}

/// Facts of one process, if it exists.
pub fn facts(pid: u32) -> Option<ProcessFacts> {
    let spid = Pid::from_u32(pid);
    let sys = system_for(&[spid])?;
    let p = sys.process(spid)?;
    let users = Users::new_with_refreshed_list().ok();
    let user = p.user_id().and_then(|uid| {
        users
            .as_ref()?
            .get_user_by_id(uid)
            .map(|u| u.name().to_string())
    });
    Some(ProcessFacts {
        pid,
        name: p.name().to_string_lossy().to_string(),
        cmd: p
            .cmd()
            .iter()
            .map(|s| s.to_string_lossy().to_string())
            .collect(),
        cwd: p.cwd().map(PathBuf::from),
        user,
        uid: p.user_id().map(|u| u.to_string()),
        parent: p.parent().map(|pp| pp.as_u32()),
        start_time: p.start_time(),
    })
}

/// The chain of ancestors of `pid` (parent first), at most `depth` long.
pub fn ancestors(pid: u32, depth: usize) -> Vec<u32> {
    let mut out = Vec::new();
    let mut cur = pid;
    for _ in 0..depth {
        match facts(cur).and_then(|f| f.parent) {
            Some(p) if p != 0 && !out.contains(&p) => {
                out.push(p);
                cur = p;
            }
            _ => break,
        }
    }
    out
}

/// Why a process may not be stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// PID 0, PID 1, ourselves or our parent.
    #[error("pid {0} is {1}; Startup Medic never stops it")]
    Untouchable(u32, &'static str),
    /// Another user's process.
    #[error("pid {pid} belongs to user {owner}, not to you; stop it as that user if it must go")]
    OtherUser {
        /// Pid.
        pid: u32,
        /// Its owner.
        owner: String,
    },
    /// It is gone already.
    #[error("pid {0} is not running")]
    Gone(u32),
}

/// Checks that `pid` may be stopped at all (consent is the caller's business).
pub fn may_stop(pid: u32) -> Result<ProcessFacts, Refusal> {
    let me = std::process::id();
    let parent = facts(me).and_then(|f| f.parent);
    match pid {
        0 => return Err(Refusal::Untouchable(0, "the kernel's")),
        1 => return Err(Refusal::Untouchable(1, "the init process")),
        p if p == me => return Err(Refusal::Untouchable(p, "Startup Medic itself")),
        p if Some(p) == parent => return Err(Refusal::Untouchable(p, "Startup Medic's parent")),
        _ => {}
    }
    let target = facts(pid).ok_or(Refusal::Gone(pid))?;
    let mine = facts(me).and_then(|f| f.uid);
    if let (Some(theirs), Some(mine)) = (&target.uid, &mine)
        && theirs != mine
    {
        return Err(Refusal::OtherUser {
            pid,
            owner: target.user.clone().unwrap_or_else(|| theirs.clone()),
        });
    }
    Ok(target)
}

/// Asks a process to end, waits up to `grace`, then forces it. Returns how it ended.
pub fn stop(pid: u32, grace: Duration) -> Result<String, Refusal> {
    let target = may_stop(pid)?;
    let spid = Pid::from_u32(pid);
    let alive = |spid| {
        system_for(&[spid]).is_some_and(|s| {
            s.process(spid).is_some_and(|p| {
                p.start_time() == target.start_time && p.status() != sysinfo::ProcessStatus::Zombie
            })
        })
    };
    if let Some(sys) = system_for(&[spid])
        && let Some(p) = sys.process(spid)
        && p.kill_with(Signal::Term).is_none()
    {
        p.kill();
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(spid) {
            return Ok(format!(
                "pid {pid} ({}) ended after a polite request",
                target.name
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(p) = system_for(&[spid]).as_ref().and_then(|s| s.process(spid)) {
        p.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !alive(spid) {
            return Ok(format!(
                "pid {pid} ({}) ignored the request for {} s and was forced to end",
                target.name,
                grace.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(format!(
        "pid {pid} ({}) did not end even when forced",
        target.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouchables_are_refused() {
        assert!(matches!(may_stop(0), Err(Refusal::Untouchable(0, _))));
        assert!(matches!(may_stop(1), Err(Refusal::Untouchable(1, _))));
        assert!(matches!(
            may_stop(std::process::id()),
            Err(Refusal::Untouchable(..))
        ));
        let parent = facts(std::process::id())
            .and_then(|f| f.parent)
            .expect("a parent");
        assert!(matches!(may_stop(parent), Err(Refusal::Untouchable(..))));
    }

    #[test]
    fn facts_of_ourselves() {
        let f = facts(std::process::id()).expect("us");
        assert!(!f.cmd.is_empty());
        assert!(f.start_time > 0);
    }
}
