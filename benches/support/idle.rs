//! Idle CPU of the real `ktui` binary in tmux, shared by the console benchmarks: the console
//! opens on a cluster, and its process's CPU time is read from /proc over 30 s per screen.

#[path = "proc_stats.rs"]
mod proc_stats;

use std::process::Command;
use std::time::Duration;

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
    let pid: u32 = pid.parse().expect("the pane's pid");
    let measure = |what: &str| {
        std::thread::sleep(Duration::from_secs(5));
        let before = proc_stats::cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(30));
        let used = proc_stats::cpu_seconds(pid) - before;
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
