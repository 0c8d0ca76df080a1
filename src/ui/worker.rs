//! The worker thread: owns the tokio runtime and runs the supervisor for one profile. The window
//! talks to it only through [`Command`]s and drains [`Event`]s; every event sent wakes the window
//! (`request_repaint`), so nothing polls. Dropping the handle stops every service and joins.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::profile::Profile;
use crate::protocol::{Command, Event};
use crate::supervisor::Options;

/// Handle to a running supervisor.
pub struct Worker {
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the supervisor for `profile` on a new thread. `wake` is called after each event.
    pub fn spawn(
        profile: Profile,
        opts: Options,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Worker> {
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                let sink: crate::supervisor::Sink = Box::new(move |e: Event| {
                    // A failed send means the window is gone; the supervisor ends on the Shutdown that
                    // dropping the handle sends.
                    if ev_tx.send(e).is_ok() {
                        wake();
                    }
                });
                runtime.block_on(crate::supervisor::run(profile, opts, cmd_rx, sink));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(Worker {
            commands: cmd_tx,
            events: ev_rx,
            thread: Some(thread),
        })
    }

    /// Sends a command; false when the supervisor has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Applies the events that arrived, for at most `budget`. Returns true when some are left for
    /// the next frame.
    pub fn drain(&self, budget: Duration, mut apply: impl FnMut(Event)) -> bool {
        let start = Instant::now();
        let mut n = 0u32;
        while let Ok(e) = self.events.try_recv() {
            apply(e);
            n += 1;
            // Check the clock every 256 events: reading it costs more than applying a log line.
            if n.is_multiple_of(256) && start.elapsed() >= budget {
                return true;
            }
        }
        false
    }

    /// Stops every service and waits for the supervisor to end.
    pub fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}
