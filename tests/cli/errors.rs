//! Failures are clear and non-zero: an unreachable bootstrap names the address, an unknown
//! topic is named with Kafka's error code, bad flags and values are refused before any work.

use std::time::{Duration, Instant};

use crate::common::{run_ktui, stderr, TestBroker};

#[test]
fn an_unreachable_bootstrap_fails_fast_and_names_the_address() {
    // A port nothing listens on: bind one, note it, and close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let out = run_ktui(&["topics", "list", "-b", &addr], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.starts_with("ktui: error: cannot connect to 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains(&addr), "{text}");
    assert!(started.elapsed() < Duration::from_secs(15));
    // A host that resolves nowhere fails the same way.
    let out = run_ktui(&["brokers", "-b", "no-such-host.invalid:9092"], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no-such-host.invalid:9092"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_topic_is_named_with_its_error_code() {
    let broker = TestBroker::start();
    for args in [
        &["topics", "describe", "nope"][..],
        &["consume", "nope", "-e"],
        &["produce", "nope"],
        &["perf", "consume", "nope", "--messages", "1"],
    ] {
        let out = broker.ktui_stdin(args, b"x\n");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = stderr(&out);
        assert!(
            text.contains("'nope'") && text.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "{args:?}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "one line, no backtrace: {text}");
    }
    let out = broker.ktui(&["topics", "delete", "nope", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("UNKNOWN_TOPIC_OR_PARTITION (3)"),
        "{}",
        stderr(&out)
    );
    let out = broker.ktui(&["groups", "describe", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("group 'nobody' does not exist (GROUP_ID_NOT_FOUND)"),
        "{}",
        stderr(&out)
    );
    let out = broker.ktui(&["groups", "delete", "nobody"]);
    assert!(
        stderr(&out).contains("GROUP_ID_NOT_FOUND (69)"),
        "{}",
        stderr(&out)
    );
    broker.json(&["topics", "create", "dup"]);
    let out = broker.ktui(&["topics", "create", "dup"]);
    assert!(
        stderr(&out).contains("TOPIC_ALREADY_EXISTS (36)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_flags_and_values_are_refused() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "t", "--partitions", "2"]);
    let usage = broker.ktui(&["topics", "list", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(stderr(&usage).contains("--no-such-flag"));
    let cases: &[(&[&str], &str)] = &[
        (
            &["consume", "t", "--from", "last tuesday"],
            "'last tuesday'",
        ),
        (&["consume", "t", "--partition", "9", "-e"], "partition 9"),
        (&["consume", "t", "--offset", "-5"], "-5"),
        (&["produce", "t", "--acks", "2"], "'2'"),
        (
            &["produce", "t", "--key-separator", ""],
            "--key-separator ''",
        ),
        (
            &["produce", "t", "--key-separator", ":"],
            "no key separator ':' in line 'line'",
        ),
        (&["produce", "t", "--compression", "brotli"], "'brotli'"),
        (&["produce", "t", "--partition", "7"], "partition 7"),
        (&["topics", "list", "--filter", "("], "--filter"),
        (
            &[
                "perf",
                "produce",
                "t",
                "--num-records",
                "0",
                "--record-size",
                "1",
            ],
            "--num-records",
        ),
        (
            &[
                "perf",
                "produce",
                "t",
                "--num-records",
                "1",
                "--record-size",
                "999999999999",
            ],
            "--record-size",
        ),
        (
            &["topics", "create", "x", "--config", "novalue"],
            "'novalue'",
        ),
        (
            &["topics", "create", "bad name!"],
            "INVALID_TOPIC_EXCEPTION (17)",
        ),
        (
            &["topics", "add-partitions", "t", "--total", "1"],
            "INVALID_PARTITIONS (37)",
        ),
    ];
    for (args, needle) in cases {
        let out = broker.ktui_stdin(args, b"line\n");
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let no_cluster = run_ktui(&["topics", "list"], b"", &[]);
    assert_eq!(no_cluster.status.code(), Some(1));
    assert!(
        stderr(&no_cluster).contains("--bootstrap"),
        "{}",
        stderr(&no_cluster)
    );
}

#[test]
fn a_broker_that_never_answers_times_out_naming_the_address() {
    // The kernel completes connections to a listening socket nobody accepts from, so the
    // client connects, sends ApiVersions and waits for an answer that never comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!("bootstrap.servers={addr}\nrequest.timeout.ms=300\n"),
    )
    .expect("write");
    let started = Instant::now();
    let out = run_ktui(
        &[
            "topics",
            "list",
            "--command-config",
            props.to_str().expect("utf8"),
        ],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "no answer from {addr} to ApiVersions within 300 ms"
        )),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}

#[test]
fn a_record_over_the_topics_limit_is_named() {
    let broker = TestBroker::start();
    broker.json(&[
        "topics",
        "create",
        "small",
        "--config",
        "max.message.bytes=1000",
    ]);
    let mut line = vec![b'x'; 5000];
    line.push(b'\n');
    let out = broker.ktui_stdin(&["produce", "small"], &line);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("MESSAGE_TOO_LARGE (10)") && text.contains("max.message.bytes"),
        "{text}"
    );
}
