//! `ktui consume --group` as a member of the group: two ktui processes split a topic and read
//! every record once; a ktui member and a librdkafka consumer share a group whose assignment
//! ktui computes as leader; KIP-848's protocol (`--group-protocol consumer`) reads, commits and
//! hands partitions over; Ctrl-C commits and leaves; a member dropped after its session
//! rejoins; `--assign` still commits from outside the group; bad input is one line and exit
//! status 1. Committed offsets are read back with
//! librdkafka. Every process a test starts is killed when the test ends, pass or fail.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::common::{run_ktui, DEADLINE};
use crate::own_runtime_broker::OwnRuntimeBroker;

/// The workspace broker; KIP-848 members heartbeat every 500 ms so hand-overs are quick.
struct Broker(OwnRuntimeBroker);

impl Broker {
    fn start() -> Broker {
        Broker(OwnRuntimeBroker::start(&[(
            "group.consumer.heartbeat.interval.ms",
            "500",
        )]))
    }

    fn bootstrap(&self) -> String {
        self.0.bootstrap()
    }

    fn ktui(&self, args: &[&str]) -> std::process::Output {
        let bootstrap = self.bootstrap();
        let mut all = args.to_vec();
        all.extend(["-b", bootstrap.as_str()]);
        run_ktui(&all, b"", &[])
    }

    /// `ktui ARGS -o json`, parsed; `None` when ktui failed.
    fn json(&self, args: &[&str]) -> Option<Value> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.ktui(&all);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    fn create_topic(&self, topic: &str, partitions: i32) {
        let count = partitions.to_string();
        let args = ["topics", "create", topic, "--partitions", &count];
        assert!(self.json(&args).is_some(), "{args:?}");
    }

    /// `count` records into each partition of `topic`.
    fn produce(&self, topic: &str, partitions: i32, count: usize) {
        for p in 0..partitions {
            let lines: String = (0..count).map(|i| format!("p{p}-{i}\n")).collect();
            let bootstrap = self.bootstrap();
            let partition = p.to_string();
            let args = [
                "produce",
                topic,
                "--partition",
                &partition,
                "-b",
                &bootstrap,
            ];
            let out = run_ktui(&args, lines.as_bytes(), &[]);
            assert!(
                out.status.success(),
                "produce: {}",
                stderr_text(&out.stderr)
            );
        }
    }

    /// Waits until `groups describe GROUP` satisfies `ready`; returns that description.
    fn wait_for_group(&self, group: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let described = self.json(&["groups", "describe", group]);
            if let Some(d) = described.as_ref().filter(|d| ready(d)) {
                return d.clone();
            }
            assert!(
                Instant::now() < deadline,
                "group {group} never had {what}: {described:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The partitions of each member of a described group.
fn assignments(described: &Value) -> Vec<BTreeSet<i64>> {
    let members = described["members"].as_array().cloned().unwrap_or_default();
    members
        .iter()
        .map(|m| {
            let parts = m["assignment"].as_array().cloned().unwrap_or_default();
            parts.iter().filter_map(|tp| tp[1].as_i64()).collect()
        })
        .collect()
}

/// A Stable group of `members` members that each have partitions, `partitions` in all.
fn settled(members: usize, partitions: usize) -> impl Fn(&Value) -> bool {
    move |d| {
        let shares = assignments(d);
        d["state"] == "Stable"
            && shares.len() == members
            && shares.iter().all(|s| !s.is_empty())
            && shares.iter().map(BTreeSet::len).sum::<usize>() == partitions
    }
}

fn stderr_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `ktui` process running in the background, its stdout read line by line as it comes;
/// killed on drop.
struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(broker: &Broker, args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(args)
            .args(["-b", &broker.bootstrap()])
            .env("KTUI_CONFIG", "/nonexistent/ktui-test-config.toml")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ktui runs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (seen, text) = (lines.clone(), stderr.clone());
        let readers = vec![
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    seen.lock().expect("lines").push(line);
                }
            }),
            std::thread::spawn(move || {
                let mut all = String::new();
                let _ = BufReader::new(err).read_to_string(&mut all);
                text.lock().expect("stderr").push_str(&all);
            }),
        ];
        Running {
            child,
            lines,
            readers,
            stderr,
        }
    }

    fn line_count(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    /// SIGINT, as Ctrl-C sends it.
    fn interrupt(&self) {
        self.signal("-INT");
    }

    /// Sends a signal (`-INT`, `-STOP`, `-CONT`) with kill(1).
    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status();
        assert!(sent.expect("kill runs").success(), "kill {signal} {pid}");
    }

    /// Waits for the process to exit; its status, stdout lines and stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "ktui did not exit in {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("reader");
        }
        let lines = std::mem::take(&mut *self.lines.lock().expect("lines"));
        let stderr = std::mem::take(&mut *self.stderr.lock().expect("stderr"));
        (status, lines, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `%p %o` lines → (partition, offset).
fn records(lines: &[String]) -> Vec<(i32, i64)> {
    lines
        .iter()
        .map(|l| {
            let (p, o) = l.split_once(' ').expect("'%p %o'");
            (p.parse().expect("partition"), o.parse().expect("offset"))
        })
        .collect()
}

fn partitions_of(seen: &[(i32, i64)]) -> BTreeSet<i32> {
    seen.iter().map(|(p, _)| *p).collect()
}

fn rdkafka_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", group);
    c
}

