//! Flags people bring from Kafka's own tools: `--zookeeper` is refused in one line naming
//! `--bootstrap-server`, and `produce --broker-list HOST:PORT` (the console producer's old
//! name for it) works, while elsewhere `--broker-list` stays a list of broker ids.

use crate::common::{rdkafka_consume, run_ktui, stderr, TestBroker};

#[test]
fn zookeeper_is_refused_in_one_line_naming_the_flag_to_use() {
    let cases: [&[&str]; 4] = [
        &["topics", "list", "--zookeeper", "localhost:2181"],
        &["topics", "describe", "t", "--zookeeper", "localhost:2181"],
        &["reassign", "--list", "--zookeeper", "localhost:2181"],
        &["groups", "list", "--zookeeper"],
    ];
    for args in cases {
        let out = run_ktui(args, b"", &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("ktui: error: --zookeeper is not supported")
                && err.contains("--bootstrap-server HOST:PORT"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn produce_takes_broker_list_as_its_bootstrap_servers() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "old-style", "--partitions", "1"]);
    let bootstrap = broker.bootstrap();
    let out = run_ktui(
        &["produce", "old-style", "--broker-list", &bootstrap],
        b"one\ntwo\n",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let values: Vec<Vec<u8>> = rdkafka_consume(&bootstrap, "old-style", 1, 2)
        .into_iter()
        .map(|r| r.value.expect("value"))
        .collect();
    assert_eq!(values, vec![b"one".to_vec(), b"two".to_vec()]);

    let both = run_ktui(
        &[
            "produce",
            "old-style",
            "--broker-list",
            &bootstrap,
            "-b",
            &bootstrap,
        ],
        b"",
        &[],
    );
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    let ids = broker.ktui(&["log-dirs", "describe", "--broker-list", &bootstrap]);
    assert_eq!(ids.status.code(), Some(2), "broker ids, not addresses");
}

#[test]
fn read_only_refuses_every_write_and_changes_nothing() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "kept", "--partitions", "1"]);
    let writes: [&[&str]; 9] = [
        &["topics", "create", "new", "--partitions", "1"],
        &["topics", "delete", "kept"],
        &["topics", "add-partitions", "kept", "--total", "3"],
        &["produce", "kept"],
        &["groups", "delete", "g"],
        &["users", "delete", "alice"],
        &[
            "perf",
            "produce",
            "kept",
            "--num-records",
            "1",
            "--record-size",
            "1",
        ],
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--all-topic-partitions",
        ],
        &[
            "metadata-quorum",
            "remove-controller",
            "--controller-id",
            "1",
        ],
    ];
    for args in writes {
        let mut all = vec!["--read-only"];
        all.extend_from_slice(args);
        let out = broker.ktui_stdin(&all, b"x\n");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("ktui: error: --read-only: `") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    // Nothing was written; reads and dry runs still run.
    let topics = broker.json(&["--read-only", "topics", "describe", "kept"]);
    assert_eq!(
        topics.to_string().matches("\"partition\"").count(),
        1,
        "{topics}"
    );
    let list = broker.ktui(&["--read-only", "topics", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        listed.contains("kept   1") && !listed.contains("new"),
        "{listed}"
    );
    let end = rdkafka_consume(&broker.bootstrap(), "kept", 1, 0);
    assert!(end.is_empty());
}
