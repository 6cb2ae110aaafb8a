//! `ktui topics` end to end: what ktui creates, alters and deletes is what librdkafka sees.

use serde_json::Value;

use crate::common::{rdkafka_topics, stderr, TestBroker};

fn config<'a>(description: &'a Value, name: &str) -> &'a Value {
    description["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no config {name}"))
}

#[test]
fn topic_lifecycle_matches_librdkafka() {
    let broker = TestBroker::start();
    let created = broker.json(&[
        "topics",
        "create",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=123456",
    ]);
    assert_eq!(created["name"], "orders");
    assert_eq!(created["partitions"], 3);
    assert_eq!(created["replication_factor"], 1);
    assert!(rdkafka_topics(&broker.bootstrap()).contains(&("orders".to_string(), 3)));

    let listed = broker.json(&["topics", "list"]);
    assert_eq!(
        listed,
        serde_json::json!([{"name": "orders", "partitions": 3, "replication_factor": 1, "internal": false}])
    );
    let filtered = broker.json(&["topics", "list", "--filter", "^x"]);
    assert_eq!(filtered, serde_json::json!([]));

    let described = broker.json(&["topics", "describe", "orders"]);
    let partitions = described["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 3);
    assert_eq!(partitions[0]["replicas"], serde_json::json!([1]));
    assert_eq!(partitions[0]["isr"], serde_json::json!([1]));
    assert_eq!(partitions[0]["high_watermark"], 0);
    assert_eq!(partitions[0]["messages"], 0);
    let retention = config(&described, "retention.ms");
    assert_eq!(retention["value"], "123456");
    assert_eq!(retention["source"], "DYNAMIC_TOPIC_CONFIG");

    broker.json(&[
        "topics",
        "alter-config",
        "orders",
        "--set",
        "cleanup.policy=compact",
        "--delete",
        "retention.ms",
    ]);
    let described = broker.json(&["topics", "describe", "orders"]);
    assert_eq!(config(&described, "cleanup.policy")["value"], "compact");
    assert_eq!(
        config(&described, "retention.ms")["source"],
        "DEFAULT_CONFIG"
    );

    let grown = broker.json(&["topics", "add-partitions", "orders", "--total", "5"]);
    assert_eq!(grown["partitions"], 5);
    assert!(rdkafka_topics(&broker.bootstrap()).contains(&("orders".to_string(), 5)));

    // Without --yes and with no terminal to ask on, nothing is deleted.
    let refused = broker.ktui(&["topics", "delete", "orders"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    let deleted = broker.json(&["topics", "delete", "orders", "--yes"]);
    assert_eq!(
        deleted,
        serde_json::json!({"topic": "orders", "deleted": true})
    );
    assert_eq!(broker.json(&["topics", "list"]), serde_json::json!([]));
}

#[test]
fn brokers_lists_the_controller() {
    let broker = TestBroker::start();
    let port: i64 = broker
        .bootstrap()
        .rsplit_once(':')
        .expect("port")
        .1
        .parse()
        .expect("number");
    let brokers = broker.json(&["brokers"]);
    assert_eq!(
        brokers,
        serde_json::json!([{"id": 1, "host": "127.0.0.1", "port": port, "rack": null, "controller": true}])
    );
}