/// The group's committed offsets of partitions `0..partitions`, read by librdkafka; -1 for none.
fn committed(broker: &Broker, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = rdkafka_config(&broker.bootstrap(), group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let found = consumer
        .committed_offsets(tpl, DEADLINE)
        .expect("committed");
    found
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => -1,
        })
        .collect()
}

fn member_args<'a>(topic: &'a str, group: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["consume", "--topic", topic, "--group", group];
    args.extend([
        "--from-beginning",
        "--format",
        "%p %o",
        "--timeout-ms",
        "30000",
    ]);
    args.extend(extra);
    args
}

/// Two members split four partitions two and two (range); records are produced only once
/// both hold theirs, each member reads its 20 and stops, and together they print every
/// record once and commit every partition's end.
#[test]
fn two_members_split_a_topic_and_read_every_record_once() {
    let broker = Broker::start();
    broker.create_topic("shared", 4);
    let args = member_args("shared", "pair", &["--max-messages", "20"]);
    let (a, b) = (
        Running::start(&broker, &args),
        Running::start(&broker, &args),
    );
    let described = broker.wait_for_group("pair", "two members", settled(2, 4));
    assert_eq!(described["protocol"], "range");
    broker.produce("shared", 4, 10);

    let (status_a, lines_a, err_a) = a.finish();
    let (status_b, lines_b, err_b) = b.finish();
    assert!(status_a.success() && status_b.success(), "{err_a}\n{err_b}");
    let (seen_a, seen_b) = (records(&lines_a), records(&lines_b));
    let (mine_a, mine_b) = (partitions_of(&seen_a), partitions_of(&seen_b));
    assert!(!mine_a.is_empty() && !mine_b.is_empty());
    assert!(mine_a.is_disjoint(&mine_b), "{mine_a:?} and {mine_b:?}");
    let mut all: Vec<(i32, i64)> = seen_a.into_iter().chain(seen_b).collect();
    all.sort_unstable();
    let expected: Vec<(i32, i64)> = (0..4).flat_map(|p| (0..10).map(move |o| (p, o))).collect();
    assert_eq!(all, expected, "every record once");
    assert_eq!(committed(&broker, "pair", "shared", 4), vec![10; 4]);
    broker.wait_for_group("pair", "no members", |d| d["state"] == "Empty");
}

