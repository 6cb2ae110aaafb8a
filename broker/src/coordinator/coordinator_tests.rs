//! The coordinator over an in-memory `__consumer_offsets`: what it writes is what it loads,
//! deletions are tombstones, and offsets of empty groups expire after the retention time.

use std::sync::Mutex;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::records::OffsetValue;
use super::*;

#[derive(Default)]
struct MemoryLog {
    partitions: Mutex<HashMap<i32, Vec<Logged>>>,
}

impl RecordLog for MemoryLog {
    fn append(&self, partition: i32, records: Vec<KeyValue>) -> Result<(), ResponseError> {
        let mut map = self.partitions.lock().expect("lock");
        let list = map.entry(partition).or_default();
        list.extend(records.into_iter().map(Logged::Plain));
        Ok(())
    }

    fn append_transactional(
        &self,
        partition: i32,
        producer: TxnProducer,
        records: Vec<KeyValue>,
    ) -> Result<(), ResponseError> {
        let mut map = self.partitions.lock().expect("lock");
        let list = map.entry(partition).or_default();
        list.extend(records.into_iter().map(|record| Logged::Txn {
            producer_id: producer.producer_id,
            record,
        }));
        Ok(())
    }

    fn read_all(&self, partition: i32) -> Result<Vec<Logged>, String> {
        let map = self.partitions.lock().expect("lock");
        Ok(map.get(&partition).cloned().unwrap_or_default())
    }
}

impl MemoryLog {
    /// The marker the transaction coordinator would write.
    fn mark(&self, partition: i32, producer_id: i64, commit: bool) {
        let mut map = self.partitions.lock().expect("lock");
        let list = map.entry(partition).or_default();
        list.push(Logged::Marker {
            producer_id,
            commit,
        });
    }
}

fn coordinator(retention_ms: i64) -> GroupCoordinator {
    let c = GroupCoordinator::new(
        GroupSettings {
            min_session_timeout_ms: 1,
            max_session_timeout_ms: 600_000,
            max_size: 100,
            initial_rebalance_delay_ms: 0,
        },
        OffsetSettings {
            retention_ms,
            metadata_max_bytes: 8,
        },
        ConsumerSettings {
            heartbeat_interval_ms: 500,
            session_timeout_ms: 3000,
            max_size: 10,
        },
    );
    c.set_partitions(5);
    c
}

fn simple() -> CommitFrom {
    CommitFrom {
        member_id: String::new(),
        instance_id: None,
        generation: -1,
    }
}

fn offset(topic: &str, partition: i32, at: i64, when: i64) -> OffsetCommit {
    OffsetCommit {
        topic: topic.into(),
        partition,
        value: OffsetValue {
            offset: at,
            leader_epoch: -1,
            metadata: "m".into(),
            commit_timestamp: when,
            expire_timestamp: None,
        },
    }
}

