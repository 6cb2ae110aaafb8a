//! Deterministic data for the screens, and helpers that drive an [`App`] and draw it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ktui::tui::app::{App, AppOptions};
use ktui::tui::event::{ConnState, Event, Update};
use ktui::tui::model::{
    BrokerRow, ClusterSnapshot, ConfigRow, GroupDetail, GroupPartitionRow, GroupRow, PartitionRow,
    TailRecord, TopicDetail, TopicRow,
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
    }
}

impl Harness {
    /// An app connected to the fixture cluster, on the Topics screen.
    pub fn new(size: (u16, u16), read_only: bool) -> Harness {
        let start = Instant::now();
        let rect = Rect::new(0, 0, size.0, size.1);
        let mut app = App::new(options(read_only), rect, start);
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
        offline: 0,
        internal: name.starts_with("__"),
    }
}

pub fn cluster() -> ClusterSnapshot {
    let mut degraded = topic("payments", 6, 1200);
    degraded.replication = 3;
    degraded.under_replicated = 2;
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
                reachable: true,
            },
            BrokerRow {
                id: 2,
                addr: "127.0.0.1:9093".into(),
                rack: None,
                controller: false,
                leaders: 3,
                reachable: false,
            },
        ],
    }
}

pub fn topic_detail() -> TopicDetail {
    let partition = |id: i32, low: i64, high: i64| PartitionRow {
        id,
        leader: 1,
        replicas: vec![1],
        isr: vec![1],
        offline: Vec::new(),
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
            partition(0, 0, 14_000),
            partition(1, 100, 14_100),
            partition(2, 0, 13_900),
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
    };
    vec![
        group("search-indexer", "Stable", 2, Some(0)),
        group("billing", "Stable", 1, Some(120)),
        group("reports", "Empty", 0, Some(9_000)),
        group("audit", "Empty", 0, None),
    ]
}

pub fn group_detail(lag: i64) -> GroupDetail {
    let row = |p: i32, committed: i64, member: Option<&str>| GroupPartitionRow {
        topic: "orders".into(),
        partition: p,
        committed: Some(committed),
        end: Some(committed + lag / 3),
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
