//! What the console saw change between two refreshes, kept newest first in a bounded log:
//! brokers gone or back, the controller moving, partition leaders moving, ISRs shrinking or
//! growing, partitions going offline or coming back, topics created or deleted, groups
//! changing state or members (a rebalance), and a group's lag crossing a threshold.
//!
//! Pure: it compares the snapshots it is given. The first snapshot of each kind is the
//! baseline and records nothing. A change touching many partitions at once (a broker dying
//! with thousands of leaderships) is recorded partition by partition up to
//! [`PARTITION_EVENTS_MAX`] per refresh, then summed up in one line.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::SystemTime;

use crate::tui::model::{BrokerRow, ClusterSnapshot, GroupRow, PartitionState};

/// Broker ids as `1,2,3`, `none` for an empty list.
fn ids(list: &[i32]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        crate::tui::model::ids(list)
    }
}

/// Events kept; older ones are dropped.
pub const EVENTS_KEPT_MAX: usize = 2_000;
/// Partition events (leader, ISR, offline) recorded one by one per refresh and kind.
pub const PARTITION_EVENTS_MAX: usize = 20;
/// The default lag threshold (`--lag-threshold`).
pub const LAG_THRESHOLD_DEFAULT: i64 = 1_000;

/// What an event is about (the Events screen's KIND column, and its filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Broker,
    Controller,
    Leader,
    Isr,
    Offline,
    Topic,
    Group,
    Lag,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Broker => "broker",
            EventKind::Controller => "controller",
            EventKind::Leader => "leader",
            EventKind::Isr => "isr",
            EventKind::Offline => "offline",
            EventKind::Topic => "topic",
            EventKind::Group => "group",
            EventKind::Lag => "lag",
        }
    }
}

/// How bad an event is (its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEvent {
    /// Order of arrival (newest is highest).
    pub seq: u64,
    pub at: SystemTime,
    pub kind: EventKind,
    pub severity: Severity,
    pub text: String,
}

/// Groups as last seen: state, members, lag.
type GroupsSeen = BTreeMap<String, (String, usize, Option<i64>)>;

/// The log and the last snapshots it compares against.
#[derive(Debug)]
pub struct EventLog {
    events: VecDeque<ClusterEvent>,
    next_seq: u64,
    /// Events since the Events screen was last looked at.
    unseen: usize,
    lag_threshold: i64,
    cluster: Option<ClusterSnapshot>,
    groups: Option<GroupsSeen>,
}

impl EventLog {
    pub fn new(lag_threshold: i64) -> Self {
        EventLog {
            events: VecDeque::new(),
            next_seq: 0,
            unseen: 0,
            lag_threshold,
            cluster: None,
            groups: None,
        }
    }

    /// Events, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &ClusterEvent> {
        self.events.iter().rev()
    }

    pub fn unseen(&self) -> usize {
        self.unseen
    }

    pub fn mark_seen(&mut self) {
        self.unseen = 0;
    }

    pub fn lag_threshold(&self) -> i64 {
        self.lag_threshold
    }

    fn push(&mut self, at: SystemTime, kind: EventKind, severity: Severity, text: String) {
        self.events.push_back(ClusterEvent {
            seq: self.next_seq,
            at,
            kind,
            severity,
            text,
        });
        self.next_seq += 1;
        self.unseen += 1;
        if self.events.len() > EVENTS_KEPT_MAX {
            let _ = self.events.pop_front();
        }
    }

    /// Compares a new cluster snapshot with the last; returns how many events it recorded.
    pub fn observe_cluster(&mut self, now: &ClusterSnapshot, at: SystemTime) -> usize {
        let before = self.next_seq;
        if let Some(old) = self.cluster.take() {
            for (kind, severity, text) in cluster_changes(&old, now) {
                self.push(at, kind, severity, text);
            }
        }
        self.cluster = Some(now.clone());
        usize::try_from(self.next_seq - before).unwrap_or(usize::MAX)
    }

    /// Compares the groups with the last answer; returns how many events it recorded.
    pub fn observe_groups(&mut self, groups: &[GroupRow], at: SystemTime) -> usize {
        let before = self.next_seq;
        let now: GroupsSeen = groups
            .iter()
            .map(|g| (g.id.clone(), (g.state.clone(), g.members, g.lag)))
            .collect();
        if let Some(old) = self.groups.take() {
            for (kind, severity, text) in group_changes(&old, &now, self.lag_threshold) {
                self.push(at, kind, severity, text);
            }
        }
        self.groups = Some(now);
        usize::try_from(self.next_seq - before).unwrap_or(usize::MAX)
    }

    /// The last cluster snapshot compared (what a screen opened now starts from).
    pub fn last_cluster(&self) -> Option<&ClusterSnapshot> {
        self.cluster.as_ref()
    }

    /// The newest `n` events, newest first (what a new Events screen starts with).
    pub fn recent(&self, n: usize) -> Vec<ClusterEvent> {
        self.newest_first().take(n).cloned().collect()
    }
}

