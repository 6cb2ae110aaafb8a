//! `ktui perf` reports in its documented JSON shape; small counts only (no benchmarking here).

use crate::common::TestBroker;

#[test]
fn perf_produce_then_consume_report_rates_and_latency() {
    let broker = TestBroker::start();
    broker.json(&["topics", "create", "perf", "--partitions", "2"]);
    let produced = broker.json(&[
        "perf",
        "produce",
        "perf",
        "--num-records",
        "5000",
        "--record-size",
        "100",
        "--acks",
        "1",
    ]);
    assert_eq!(produced["records"], 5000);
    assert!(produced["records_per_sec"].as_f64().expect("rate") > 0.0);
    let latency = &produced["latency_ms"];
    for field in ["avg", "max", "p50", "p95", "p99", "p999"] {
        assert!(latency[field].as_f64().expect(field) >= 0.0, "{field}");
    }
    assert!(latency["p50"].as_f64() <= latency["p999"].as_f64());
    let throttled = broker.json(&[
        "perf",
        "produce",
        "perf",
        "--num-records",
        "200",
        "--record-size",
        "10",
        "--throughput",
        "1000",
    ]);
    assert!(
        throttled["seconds"].as_f64().expect("seconds") >= 0.15,
        "{throttled}"
    );
    let consumed = broker.json(&["perf", "consume", "perf", "--messages", "5200"]);
    assert_eq!(consumed["records"], 5200);
    assert_eq!(consumed["bytes"], 5000 * 100 + 200 * 10);
    let described = broker.json(&["topics", "describe", "perf"]);
    let total: i64 = described["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["messages"].as_i64().expect("n"))
        .sum();
    assert_eq!(total, 5200);
}
