//! Single instance: the first window takes an exclusive lock on `instance.lock` in the state
//! directory and listens on a loopback port it writes next to it. A second launch finds the lock
//! taken, connects to that port, asks the first window to show itself, and exits.
//!
//! The lock is released by the operating system when the process ends, so a crash leaves nothing
//! stale behind; the port file is only trusted while the lock is held.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LOCK_FILE: &str = "instance.lock";
const PORT_FILE: &str = "instance.port";
const SHOW: &str = "show";

/// The callback that wakes the window, set once the window exists.
type Waker = Arc<std::sync::Mutex<Option<Box<dyn Fn() + Send>>>>;

/// What happened when this process asked to be the only window.
pub enum Instance {
    /// This is the first window; keep this value alive as long as the window lives.
    Primary(Primary),
    /// Another window runs and was asked to show itself.
    AlreadyRunning,
}

/// The first window's claim.
pub struct Primary {
    _lock: File,
    show_requested: Arc<AtomicBool>,
    waker: Waker,
}

impl Primary {
    /// Called from the listener when another launch asks us to show (used to wake the window).
    pub fn set_waker(&self, wake: impl Fn() + Send + 'static) {
        if let Ok(mut w) = self.waker.lock() {
            *w = Some(Box::new(wake));
        }
    }

    /// True once per request from another launch.
    pub fn take_show_request(&self) -> bool {
        self.show_requested.swap(false, Ordering::AcqRel)
    }
}

/// Claims the single-instance lock in `dir`, or notifies the instance that holds it.
pub fn claim(dir: &Path) -> std::io::Result<Instance> {
    std::fs::create_dir_all(dir)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            notify_running(dir);
            return Ok(Instance::AlreadyRunning);
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    crate::store::write_atomic(&dir.join(PORT_FILE), port.to_string().as_bytes())?;
    let show_requested = Arc::new(AtomicBool::new(false));
    let waker: Waker = Arc::new(std::sync::Mutex::new(None));
    let (flag, wake) = (show_requested.clone(), waker.clone());
    std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_ok() && line.trim() == SHOW {
                    flag.store(true, Ordering::Release);
                    if let Ok(w) = wake.lock()
                        && let Some(w) = w.as_ref()
                    {
                        w();
                    }
                }
            }
        })?;
    Ok(Instance::Primary(Primary {
        _lock: lock,
        show_requested,
        waker,
    }))
}

fn notify_running(dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dir.join(PORT_FILE)) else {
        return;
    };
    let Ok(port) = text.trim().parse::<u16>() else {
        return;
    };
    if let Ok(mut s) =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
    {
        let _ = writeln!(s, "{SHOW}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_asks_the_first_to_show() {
        let dir = tempfile::tempdir().unwrap();
        let Instance::Primary(first) = claim(dir.path()).unwrap() else {
            panic!("first claim must win")
        };
        let (tx, rx) = std::sync::mpsc::channel();
        first.set_waker(move || {
            let _ = tx.send(());
        });
        assert!(matches!(
            claim(dir.path()).unwrap(),
            Instance::AlreadyRunning
        ));
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the first instance was woken");
        assert!(first.take_show_request());
        assert!(!first.take_show_request(), "one request, one show");
        drop(first);
        assert!(
            matches!(claim(dir.path()).unwrap(), Instance::Primary(_)),
            "the lock ends with its holder"
        );
    }
}