type Change = (EventKind, Severity, String);

fn broker_name(b: &BrokerRow) -> String {
    if b.addr.is_empty() {
        format!("broker {}", b.id)
    } else {
        format!("broker {} ({})", b.id, b.addr)
    }
}

fn why_down(b: &BrokerRow) -> &'static str {
    if b.fenced {
        "fenced or gone from metadata"
    } else {
        "not answering"
    }
}

fn cluster_changes(old: &ClusterSnapshot, now: &ClusterSnapshot) -> Vec<Change> {
    let mut out = Vec::new();
    let old_brokers: HashMap<i32, &BrokerRow> = old.brokers.iter().map(|b| (b.id, b)).collect();
    for b in &now.brokers {
        match old_brokers.get(&b.id) {
            None => out.push((
                EventKind::Broker,
                Severity::Info,
                format!("{} joined", broker_name(b)),
            )),
            Some(was) if was.is_up() && !b.is_up() => out.push((
                EventKind::Broker,
                Severity::Error,
                format!("{} down: {}", broker_name(was), why_down(b)),
            )),
            Some(was) if !was.is_up() && b.is_up() => out.push((
                EventKind::Broker,
                Severity::Info,
                format!("{} back", broker_name(b)),
            )),
            Some(_) => {}
        }
    }
    let now_ids: BTreeSet<i32> = now.brokers.iter().map(|b| b.id).collect();
    for b in old.brokers.iter().filter(|b| !now_ids.contains(&b.id)) {
        out.push((
            EventKind::Broker,
            Severity::Warn,
            format!("{} left the cluster", broker_name(b)),
        ));
    }
    if old.controller != now.controller {
        let text = if now.controller < 0 {
            format!("no active controller (was {})", old.controller)
        } else {
            format!("controller moved {} → {}", old.controller, now.controller)
        };
        out.push((EventKind::Controller, Severity::Warn, text));
    }
    let old_topics: BTreeSet<&str> = old.topics.iter().map(|t| t.name.as_str()).collect();
    let now_topics: BTreeSet<&str> = now.topics.iter().map(|t| t.name.as_str()).collect();
    for t in now_topics.difference(&old_topics) {
        out.push((
            EventKind::Topic,
            Severity::Info,
            format!("topic {t} created"),
        ));
    }
    for t in old_topics.difference(&now_topics) {
        out.push((
            EventKind::Topic,
            Severity::Info,
            format!("topic {t} deleted"),
        ));
    }
    out.extend(partition_changes(&old.partitions, &now.partitions));
    out
}

/// Collects one kind of partition change, one line each up to [`PARTITION_EVENTS_MAX`].
struct Capped {
    kind: EventKind,
    severity: Severity,
    lines: Vec<String>,
    more: usize,
}

impl Capped {
    fn new(kind: EventKind, severity: Severity) -> Self {
        Capped {
            kind,
            severity,
            lines: Vec::new(),
            more: 0,
        }
    }

    fn add(&mut self, line: impl FnOnce() -> String) {
        if self.lines.len() < PARTITION_EVENTS_MAX {
            self.lines.push(line());
        } else {
            self.more += 1;
        }
    }

    fn finish(self, what: &str, out: &mut Vec<Change>) {
        for line in self.lines {
            out.push((self.kind, self.severity, line));
        }
        if self.more > 0 {
            out.push((
                self.kind,
                self.severity,
                format!("… and {} more {what} in the same refresh", self.more),
            ));
        }
    }
}

