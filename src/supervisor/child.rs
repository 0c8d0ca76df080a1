//! One running service process: spawned in its own process group (Unix) or job object (Windows),
//! its output streamed line by line, its exit noticed at once, and the whole tree stopped on request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::protocol::Stream;

/// Longest line kept; the rest of a longer line is dropped (and said so).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What a child task reports to the supervisor.
#[derive(Debug)]
pub enum ChildMsg {
    /// A line of output.
    Line {
        /// Service name.
        service: String,
        /// Which launch of it.
        generation: u64,
        /// Which stream.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// The process ended (and its group was cleaned up).
    Exited {
        /// Service name.
        service: String,
        /// Which launch of it.
        generation: u64,
        /// Exit code; None for a signal.
        code: Option<i32>,
        /// We asked it to stop.
        requested: bool,
    },
}

/// What to launch.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Service name.
    pub service: String,
    /// Launch counter, to tell stale messages apart.
    pub generation: u64,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Environment to add.
    pub env: BTreeMap<String, String>,
    /// Environment to remove.
    pub env_remove: Vec<String>,
    /// How long a polite stop may take before the tree is killed.
    pub grace: Duration,
}

/// A running child: its pid and the way to stop it.
#[derive(Debug)]
pub struct Running {
    /// Pid of the direct child (also the process group id on Unix).
    pub pid: u32,
    stop: Option<oneshot::Sender<()>>,
}

impl Running {
    /// Asks the task to stop the process tree (graceful, then forced after the grace period).
    pub fn request_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Spawns the process and its watcher task.
pub fn spawn(launch: Launch, tx: mpsc::UnboundedSender<ChildMsg>) -> std::io::Result<Running> {
    let (program, args) = launch
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = CommandWrap::with_new(program, |c| {
        c.args(args)
            .current_dir(&launch.cwd)
            .envs(&launch.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &launch.env_remove {
            c.env_remove(k);
        }
    });
    #[cfg(unix)]
    cmd.wrap(process_wrap::tokio::ProcessGroup::leader());
    #[cfg(windows)]
    cmd.wrap(process_wrap::tokio::JobObject);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let (stop_tx, stop_rx) = oneshot::channel();
    let readers = [
        child
            .stdout()
            .take()
            .map(|o| tokio::spawn(read_lines(o, launch.clone(), Stream::Stdout, tx.clone()))),
        child
            .stderr()
            .take()
            .map(|e| tokio::spawn(read_lines(e, launch.clone(), Stream::Stderr, tx.clone()))),
    ];
    tokio::spawn(watch(child, launch, stop_rx, readers, tx));
    Ok(Running {
        pid,
        stop: Some(stop_tx),
    })
}

async fn watch(
    mut child: Box<dyn ChildWrapper>,
    launch: Launch,
    stop_rx: oneshot::Receiver<()>,
    readers: [Option<tokio::task::JoinHandle<()>>; 2],
    tx: mpsc::UnboundedSender<ChildMsg>,
) {
    let mut requested = false;
    // Wait for the direct child only: the group-wide wait would also wait for grandchildren.
    let status = tokio::select! {
        s = child.inner_mut().wait() => s.ok(),
        _ = stop_rx => {
            requested = true;
            polite_stop(child.as_ref());
            match tokio::time::timeout(launch.grace, child.inner_mut().wait()).await {
                Ok(s) => s.ok(),
                Err(_) => {
                    let _ = child.start_kill();
                    child.inner_mut().wait().await.ok()
                }
            }
        }
    };
    // Whatever the service left behind in its group goes with it: nothing is orphaned.
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    for r in readers.into_iter().flatten() {
        // A grandchild that escaped the group may keep a pipe open; do not wait for it forever.
        let abort = r.abort_handle();
        if tokio::time::timeout(Duration::from_millis(500), r)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    let code = status.and_then(|s| s.code());
    let _ = tx.send(ChildMsg::Exited {
        service: launch.service,
        generation: launch.generation,
        code,
        requested,
    });
}

#[cfg(unix)]
fn polite_stop(child: &dyn ChildWrapper) {
    let _ = child.signal(nix::sys::signal::Signal::SIGTERM as i32);
}

#[cfg(not(unix))]
fn polite_stop(_child: &dyn ChildWrapper) {
    // Windows has no polite signal for arbitrary console programs; the job is terminated after grace.
}

async fn read_lines<R: AsyncRead + Unpin>(
    pipe: R,
    launch: Launch,
    stream: Stream,
    tx: mpsc::UnboundedSender<ChildMsg>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, pipe);
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) => break,
            Ok(b) => b,
            Err(_) => break,
        };
        let (chunk, found_newline) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            line.extend_from_slice(&chunk[..room]);
            overflow = true;
        } else {
            line.extend_from_slice(chunk);
        }
        let consumed = found_newline.unwrap_or(buf.len());
        reader.consume(consumed);
        if found_newline.is_some() {
            send_line(&launch, stream, &mut line, &mut overflow, &tx);
        }
    }
    if !line.is_empty() {
        send_line(&launch, stream, &mut line, &mut overflow, &tx);
    }
}

fn send_line(
    launch: &Launch,
    stream: Stream,
    line: &mut Vec<u8>,
    overflow: &mut bool,
    tx: &mpsc::UnboundedSender<ChildMsg>,
) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let mut text = String::from_utf8_lossy(line).into_owned();
    if *overflow {
        text.push_str(" … [line cut at 64 KiB]");
    }
    let _ = tx.send(ChildMsg::Line {
        service: launch.service.clone(),
        generation: launch.generation,
        stream,
        line: text,
    });
    line.clear();
    *overflow = false;
}
