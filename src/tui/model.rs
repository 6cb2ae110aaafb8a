//! The console's data: plain rows the views show, built by `fetch` from the client's answers
//! (or by tests from fixtures). Keeping them free of client types makes every screen
//! renderable from deterministic data.

use std::time::SystemTime;

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(super::bytes(0), "0 B");
        assert_eq!(super::bytes(1023), "1023 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(super::bytes(3 << 40), "3.0 TiB");
    }

    #[test]
    fn durations_read_in_their_largest_units() {
        assert_eq!(super::duration_ms(850), "850ms");
        assert_eq!(super::duration_ms(42_000), "42s");
        assert_eq!(super::duration_ms(185_000), "3m05s");
        assert_eq!(super::duration_ms(7_800_000), "2h10m");
        assert_eq!(super::duration_ms(273_600_000), "3d4h");
    }
}

/// The cluster as the header and the Topics and Brokers screens show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSnapshot {
    pub cluster_id: Option<String>,
    pub controller: i32,
    pub topics: Vec<TopicRow>,
    pub brokers: Vec<BrokerRow>,
    /// Every partition's leader and ISR, sorted by topic and partition (what the events
    /// screen compares between two snapshots).
    pub partitions: Vec<PartitionState>,
}

/// One partition's leadership, as the events screen compares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    /// -1 without a leader.
    pub leader: i32,
    pub isr: Vec<i32>,
}

/// The header's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    pub brokers_up: usize,
    pub brokers: usize,
    pub under_replicated: usize,
    pub under_min_isr: usize,
    pub offline: usize,
}

impl ClusterSnapshot {
    /// Brokers up and known, and the unhealthy partitions of every topic.
    pub fn health(&self) -> Health {
        let sum = |f: fn(&TopicRow) -> usize| self.topics.iter().map(f).sum();
        Health {
            brokers_up: self.brokers.iter().filter(|b| b.is_up()).count(),
            brokers: self.brokers.len(),
            under_replicated: sum(|t| t.under_replicated),
            under_min_isr: sum(|t| t.under_min_isr),
            offline: sum(|t| t.offline),
        }
    }
}

/// One topic in the Topics table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicRow {
    pub name: String,
    pub partitions: usize,
    pub replication: usize,
    /// Sum over partitions of high minus low watermark; `None` when offsets are unknown.
    pub messages: Option<i64>,
    pub under_replicated: usize,
    /// Partitions whose ISR is below the topic's `min.insync.replicas` (acks=all fails).
    pub under_min_isr: usize,
    pub offline: usize,
    pub internal: bool,
    /// Groups with committed offsets on the topic, and their summed lag on it (from the
    /// groups' answer, merged in by the Topics screen).
    pub groups: usize,
    pub lag: Option<i64>,
}

impl TopicRow {
    /// Whether any partition is under-replicated, under min ISR or offline.
    pub fn is_unhealthy(&self) -> bool {
        self.under_replicated + self.under_min_isr + self.offline > 0
    }
}

/// One broker in the Brokers table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerRow {
    pub id: i32,
    /// Empty when the broker is known only from replica lists (the app fills in the address
    /// it last saw).
    pub addr: String,
    pub rack: Option<String>,
    pub controller: bool,
    /// Partitions it leads.
    pub leaders: usize,
    /// Replicas it hosts.
    pub replicas: usize,
    /// Partitions it leads whose ISR is smaller than their replicas.
    pub under_replicated_led: usize,
    /// Named in replica lists but not listed by Metadata: fenced (KRaft lists only unfenced
    /// brokers) or gone.
    pub fenced: bool,
    pub reachable: bool,
}

impl BrokerRow {
    pub fn is_up(&self) -> bool {
        !self.fenced && self.reachable
    }
}

/// One log directory of a broker: path, bytes of the partitions in it, and the error Kafka
/// reports for an offline directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogDirRow {
    pub path: String,
    pub bytes: i64,
    pub error: Option<String>,
}

/// A reassignment in progress, as ListPartitionReassignments reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reassigning {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// One partition on the Topic screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionRow {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
    pub low: Option<i64>,
    pub high: Option<i64>,
}

/// One config of a topic, as DescribeConfigs reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigRow {
    pub name: String,
    pub value: Option<String>,
    pub source: String,
    pub sensitive: bool,
}

impl ConfigRow {
    /// Whether the value is Kafka's default (so it sorts after the overridden ones).
    pub fn is_default(&self) -> bool {
        self.source == "DEFAULT_CONFIG"
    }
}