/// A ktui member, first in the group and so its leader, and a librdkafka consumer that offers
/// only roundrobin: ktui computes the roundrobin assignment and librdkafka reads its share.
/// When ktui stops, librdkafka takes its partitions over at ktui's commits.
#[test]
fn a_ktui_member_leads_a_group_shared_with_librdkafka() {
    let broker = Broker::start();
    broker.create_topic("mixed", 4);
    let args = member_args("mixed", "mixed-group", &["--max-messages", "20"]);
    let ktui = Running::start(&broker, &args);
    broker.wait_for_group("mixed-group", "ktui as a member", |d| {
        d["members"].as_array().is_some_and(|m| m.len() == 1)
    });
    let rdkafka: BaseConsumer = rdkafka_config(&broker.bootstrap(), "mixed-group")
        .set("partition.assignment.strategy", "roundrobin")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    rdkafka.subscribe(&["mixed"]).expect("subscribe");
    let described = poll_until(&rdkafka, &broker, "mixed-group", settled(2, 4));
    assert_eq!(described["protocol"], "roundrobin");
    broker.produce("mixed", 4, 10);

    let mut theirs = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while theirs.len() < 20 {
        assert!(
            Instant::now() < deadline,
            "librdkafka read {}",
            theirs.len()
        );
        if let Some(m) = rdkafka.poll(Duration::from_millis(50)) {
            let m = m.expect("record");
            theirs.push((m.partition(), m.offset()));
        }
    }
    let (status, lines, err) = ktui.finish();
    assert!(status.success(), "{err}");
    let ours = records(&lines);
    let (mine, their_partitions) = (partitions_of(&ours), partitions_of(&theirs));
    assert_eq!(ours.len(), 20);
    assert_eq!(mine.len(), 2, "{ours:?}");
    assert!(
        mine.is_disjoint(&their_partitions),
        "{mine:?} {their_partitions:?}"
    );
    let ends = committed(&broker, "mixed-group", "mixed", 4);
    for p in &mine {
        assert_eq!(ends[*p as usize], 10, "ktui committed partition {p}");
    }

    // librdkafka alone now; the first record it reads in ktui's partitions is the next one.
    poll_until(&rdkafka, &broker, "mixed-group", settled(1, 4));
    broker.produce("mixed", 4, 1);
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    let deadline = Instant::now() + DEADLINE;
    while first.len() < 4 {
        assert!(Instant::now() < deadline, "after the hand-over: {first:?}");
        if let Some(m) = rdkafka.poll(Duration::from_millis(50)) {
            let m = m.expect("record");
            let _ = first.entry(m.partition()).or_insert(m.offset());
        }
    }
    for p in &mine {
        assert_eq!(
            first[p], 10,
            "librdkafka resumed partition {p} at ktui's commit"
        );
    }
}

/// Polls `consumer` (librdkafka serves rebalances in poll) until the group is `ready`.
fn poll_until(
    consumer: &BaseConsumer,
    broker: &Broker,
    group: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(m) = consumer.poll(Duration::from_millis(50)) {
            panic!("no records yet, got {:?}", m.map(|m| m.offset()));
        }
        if let Some(d) = broker
            .json(&["groups", "describe", group])
            .filter(|d| ready(d))
        {
            return d;
        }
        assert!(Instant::now() < deadline, "group {group} never settled");
    }
}

/// KIP-848: one member reads everything and commits with its member epoch; then two members
/// split the topic, the first handing partitions over to the second.
#[test]
fn the_consumer_group_protocol_reads_commits_and_hands_over() {
    let broker = Broker::start();
    broker.create_topic("modern", 2);
    broker.produce("modern", 2, 5);
    let kip848 = ["--group-protocol", "consumer"];
    let alone = member_args("modern", "next-gen", &["--max-messages", "10"]);
    let out = broker.ktui(&[alone.as_slice(), &kip848].concat());
    assert!(out.status.success(), "{}", stderr_text(&out.stderr));
    let seen = records(&stdout_lines(&out.stdout));
    assert_eq!(seen.len(), 10);
    assert_eq!(partitions_of(&seen), BTreeSet::from([0, 1]));
    assert_eq!(committed(&broker, "next-gen", "modern", 2), vec![5, 5]);
    let described = broker.wait_for_group("next-gen", "no members", |d| d["state"] == "Empty");
    assert_eq!(described["protocol_type"], "consumer");

    let shared = member_args("modern", "next-gen", &["--max-messages", "3"]);
    let shared = [shared.as_slice(), &kip848].concat();
    let first = Running::start(&broker, &shared);
    broker.wait_for_group("next-gen", "one member", settled(1, 2));
    let second = Running::start(&broker, &shared);
    broker.wait_for_group("next-gen", "two members", settled(2, 2));
    broker.produce("modern", 2, 3);
    let (status_1, lines_1, err_1) = first.finish();
    let (status_2, lines_2, err_2) = second.finish();
    assert!(status_1.success() && status_2.success(), "{err_1}\n{err_2}");
    let (seen_1, seen_2) = (records(&lines_1), records(&lines_2));
    assert_eq!(seen_1.len() + seen_2.len(), 6);
    assert!(partitions_of(&seen_1).is_disjoint(&partitions_of(&seen_2)));
    assert!(seen_1
        .iter()
        .chain(&seen_2)
        .all(|(_, o)| (5..8).contains(o)));
    assert_eq!(committed(&broker, "next-gen", "modern", 2), vec![8, 8]);
}