#[test]
fn what_is_written_is_loaded_and_deleted_groups_stay_deleted() {
    let log = MemoryLog::default();
    let c = coordinator(60_000);
    let answers = c
        .commit(
            &log,
            "kept",
            &simple(),
            vec![offset("t", 0, 5, 0), offset("t", 1, 7, 0)],
        )
        .expect("commit");
    assert_eq!(answers, vec![None, None]);
    c.commit(&log, "kept", &simple(), vec![offset("t", 0, 9, 0)])
        .expect("commit");
    c.commit(&log, "gone", &simple(), vec![offset("t", 0, 1, 0)])
        .expect("commit");
    assert_eq!(c.delete(&log, "gone"), None);
    let request = JoinRequest {
        group_id: "live".into(),
        member_id: String::new(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
        require_known_member_id: false,
    };
    let joined = match c.join(&log, &request) {
        Reply::Ready(r) => r,
        Reply::Wait(mut rx) => rx.try_recv().expect("answered"),
    };
    let _ = c.sync(
        &log,
        "live",
        &joined.member_id,
        None,
        1,
        None,
        None,
        vec![(joined.member_id.clone(), Bytes::from_static(b"asg"))],
    );

    let loaded = coordinator(60_000);
    assert_eq!(loaded.load(&log, 5), Ok(2));
    let rows = loaded.fetch_offsets("kept", None);
    let got: Vec<(String, i32, i64)> = rows
        .into_iter()
        .map(|(t, p, v)| (t, p, v.expect("committed").offset))
        .collect();
    assert_eq!(got, vec![("t".into(), 0, 9), ("t".into(), 1, 7)]);
    assert!(loaded.describe("gone").is_none());
    let live = loaded.describe("live").expect("live group");
    assert_eq!(live.state, GroupState::Stable);
    assert_eq!(live.members[0].assignment, Bytes::from_static(b"asg"));
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention() {
    let log = MemoryLog::default();
    let c = coordinator(1000);
    let now = crate::now_ms();
    c.commit(&log, "old", &simple(), vec![offset("t", 0, 5, now - 5000)])
        .expect("commit");
    c.commit(&log, "new", &simple(), vec![offset("t", 0, 5, now)])
        .expect("commit");
    assert_eq!(c.expire_offsets(&log, now), 1);
    assert!(
        c.describe("old").is_none(),
        "the group went with its offsets"
    );
    assert!(c.describe("new").is_some());
    let reloaded = coordinator(1000);
    assert_eq!(reloaded.load(&log, 5), Ok(1));
}

#[test]
fn long_metadata_is_refused_per_partition() {
    let log = MemoryLog::default();
    let c = coordinator(1000);
    let mut long = offset("t", 1, 1, 0);
    long.value.metadata = "x".repeat(9);
    let answers = c
        .commit(&log, "g", &simple(), vec![offset("t", 0, 1, 0), long])
        .expect("commit");
    assert_eq!(
        answers,
        vec![None, Some(ResponseError::OffsetMetadataTooLarge)]
    );
}

#[test]
fn transactional_offsets_wait_for_their_marker_and_survive_a_reload() {
    let log = MemoryLog::default();
    let c = coordinator(i64::MAX);
    let partition = c.partition_for("etl");
    let producer = |pid| TxnProducer {
        producer_id: pid,
        producer_epoch: 0,
    };
    let answers = c
        .txn_commit(
            &log,
            "etl",
            producer(7),
            &simple(),
            vec![offset("in", 0, 10, 1)],
        )
        .expect("committed in the transaction");
    assert_eq!(answers, vec![None]);
    c.txn_commit(
        &log,
        "etl",
        producer(8),
        &simple(),
        vec![offset("in", 1, 99, 1)],
    )
    .expect("committed in another transaction");
    // Undecided: not the group's offsets yet, and unstable for a read_committed fetch.
    assert_eq!(c.fetch_offsets("etl", None).len(), 0);
    assert!(c.has_pending_offset("etl", "in", 0));
    log.mark(partition, 7, true);
    c.complete_txn(7, partition, true);
    log.mark(partition, 8, false);
    c.complete_txn(8, partition, false);
    let fetched = c.fetch_offsets("etl", None);
    assert_eq!(
        fetched.len(),
        1,
        "the aborted offset is dropped: {fetched:?}"
    );
    assert_eq!(fetched[0].2.as_ref().map(|v| v.offset), Some(10));
    assert!(!c.has_pending_offset("etl", "in", 0));

    // A new coordinator replays the same decisions from the log.
    let reloaded = coordinator(i64::MAX);
    reloaded.load(&log, 5).expect("load");
    let fetched = reloaded.fetch_offsets("etl", None);
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].2.as_ref().map(|v| v.offset), Some(10));
}

#[test]
fn a_partition_being_loaded_answers_load_in_progress_and_a_resignation_cancels_it() {
    let log = MemoryLog::default();
    let c = coordinator(i64::MAX);
    let partition = c.partition_for("g");
    c.begin_loading(partition);
    assert_eq!(
        c.owner_error("g"),
        Some(ResponseError::CoordinatorLoadInProgress)
    );
    c.take_over(&log, partition).expect("loaded");
    assert_eq!(c.owner_error("g"), None);

    c.resign(partition);
    c.begin_loading(partition);
    c.resign(partition);
    c.take_over(&log, partition).expect("a cancelled load");
    assert_eq!(
        c.owner_error("g"),
        Some(ResponseError::NotCoordinator),
        "a load the broker resigned from installs nothing"
    );
}
