//! Idle CPU of the real `ktui` binary in tmux, shared by the console benchmarks: the console
//! opens on a cluster, and its process's CPU time is read from /proc over 30 s per screen.

use std::process::Command;
use std::time::Duration;

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn idle_cpu(bootstrap: &str, refresh: &str) {
    let session = format!("ktui-bench-{}", std::process::id());
    let command = format!(
        "env KTUI_LOG=/dev/null '{}' --bootstrap {bootstrap} --refresh {refresh}",
        env!("CARGO_BIN_EXE_ktui")
    );
    let _ = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &command,
    ]);
    let pid = tmux(&["display", "-p", "-t", &session, "#{pane_pid}"])
        .trim()
        .to_string();
    let hz = 100.0;
    let measure = |what: &str| {
        std::thread::sleep(Duration::from_secs(5));
        let before = cpu_ticks(&pid);
        std::thread::sleep(Duration::from_secs(30));
        let used = (cpu_ticks(&pid) - before) as f64 / hz;
        println!(
            "idle CPU, {what}: {:.2}% of a core over 30 s",
            used / 30.0 * 100.0
        );
    };
    measure(&format!("Topics screen (refresh {refresh})"));
    let _ = tmux(&["send-keys", "-t", &session, "-l", ":brokers"]);
    let _ = tmux(&["send-keys", "-t", &session, "Enter"]);
    measure(&format!("Brokers screen (refresh {refresh})"));
    let _ = tmux(&["kill-session", "-t", &session]);
}
