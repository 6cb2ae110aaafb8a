//! Clients we did not write, run as processes against the broker: Debian's kcat (librdkafka
//! 2.0.2), the Python clients at Debian's versions (system python3) and at pip's current
//! versions (the venv scripts/test makes, named by KTUI_TEST_PYTHON), and kafkajs (installed by
//! scripts/test, found through KTUI_TEST_NODE_PATH).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::TestBroker;

pub(crate) fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    // cargo points LD_LIBRARY_PATH at the librdkafka that rdkafka-sys builds; without this,
    // Debian's kcat and python3-confluent-kafka would load it instead of their own 2.0.2.
    cmd.env_remove("LD_LIBRARY_PATH");
    let shown = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e} (scripts/test installs it)"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{shown} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn kcat(bootstrap: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("kcat");
    cmd.args(["-b", bootstrap, "-X", "broker.address.family=v4"])
        .args(args);
    String::from_utf8(run(cmd, stdin).stdout).expect("utf8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_lists_produces_and_consumes() {
    let broker = TestBroker::start().await;
    let b = broker.bootstrap();
    let lines: String = (0..1000).map(|i| format!("k{i}:line {i}\n")).collect();
    let listing = tokio::task::spawn_blocking(move || {
        kcat(
            &b,
            &["-P", "-t", "kcat", "-K", ":", "-z", "snappy"],
            Some(lines.as_bytes()),
        );
        kcat(
            &b,
            &["-P", "-t", "kcat", "-z", "gzip"],
            Some(b"tail line\n"),
        );
        let consumed = kcat(
            &b,
            &[
                "-C",
                "-t",
                "kcat",
                "-e",
                "-o",
                "beginning",
                "-f",
                "%k=%s@%o\n",
            ],
            None,
        );
        let listing = kcat(&b, &["-L"], None);
        (consumed, listing)
    })
    .await
    .expect("kcat");
    let (consumed, listing) = listing;
    let got: Vec<&str> = consumed.lines().collect();
    assert_eq!(got.len(), 1001, "every line consumed");
    for (i, line) in got.iter().take(1000).enumerate() {
        assert_eq!(*line, format!("k{i}=line {i}@{i}"));
    }
    assert_eq!(got[1000], "=tail line@1000");
    assert!(
        listing.contains("1 brokers:") && listing.contains("topic \"kcat\" with 1 partitions"),
        "{listing}"
    );
    broker.stop().await;
}

/// Runs the Python scripts; each name in `required` must be among the checks that passed (a
/// check the client's version cannot run is skipped, and must not be one of these). Returns
/// how many fetch sessions (KIP-227) the clients opened.
fn python_clients(python: &str, tag: &str, required: &[&str]) -> usize {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let broker = rt.block_on(TestBroker::start_configured(&[(
        "group.initial.rebalance.delay.ms",
        "0",
    )]));
    for script in [
        "python_clients.py",
        "python_groups.py",
        "python_transactions.py",
    ] {
        let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new(python);
        cmd.args([&path, &broker.bootstrap(), tag]);
        let out = run(cmd, None);
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("{script} with {python}:\n{text}");
        assert!(text.contains(" passed, 0 failed"), "{script}: {text}");
        for name in required.iter().filter(|n| n.starts_with(script)) {
            let check = name.trim_start_matches(script).trim_start_matches(':');
            assert!(
                text.contains(&format!("ok   {check}")),
                "{check} did not pass: {text}"
            );
        }
    }
    let sessions = broker
        .running
        .as_ref()
        .expect("running")
        .broker()
        .fetch_sessions
        .len();
    rt.block_on(broker.stop());
    sessions
}

#[test]
fn python_clients_debian_versions() {
    let sessions = python_clients("/usr/bin/python3", "debian", &[]);
    assert_eq!(
        sessions, 0,
        "librdkafka and kafka-python 2.0.2 fetch without sessions"
    );
}

#[test]
fn python_clients_current_versions() {
    let python = std::env::var("KTUI_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python").to_string()
    });
    // kafka-python 2.1+ fetches in incremental sessions: its round trip above reads every
    // record through them.
    let sessions = python_clients(
        &python,
        "current",
        &[
            "python_clients.py:confluent-kafka authorized operations (KIP-430)",
            "python_clients.py:confluent-kafka group configs",
            "python_clients.py:kafka-python describe log dirs",
            "python_transactions.py:kafka-python transactional produce, commit and abort",
        ],
    );
    assert!(sessions >= 1, "kafka-python opened no fetch session");
}

#[test]
fn kafkajs_client() {
    let modules = std::env::var("KTUI_TEST_NODE_PATH").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-node/node_modules").to_string()
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/kafkajs_clients.js"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let broker = rt.block_on(TestBroker::start_configured(&[(
        "group.initial.rebalance.delay.ms",
        "0",
    )]));
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", &modules)
        .args([script, &broker.bootstrap(), "kjs"]);
    let out = run(cmd, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" passed, 0 failed"), "{text}");
    rt.block_on(broker.stop());
}
