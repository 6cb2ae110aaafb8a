//! `ktui local up -n 3|status|stop|start|down` with a temporary data directory and free ports:
//! three broker processes form one cluster, a node stops and starts again with its ports and
//! data, and `down` stops them all. When a test ends, passed or not, every process it started
//! is killed: each pid the state file ever named, and any other process whose command line names
//! the test's own temporary directory (a node `up` started and lost track of).

use std::fs;
use std::process::Output;
use std::time::Instant;

use serde_json::Value;

use crate::common::{assert_success, run_ktui, stderr, DEADLINE};
use crate::local_data::{pids, LocalData};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rows of `ktui local status`'s table under its header: ID, Kafka port, controller port,
/// pid, alive, and `yes` for the controller.
fn status_rows(out: &Output) -> Vec<Vec<String>> {
    stdout(out)
        .lines()
        .skip_while(|l| !l.starts_with("ID "))
        .skip(1)
        .take_while(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Polls `ktui local status` until `done` holds for its rows, or fails after the deadline.
fn await_status(data: &LocalData, what: &str, done: impl Fn(&[Vec<String>]) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let out = data.ktui(&["local", "status"]);
        if done(&status_rows(&out)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed {what}: {}",
            stdout(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// How many brokers `ktui brokers` lists at `bootstrap`.
fn brokers_listed(bootstrap: &str) -> usize {
    let out = run_ktui(&["brokers", "-b", bootstrap, "-o", "json"], b"", &[]);
    if !out.status.success() {
        return 0;
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

/// Rows where exactly one alive node is the controller and `alive` says which nodes run.
fn shows(rows: &[Vec<String>], alive: [bool; 3]) -> bool {
    let alive_ok = rows.len() == 3
        && rows
            .iter()
            .zip(alive)
            .all(|(r, a)| r[4] == if a { "yes" } else { "no" });
    let controllers = rows
        .iter()
        .filter(|r| r.get(5).is_some_and(|c| c == "yes"))
        .count();
    alive_ok && controllers == 1
}

#[test]
fn a_three_node_cluster_loses_a_node_and_gets_it_back() {
    let data = LocalData::new();
    let up = data.ktui(&["local", "up", "-n", "3", "--port-base", "0"]);
    assert_success(&up, &["local", "up", "-n", "3"]);
    let text = stdout(&up);
    let bootstrap = text
        .lines()
        .find_map(|l| l.strip_prefix("bootstrap: "))
        .unwrap_or_else(|| panic!("no bootstrap line: {text}"))
        .to_string();
    let state = data.state().expect("cluster.json");
    assert_eq!(bootstrap, data.bootstrap(), "the state file's ports");
    let cluster_id = state["cluster_id"].as_str().expect("cluster id");
    assert_eq!(cluster_id.len(), 22);
    assert!(pids(&state).iter().all(Option::is_some), "{state}");
    for node in 0..3 {
        let meta = data
            .cluster_dir()
            .join(format!("node-{node}/data/meta.properties"));
        let meta = fs::read_to_string(&meta).unwrap_or_default();
        assert!(
            meta.contains(&format!("cluster.id={cluster_id}")),
            "node {node}: {meta}"
        );
        assert!(
            meta.contains(&format!("node.id={node}")),
            "node {node}: {meta}"
        );
    }
    assert_eq!(
        brokers_listed(&bootstrap),
        3,
        "up returns once all are listed"
    );
    let status = data.ktui(&["local", "status"]);
    assert_success(&status, &["local", "status"]);
    assert!(
        shows(&status_rows(&status), [true; 3]),
        "{}",
        stdout(&status)
    );

    stop_node_1(&data, &state);
    start_node_1(&data, &state, &bootstrap);

    let down = data.ktui(&["local", "down"]);
    assert_success(&down, &["local", "down"]);
    let text = stdout(&down);
    for node in 0..3 {
        assert!(text.contains(&format!("node {node} (pid ")), "{text}");
    }
    assert_eq!(text.matches("stopped").count(), 3, "{text}");
    assert_eq!(
        data.processes(),
        Vec::<u32>::new(),
        "down left nodes running"
    );
    let status = data.ktui(&["local", "status"]);
    assert_eq!(status.status.code(), Some(3), "{}", stdout(&status));
    assert!(pids(&data.state().expect("state"))
        .iter()
        .all(Option::is_none));
}

/// `stop 1`: node 1 ends, the others run on and one of them is (or becomes) the controller.
fn stop_node_1(data: &LocalData, state: &Value) {
    let pid = pids(state)[1].expect("node 1 runs");
    let stop = data.ktui(&["local", "stop", "1"]);
    assert_success(&stop, &["local", "stop", "1"]);
    assert_eq!(stdout(&stop).trim(), format!("node 1 (pid {pid}) stopped"));
    assert!(!data.runs(pid));
    let status = data.ktui(&["local", "status"]);
    assert_success(&status, &["local", "status"]);
    let rows = status_rows(&status);
    assert_eq!(rows[1][3..5], ["-", "no"], "{}", stdout(&status));
    assert_eq!(rows[0][4], "yes");
    assert_eq!(rows[2][4], "yes");
    await_status(data, "a controller among nodes 0 and 2", |rows| {
        shows(rows, [true, false, true])
    });
}

/// `start 1`: node 1 runs again on its ports, and the cluster lists three brokers again.
fn start_node_1(data: &LocalData, before: &Value, bootstrap: &str) {
    let start = data.ktui(&["local", "start", "1"]);
    assert_success(&start, &["local", "start", "1"]);
    let after = data.state().expect("state");
    let pid = pids(&after)[1].expect("node 1 runs again");
    assert_eq!(
        stdout(&start).trim(),
        format!(
            "node 1 started on 127.0.0.1:{} (pid {pid}) and joined the cluster",
            before["nodes"][1]["kafka_port"]
        )
    );
    assert_eq!(
        after["nodes"][1]["kafka_port"],
        before["nodes"][1]["kafka_port"]
    );
    assert_eq!(
        after["nodes"][1]["controller_port"],
        before["nodes"][1]["controller_port"]
    );
    assert_eq!(after["cluster_id"], before["cluster_id"]);
    let deadline = Instant::now() + DEADLINE;
    while brokers_listed(bootstrap) != 3 {
        assert!(
            Instant::now() < deadline,
            "the cluster never listed 3 brokers again"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    await_status(data, "all three nodes alive", |rows| shows(rows, [true; 3]));
}

#[test]
fn node_commands_without_a_cluster_say_how_to_make_one() {
    let data = LocalData::new();
    let status = data.ktui(&["local", "status"]);
    assert_eq!(status.status.code(), Some(3));
    assert_eq!(stdout(&status).trim(), "not running");
    for args in [["local", "stop", "1"], ["local", "start", "1"]] {
        let out = data.ktui(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("ktui local up -n 3"),
            "{}",
            stderr(&out)
        );
    }
    let down = data.ktui(&["local", "down"]);
    assert_success(&down, &["local", "down"]);
    assert_eq!(stdout(&down).trim(), "no local broker was running");
    let single = data.ktui(&["local", "up", "--port-base", "0"]);
    assert_eq!(single.status.code(), Some(2), "--port-base needs -n");
    let none = data.ktui(&["local", "up", "-n", "0"]);
    assert_eq!(none.status.code(), Some(2), "a cluster has a node");
    assert!(data.state().is_none());
}

/// A node whose data directory belongs to another cluster exits at once: `up` fails pointing
/// at the node's log, stops the nodes it started and records none as running.
#[test]
fn up_fails_fast_and_cleans_up_when_a_node_cannot_start() {
    let data = LocalData::new();
    let node_data = data.cluster_dir().join("node-1").join("data");
    fs::create_dir_all(&node_data).expect("node dir");
    fs::write(
        node_data.join("meta.properties"),
        "version=1\nnode.id=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n",
    )
    .expect("meta.properties");
    let started = Instant::now();
    let up = data.ktui(&["local", "up", "-n", "3", "--port-base", "0"]);
    assert_eq!(up.status.code(), Some(1), "{}", stdout(&up));
    let error = stderr(&up);
    assert!(error.contains("did not start"), "{error}");
    assert!(error.contains("exited"), "{error}");
    assert!(error.contains("broker.log"), "{error}");
    assert!(
        started.elapsed() < DEADLINE / 2,
        "an exit ends the wait at once"
    );
    let state = data.state().expect("the state is kept for the next up");
    assert!(pids(&state).iter().all(Option::is_none), "{state}");
    assert_eq!(data.processes(), Vec::<u32>::new(), "nodes still run");
}
