//! `ktui log-dirs describe` end to end: the bytes librdkafka wrote show under the broker's log
//! directory, in the JSON shape of `kafka-log-dirs.sh --describe`.

use crate::common::{rdkafka_produce, stderr, TestBroker};

#[test]
fn log_dirs_show_the_bytes_librdkafka_wrote() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "sized", "--partitions", "2"]);
    broker.json(&["topics", "create", "other", "--partitions", "1"]);
    let value = [7u8; 1000];
    let records: Vec<_> = (0..50).map(|_| (None, &value[..], vec![])).collect();
    rdkafka_produce(&broker.bootstrap(), "sized", &records);

    let all = broker.json(&["log-dirs", "describe"]);
    assert_eq!(all["version"], 1);
    let brokers = all["brokers"].as_array().expect("brokers");
    assert_eq!(brokers.len(), 1);
    let dir = &brokers[0]["logDirs"][0];
    assert!(dir["error"].is_null());
    let partitions = dir["partitions"].as_array().expect("partitions");
    let size_of = |name: &str| {
        partitions
            .iter()
            .find(|p| p["partition"] == name)
            .unwrap_or_else(|| panic!("no {name} in {partitions:?}"))["size"]
            .as_i64()
            .expect("size")
    };
    assert!(size_of("sized-0") + size_of("sized-1") >= 50 * 1000);
    assert_eq!(size_of("other-0"), 0);

    let only = broker.json(&["log-dirs", "describe", "--topic-list", "other"]);
    let names: Vec<&str> = only["brokers"][0]["logDirs"][0]["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["partition"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["other-0"]);

    let table = broker.ktui(&["log-dirs", "describe"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("sized") && text.contains("PARTITION"),
        "{text}"
    );

    let missing = broker.ktui(&["log-dirs", "describe", "--broker-list", "99"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("broker 99"),
        "{}",
        stderr(&missing)
    );
}
