//! Cross-checks with kafka-python (Debian's python3-kafka, which scripts/test installs), a
//! client with its own protocol code and its own murmur2: records ktui produces are read
//! byte-exact, and its default partitioner puts keys where ktui does.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::TestBroker;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/kafka_python.py");

fn kafka_python(bootstrap: &str, topic: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("/usr/bin/python3")
        .args([SCRIPT, bootstrap, topic])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 exits");
    assert!(
        out.status.success(),
        "kafka-python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn kafka_python_reads_what_ktui_wrote_and_partitions_keys_alike() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap();
    broker.json(&["topics", "create", "ours", "--partitions", "5"]);
    broker.json(&["topics", "create", "theirs", "--partitions", "5"]);
    let keys: Vec<String> = (0..60).map(|i| format!("user-{i}")).collect();
    let lines: String = keys
        .iter()
        .map(|k| format!("{k}\tvalue of {k}\n"))
        .collect();
    broker.json_stdin(
        &[
            "produce",
            "ours",
            "--key-separator",
            "\t",
            "--header",
            "h=\u{e9}",
        ],
        lines.as_bytes(),
    );

    let read = kafka_python(&bootstrap, "ours", &["consume", "60"], "");
    let records: Vec<Value> = read
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(records.len(), 60);
    let mut ours = BTreeMap::new();
    for r in &records {
        let key = String::from_utf8(
            (0..r["key"].as_str().expect("key").len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(&r["key"].as_str().expect("key")[i..i + 2], 16).expect("hex")
                })
                .collect(),
        )
        .expect("utf8 key");
        assert_eq!(r["value"], hex(format!("value of {key}").as_bytes()));
        assert_eq!(
            r["headers"],
            serde_json::json!([["h", hex("\u{e9}".as_bytes())]])
        );
        let _ = ours.insert(key, r["partition"].as_i64().expect("partition"));
    }

    kafka_python(&bootstrap, "theirs", &["produce"], &lines);
    let out = broker.ktui(&[
        "consume",
        "theirs",
        "--from-beginning",
        "-e",
        "--format",
        "%k %p",
    ]);
    let theirs: BTreeMap<String, i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (k, p) = l.rsplit_once(' ').expect("key and partition");
            (k.to_string(), p.parse().expect("partition"))
        })
        .collect();
    assert_eq!(theirs.len(), 60);
    assert_eq!(ours, theirs);
}