/// Everything the Topic screen shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicDetail {
    pub name: String,
    pub partitions: Vec<PartitionRow>,
    pub configs: Vec<ConfigRow>,
    /// Groups with committed offsets on this topic, and their lag on it.
    pub groups: Vec<(String, Option<i64>)>,
}

/// One group in the Groups table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupRow {
    pub id: String,
    pub state: String,
    pub members: usize,
    pub protocol: String,
    pub topics: Vec<String>,
    pub lag: Option<i64>,
    /// Lag on each topic the group reads (the Topics screen sums it per topic).
    pub topic_lag: Vec<(String, Option<i64>)>,
}

/// One partition of a group on the Group screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPartitionRow {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub end: Option<i64>,
    /// The last stable offset, below `end` while a transaction is open on the partition
    /// (a read_committed consumer reads no further).
    pub lso: Option<i64>,
    pub lag: Option<i64>,
    pub member: Option<String>,
    pub client: Option<String>,
    pub host: Option<String>,
}

/// Everything the Group screen shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupDetail {
    pub id: String,
    pub state: String,
    pub protocol: String,
    pub members: usize,
    pub partitions: Vec<GroupPartitionRow>,
}

impl GroupDetail {
    /// Total lag over the partitions whose lag is known.
    pub fn total_lag(&self) -> i64 {
        self.partitions.iter().filter_map(|p| p.lag).sum()
    }
}

/// A record the Tail screen keeps: key, value and headers cut to the bounds below.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailRecord {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The value's length before it was cut.
    pub value_len: usize,
    /// A control record: a transaction's COMMIT or ABORT marker (key and value as written).
    pub control: bool,
}

/// Bytes of a value the tail keeps per record; the rest is cut (the detail pane says so).
pub const VALUE_BYTES_KEPT_MAX: usize = 2048;
/// Bytes of a key the tail keeps per record.
pub const KEY_BYTES_KEPT_MAX: usize = 256;
/// Header entries kept per record, and bytes kept of each header's name and value.
pub const HEADERS_KEPT_MAX: usize = 8;
pub const HEADER_BYTES_KEPT_MAX: usize = 256;
/// Records the Tail screen keeps; older ones are dropped and counted.
pub const TAIL_RECORDS_MAX: usize = 10_000;
/// Batches of at most [`TAIL_RECORDS_MAX`] records on their way to the screen at once; with
/// the batch being filled and the screen's own buffer, the tail holds at most
/// `(TAIL_BATCHES_IN_FLIGHT_MAX + 2) * TAIL_RECORDS_MAX` records, each at most
/// [`TAIL_RECORD_BYTES_MAX`] (plus the client's bounded fetch buffers).
pub const TAIL_BATCHES_IN_FLIGHT_MAX: usize = 2;
/// Payload bytes a kept record holds at most.
pub const TAIL_RECORD_BYTES_MAX: usize =
    KEY_BYTES_KEPT_MAX + VALUE_BYTES_KEPT_MAX + HEADERS_KEPT_MAX * 2 * HEADER_BYTES_KEPT_MAX;

/// One transactional id on the Transactions screen, as its coordinator describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionRow {
    pub id: String,
    pub coordinator: i32,
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// How long the transaction had been open when described; `None` when none is open.
    pub open_ms: Option<i64>,
    /// The partitions it has written to, sorted.
    pub partitions: Vec<(String, i32)>,
    /// Why it could not be described (the row then has the listing's state only).
    pub error: Option<String>,
}

impl TransactionRow {
    /// Open longer than its timeout: the coordinator should have aborted it, so it may hang.
    pub fn is_overdue(&self) -> bool {
        self.open_ms
            .is_some_and(|open| open > i64::from(self.timeout_ms))
    }
}

/// A duration in milliseconds as people read it: `850ms`, `42s`, `3m05s`, `2h10m`, `3d4h`.
pub fn duration_ms(ms: i64) -> String {
    let s = ms / 1000;
    match ms {
        _ if ms < 1000 => format!("{ms}ms"),
        _ if s < 60 => format!("{s}s"),
        _ if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One new offset a reset would commit, with the lag it would leave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResetRow {
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub new: i64,
    pub end: i64,
}

/// Formats a time of day for the status line, `HH:MM:SS` in UTC.
pub fn clock(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.get(11..19).unwrap_or(&text).to_string()
}

/// Formats an optional number, `-` when unknown.
pub fn or_dash(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Formats a byte count with a binary unit: `512 B`, `1.5 KiB`, `20.0 MiB`.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n.abs() < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Formats broker ids as `1,2,3`.
pub fn ids(list: &[i32]) -> String {
    let parts: Vec<String> = list.iter().map(i32::to_string).collect();
    parts.join(",")
}