fn partition_changes(old: &[PartitionState], now: &[PartitionState]) -> Vec<Change> {
    let old: HashMap<(&str, i32), &PartitionState> = old
        .iter()
        .map(|p| ((p.topic.as_str(), p.partition), p))
        .collect();
    let mut offline = Capped::new(EventKind::Offline, Severity::Error);
    let mut online = Capped::new(EventKind::Offline, Severity::Info);
    let mut moved = Capped::new(EventKind::Leader, Severity::Warn);
    let mut shrank = Capped::new(EventKind::Isr, Severity::Warn);
    let mut grew = Capped::new(EventKind::Isr, Severity::Info);
    for p in now {
        let Some(was) = old.get(&(p.topic.as_str(), p.partition)) else {
            continue;
        };
        let name = || format!("{}-{}", p.topic, p.partition);
        match (was.leader, p.leader) {
            (a, b) if a == b => {}
            (a, -1) => offline.add(|| format!("{} offline (leader {a} lost)", name())),
            (-1, b) => online.add(|| format!("{} back online, leader {b}", name())),
            (a, b) => moved.add(|| format!("leader of {} moved {a} → {b}", name())),
        }
        let old_isr: BTreeSet<i32> = was.isr.iter().copied().collect();
        let new_isr: BTreeSet<i32> = p.isr.iter().copied().collect();
        if new_isr.is_subset(&old_isr) && new_isr != old_isr {
            let out: Vec<i32> = old_isr.difference(&new_isr).copied().collect();
            shrank.add(|| {
                format!(
                    "ISR of {} shrank {} → {} ({} out)",
                    name(),
                    ids(&was.isr),
                    ids(&p.isr),
                    ids(&out)
                )
            });
        } else if new_isr != old_isr {
            grew.add(|| format!("ISR of {} {} → {}", name(), ids(&was.isr), ids(&p.isr)));
        }
    }
    let mut out = Vec::new();
    offline.finish("partitions offline", &mut out);
    online.finish("partitions back online", &mut out);
    moved.finish("leader moves", &mut out);
    shrank.finish("ISR shrinks", &mut out);
    grew.finish("ISR changes", &mut out);
    out
}

