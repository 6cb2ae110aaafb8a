//! Deterministic data for the screens, and helpers that drive an [`App`] and draw it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ktui::tui::app::{App, AppOptions};
use ktui::tui::event::{ConnState, Event, Update};
use ktui::tui::model::{
    BrokerRow, ClusterSnapshot, ConfigRow, GroupDetail, GroupPartitionRow, GroupRow, LogDirRow,
    PartitionRow, PartitionState, TailRecord, TopicDetail, TopicRow,
};
use ktui::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::Terminal;

/// The sizes every screen is drawn at.
pub const SIZES: [(u16, u16); 2] = [(100, 30), (60, 15)];

/// A fixed wall-clock time: 2026-11-25T10:00:00Z.
pub fn at(seconds_after: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_600_800 + seconds_after)
}

/// The instant the app was created at (ticks are measured from it).
pub struct Harness {
    pub app: App,
    pub start: Instant,
    pub size: (u16, u16),
}

pub fn options(read_only: bool) -> AppOptions {
    AppOptions {
        bootstrap: "127.0.0.1:9092".into(),
        read_only,
        refresh: Duration::from_secs(2),
        theme: Theme { color: false },
        log_path: "~/.local/share/ktui/logs/console.log".into(),
        note: None,
        local_cluster: true,
        lag_threshold: 1_000,
    }
}

impl Harness {
    /// An app connected to the fixture cluster, on the Topics screen.
    pub fn new(size: (u16, u16), read_only: bool) -> Harness {
        Harness::with_options(size, options(read_only))
    }

    /// As [`Harness::new`] with other options.
    pub fn with_options(size: (u16, u16), options: AppOptions) -> Harness {
        let start = Instant::now();
        let rect = Rect::new(0, 0, size.0, size.1);
        let mut app = App::new(options, rect, start);
        app.handle(Event::Data(Update::Connection(ConnState::Connected)));
        app.handle(Event::Data(Update::Cluster(cluster(), at(0))));
        let _ = app.take_requests();
        Harness { app, start, size }
    }

    pub fn data(&mut self, update: Update) {
        self.app.handle(Event::Data(update));
    }

