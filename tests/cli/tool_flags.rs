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