fn group_changes(old: &GroupsSeen, now: &GroupsSeen, threshold: i64) -> Vec<Change> {
    let mut out = Vec::new();
    for (id, (state, members, lag)) in now {
        let Some((old_state, old_members, old_lag)) = old.get(id) else {
            out.push((
                EventKind::Group,
                Severity::Info,
                format!("group {id} appeared ({state})"),
            ));
            continue;
        };
        if old_state != state {
            let severity = if state == "Dead" || state.contains("Rebalance") {
                Severity::Warn
            } else {
                Severity::Info
            };
            out.push((
                EventKind::Group,
                severity,
                format!("group {id}: {old_state} → {state}"),
            ));
        }
        if old_members != members {
            out.push((
                EventKind::Group,
                Severity::Warn,
                format!("group {id} rebalanced: {old_members} → {members} members"),
            ));
        }
        let over = |l: &Option<i64>| l.is_some_and(|l| l >= threshold);
        if !over(old_lag) && over(lag) {
            out.push((
                EventKind::Lag,
                Severity::Warn,
                format!(
                    "group {id} lag {} reached the threshold {threshold}",
                    lag.unwrap_or_default()
                ),
            ));
        } else if over(old_lag) && lag.is_some_and(|l| l < threshold) {
            out.push((
                EventKind::Lag,
                Severity::Info,
                format!(
                    "group {id} lag {} back under {threshold}",
                    lag.unwrap_or_default()
                ),
            ));
        }
    }
    for id in old.keys().filter(|id| !now.contains_key(*id)) {
        out.push((EventKind::Group, Severity::Info, format!("group {id} gone")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::TopicRow;

    fn broker(id: i32, up: bool) -> BrokerRow {
        BrokerRow {
            id,
            addr: format!("127.0.0.1:{}", 9092 + id),
            reachable: up,
            ..BrokerRow::default()
        }
    }

    fn part(topic: &str, partition: i32, leader: i32, isr: &[i32]) -> PartitionState {
        PartitionState {
            topic: topic.into(),
            partition,
            leader,
            isr: isr.to_vec(),
        }
    }

    fn snapshot(
        brokers: Vec<BrokerRow>,
        controller: i32,
        parts: Vec<PartitionState>,
    ) -> ClusterSnapshot {
        let topics: BTreeSet<String> = parts.iter().map(|p| p.topic.clone()).collect();
        ClusterSnapshot {
            cluster_id: None,
            controller,
            topics: topics
                .into_iter()
                .map(|name| TopicRow {
                    name,
                    ..TopicRow::default()
                })
                .collect(),
            brokers,
            partitions: parts,
        }
    }

    fn texts(log: &EventLog) -> Vec<String> {
        log.newest_first().map(|e| e.text.clone()).collect()
    }

    #[test]
    fn a_broker_dying_moves_leaders_shrinks_isrs_and_is_recorded() {
        let at = SystemTime::UNIX_EPOCH;
        let mut log = EventLog::new(LAG_THRESHOLD_DEFAULT);
        let before = snapshot(
            vec![broker(1, true), broker(2, true), broker(3, true)],
            1,
            vec![part("t", 0, 2, &[2, 1, 3]), part("t", 1, 1, &[1, 2, 3])],
        );
        assert_eq!(log.observe_cluster(&before, at), 0, "the baseline");
        let mut gone = broker(2, false);
        gone.fenced = true;
        gone.addr.clear();
        let after = snapshot(
            vec![broker(1, true), gone, broker(3, true)],
            3,
            vec![
                part("t", 0, 1, &[1, 3]),
                part("t", 1, 1, &[1, 3]),
                part("u", 0, 1, &[1]),
            ],
        );
        assert_eq!(log.observe_cluster(&after, at), 6);
        assert_eq!(
            texts(&log),
            [
                "ISR of t-1 shrank 1,2,3 → 1,3 (2 out)",
                "ISR of t-0 shrank 2,1,3 → 1,3 (2 out)",
                "leader of t-0 moved 2 → 1",
                "topic u created",
                "controller moved 1 → 3",
                "broker 2 (127.0.0.1:9094) down: fenced or gone from metadata",
            ]
        );
        assert_eq!(log.unseen(), 6);
        log.mark_seen();
        assert_eq!(log.unseen(), 0);
        let back = snapshot(
            vec![broker(1, true), broker(2, true), broker(3, true)],
            3,
            vec![part("t", 0, -1, &[1]), part("t", 1, 1, &[1, 3, 2])],
        );
        let _ = log.observe_cluster(&back, at);
        let newest: Vec<String> = texts(&log).into_iter().take(4).collect();
        assert_eq!(
            newest,
            [
                "ISR of t-1 1,3 → 1,3,2",
                "ISR of t-0 shrank 1,3 → 1 (3 out)",
                "t-0 offline (leader 1 lost)",
                "topic u deleted",
            ]
        );
    }

    #[test]
    fn many_partition_changes_are_capped_and_summed_up() {
        let at = SystemTime::UNIX_EPOCH;
        let mut log = EventLog::new(LAG_THRESHOLD_DEFAULT);
        let parts = |leader: i32| (0..100).map(|p| part("big", p, leader, &[1, 2])).collect();
        let _ = log.observe_cluster(&snapshot(vec![broker(1, true)], 1, parts(1)), at);
        let recorded = log.observe_cluster(&snapshot(vec![broker(1, true)], 1, parts(2)), at);
        assert_eq!(recorded, PARTITION_EVENTS_MAX + 1);
        assert_eq!(
            texts(&log)[0],
            format!(
                "… and {} more leader moves in the same refresh",
                100 - PARTITION_EVENTS_MAX
            )
        );
    }

    #[test]
    fn groups_state_members_and_lag_crossing_the_threshold() {
        let at = SystemTime::UNIX_EPOCH;
        let mut log = EventLog::new(1_000);
        let group = |state: &str, members: usize, lag: i64| GroupRow {
            id: "billing".into(),
            state: state.into(),
            members,
            lag: Some(lag),
            ..GroupRow::default()
        };
        let _ = log.observe_groups(&[group("Stable", 2, 10)], at);
        let _ = log.observe_groups(&[group("PreparingRebalance", 3, 1_500)], at);
        let _ = log.observe_groups(&[group("Stable", 3, 20)], at);
        let _ = log.observe_groups(&[], at);
        assert_eq!(
            texts(&log),
            [
                "group billing gone",
                "group billing lag 20 back under 1000",
                "group billing: PreparingRebalance → Stable",
                "group billing lag 1500 reached the threshold 1000",
                "group billing rebalanced: 2 → 3 members",
                "group billing: Stable → PreparingRebalance",
            ]
        );
    }

    #[test]
    fn the_log_is_bounded() {
        let at = SystemTime::UNIX_EPOCH;
        let mut log = EventLog::new(1);
        let group = |lag: i64| GroupRow {
            id: "g".into(),
            lag: Some(lag),
            ..GroupRow::default()
        };
        for i in 0..EVENTS_KEPT_MAX + 10 {
            let _ = log.observe_groups(&[group(i64::try_from(i % 2).unwrap_or(0) * 5)], at);
        }
        assert_eq!(log.newest_first().count(), EVENTS_KEPT_MAX);
    }
}
