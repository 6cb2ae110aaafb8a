//! Broker processes in the background: start `ktui broker ...` detached (its own process group,
//! so a Ctrl-C in the terminal that ran `ktui local up` does not reach it) with its output
//! appended to a log file; tell whether a recorded pid still runs; signal it and wait for it to
//! exit. Processes are only ever addressed by the pid their launcher recorded, never by name.
//! What to start and where to record it belongs to `background` (one broker) and `cluster`.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How often waits look at a process or a port again.
pub(super) const POLL: Duration = Duration::from_millis(50);
/// How many lines of a broker's log an error quotes.
const LOG_TAIL_LINES: usize = 8;
/// The line `anyhow` starts a backtrace with, after the error `main` returned.
const BACKTRACE_HEADING: &str = "\nStack backtrace:\n";

/// The signals a launcher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: the broker drains its connections and flushes its logs, then exits.
    Term,
    /// SIGKILL: the process ends at once (recovery runs at the next start).
    Kill,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
        }
    }
}

/// Starts `<this executable> ARGS` detached, in its own process group, with stdin closed and
/// stdout and stderr appended to `log` (without colour codes: `NO_COLOR`). The caller records `child.id()`; keeping the `Child`
/// lets it notice an early exit (`try_wait`) while it waits for the broker to serve.
pub(super) fn spawn_detached(args: &[String], log: &Path) -> anyhow::Result<Child> {
    let output = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let exe = std::env::current_exe().context("cannot find the ktui executable")?;
    let mut command = Command::new(exe);
    let _ = command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let _ = command.process_group(0);
    }
    command.spawn().context("cannot start the broker")
}

/// Whether `pid` names a running process. A zombie (exited, not yet reaped by its parent) does
/// not count: a broker that died while its launcher still runs is dead.
pub(super) fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !exited(&stat),
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    }
}

/// Whether `pid` runs and its command line contains `marker` (a path only that process was
/// given), so a pid recorded before a reboot and reused since is not taken for the broker.
/// Where the command line cannot be read (no /proc), liveness alone decides.
pub(super) fn runs(pid: u32, marker: &str) -> bool {
    if !alive(pid) {
        return false;
    }
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            marker.is_empty()
                || cmdline
                    .windows(marker.len())
                    .any(|w| w == marker.as_bytes())
        }
        Err(_) => true,
    }
}

/// A `/proc/PID/stat` line's state is the first field after the command name's closing
/// parenthesis (the name itself may hold spaces and parentheses); Z and X have exited.
fn exited(stat: &str) -> bool {
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X"))
}

/// Sends `which` to `pid`. A process that exited just before is not an error: it is where the
/// signal would have taken it.
pub(super) fn signal(pid: u32, which: Signal) -> anyhow::Result<()> {
    let ok = Command::new("kill")
        .args([&format!("-{}", which.name()), &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && alive(pid) {
        bail!("cannot signal process {pid}");
    }
    Ok(())
}

/// Waits until none of `pids` runs or `wait_max` has passed; returns those still running.
pub(super) fn wait_exit(pids: &[u32], wait_max: Duration) -> Vec<u32> {
    let deadline = Instant::now() + wait_max;
    loop {
        let running: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if running.is_empty() || Instant::now() >= deadline {
            return running;
        }
        std::thread::sleep(POLL);
    }
}

/// The last lines of a log file, indented, for an error message; empty if it cannot be read.
/// A backtrace after the last error (`RUST_BACKTRACE` set) is left out: the error is the news.
pub(super) fn log_tail(log: &Path) -> String {
    let Ok(text) = fs::read_to_string(log) else {
        return String::new();
    };
    let text = match text.rfind(BACKTRACE_HEADING) {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| format!("\n    {l}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_state_follows_the_last_parenthesis() {
        assert!(!exited("42 (ktui) S 1 42 42 0 -1"));
        assert!(exited("42 (ktui) Z 1 42 42 0 -1"));
        assert!(exited("42 (a) b) X 1"));
        assert!(!exited("42 (a) Z) R 1"));
        assert!(!exited("garbage"));
    }

    #[test]
    fn this_process_runs_and_an_unused_pid_does_not() {
        let me = std::process::id();
        assert!(alive(me));
        let argv0 = std::env::args().next().expect("argv[0]");
        assert!(runs(me, &argv0));
        assert!(!runs(me, "/no/such/marker/in/a/test/command/line"));
        // Linux pids stop at 2^22.
        assert!(!alive(u32::MAX - 1));
    }

    #[test]
    fn a_reaped_child_is_dead_and_a_zombie_too() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = child.id();
        assert!(alive(pid));
        signal(pid, Signal::Kill).expect("kill");
        // Not reaped yet: a zombie, which must not count as running.
        assert_eq!(
            wait_exit(&[pid], Duration::from_secs(10)),
            Vec::<u32>::new()
        );
        let _ = child.wait().expect("reaped");
        assert!(!alive(pid));
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("broker.log");
        let text: String = (0..20).map(|i| format!("line {i}\n")).collect();
        fs::write(&log, text).expect("write");
        let tail = log_tail(&log);
        assert!(tail.starts_with("\n    line 12"), "{tail}");
        assert!(tail.ends_with("line 19"), "{tail}");
        assert_eq!(log_tail(&dir.path().join("missing")), "");
        let failed = "started\nError: config 'x'\n\nStack backtrace:\n   0: anyhow\n   1: main\n";
        fs::write(&log, failed).expect("write");
        assert_eq!(log_tail(&log), "\n    started\n    Error: config 'x'");
    }
}
