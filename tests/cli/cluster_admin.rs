//! The cluster-admin subcommands (`leader-election`, `reassign`, `metadata-quorum`, the
//! `topics describe` reports, `log-dirs` on many brokers) against three `ktui broker`
//! processes, each result read back with librdkafka's metadata or kafka-python's admin client
//! (librdkafka has no call for reassignments or the quorum). One cluster serves many checks:
//! a start costs about a second.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::common::{
    assert_one_line_error, harness_runtime, json_at, kafka_python_admin, ktui_at,
    rdkafka_partitions, rdkafka_produce, stderr, wait_for, SeenPartition,
};
use crate::process_cluster::TestCluster;

/// A shorter broker session than Kafka's 9 s: a killed broker is fenced quickly even where its
/// lost connection goes unnoticed.
const SESSION: (&str, &str) = ("broker.session.timeout.ms", "3000");
const HEARTBEAT: (&str, &str) = ("broker.heartbeat.interval.ms", "500");
/// Leaders stay where the test puts them.
const NO_REBALANCE: (&str, &str) = ("auto.leader.rebalance.enable", "false");

/// Three nodes, started from blocking test code, and a folder for the JSON files.
struct ThreeNodes {
    cluster: TestCluster,
    dir: tempfile::TempDir,
}

impl ThreeNodes {
    fn start(extra: &[(&str, &str)]) -> Self {
        let runtime = harness_runtime();
        // The runtime only drives the harness's wait for the brokers; the nodes are processes.
        let cluster = runtime.block_on(TestCluster::start(3, extra));
        ThreeNodes {
            cluster,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn bootstrap(&self) -> String {
        self.cluster.bootstrap()
    }

    /// The client listeners of every node but `id`.
    fn bootstrap_without(&self, id: usize) -> String {
        (0..3)
            .filter(|n| *n != id)
            .map(|n| self.cluster.addr(n))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Writes `value` as a JSON file in the test's directory.
    fn file(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, value.to_string()).expect("write json");
        path
    }

    /// The active controller, the quorum's leader.
    fn controller(&self) -> usize {
        let status = json_at(
            &self.bootstrap(),
            &["metadata-quorum", "describe", "--status"],
        );
        status["leader_id"].as_u64().expect("leader") as usize
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

fn plan(partitions: &[(&str, i32, Vec<i32>)]) -> Value {
    let partitions: Vec<Value> = partitions
        .iter()
        .map(|(topic, partition, replicas)| {
            json!({"topic": topic, "partition": partition, "replicas": replicas,
                   "log_dirs": vec!["any"; replicas.len()]})
        })
        .collect();
    json!({"version": 1, "partitions": partitions})
}

/// Waits until librdkafka sees `topic`'s partitions accepted by `test`; returns them.
fn wait_partitions(
    bootstrap: &str,
    topic: &str,
    what: &str,
    test: impl Fn(&[SeenPartition]) -> bool,
) -> Vec<SeenPartition> {
    wait_for(what, || {
        let seen = rdkafka_partitions(bootstrap, topic);
        (!seen.is_empty() && test(&seen)).then_some(seen)
    })
}

#[test]
fn the_metadata_quorum_and_log_dirs_of_three_nodes() {
    let nodes = ThreeNodes::start(&[]);
    let bootstrap = nodes.bootstrap();
    let status = text(&ktui_at(
        &bootstrap,
        &["metadata-quorum", "describe", "--status"],
    ));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {status}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("ClusterId"), nodes.cluster.cluster_id());
    assert_eq!(field("CurrentVoters"), "[0,1,2]");
    assert_eq!(field("CurrentObservers"), "[]");
    assert_eq!(field("MaxFollowerLag"), "0");

    let theirs = kafka_python_admin(&bootstrap, "quorum");
    let ours = json_at(&bootstrap, &["metadata-quorum", "describe", "--status"]);
    assert_eq!(ours["leader_id"], theirs["leader_id"]);
    assert_eq!(field("LeaderId"), theirs["leader_id"].to_string());
    assert_eq!(ours["current_voters"], json!([0, 1, 2]));
    assert_eq!(theirs["voters"], json!([0, 1, 2]));
    assert!(ours["high_watermark"].as_i64().expect("hw") > 0);

    let rows = json_at(
        &bootstrap,
        &["metadata-quorum", "describe", "--replication"],
    );
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["status"], "Leader");
    assert_eq!(rows[0]["node_id"], theirs["leader_id"]);
    assert!(rows[1..].iter().all(|r| r["status"] == "Follower"));
    let table = text(&ktui_at(
        &bootstrap,
        &["metadata-quorum", "describe", "--replication"],
    ));
    assert!(
        table.starts_with("NodeId  LogEndOffset  Lag  LastFetchTimestamp"),
        "{table}"
    );

    let dirs = json_at(&bootstrap, &["log-dirs", "describe"]);
    let brokers: Vec<&Value> = dirs["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| &b["broker"])
        .collect();
    assert_eq!(brokers, vec![&json!(0), &json!(1), &json!(2)]);
    let two = json_at(
        &bootstrap,
        &["log-dirs", "describe", "--broker-list", "1,2"],
    );
    assert_eq!(two["brokers"].as_array().expect("brokers").len(), 2);
}

#[test]
fn reassignments_and_preferred_elections_move_replicas_and_leaders() {
    let mut nodes = ThreeNodes::start(&[NO_REBALANCE]);
    let bootstrap = nodes.bootstrap();
    json_at(
        &bootstrap,
        &[
            "topics",
            "create",
            "moving",
            "--partitions",
            "3",
            "--replication-factor",
            "2",
        ],
    );
    let value = [1u8; 100];
    let records: Vec<_> = (0..30).map(|_| (None, &value[..], vec![])).collect();
    rdkafka_produce(&bootstrap, "moving", &records);
    let before = wait_partitions(&bootstrap, "moving", "the topic", |ps| ps.len() == 3);

    generate(&nodes, &before);
    let targets = execute_and_verify(&nodes, &before);
    elect_preferred(&nodes, &targets);
    refuse_bad_input(&nodes);
    cancel_a_stuck_move(&mut nodes);
}

/// `--generate`: the current assignment as librdkafka sees it, and a proposal of as many
/// replicas per partition, each on distinct listed brokers.
fn generate(nodes: &ThreeNodes, before: &[SeenPartition]) {
    let bootstrap = nodes.bootstrap();
    let topics = nodes.file(
        "topics.json",
        &json!({"version": 1, "topics": [{"topic": "moving"}]}),
    );
    let args = [
        "reassign",
        "--generate",
        "--topics-to-move-json-file",
        path_arg(&topics),
        "--broker-list",
        "0,1,2",
    ];
    let generated = json_at(&bootstrap, &args);
    let current: Vec<Vec<i32>> = generated["current"]["partitions"]
        .as_array()
        .expect("current")
        .iter()
        .map(|p| serde_json::from_value(p["replicas"].clone()).expect("replicas"))
        .collect();
    let seen: Vec<Vec<i32>> = before.iter().map(|p| p.replicas.clone()).collect();
    assert_eq!(current, seen);
    for p in generated["proposed"]["partitions"]
        .as_array()
        .expect("proposed")
    {
        let replicas: BTreeSet<i64> = p["replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .map(|r| r.as_i64().expect("id"))
            .collect();
        assert_eq!(replicas.len(), 2, "{p}");
        assert!(replicas.iter().all(|r| (0..3).contains(r)), "{p}");
        assert_eq!(p["log_dirs"], json!(["any", "any"]));
    }
    let out = text(&ktui_at(&bootstrap, &args));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Current partition replica assignment"));
    let current_line: Value = serde_json::from_str(lines.next().expect("plan")).expect("json");
    assert_eq!(current_line, generated["current"]);
    assert_eq!(lines.next(), Some(""));
    assert_eq!(
        lines.next(),
        Some("Proposed partition reassignment configuration")
    );
    let proposed_line: Value = serde_json::from_str(lines.next().expect("plan")).expect("json");
    assert_eq!(proposed_line["version"], 1);
}

/// `--execute` moves partition 0 onto the broker it lacked and reverses partition 1's replicas
/// (its leader stays, no longer preferred); `--verify` until both complete; librdkafka sees the
/// new replicas. Returns the targets.
fn execute_and_verify(nodes: &ThreeNodes, before: &[SeenPartition]) -> Vec<Vec<i32>> {
    let bootstrap = nodes.bootstrap();
    let p0 = &before[0].replicas;
    let missing = (0..3)
        .find(|b| !p0.contains(b))
        .expect("a broker without p0");
    let p1 = &before[1].replicas;
    // Partition 0 keeps its leader first; partition 1's leader ends second, not preferred.
    let targets = vec![vec![p0[0], missing], vec![p1[1], p1[0]]];
    let path = nodes.file(
        "plan.json",
        &plan(&[
            ("moving", 0, targets[0].clone()),
            ("moving", 1, targets[1].clone()),
        ]),
    );
    let file = path_arg(&path);
    let out = ktui_at(
        &bootstrap,
        &["reassign", "--execute", "--reassignment-json-file", file],
    );
    let printed = text(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[..2],
        ["Current partition replica assignment", ""],
        "{printed}"
    );
    let rollback: Value = serde_json::from_str(lines[2]).expect("rollback plan");
    assert_eq!(
        rollback,
        plan(&[("moving", 0, p0.clone()), ("moving", 1, p1.clone())])
    );
    assert_eq!(
        lines[4],
        "Save this to use as the --reassignment-json-file option during rollback"
    );
    assert!(
        printed.ends_with("Successfully started partition reassignments for moving-0,moving-1\n"),
        "{printed}"
    );
    let verify = ["reassign", "--verify", "--reassignment-json-file", file];
    wait_for("the reassignment to complete", || {
        let report = text(&ktui_at(&bootstrap, &verify));
        assert!(
            report.starts_with("Status of partition reassignment:\n"),
            "{report}"
        );
        (report.contains("Reassignment of partition moving-0 is completed.")
            && report.contains("Reassignment of partition moving-1 is completed."))
        .then_some(())
    });
    let verified = json_at(&bootstrap, &verify);
    assert_eq!(verified["in_progress"], false);
    assert!(verified["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .all(|p| p["status"] == "completed" && p["current_replicas"] == p["target_replicas"]));
    let after = wait_partitions(&bootstrap, "moving", "the new replicas", |ps| {
        ps[0].replicas == targets[0] && ps[1].replicas == targets[1] && ps[0].isr.len() == 2
    });
    assert_eq!(
        after[1].leader, before[1].leader,
        "a reorder keeps the leader"
    );
    targets
}

/// A preferred election gives partition 1 back to its first replica; the others need none.
fn elect_preferred(nodes: &ThreeNodes, targets: &[Vec<i32>]) {
    let bootstrap = nodes.bootstrap();
    let out = ktui_at(
        &bootstrap,
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--all-topic-partitions",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        text(&out),
        "Successfully completed leader election (PREFERRED) for partitions moving-1\n"
    );
    wait_partitions(&bootstrap, "moving", "preferred leaders", |ps| {
        ps.iter().all(|p| p.leader == p.replicas[0])
    });
    assert_eq!(
        rdkafka_partitions(&bootstrap, "moving")[1].leader,
        targets[1][0]
    );
    let again = json_at(
        &bootstrap,
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--topic",
            "moving",
            "--partition",
            "1",
        ],
    );
    assert_eq!(
        again["not_needed"],
        json!([{"topic": "moving", "partition": 1}])
    );
    assert_eq!(again["failed"], json!([]));
    let listed = nodes.file(
        "elect.json",
        &json!({"partitions": [
            {"topic": "moving", "partition": 0},
            {"topic": "moving", "partition": 2},
        ]}),
    );
    let out = ktui_at(
        &bootstrap,
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--path-to-json-file",
            path_arg(&listed),
        ],
    );
    assert_eq!(
        text(&out),
        "Valid replica already elected for partitions moving-0, moving-2\n"
    );
    let unclean = json_at(
        &bootstrap,
        &[
            "leader-election",
            "--election-type",
            "unclean",
            "--all-topic-partitions",
        ],
    );
    assert_eq!(unclean["election_type"], "UNCLEAN");
    assert_eq!(unclean["succeeded"], json!([]));
    assert_eq!(unclean["failed"], json!([]));
}

/// A move onto a broker that cannot fetch never finishes: started while the broker is stopped
/// (SIGSTOP: still registered and live, its 9 s session running), it stays in progress when
/// the broker is then killed and fenced. `--list` and kafka-python show it, `--verify` says it
/// is in progress, another `--execute` is refused, `--cancel` ends it and the partition keeps
/// its replica. Clients are pointed at the other nodes, and kafka-python asked only after the
/// fencing: it gives up on the first broker in metadata that does not answer.
fn cancel_a_stuck_move(nodes: &mut ThreeNodes) {
    let bootstrap = nodes.bootstrap();
    json_at(
        &bootstrap,
        &[
            "topics",
            "create",
            "stuck",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
        ],
    );
    let seen = wait_partitions(&bootstrap, "stuck", "the topic", |ps| ps[0].leader >= 0);
    let replica = seen[0].replicas[0];
    let controller = nodes.controller();
    let gone = (0..3)
        .find(|n| *n != controller && *n as i32 != replica)
        .expect("a third node");
    let others = nodes.bootstrap_without(gone);
    let path = nodes.file(
        "stuck.json",
        &plan(&[("stuck", 0, vec![replica, gone as i32])]),
    );
    let file = path_arg(&path);
    nodes.cluster.signal(gone, "STOP");
    let out = ktui_at(
        &others,
        &["reassign", "--execute", "--reassignment-json-file", file],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    nodes.cluster.kill(gone);
    wait_for("the killed broker fenced", || {
        let brokers = json_at(&others, &["brokers"]);
        (brokers.as_array().expect("brokers").len() == 2).then_some(())
    });
    let listed = json_at(&others, &["reassign", "--list"]);
    let expected = json!([{"topic": "stuck", "partition": 0,
        "replicas": [replica, gone], "adding": [gone], "removing": []}]);
    assert_eq!(listed, expected);
    assert_eq!(kafka_python_admin(&others, "reassignments"), expected);
    assert_eq!(
        text(&ktui_at(&others, &["reassign", "--list"])),
        format!(
            "Current partition reassignments:\n\
             stuck-0: replicas: {replica},{gone}. adding: {gone}.\n"
        )
    );
    let verify = text(&ktui_at(
        &others,
        &["reassign", "--verify", "--reassignment-json-file", file],
    ));
    assert!(
        verify.contains("Reassignment of partition stuck-0 is still in progress."),
        "{verify}"
    );
    let again = ktui_at(
        &others,
        &["reassign", "--execute", "--reassignment-json-file", file],
    );
    assert_one_line_error(
        &again,
        "Cannot execute because there is an existing partition assignment",
    );
    let cancel = ["reassign", "--cancel", "--reassignment-json-file", file];
    assert_eq!(
        text(&ktui_at(&others, &cancel)),
        "Successfully cancelled partition reassignment for: stuck-0\n"
    );
    assert_eq!(
        text(&ktui_at(&others, &cancel)),
        "None of the specified partition reassignments are active.\n"
    );
    assert_eq!(
        text(&ktui_at(&others, &["reassign", "--list"])),
        "No partition reassignments found.\n"
    );
    assert_eq!(kafka_python_admin(&others, "reassignments"), json!([]));
    wait_partitions(&others, "stuck", "the original replica", |ps| {
        ps[0].replicas == vec![replica]
    });
}

/// Unknown topics, partitions out of range, malformed plans and unknown brokers: one line on
/// stderr, exit status 1, nothing changed.
fn refuse_bad_input(nodes: &ThreeNodes) {
    let bootstrap = nodes.bootstrap();
    let cases = [
        (plan(&[("nope", 0, vec![0])]), "topic 'nope' does not exist"),
        (
            plan(&[("moving", 9, vec![0])]),
            "partition moving-9 does not exist",
        ),
        (plan(&[("moving", 0, vec![0, 7])]), "Unknown broker id 7"),
        (
            json!({"version": 1, "partitions": [{"topic": "moving"}]}),
            "missing field",
        ),
        (
            plan(&[("moving", 0, vec![1, 1])]),
            "contains multiple entries for 1",
        ),
    ];
    for (i, (bad, needle)) in cases.iter().enumerate() {
        let path = nodes.file(&format!("bad-{i}.json"), bad);
        let out = ktui_at(
            &bootstrap,
            &[
                "reassign",
                "--execute",
                "--reassignment-json-file",
                path_arg(&path),
            ],
        );
        assert_one_line_error(&out, needle);
    }
    let torn = nodes.dir.path().join("torn.json");
    std::fs::write(&torn, "{\"version\":1,\"partitions\":[").expect("write");
    let out = ktui_at(
        &bootstrap,
        &[
            "reassign",
            "--verify",
            "--reassignment-json-file",
            path_arg(&torn),
        ],
    );
    assert_one_line_error(&out, "is not a valid file");
    let out = ktui_at(
        &bootstrap,
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--path-to-json-file",
            path_arg(&torn),
        ],
    );
    assert_one_line_error(&out, "is not valid");
    let elect = |topic: &str, partition: &str| {
        ktui_at(
            &bootstrap,
            &[
                "leader-election",
                "--election-type",
                "preferred",
                "--topic",
                topic,
                "--partition",
                partition,
            ],
        )
    };
    assert_one_line_error(&elect("nope", "0"), "topic 'nope' does not exist");
    assert_one_line_error(&elect("moving", "5"), "partition moving-5 does not exist");
    let topics = nodes.file(
        "move.json",
        &json!({"version": 1, "topics": [{"topic": "moving"}]}),
    );
    let out = ktui_at(
        &bootstrap,
        &[
            "reassign",
            "--generate",
            "--topics-to-move-json-file",
            path_arg(&topics),
            "--broker-list",
            "0,9",
        ],
    );
    assert_one_line_error(&out, "Unknown broker id 9");
    assert_eq!(
        json_at(&bootstrap, &["reassign", "--list"]),
        json!([]),
        "nothing was started"
    );
}

#[test]
fn partition_reports_and_failed_elections_after_a_broker_dies() {
    let mut nodes = ThreeNodes::start(&[SESSION, HEARTBEAT, NO_REBALANCE]);
    let bootstrap = nodes.bootstrap();
    for (topic, partitions, rf, min_isr) in [
        ("rf1", "3", "1", "1"),
        ("rf2", "6", "2", "2"),
        ("rf3", "3", "3", "2"),
    ] {
        let config = format!("min.insync.replicas={min_isr}");
        json_at(
            &bootstrap,
            &[
                "topics",
                "create",
                topic,
                "--partitions",
                partitions,
                "--replication-factor",
                rf,
                "--config",
                &config,
            ],
        );
    }
    let ours = |rows: &Value| -> BTreeSet<(String, i64)> {
        rows.as_array()
            .expect("rows")
            .iter()
            .filter(|r| ["rf1", "rf2", "rf3"].contains(&r["topic"].as_str().expect("topic")))
            .map(|r| {
                (
                    r["topic"].as_str().expect("topic").to_string(),
                    r["partition"].as_i64().expect("p"),
                )
            })
            .collect()
    };
    wait_for("full ISRs", || {
        let rows = json_at(
            &bootstrap,
            &["topics", "describe", "--under-replicated-partitions"],
        );
        ours(&rows).is_empty().then_some(())
    });
    let controller = nodes.controller();
    let victim = (0..3).find(|n| *n != controller).expect("a non-controller");
    nodes.cluster.kill(victim);
    let survivors = nodes.bootstrap_without(victim);
    let v = victim as i32;
    let seen: Vec<(String, Vec<SeenPartition>)> = ["rf1", "rf2", "rf3"]
        .iter()
        .map(|t| {
            let ps = wait_partitions(&survivors, t, "the victim out of every ISR", |ps| {
                ps.iter()
                    .all(|p| !p.isr.contains(&v) || (p.replicas == vec![v] && p.leader < 0))
            });
            (t.to_string(), ps)
        })
        .collect();
    let select = |test: &dyn Fn(&str, &SeenPartition) -> bool| -> BTreeSet<(String, i64)> {
        seen.iter()
            .flat_map(|(t, ps)| {
                ps.iter()
                    .filter(|p| test(t, p))
                    .map(|p| (t.clone(), i64::from(p.id)))
            })
            .collect()
    };
    let report = |flag: &str| ours(&json_at(&survivors, &["topics", "describe", flag]));
    let under = select(&|_, p| p.isr.len() < p.replicas.len());
    assert!(!under.is_empty());
    assert_eq!(
        under,
        select(&|_, p| p.replicas.len() > 1 && p.replicas.contains(&v))
    );
    assert_eq!(report("--under-replicated-partitions"), under);
    let unavailable = select(&|t, p| t == "rf1" && p.replicas == vec![v]);
    assert_eq!(report("--unavailable-partitions"), unavailable);
    let under_min = select(&|t, p| p.replicas.contains(&v) && t != "rf3");
    assert_eq!(report("--under-min-isr-partitions"), under_min);
    let rf3 = json_at(
        &survivors,
        &["topics", "describe", "rf3", "--at-min-isr-partitions"],
    );
    assert_eq!(rf3.as_array().expect("rows").len(), 3, "{rf3}");
    let table = text(&ktui_at(
        &survivors,
        &["topics", "describe", "rf1", "--unavailable-partitions"],
    ));
    assert!(
        table.lines().nth(1).is_some_and(|l| l.contains("none")),
        "{table}"
    );

    let (t, preferred_gone) = seen
        .iter()
        .find_map(|(t, ps)| {
            ps.iter()
                .find(|p| t == "rf2" && p.replicas[0] == v)
                .map(|p| (t, p.id))
        })
        .expect("an rf2 partition preferring the victim");
    let out = ktui_at(
        &survivors,
        &[
            "leader-election",
            "--election-type",
            "preferred",
            "--topic",
            t,
            "--partition",
            &preferred_gone.to_string(),
        ],
    );
    let expected = format!(
        "Error completing leader election (PREFERRED) for partition: {t}-{preferred_gone}: \
         PREFERRED_LEADER_NOT_AVAILABLE"
    );
    assert!(text(&out).starts_with(&expected), "{}", text(&out));
    assert_one_line_error(&out, "1 replica(s) could not be elected");
    let (_, offline) = unavailable
        .iter()
        .next()
        .expect("an offline partition")
        .clone();
    let out = ktui_at(
        &survivors,
        &[
            "leader-election",
            "--election-type",
            "unclean",
            "--topic",
            "rf1",
            "--partition",
            &offline.to_string(),
        ],
    );
    assert_one_line_error(&out, "ELIGIBLE_LEADERS_NOT_AVAILABLE");
}

#[test]
fn controllers_apart_vote_and_brokers_observe_the_metadata_quorum() {
    let runtime = harness_runtime();
    // Three nodes that are only controllers (0, 1, 2) and two only brokers (3, 4).
    let cluster = runtime.block_on(TestCluster::start_split(3, 2, &[]));
    let bootstrap = cluster.bootstrap();
    let status = json_at(&bootstrap, &["metadata-quorum", "describe", "--status"]);
    assert_eq!(status["current_voters"], json!([0, 1, 2]), "{status}");
    assert_eq!(status["current_observers"], json!([3, 4]), "{status}");
    let leader = status["leader_id"].as_i64().expect("leader");
    assert!((0..3).contains(&leader), "{status}");
    // Every observer is replicated to: the rows reach the leader's end, as the table shows.
    let rows = wait_for("both observers caught up", || {
        let rows = json_at(
            &bootstrap,
            &["metadata-quorum", "describe", "--replication"],
        );
        let rows = rows.as_array().expect("rows").clone();
        let observers: Vec<&Value> = rows.iter().filter(|r| r["status"] == "Observer").collect();
        (observers.len() == 2 && observers.iter().all(|r| r["lag"] == 0)).then_some(rows)
    });
    let statuses: Vec<&str> = rows
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["Leader", "Follower", "Follower", "Observer", "Observer"]
    );
    assert_eq!(rows[0]["node_id"], json!(leader));
    let table = text(&ktui_at(
        &bootstrap,
        &["metadata-quorum", "describe", "--replication"],
    ));
    assert_eq!(table.matches("Observer").count(), 2, "{table}");
    let brokers = json_at(&bootstrap, &["brokers"]);
    let ids: Vec<&Value> = brokers
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| &b["id"])
        .collect();
    assert_eq!(ids, vec![&json!(3), &json!(4)], "{brokers}");
    let marked = brokers
        .as_array()
        .expect("brokers")
        .iter()
        .filter(|b| b["controller"] == json!(true))
        .count();
    assert_eq!(marked, 0, "the controller is no broker: {brokers}");
    // The console names the quorum's leader as the controller, not the broker Metadata names
    // (Kafka names a random one there), and marks no broker.
    let snapshot = runtime.block_on(async {
        let config = ktui::config::ClientConfig {
            bootstrap: bootstrap.split(',').map(str::to_string).collect(),
            ..ktui::config::ClientConfig::default()
        };
        let cluster = ktui::client::Cluster::connect(config)
            .await
            .expect("connect");
        ktui::tui::calls::cluster(&cluster).await.expect("cluster")
    });
    assert_eq!(i64::from(snapshot.controller), leader, "{snapshot:?}");
    assert!(snapshot.brokers.iter().all(|b| !b.controller));
}