fn stdout_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Ctrl-C stops a member: it commits what it printed and leaves the group at once.
#[test]
fn ctrl_c_commits_what_was_printed_and_leaves() {
    let broker = Broker::start();
    broker.create_topic("interrupted", 1);
    let member = Running::start(&broker, &member_args("interrupted", "stopped", &[]));
    broker.wait_for_group("stopped", "a member", settled(1, 1));
    broker.produce("interrupted", 1, 7);
    wait_until("seven records printed", || member.line_count() == 7);
    member.interrupt();
    let (status, lines, err) = member.finish();
    assert!(status.success(), "{err}");
    assert_eq!(lines.len(), 7);
    assert_eq!(committed(&broker, "stopped", "interrupted", 1), vec![7]);
    let described = broker.wait_for_group("stopped", "no members", |_| true);
    assert_eq!(
        described["state"], "Empty",
        "left, not timed out: {described}"
    );
}

/// `--assign` reads every partition without joining and commits from outside the group.
#[test]
fn assign_commits_as_a_consumer_outside_the_group() {
    let broker = Broker::start();
    broker.create_topic("plain", 2);
    broker.produce("plain", 2, 3);
    let args = ["consume", "plain", "--group", "outside", "--assign"];
    let out = broker.ktui(&[&args[..], &["--from-beginning", "-e", "--format", "%p %o"]].concat());
    assert!(out.status.success(), "{}", stderr_text(&out.stderr));
    assert_eq!(records(&stdout_lines(&out.stdout)).len(), 6);
    assert_eq!(committed(&broker, "outside", "plain", 2), vec![3, 3]);
    let described = broker
        .json(&["groups", "describe", "outside"])
        .expect("described");
    assert_eq!(described["state"], "Empty");
    assert_eq!(described["members"], serde_json::json!([]));
}

/// An unknown protocol, a bad setting, and `--assign` against a group with a member: one
/// line naming the problem, exit status 1.
#[test]
fn bad_group_input_is_one_line_and_status_1() {
    let broker = Broker::start();
    broker.create_topic("t", 1);
    let member = Running::start(&broker, &member_args("t", "busy", &[]));
    broker.wait_for_group("busy", "a member", settled(1, 1));
    let cases: &[(&[&str], &str)] = &[
        (
            &["--group", "g", "--group-protocol", "modern"],
            "--group-protocol 'modern'",
        ),
        (
            &[
                "--group",
                "g",
                "--consumer-property",
                "session.timeout.ms=soon",
            ],
            "'soon'",
        ),
        (
            &["--group", "g", "--consumer-property", "nonsense"],
            "'nonsense'",
        ),
        (
            &[
                "--group",
                "g",
                "--consumer-property",
                "partition.assignment.strategy=sticky",
            ],
            "'sticky'",
        ),
        (
            &["--group", "busy", "--assign", "-e"],
            "group 'busy' has 1 active members",
        ),
        (
            &["--group", "busy", "--partition", "0", "-e"],
            "group 'busy' has 1 active members",
        ),
    ];
    for (extra, said) in cases {
        let out = broker.ktui(&[&["consume", "t"][..], extra].concat());
        let text = stderr_text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {text}");
        assert!(text.contains(said), "{extra:?}: {text}");
        assert_eq!(text.lines().count(), 1, "{extra:?}: one line: {text}");
    }
    drop(member);
}

/// A member stopped past its session (SIGSTOP) is dropped by the coordinator; once it runs
/// again its heartbeat gets UNKNOWN_MEMBER_ID, and it rejoins and reads on from the group's
/// commit.
#[test]
fn a_member_dropped_after_its_session_rejoins_and_reads_on() {
    let broker = Broker::start();
    broker.create_topic("paused", 1);
    let fast = [
        "--consumer-property",
        "session.timeout.ms=6000",
        "--consumer-property",
        "heartbeat.interval.ms=200",
        "--consumer-property",
        "auto.commit.interval.ms=200",
    ];
    let member = Running::start(&broker, &member_args("paused", "sleepy", &fast));
    broker.wait_for_group("sleepy", "a member", settled(1, 1));
    broker.produce("paused", 1, 1);
    wait_until("the first record committed", || {
        committed(&broker, "sleepy", "paused", 1) == vec![1]
    });
    member.signal("-STOP");
    broker.wait_for_group("sleepy", "its member dropped", |d| d["state"] == "Empty");
    member.signal("-CONT");
    broker.wait_for_group("sleepy", "the member back", settled(1, 1));
    broker.produce("paused", 1, 1);
    wait_until("the second record printed", || member.line_count() == 2);
    member.interrupt();
    let (status, lines, err) = member.finish();
    assert!(status.success(), "{err}");
    assert_eq!(lines, ["0 0", "0 1"]);
    assert_eq!(committed(&broker, "sleepy", "paused", 1), vec![2]);
}

/// Waits until `done`, failing after DEADLINE.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
