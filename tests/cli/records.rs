//! `ktui produce` and `ktui consume` against librdkafka: byte-exact both ways, every codec,
//! start positions and limits.

use serde_json::{json, Value};

use crate::common::{rdkafka_consume, rdkafka_produce, TestBroker};

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn records_produced_by_ktui_are_read_byte_exact_by_librdkafka() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "t", "--partitions", "3"]);
    let input = b"k1=v1\nk2=\xff\xfe binary\r\nk3=\nk1=again\n";
    let summary = broker.json_stdin(
        &[
            "produce",
            "t",
            "--key-separator",
            "=",
            "--header",
            "h1=x",
            "--header",
            "h2=",
            "--acks",
            "1",
        ],
        input,
    );
    assert_eq!(summary["records"], 4);
    let seen = rdkafka_consume(&broker.bootstrap(), "t", 3, 4);
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = seen
        .iter()
        .map(|s| (s.key.clone().expect("key"), s.value.clone().expect("value")))
        .collect();
    pairs.sort();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"k1".to_vec(), b"again".to_vec()),
        (b"k1".to_vec(), b"v1".to_vec()),
        (b"k2".to_vec(), b"\xff\xfe binary".to_vec()),
        (b"k3".to_vec(), b"".to_vec()),
    ];
    assert_eq!(pairs, expected);
    for s in &seen {
        assert_eq!(
            s.headers,
            vec![
                ("h1".to_string(), Some(b"x".to_vec())),
                ("h2".to_string(), Some(Vec::new()))
            ]
        );
    }
    // Both k1 records share a partition, and its offsets follow production order.
    let k1: Vec<_> = seen
        .iter()
        .filter(|s| s.key.as_deref() == Some(b"k1"))
        .collect();
    assert_eq!(k1[0].partition, k1[1].partition);
}

#[test]
fn every_codec_round_trips_through_librdkafka() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "c", "--partitions", "1"]);
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    for codec in codecs {
        let lines: String = (0..50).map(|i| format!("{codec}-{i}\n")).collect();
        broker.json_stdin(&["produce", "c", "--compression", codec], lines.as_bytes());
    }
    let seen = rdkafka_consume(&broker.bootstrap(), "c", 1, 50 * codecs.len());
    let values: Vec<String> = seen
        .iter()
        .map(|s| String::from_utf8(s.value.clone().expect("value")).expect("utf8"))
        .collect();
    let expected: Vec<String> = codecs
        .iter()
        .flat_map(|c| (0..50).map(move |i| format!("{c}-{i}")))
        .collect();
    assert_eq!(values, expected);
    // And ktui reads the compressed batches back too.
    let out = broker.ktui(&["consume", "c", "--from-beginning", "-e"]);
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn records_produced_by_librdkafka_are_read_byte_exact_by_ktui() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "r", "--partitions", "2"]);
    rdkafka_produce(
        &broker.bootstrap(),
        "r",
        &[
            (Some(b"a"), b"plain text", vec![("trace", b"abc")]),
            (Some(b"b"), b"\x00\x01\xff", vec![]),
            (None, b"no key", vec![]),
        ],
    );
    let out = broker.ktui(&["consume", "r", "--from-beginning", "-e", "-o", "json"]);
    assert!(out.status.success());
    let mut records = json_lines(&out.stdout);
    records.sort_by_key(|r| r["value"].to_string());
    let strip = |r: &Value| json!({"key": r["key"], "value": r["value"], "headers": r["headers"]});
    let got: Vec<Value> = records.iter().map(strip).collect();
    assert_eq!(
        got,
        vec![
            json!({"key": null, "value": "no key", "headers": {}}),
            json!({"key": "a", "value": "plain text", "headers": {"trace": "abc"}}),
            json!({"key": "b", "value": {"base64": "AAH/"}, "headers": {}}),
        ]
    );
}

