//! `ktui local up|down|status`: the workspace broker as a background process for other
//! clients, with its pid and address in `<data dir>/local.pid` and its output in
//! `<data dir>/local.log`. `up` starts `ktui broker` detached (its own process group) and
//! waits until it accepts connections; `down` sends SIGTERM (the broker drains and flushes)
//! and waits for it to exit.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::process::{self, alive, Signal};

/// How long `up` waits for the broker to listen and `down` for it to exit.
const WAIT_MAX: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// The running background broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBroker {
    pub pid: u32,
    pub addr: SocketAddr,
}

/// `<data dir>/local.pid`: `PID ADDR`.
pub fn pid_file() -> PathBuf {
    super::data_dir().join("local.pid")
}

/// `<data dir>/local.log`.
pub fn log_file() -> PathBuf {
    super::data_dir().join("local.log")
}

/// The background broker, if its pid file names a live process.
pub fn status() -> Option<LocalBroker> {
    let text = fs::read_to_string(pid_file()).ok()?;
    let mut words = text.split_whitespace();
    let pid: u32 = words.next()?.parse().ok()?;
    let addr: SocketAddr = words.next()?.parse().ok()?;
    alive(pid).then_some(LocalBroker { pid, addr })
}

/// Starts the background broker unless one runs; returns it.
pub fn up() -> anyhow::Result<LocalBroker> {
    if let Some(running) = status() {
        return Ok(running);
    }
    let data = super::data_dir();
    fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let port = super::pick_port();
    let args = [
        "broker".to_string(),
        "--override".to_string(),
        format!("log.dirs={}", data.join("broker").display()),
        "--override".to_string(),
        format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
    ];
    let child = process::spawn_detached(&args, &log_file())?;
    let broker = LocalBroker {
        pid: child.id(),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    fs::write(pid_file(), format!("{} {}\n", broker.pid, broker.addr))?;
    let deadline = Instant::now() + WAIT_MAX;
    while TcpStream::connect_timeout(&broker.addr, POLL).is_err() {
        if !alive(broker.pid) || Instant::now() > deadline {
            let _ = fs::remove_file(pid_file());
            bail!(
                "the local broker did not start; see {}",
                log_file().display()
            );
        }
        std::thread::sleep(POLL);
    }
    Ok(broker)
}

/// Stops the background broker; returns the one stopped, if any ran.
pub fn down() -> anyhow::Result<Option<LocalBroker>> {
    let Some(running) = status() else {
        let _ = fs::remove_file(pid_file());
        return Ok(None);
    };
    process::signal(running.pid, Signal::Term)?;
    if !process::wait_exit(&[running.pid], WAIT_MAX).is_empty() {
        bail!("process {} did not exit within {WAIT_MAX:?}", running.pid);
    }
    let _ = fs::remove_file(pid_file());
    Ok(Some(running))
}
