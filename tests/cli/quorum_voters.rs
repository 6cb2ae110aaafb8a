//! A dynamic controller quorum (KIP-853): three combined nodes found through
//! `controller.quorum.bootstrap.servers`, node 0 formatted `--standalone`, the others added
//! with `ktui metadata-quorum add-controller`; the quorum then outlives its first voter, which
//! `remove-controller` takes out. A static quorum refuses both changes.

use serde_json::{json, Value};

use crate::common::{assert_one_line_error, harness_runtime, json_at, ktui_at, wait_for};
use crate::process_cluster::TestCluster;

const SESSION: (&str, &str) = ("broker.session.timeout.ms", "3000");
const HEARTBEAT: (&str, &str) = ("broker.heartbeat.interval.ms", "500");

fn ids(status: &Value, field: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = status[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .iter()
        .map(|v| v.as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

fn status(bootstrap: &str) -> Value {
    json_at(bootstrap, &["metadata-quorum", "describe", "--status"])
}

#[test]
fn controllers_join_and_leave_a_dynamic_quorum() {
    let runtime = harness_runtime();
    let mut cluster = runtime.block_on(TestCluster::start_dynamic(3, &[SESSION, HEARTBEAT]));
    let bootstrap = cluster.bootstrap();
    // Node 0 alone votes; the others observe (their brokers are replicated to).
    let s = wait_for("two observers", || {
        let s = status(&bootstrap);
        (ids(&s, "current_observers") == [1, 2]).then_some(s)
    });
    assert_eq!(ids(&s, "current_voters"), [0], "{s}");
    assert_eq!(s["leader_id"], json!(0));

    for id in [1, 2] {
        let out = ktui_at(
            &bootstrap,
            &[
                "metadata-quorum",
                "add-controller",
                "--controller-id",
                &id.to_string(),
                "--controller-address",
                &cluster.controller_addr(id),
            ],
        );
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("Added controller {id}")),
            "{out:?}"
        );
    }
    let s = status(&bootstrap);
    assert_eq!(ids(&s, "current_voters"), [0, 1, 2], "{s}");
    assert_eq!(ids(&s, "current_observers"), Vec::<i64>::new(), "{s}");
    let again = ktui_at(
        &bootstrap,
        &[
            "metadata-quorum",
            "add-controller",
            "--controller-id",
            "1",
            "--controller-address",
            &cluster.controller_addr(1),
        ],
    );
    assert_one_line_error(&again, "DUPLICATE_VOTER");

    // The first voter dies: the two it added elect a leader and take metadata changes.
    cluster.kill(0);
    let survivors = format!("{},{}", cluster.addr(1), cluster.addr(2));
    let s = wait_for("a new leader", || {
        let out = ktui_at(
            &survivors,
            &["metadata-quorum", "describe", "--status", "-o", "json"],
        );
        let s: Value = serde_json::from_slice(&out.stdout).ok()?;
        [1, 2].contains(&s["leader_id"].as_i64()?).then_some(s)
    });
    let created = ktui_at(
        &survivors,
        &[
            "topics",
            "create",
            "after-the-first",
            "--partitions",
            "2",
            "--replication-factor",
            "2",
        ],
    );
    assert!(created.status.success(), "{created:?} after {s}");

    // It is taken out of the voters, and comes back as an observer.
    let removed = ktui_at(
        &survivors,
        &[
            "metadata-quorum",
            "remove-controller",
            "--controller-id",
            "0",
        ],
    );
    assert!(removed.status.success(), "{removed:?}");
    assert_eq!(ids(&status(&survivors), "current_voters"), [1, 2]);
    let missing = ktui_at(
        &survivors,
        &[
            "metadata-quorum",
            "remove-controller",
            "--controller-id",
            "7",
        ],
    );
    assert_one_line_error(&missing, "VOTER_NOT_FOUND");
    cluster.spawn(0);
    runtime.block_on(cluster.wait_brokers(3));
    let s = wait_for("node 0 observing", || {
        let s = status(&survivors);
        (ids(&s, "current_observers") == [0]).then_some(s)
    });
    assert_eq!(ids(&s, "current_voters"), [1, 2], "{s}");
    let refused = ktui_at(
        &survivors,
        &[
            "--read-only",
            "metadata-quorum",
            "remove-controller",
            "--controller-id",
            "1",
        ],
    );
    assert_one_line_error(&refused, "--read-only");
}

#[test]
fn a_static_quorum_keeps_its_voters() {
    let runtime = harness_runtime();
    let cluster = runtime.block_on(TestCluster::start(1, &[]));
    let out = ktui_at(
        &cluster.bootstrap(),
        &[
            "metadata-quorum",
            "add-controller",
            "--controller-id",
            "5",
            "--controller-address",
            "127.0.0.1:1",
        ],
    );
    assert_one_line_error(&out, "fixed by controller.quorum.voters");
}