#[test]
fn consume_starts_where_asked_and_stops_when_told() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "p", "--partitions", "1"]);
    let lines: String = (0..100).map(|i| format!("{i}\n")).collect();
    broker.json_stdin(&["produce", "p"], lines.as_bytes());

    let from_offset = broker.ktui(&[
        "consume", "p", "--offset", "90", "-e", "--format", "%p:%o:%v",
    ]);
    let text = String::from_utf8(from_offset.stdout).expect("utf8");
    let expected: Vec<String> = (90..100).map(|i| format!("0:{i}:{i}")).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);

    let limited = broker.ktui(&["consume", "p", "--from-beginning", "--max-messages", "3"]);
    assert_eq!(
        String::from_utf8(limited.stdout).expect("utf8"),
        "0\n1\n2\n"
    );

    // Every record is newer than an hour ago, and none is newer than a minute from now.
    let hour = broker.ktui(&["consume", "p", "--from", "1h", "-e"]);
    assert_eq!(
        String::from_utf8(hour.stdout)
            .expect("utf8")
            .lines()
            .count(),
        100
    );
    let future = humantime::format_rfc3339(
        std::time::SystemTime::now() + std::time::Duration::from_secs(60),
    )
    .to_string();
    let none = broker.ktui(&["consume", "p", "--from", &future, "-e"]);
    assert!(none.status.success());
    assert!(none.stdout.is_empty());

    let latest = broker.ktui(&["consume", "p", "-e"]);
    assert!(latest.status.success() && latest.stdout.is_empty());
}

#[test]
fn acks_zero_and_table_output() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "z", "--partitions", "1"]);
    let summary = broker.json_stdin(&["produce", "z", "--acks", "0"], b"a\nb\nc\n");
    assert_eq!(
        summary["partitions"],
        json!([{"partition": 0, "records": 3, "first_offset": null, "last_offset": null}])
    );
    let seen = rdkafka_consume(&broker.bootstrap(), "z", 1, 3);
    let values: Vec<_> = seen
        .iter()
        .map(|s| s.value.clone().expect("value"))
        .collect();
    assert_eq!(values, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    // Tables for people: a header line, then one row per item.
    let listed = broker.ktui(&["topics", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "TOPIC  PARTITIONS  REPLICATION\nz      1           1\n"
    );
    let described =
        String::from_utf8(broker.ktui(&["topics", "describe", "z"]).stdout).expect("utf8");
    assert!(described.contains("PARTITION  LEADER  REPLICAS  ISR  OFFLINE  LOW  HIGH  MESSAGES\n0          1       1         1             0    3     3\n"), "{described}");
    let brokers = String::from_utf8(broker.ktui(&["brokers"]).stdout).expect("utf8");
    assert!(
        brokers.starts_with("ID  ADDRESS") && brokers.contains("yes"),
        "{brokers}"
    );
}

/// Lines a running ktui prints, read on a thread so the test can wait with a deadline.
fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn next_lines(rx: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            rx.recv_timeout(crate::common::DEADLINE)
                .expect("a line within the deadline")
        })
        .collect()
}

#[test]
fn a_live_tail_prints_new_records_and_commits_on_ctrl_c() {
    use std::process::{Command, Stdio};
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "live", "--partitions", "1"]);
    broker.json_stdin(&["produce", "live"], b"one\ntwo\nthree\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args([
            "consume",
            "live",
            "--from-beginning",
            "--group",
            "tail",
            "-b",
            &broker.bootstrap(),
        ])
        .env("KTUI_CONFIG", "/nonexistent/ktui-test-config.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ktui runs");
    let lines = line_reader(child.stdout.take().expect("stdout"));
    assert_eq!(next_lines(&lines, 3), ["one", "two", "three"]);
    broker.json_stdin(&["produce", "live"], b"four\nfive\n");
    assert_eq!(next_lines(&lines, 2), ["four", "five"]);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status}");
    let described = broker.json(&["groups", "describe", "tail"]);
    assert_eq!(described["partitions"][0]["current_offset"], 5);
    assert_eq!(described["partitions"][0]["lag"], 0);
}

#[test]
fn a_closed_stdout_ends_consume_quietly() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "pipe", "--partitions", "1"]);
    // Far more than a pipe holds, so ktui is still writing when the reader goes away.
    let lines: String = (0..200_000).map(|i| format!("record {i}\n")).collect();
    broker.json_stdin(&["produce", "pipe"], lines.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args([
            "consume",
            "pipe",
            "--from-beginning",
            "-b",
            &broker.bootstrap(),
        ])
        .env("KTUI_CONFIG", "/nonexistent/ktui-test-config.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ktui runs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::spawn(move || {
        let mut first = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut first);
        let _ = tx.send(first);
        // The reader, and with it the pipe, is dropped here, like `| head -1`.
    });
    let first = rx
        .recv_timeout(crate::common::DEADLINE)
        .expect("a first line");
    assert_eq!(first, "record 0\n");
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("ktui kept running after its stdout closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("exit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
