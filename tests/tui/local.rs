//! `ktui local up|status|down` with a temporary data directory: the background broker starts,
//! serves Kafka clients, is reported by `status`, and `down` stops it and removes the pid file.

use std::process::{Command, Output};

fn ktui(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .env("XDG_DATA_HOME", data)
        .output()
        .expect("ktui runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn local_up_status_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let status = ktui(data, &["local", "status"]);
    assert_eq!(status.status.code(), Some(3), "{}", stdout(&status));
    assert!(stdout(&status).contains("not running"));

    let up = ktui(data, &["local", "up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let text = stdout(&up);
    let addr = text
        .split_whitespace()
        .nth(3)
        .expect("local broker on ADDR ...")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{text}");
    assert!(data.join("ktui/local.pid").exists());

    let again = ktui(data, &["local", "up"]);
    assert!(
        stdout(&again).contains(&addr),
        "up twice reuses the running broker"
    );
    let status = ktui(data, &["local", "status"]);
    assert!(status.status.success());
    assert!(stdout(&status).contains(&format!("running on {addr}")));

    let created = ktui(data, &["topics", "create", "local-t", "-b", &addr]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let down = ktui(data, &["local", "down"]);
    assert!(down.status.success());
    assert!(stdout(&down).contains("stopped"));
    assert!(!data.join("ktui/local.pid").exists());
    assert_eq!(ktui(data, &["local", "status"]).status.code(), Some(3));
}
