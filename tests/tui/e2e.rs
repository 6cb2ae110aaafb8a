//! End-to-end: the real `ktui` binary in tmux against the workspace broker running in this
//! process on a free loopback port. From the console: create a topic and see it listed,
//! produce a record and see it in the tail; then an rdkafka consumer group commits part of
//! the topic, its lag shows on the Groups screen, and a reset of its offsets from the
//! console changes that lag. Every wait polls `tmux capture-pane` until a deadline; tmux
//! missing is a failure, not a skip (`scripts/test` installs it).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::own_runtime_broker::OwnRuntimeBroker;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// How long any one wait may take.
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// The broker the console tests use: no initial rebalance delay, so groups settle at once.
pub struct Broker(OwnRuntimeBroker);

impl Broker {
    pub fn start() -> Broker {
        Broker(OwnRuntimeBroker::start(&[(
            "group.initial.rebalance.delay.ms",
            "0",
        )]))
    }

    pub fn bootstrap(&self) -> String {
        self.0.bootstrap()
    }
}

/// A tmux session running the console, killed (by its own name) on drop.
pub(crate) struct Console {
    session: String,
    _dir: tempfile::TempDir,
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "tmux {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Console {
    fn open(bootstrap: &str) -> Console {
        Console::launch(&format!("--bootstrap {bootstrap} --refresh 500ms"), None)
    }

    /// The console with `args`; its data directory (`XDG_DATA_HOME`) is `data_home`, else a
    /// temporary one.
    pub(crate) fn launch(args: &str, data_home: Option<&std::path::Path>) -> Console {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_home = data_home.unwrap_or(dir.path()).display().to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let session = format!("ktui-e2e-{}-{nanos}", std::process::id());
        let command = format!(
            "env NO_COLOR=1 RUST_LOG=ktui=debug KTUI_LOG='{}/console.log' XDG_DATA_HOME='{data_home}' '{}' {args}",
            dir.path().display(),
            env!("CARGO_BIN_EXE_ktui"),
        );
        let _ = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "150",
            "-y",
            "40",
            &command,
        ]);
        Console { session, _dir: dir }
    }

    /// The console's own log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("console.log")).unwrap_or_default()
    }

    pub(crate) fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Polls the screen until `test` accepts it; fails with the last screen at the deadline.
    pub(crate) fn wait(&self, what: &str, test: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if test(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self._dir.path().join("console.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "timed out waiting for {what}; screen:\n{screen}\nlog (newest first):\n{}",
                    tail.join("\n")
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub(crate) fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("'{text}'"), |s| s.contains(text))
    }

    /// Types `text` literally.
    pub(crate) fn type_text(&self, text: &str) {
        let _ = tmux(&["send-keys", "-t", &self.session, "-l", text]);
    }

    /// Sends tmux key names (`Enter`, `Tab`, `C-u`, `Escape`).
    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        let _ = tmux(&args);
    }

    pub(crate) fn command(&self, line: &str) {
        self.type_text(":");
        self.wait_for("▏");
        self.type_text(line);
        self.keys(&["Enter"]);
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(keep) = std::env::var_os("KTUI_E2E_KEEP_LOG") {
            let _ = std::fs::copy(self._dir.path().join("console.log"), keep);
        }
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}

fn rdkafka(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    let _ = c
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

fn produce(bootstrap: &str, topic: &str, count: usize) {
    let producer: BaseProducer = rdkafka(bootstrap)
        .set("linger.ms", "1")
        .create()
        .expect("producer");
    for i in 0..count {
        let value = format!("record-{i}");
        let key = format!("key-{i}");
        producer
            .send(BaseRecord::to(topic).key(&key).payload(&value))
            .expect("enqueue");
    }
    producer.flush(DEADLINE).expect("flush");
}

/// A consumer group member reads `count` records, commits and leaves the group.
fn consume_and_commit(bootstrap: &str, topic: &str, group: &str, count: usize) {
    let consumer: BaseConsumer = rdkafka(bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + DEADLINE;
    let mut seen = 0;
    while seen < count {
        assert!(Instant::now() < deadline, "consumed {seen} of {count}");
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let _ = message.expect("message");
            seen += 1;
        }
    }
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    consumer.unsubscribe();
}

/// The LAG column (last word) of the Groups row for `group`.
fn group_lag(screen: &str, group: &str) -> Option<i64> {
    screen
        .lines()
        .find(|l| l.split_whitespace().next() == Some(group))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|w| w.parse().ok())
}

#[test]
fn console_end_to_end_in_tmux() {
    let which = Command::new("tmux").arg("-V").output();
    assert!(
        which.is_ok_and(|o| o.status.success()),
        "tmux is required for this test (scripts/test installs it)"
    );
    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    let console = Console::open(&bootstrap);
    let _ = console.wait_for("● connected");

    // Create a topic from the console and see it listed.
    console.type_text("c");
    let _ = console.wait_for("Create topic");
    console.type_text("e2e-orders");
    console.keys(&["Tab", "BSpace"]);
    console.type_text("3");
    console.keys(&["Enter"]);
    let _ = console.wait_for("create topic e2e-orders: done");
    let _ = console.wait("e2e-orders listed with 3 partitions", |s| {
        s.lines()
            .any(|l| l.starts_with("e2e-orders") && l.split_whitespace().nth(1) == Some("3"))
    });

    // Produce a record from the console; see it in the tail.
    console.command("produce e2e-orders");
    let _ = console.wait_for("(empty: by key)");
    console.keys(&["Tab"]);
    console.type_text("k1");
    console.keys(&["Tab", "Tab"]);
    console.type_text(r#"{"hello":"console"}"#);
    let _ = console.wait_for("valid JSON");
    console.keys(&["C-s"]);
    let screen = console.wait_for("written to partition");
    let written = screen
        .split("written to partition ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse::<i32>().ok())
        .expect("the partition written");
    console.keys(&["Escape"]);
    let _ = console.wait("the Topics screen again", |s| {
        s.lines().nth(1).is_some_and(|l| l.trim() == "Topics")
    });
    console.command("tail e2e-orders beginning");
    let _ = console.wait_for(r#"{"hello":"console"}"#);
    // A tail of the chosen partition only shows it too.
    console.command(&format!("tail e2e-orders:{written} beginning"));
    let _ = console.wait_for(&format!("Tail e2e-orders:{written}"));
    let _ = console.wait_for(r#"{"hello":"console"}"#);

    // An rdkafka group commits part of the 21 records; its lag shows on the Groups screen.
    produce(&bootstrap, "e2e-orders", 20);
    consume_and_commit(&bootstrap, "e2e-orders", "e2e-group", 5);
    console.command("groups");
    let screen = console.wait("e2e-group with some lag", |s| {
        group_lag(s, "e2e-group").is_some_and(|lag| lag > 0)
    });

    // Reset its offsets to latest from the console: preview, execute, lag 0.
    assert!(screen.contains("Groups"));
    console.type_text("/e2e-group");
    console.keys(&["Enter"]);
    console.type_text("o");
    let _ = console.wait_for("Reset offsets of e2e-group");
    console.keys(&["Tab", "C-u"]);
    console.type_text("latest");
    console.keys(&["Enter"]);
    let _ = console.wait_for("Preview: 3 partitions");
    console.keys(&["Enter"]);
    let _ = console.wait_for("reset offsets of e2e-group (3 partitions): done");
    let _ = console.wait("e2e-group with lag 0", |s| {
        group_lag(s, "e2e-group") == Some(0)
    });
    console.type_text("q");
}