    pub fn key(&mut self, code: KeyCode) {
        self.app
            .handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.app.handle(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    /// Types each character of `text`.
    pub fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Types `:command` and enter.
    pub fn command(&mut self, line: &str) {
        self.key(KeyCode::Char(':'));
        self.keys(line);
        self.key(KeyCode::Enter);
    }

    /// The screen as text.
    pub fn draw(&self) -> Terminal<TestBackend> {
        let mut terminal =
            Terminal::new(TestBackend::new(self.size.0, self.size.1)).expect("test terminal");
        let _ = terminal.draw(|f| self.app.render(f)).expect("draw");
        terminal
    }

    /// The screen's characters, lines joined by newlines.
    pub fn text(&self) -> String {
        let terminal = self.draw();
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}

pub fn topic(name: &str, partitions: usize, messages: i64) -> TopicRow {
    TopicRow {
        name: name.into(),
        partitions,
        replication: 1,
        messages: Some(messages),
        under_replicated: 0,
        under_min_isr: 0,
        offline: 0,
        internal: name.starts_with("__"),
        groups: 0,
        lag: None,
    }
}

pub fn cluster() -> ClusterSnapshot {
    let mut degraded = topic("payments", 6, 1200);
    degraded.replication = 3;
    degraded.under_replicated = 2;
    degraded.under_min_isr = 1;
    let mut broken = topic("audit-log", 2, 0);
    broken.offline = 1;
    ClusterSnapshot {
        cluster_id: Some("ktui-test-cluster".into()),
        controller: 1,
        topics: vec![
            topic("orders", 3, 42_000),
            topic("clicks", 12, 7),
            degraded,
            broken,
            topic("__consumer_offsets", 50, 310),
            topic("inventory", 1, 5),
        ],
        brokers: vec![
            BrokerRow {
                id: 1,
                addr: "127.0.0.1:9092".into(),
                rack: Some("r1".into()),
                controller: true,
                leaders: 71,
                replicas: 83,
                under_replicated_led: 2,
                fenced: false,
                reachable: true,
            },
            BrokerRow {
                id: 2,
                addr: "127.0.0.1:9093".into(),
                rack: None,
                controller: false,
                leaders: 3,
                replicas: 21,
                under_replicated_led: 0,
                fenced: false,
                reachable: false,
            },
            BrokerRow {
                id: 3,
                addr: String::new(),
                rack: None,
                controller: false,
                leaders: 0,
                replicas: 12,
                under_replicated_led: 0,
                fenced: true,
                reachable: false,
            },
        ],
        partitions: vec![
            partition("payments", 0, 1, &[1, 2, 3]),
            partition("payments", 1, 2, &[2, 1, 3]),
            partition("payments", 2, 1, &[1, 3]),
            partition("audit-log", 0, 1, &[1]),
            partition("audit-log", 1, -1, &[]),
        ],
    }
}

fn partition(topic: &str, partition: i32, leader: i32, isr: &[i32]) -> PartitionState {
    PartitionState {
        topic: topic.into(),
        partition,
        leader,
        isr: isr.to_vec(),
    }
}

/// The fixture cluster a refresh later: broker 2 fenced, its leadership moved and its
/// replicas out of the ISRs, the controller moved, `audit-log`-1 back, a topic created.
pub fn cluster_after_failure() -> ClusterSnapshot {
    let mut after = cluster();
    after.controller = 3;
    after.brokers[1].fenced = true;
    after.brokers[1].addr.clear();
    after.brokers[1].leaders = 0;
    after.brokers[2].leaders = 1;
    after.brokers[2].fenced = false;
    after.brokers[2].reachable = true;
    after.brokers[2].addr = "127.0.0.1:9094".into();
    after.topics.push(topic("signups", 3, 0));
    after.partitions = vec![
        partition("payments", 0, 1, &[1, 3]),
        partition("payments", 1, 1, &[1, 3]),
        partition("payments", 2, 1, &[1, 3]),
        partition("audit-log", 0, 1, &[1]),
        partition("audit-log", 1, 3, &[3]),
    ];
    after
}

/// Log directories of brokers 1 and 2 (broker 3 did not answer).
pub fn log_dirs() -> std::collections::BTreeMap<i32, Vec<LogDirRow>> {
    let dir = |path: &str, bytes: i64, error: Option<&str>| LogDirRow {
        path: path.into(),
        bytes,
        error: error.map(str::to_string),
    };
    [
        (
            1,
            vec![
                dir("/var/lib/kafka/data-1", (3 << 30) + (200 << 20), None),
                dir("/var/lib/kafka/data-2", 512 * 1024, None),
            ],
        ),
        (
            2,
            vec![dir("/var/lib/kafka/data", 0, Some("KAFKA_STORAGE_ERROR"))],
        ),
    ]
    .into_iter()
    .collect()
}

pub fn topic_detail() -> TopicDetail {
    let partition = |id: i32, leader: i32, isr: &[i32], low: i64, high: i64| PartitionRow {
        id,
        leader,
        replicas: vec![1, 2, 3],
        isr: isr.to_vec(),
        offline: if leader < 0 { vec![1] } else { Vec::new() },
        low: Some(low),
        high: Some(high),
    };
    let config = |name: &str, value: &str, source: &str| ConfigRow {
        name: name.into(),
        value: Some(value.into()),
        source: source.into(),
        sensitive: false,
    };
    TopicDetail {
        name: "orders".into(),
        partitions: vec![
            partition(0, 1, &[1, 2, 3], 0, 14_000),
            partition(1, 2, &[2, 3], 100, 14_100),
            partition(2, -1, &[], 0, 13_900),
        ],
        configs: vec![
            config("cleanup.policy", "delete", "DEFAULT_CONFIG"),
            config("retention.ms", "86400000", "DYNAMIC_TOPIC_CONFIG"),
            config("segment.bytes", "1073741824", "DEFAULT_CONFIG"),
            config("max.message.bytes", "2097152", "DYNAMIC_TOPIC_CONFIG"),
        ],
        groups: vec![
            ("billing".into(), Some(120)),
            ("search-indexer".into(), Some(0)),
        ],
    }
}

pub fn groups() -> Vec<GroupRow> {
    let group = |id: &str, state: &str, members: usize, lag: Option<i64>| GroupRow {
        id: id.into(),
        state: state.into(),
        members,
        protocol: if members > 0 {
            "range".into()
        } else {
            String::new()
        },
        topics: vec!["orders".into()],
        lag,
        topic_lag: vec![("orders".into(), lag)],
    };
    vec![
        group("search-indexer", "Stable", 2, Some(0)),
        group("billing", "Stable", 1, Some(120)),
        group("reports", "Empty", 0, Some(9_000)),
        group("audit", "Empty", 0, None),
    ]
}

pub fn group_detail(lag: i64) -> GroupDetail {
    // Partition 1 has a transaction open 25 records before its end: its LSO is held back.
    let row = |p: i32, committed: i64, member: Option<&str>| GroupPartitionRow {
        topic: "orders".into(),
        partition: p,
        committed: Some(committed),
        end: Some(committed + lag / 3),
        lso: Some(committed + lag / 3 - if p == 1 { 25 } else { 0 }),
        lag: Some(lag / 3),
        member: member.map(String::from),
        client: member.map(|_| "rdkafka".into()),
        host: member.map(|_| "/127.0.0.1".into()),
    };
    GroupDetail {
        id: "billing".into(),
        state: "Stable".into(),
        protocol: "range".into(),
        members: 1,
        partitions: vec![
            row(0, 13_960, Some("rdkafka-5c1e")),
            row(1, 14_060, Some("rdkafka-5c1e")),
            row(2, 13_860, Some("rdkafka-5c1e")),
        ],
    }
}

pub fn tail_records() -> Vec<TailRecord> {
    let record = |p: i32, o: i64, key: Option<&[u8]>, value: &[u8], headers: usize| TailRecord {
        partition: p,
        offset: o,
        timestamp: 1_795_600_800_000 + o,
        key: key.map(<[u8]>::to_vec),
        value: Some(value.to_vec()),
        headers: (0..headers)
            .map(|i| (format!("h{i}"), Some(format!("v{i}").into_bytes())))
            .collect(),
        value_len: value.len(),
        control: false,
    };
    vec![
        record(
            0,
            10,
            Some(b"user-1"),
            br#"{"id":1,"total":9.5,"items":["a","b"]}"#,
            2,
        ),
        record(1, 11, None, b"plain text value", 0),
        record(2, 12, Some(b"bin"), &[0, 159, 146, 150, 1, 2, 3, 255], 1),
        record(0, 13, Some(b"user-2"), br#"{"id":2,"total":1}"#, 0),
    ]
}

/// Records of two transactions on partition 0: one committed (two records, then its COMMIT
/// marker), one aborted and read uncommitted (a record, then its ABORT marker).
pub fn tail_records_with_markers() -> Vec<TailRecord> {
    let at = |o: i64| 1_795_600_800_000 + o;
    let data = |o: i64, value: &str| TailRecord {
        partition: 0,
        offset: o,
        timestamp: at(o),
        key: None,
        value: Some(value.as_bytes().to_vec()),
        headers: Vec::new(),
        value_len: value.len(),
        control: false,
    };
    // A control record: key version 0 and type (0 abort, 1 commit); value version 0 and
    // coordinator epoch 0.
    let marker = |o: i64, kind: u8| TailRecord {
        partition: 0,
        offset: o,
        timestamp: at(o),
        key: Some(vec![0, 0, 0, kind]),
        value: Some(vec![0, 0, 0, 0, 0, 0]),
        headers: Vec::new(),
        value_len: 6,
        control: true,
    };
    vec![
        data(20, "order-1 paid"),
        data(21, "order-2 paid"),
        marker(22, 1),
        data(23, "order-3 refunded"),
        marker(24, 0),
    ]
}

/// Transactions: one open past its 1-minute timeout, one open within its timeout, one
/// committed, one that could not be described.
pub fn transactions() -> Vec<ktui::tui::model::TransactionRow> {
    use ktui::tui::model::TransactionRow;
    let row = |id: &str, state: &str, producer_id: i64, open_ms: Option<i64>| TransactionRow {
        id: id.into(),
        coordinator: 1,
        state: state.into(),
        producer_id,
        producer_epoch: 3,
        timeout_ms: 60_000,
        open_ms,
        partitions: Vec::new(),
        error: None,
    };
    let mut hanging = row("payments-app", "Ongoing", 4001, Some(1_000_000));
    hanging.partitions = vec![
        ("__consumer_offsets".into(), 12),
        ("payments".into(), 0),
        ("payments".into(), 3),
    ];
    let mut open = row("orders-etl", "Ongoing", 4002, Some(4_500));
    open.partitions = vec![("orders".into(), 1)];
    let done = row("billing-app", "CompleteCommit", 4003, None);
    let mut lost = row("audit-app", "Ongoing", 4004, None);
    lost.producer_epoch = -1;
    lost.error = Some("NOT_COORDINATOR (16)".into());
    vec![done, open, hanging, lost]
}

/// ACLs: alice reads orders and the billing group, prefixed writes for the ingest team, a deny.
pub fn acls() -> Vec<ktui::client::acls::AclBinding> {
    use ktui::client::acls::{AclBinding, Operation, PatternType, Permission, ResourceType};
    let acl = |principal: &str,
               permission: Permission,
               operation: Operation,
               resource_type: ResourceType,
               name: &str,
               pattern_type: PatternType| AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission,
    };
    vec![
        acl(
            "User:alice",
            Permission::Allow,
            Operation::Read,
            ResourceType::Topic,
            "orders",
            PatternType::Literal,
        ),
        acl(
            "User:alice",
            Permission::Allow,
            Operation::Read,
            ResourceType::Group,
            "billing",
            PatternType::Literal,
        ),
        acl(
            "User:ingest",
            Permission::Allow,
            Operation::Write,
            ResourceType::Topic,
            "raw.",
            PatternType::Prefixed,
        ),
        acl(
            "User:mallory",
            Permission::Deny,
            Operation::All,
            ResourceType::Topic,
            "*",
            PatternType::Literal,
        ),
        acl(
            "User:ops",
            Permission::Allow,
            Operation::Alter,
            ResourceType::Cluster,
            "kafka-cluster",
            PatternType::Literal,
        ),
    ]
}

/// SCRAM users: mechanisms and iterations only.
pub fn users() -> Vec<ktui::client::scram_users::ScramUser> {
    use ktui::client::scram_users::{Credential, Mechanism, ScramUser};
    vec![
        ScramUser {
            name: "admin".into(),
            credentials: vec![Credential {
                mechanism: Mechanism::Sha512,
                iterations: 8192,
            }],
        },
        ScramUser {
            name: "alice".into(),
            credentials: vec![
                Credential {
                    mechanism: Mechanism::Sha256,
                    iterations: 4096,
                },
                Credential {
                    mechanism: Mechanism::Sha512,
                    iterations: 4096,
                },
            ],
        },
    ]
}
