//! The cleaner's tests. Each builds a compacted log whose segments it controls (every append
//! rolls the log first, so one append is one segment), runs passes, and reads the log back
//! through kafka-protocol's decoder, an independent reader of what consumers would get.

use std::path::Path;

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, TimestampType};

use super::checkpoint::CLEANER_CHECKPOINT_FILE;
use super::offset_map::ENTRY_BYTES;
use super::CleanStats;
use crate::log::batch::{split_stored, BatchHeader};
use crate::log::control::{encode_marker, Marker};
use crate::log::encode::one_batch;
use crate::log::test_util::{file_names, small_config};
use crate::log::txn_index::AbortedTxn;
use crate::log::{LogConfig, PartitionLog};

const NOW: i64 = 1_000_000;
/// Kafka's `log.cleaner.dedupe.buffer.size` default.
const BUFFER: u64 = 128 * 1024 * 1024;
/// No open transaction: the caller's bound is past everything.
const NO_TXN: i64 = i64::MAX;

/// What a consumer sees of one record.
type Seen = (i64, String, Option<String>);

/// Compacted, tombstones kept for 1 s.
fn config() -> LogConfig {
    LogConfig {
        compact: true,
        delete_retention_ms: 1000,
        ..small_config(1 << 20)
    }
}

fn open(dir: &Path) -> PartitionLog {
    PartitionLog::open(dir, config()).expect("open")
}

/// A record of a producer (-1: none), value `None` for a tombstone.
fn record(producer_id: i64, key: &str, value: Option<&str>, ts: i64) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch: if producer_id >= 0 { 0 } else { -1 },
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: if producer_id >= 0 { 0 } else { -1 },
        timestamp: ts,
        key: Some(Bytes::from(key.to_string())),
        value: value.map(|v| Bytes::from(v.to_string())),
        headers: IndexMap::new(),
    }
}

/// One batch of `(key, value)` records, no producer.
fn batch(records: &[(&str, Option<&str>)], compression: Compression) -> Vec<u8> {
    producer_batch(-1, false, records, compression)
}

fn producer_batch(
    producer_id: i64,
    transactional: bool,
    records: &[(&str, Option<&str>)],
    compression: Compression,
) -> Vec<u8> {
    producer_batch_at(producer_id, transactional, records, compression, NOW)
}

fn producer_batch_at(
    producer_id: i64,
    transactional: bool,
    records: &[(&str, Option<&str>)],
    compression: Compression,
    ts: i64,
) -> Vec<u8> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            offset: i as i64,
            transactional,
            ..record(producer_id, k, *v, ts)
        })
        .collect();
    one_batch(records, compression).expect("encode").to_vec()
}

fn marker(producer_id: i64, commit: bool) -> Vec<u8> {
    marker_at(producer_id, commit, NOW)
}

fn marker_at(producer_id: i64, commit: bool, ts: i64) -> Vec<u8> {
    let marker = Marker {
        commit,
        coordinator_epoch: 0,
    };
    encode_marker(producer_id, 0, marker, ts).expect("marker")
}

/// Swaps a pass in and finishes it, as `compact` does.
fn install(log: &mut PartitionLog, cleaned: super::CleanedLog) -> CleanStats {
    let (stats, retired) = log.install_cleaned(cleaned).expect("install");
    retired.finish().expect("finish");
    stats
}

/// Appends in a segment of its own: the active segment closes first.
fn append(log: &mut PartitionLog, mut bytes: Vec<u8>) -> i64 {
    if log.size_bytes() > 0 && log.active().size() > 0 {
        log.roll(NOW).expect("roll");
    }
    log.append(&mut bytes, 0, NOW).expect("append").base_offset
}

/// Appends `batches` together in one segment of their own.
fn append_together(log: &mut PartitionLog, batches: Vec<Vec<u8>>) {
    append(log, batches.concat());
}

/// Appends one batch per item, each closing the segment before it.
fn fill(log: &mut PartitionLog, batches: Vec<Vec<u8>>) {
    for b in batches {
        append(log, b);
    }
}

fn all_bytes(log: &PartitionLog) -> Bytes {
    log.read(log.log_start_offset(), usize::MAX, true)
        .expect("read")
}

fn read_all(log: &PartitionLog) -> Vec<Seen> {
    let mut buf = all_bytes(log);
    let text = |b: Bytes| String::from_utf8(b.to_vec()).expect("utf8");
    RecordBatchDecoder::decode_all(&mut buf)
        .expect("decode")
        .into_iter()
        .filter(|set| set.records.first().is_some_and(|r| !r.control))
        .flat_map(|set| set.records)
        .map(|r| (r.offset, text(r.key.expect("key")), r.value.map(text)))
        .collect()
}

fn headers(log: &PartitionLog) -> Vec<BatchHeader> {
    let bytes = all_bytes(log);
    split_stored(&bytes).map(|b| b.expect("batch").0).collect()
}

fn seen(offset: i64, key: &str, value: Option<&str>) -> Seen {
    (offset, key.to_string(), value.map(str::to_string))
}

/// The latest record of each key, tombstones older than the horizon dropped: what a full
/// compaction of `records` (all in closed segments) must leave.
fn latest_of_each(records: &[Seen]) -> Vec<Seen> {
    let mut latest = std::collections::BTreeMap::new();
    for r in records {
        latest.insert(r.1.clone(), r.clone());
    }
    let mut out: Vec<Seen> = latest.into_values().collect();
    out.sort();
    out
}

#[test]
fn keeps_the_latest_of_each_key_and_drops_old_tombstones_with_offsets_unchanged() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    let mut tombstones = vec![
        record(-1, "c", None, NOW - 5000),
        record(-1, "d", None, NOW),
    ];
    tombstones[1].offset = 1;
    fill(
        &mut log,
        vec![
            batch(&[("a", Some("a1")), ("b", Some("b1"))], Compression::None),
            batch(&[("a", Some("a2")), ("c", Some("c1"))], Compression::Gzip),
            one_batch(tombstones, Compression::Lz4)
                .expect("encode")
                .to_vec(),
            batch(&[("a", Some("a3-active"))], Compression::None),
        ],
    );
    assert_eq!(log.segment_count(), 4);
    let stats = log.compact(NOW, NO_TXN, BUFFER).expect("compact");
    // a1 (a2 is later), c1 (its tombstone is later) and the expired tombstone of c.
    assert_eq!(stats.records_removed, 3);
    assert_eq!(stats.segments_rewritten, 3);
    assert!(!stats.discarded);
    let expected = vec![
        seen(1, "b", Some("b1")),
        seen(2, "a", Some("a2")),
        seen(5, "d", None),
        seen(6, "a", Some("a3-active")),
    ];
    assert_eq!(read_all(&log), expected);
    // Nothing closed since: the next pass does nothing.
    assert_eq!(
        log.compact(NOW, NO_TXN, BUFFER).expect("again"),
        CleanStats::default()
    );
    // Reopened, the cleaned segments load with the same contents and offsets.
    drop(log);
    let log = open(dir.path());
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.log_end_offset(), 7);
}

/// A batch that loses a record in its middle keeps its base and last offsets and fewer
/// records; it must read back and survive a restart (kafka-protocol's encoder would have
/// written a record count that recovery rejects, cutting the log there).
#[test]
fn a_batch_that_loses_a_middle_record_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    let abc = [("a", Some("1")), ("b", Some("1")), ("c", Some("1"))];
    fill(
        &mut log,
        vec![
            batch(&abc, Compression::Zstd),
            batch(&[("b", Some("2"))], Compression::None),
            batch(&[("z", Some("active"))], Compression::None),
        ],
    );
    let stats = log.compact(NOW, NO_TXN, BUFFER).expect("compact");
    assert_eq!(stats.records_removed, 1);
    let expected = vec![
        seen(0, "a", Some("1")),
        seen(2, "c", Some("1")),
        seen(3, "b", Some("2")),
        seen(4, "z", Some("active")),
    ];
    assert_eq!(read_all(&log), expected);
    let first = headers(&log)[0];
    assert_eq!(
        (first.base_offset, first.last_offset(), first.records_count),
        (0, 2, 2)
    );
    drop(log);
    let log = open(dir.path());
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.log_end_offset(), 5);
    // Offsets 0..=2 still resolve to the cleaned batch.
    for offset in 0..3 {
        let read = log.read(offset, 1, true).expect("read");
        assert_eq!(split_stored(&read).count(), 1, "offset {offset}");
    }
}

/// Ten keys per segment, rewritten in every segment.
fn ten_keys(round: usize) -> Vec<u8> {
    let values: Vec<(String, String)> = (0..10)
        .map(|k| (format!("k{k}"), format!("r{round}")))
        .collect();
    let records: Vec<(&str, Option<&str>)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();
    batch(&records, Compression::None)
}

#[test]
fn the_checkpoint_makes_later_passes_map_only_the_dirty_part_even_after_a_restart() {
    let root = tempfile::tempdir().expect("dir");
    let dir = root.path().join("events-0");
    let mut log = open(&dir);
    fill(&mut log, (0..5).map(ten_keys).collect());
    let first = log.compact(NOW, NO_TXN, BUFFER).expect("first pass");
    assert_eq!((first.first_dirty_offset, first.cleaned_below), (0, 40));
    assert_eq!(first.records_mapped, 40, "the four closed segments");
    let text = std::fs::read_to_string(dir.join(CLEANER_CHECKPOINT_FILE)).expect("checkpoint");
    assert_eq!(text, "0\n1\nevents 0 40\n");

    fill(&mut log, (5..7).map(ten_keys).collect());
    let second = log.compact(NOW, NO_TXN, BUFFER).expect("second pass");
    assert_eq!((second.first_dirty_offset, second.cleaned_below), (40, 60));
    assert_eq!(
        second.records_mapped, 20,
        "only the two segments closed since"
    );
    // The clean part was still filtered against the new keys.
    assert_eq!(second.records_removed, 20);
    let keys: Vec<Seen> = read_all(&log).into_iter().filter(|r| r.0 < 60).collect();
    assert_eq!(keys.len(), 10);
    assert!(keys.iter().all(|r| r.2.as_deref() == Some("r5")));

    drop(log);
    let mut log = open(&dir);
    fill(&mut log, vec![ten_keys(7)]);
    let third = log.compact(NOW, NO_TXN, BUFFER).expect("after a restart");
    assert_eq!((third.first_dirty_offset, third.cleaned_below), (60, 70));
    assert_eq!(third.records_mapped, 10);
}

#[test]
fn a_map_smaller_than_the_dirty_part_cleans_a_prefix_and_later_passes_finish() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    // Keys 0-9, 10-19, 20-29, then the same again, then an active segment.
    let key_range = |from: usize, round: usize| {
        let values: Vec<(String, String)> = (from..from + 10)
            .map(|k| (format!("k{k}"), format!("r{round}")))
            .collect();
        let records: Vec<(&str, Option<&str>)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        batch(&records, Compression::None)
    };
    let mut batches: Vec<Vec<u8>> = (0..6).map(|i| key_range(i % 3 * 10, i)).collect();
    batches.push(batch(&[("active", Some("x"))], Compression::None));
    fill(&mut log, batches);
    let everything = read_all(&log);
    // 30 slots, 90% full at most: 27 keys, so two ten-key segments per pass.
    let small = 30 * ENTRY_BYTES;
    let ends: Vec<i64> = (0..3)
        .map(|_| {
            let stats = log.compact(NOW, NO_TXN, small).expect("pass");
            assert!(stats.records_mapped <= 20);
            stats.cleaned_below
        })
        .collect();
    assert_eq!(ends, vec![20, 40, 60]);
    assert_eq!(
        log.compact(NOW, NO_TXN, small).expect("done"),
        CleanStats::default()
    );
    let closed: Vec<Seen> = everything.into_iter().filter(|r| r.0 < 60).collect();
    let mut expected = latest_of_each(&closed);
    expected.push(seen(60, "active", Some("x")));
    expected.sort();
    let mut got = read_all(&log);
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn aborted_transactions_go_whole_and_do_not_shadow_older_values() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    append(
        &mut log,
        batch(&[("k", Some("committed"))], Compression::None),
    );
    let aborted = [("k", Some("aborted")), ("m", Some("aborted"))];
    append(
        &mut log,
        producer_batch(7, true, &aborted, Compression::Lz4),
    );
    let abort_at = append(&mut log, marker(7, false));
    let txn = AbortedTxn {
        producer_id: 7,
        first_offset: 1,
        last_offset: abort_at,
        last_stable_offset: 1,
    };
    log.record_aborted(txn).expect("index");
    let committed = [("j", Some("txn")), ("n", Some("txn"))];
    append(
        &mut log,
        producer_batch(8, true, &committed, Compression::None),
    );
    let commit_at = append(&mut log, marker(8, true));
    append(&mut log, batch(&[("j", Some("later"))], Compression::None));
    append(&mut log, batch(&[("z", Some("active"))], Compression::None));
    let markers_before: Vec<Bytes> = [abort_at, commit_at]
        .iter()
        .map(|o| log.read(*o, 1, true).expect("marker"))
        .collect();

    let stats = log.compact(NOW, NO_TXN, BUFFER).expect("compact");
    assert_eq!(stats.aborted_batches_removed, 1);
    assert_eq!(
        read_all(&log),
        vec![
            seen(0, "k", Some("committed")),
            seen(5, "n", Some("txn")),
            seen(7, "j", Some("later")),
            seen(8, "z", Some("active")),
        ]
    );
    // The markers are kept byte for byte; the aborted batch, the last of producer 7, stays as
    // an empty header so its sequence survives.
    for (o, before) in [abort_at, commit_at].iter().zip(&markers_before) {
        assert_eq!(&log.read(*o, 1, true).expect("marker"), before);
    }
    let empty = headers(&log)
        .into_iter()
        .find(|h| h.producer_id == 7 && !h.is_control())
        .expect("producer 7's batch header");
    assert_eq!(
        (empty.base_offset, empty.last_offset(), empty.records_count),
        (1, 2, 0)
    );
}

#[test]
fn nothing_at_or_past_the_clean_bound_is_mapped_or_changed() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    // Six segments of keys a and b at offsets 2i and 2i + 1, then an active one.
    let mut batches: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            let v = format!("v{i}");
            batch(
                &[("a", Some(v.as_str())), ("b", Some(v.as_str()))],
                Compression::None,
            )
        })
        .collect();
    batches.push(batch(&[("a", Some("active"))], Compression::None));
    fill(&mut log, batches);
    let tail_before = log.read(6, usize::MAX, true).expect("tail");
    // A bound inside the batch at 6..=7 stops the map before that batch.
    let stats = log.compact(NOW, 7, BUFFER).expect("bounded pass");
    assert_eq!((stats.cleaned_below, stats.records_mapped), (6, 6));
    assert_eq!(log.read(6, usize::MAX, true).expect("tail"), tail_before);
    let below: Vec<Seen> = read_all(&log).into_iter().filter(|r| r.0 < 6).collect();
    assert_eq!(
        below,
        vec![seen(4, "a", Some("v2")), seen(5, "b", Some("v2"))]
    );
    assert_eq!(
        log.compact(NOW, 6, BUFFER).expect("no dirty part below"),
        CleanStats::default()
    );
    // Once the bound moves on, the rest is cleaned.
    let stats = log.compact(NOW, NO_TXN, BUFFER).expect("unbounded pass");
    assert_eq!(stats.cleaned_below, 12);
    let closed: Vec<Seen> = read_all(&log).into_iter().filter(|r| r.0 < 12).collect();
    assert_eq!(
        closed,
        vec![seen(10, "a", Some("v5")), seen(11, "b", Some("v5"))]
    );
}

#[test]
fn control_batches_are_kept_even_when_every_record_around_them_goes() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    // Two COMMIT markers carry the same record key; neither may shadow the other.
    append(
        &mut log,
        producer_batch(3, true, &[("a", Some("1"))], Compression::None),
    );
    append(&mut log, marker(3, true));
    append(
        &mut log,
        producer_batch(4, true, &[("a", Some("2"))], Compression::None),
    );
    append(&mut log, marker(4, true));
    append(&mut log, batch(&[("a", Some("3"))], Compression::None));
    append(&mut log, batch(&[("z", Some("active"))], Compression::None));
    log.compact(NOW, NO_TXN, BUFFER).expect("compact");
    let control: Vec<i64> = headers(&log)
        .iter()
        .filter(|h| h.is_control())
        .map(|h| h.base_offset)
        .collect();
    assert_eq!(control, vec![1, 3]);
    assert_eq!(
        read_all(&log),
        vec![seen(4, "a", Some("3")), seen(5, "z", Some("active"))]
    );
}

/// A dirty batch the map did not mark is copied without reading its records again: each
/// dirty batch is read once, plus once more only if it changes.
#[test]
fn unmarked_dirty_batches_are_copied_without_being_decoded_again() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    fill(
        &mut log,
        vec![
            batch(&[("a", Some("1")), ("b", Some("1"))], Compression::Gzip),
            batch(&[("c", Some("1")), ("d", Some("1"))], Compression::Gzip),
            batch(&[("a", Some("2")), ("e", Some("1"))], Compression::Gzip),
            batch(&[("z", Some("active"))], Compression::None),
        ],
    );
    let stats = log.compact(NOW, NO_TXN, BUFFER).expect("compact");
    // Three batches mapped, one of them (the first) marked and read again.
    assert_eq!(stats.batches_decoded, 3 + 1);
    assert_eq!(stats.batches_copied, 2);
    assert_eq!(stats.records_removed, 1);
    // The unchanged segments were not rewritten at all.
    assert_eq!(stats.segments_rewritten, 1);
}

#[test]
fn appends_during_a_pass_are_kept_and_a_changed_segment_list_discards_the_pass() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    fill(&mut log, (0..4).map(ten_keys).collect());
    // Appends while the pass runs (they roll the active segment) do not stop the swap.
    let cleaned = log
        .clean_plan(NOW, NO_TXN, BUFFER)
        .expect("plan")
        .run()
        .expect("run");
    fill(&mut log, (4..6).map(ten_keys).collect());
    let stats = install(&mut log, cleaned);
    assert!(!stats.discarded);
    assert_eq!(stats.records_removed, 20);
    let latest: Vec<Seen> = read_all(&log).into_iter().filter(|r| r.0 >= 40).collect();
    assert_eq!(latest.len(), 20, "the records appended during the pass");
    assert!(!file_names(dir.path())
        .iter()
        .any(|n| n.ends_with(".cleaned")));

    // A planned segment deleted meanwhile (DeleteRecords here, retention alike): discarded.
    let cleaned = log
        .clean_plan(NOW, NO_TXN, BUFFER)
        .expect("plan")
        .run()
        .expect("run");
    let before = read_all(&log);
    log.delete_records_before(40).expect("delete records");
    let stats = install(&mut log, cleaned);
    assert!(stats.discarded);
    assert_eq!(
        read_all(&log),
        before.into_iter().filter(|r| r.0 >= 40).collect::<Vec<_>>()
    );
    assert!(!file_names(dir.path())
        .iter()
        .any(|n| n.ends_with(".cleaned")));

    // A truncation meanwhile, even one that leaves the planned segments' sizes alone.
    fill(&mut log, vec![ten_keys(6), ten_keys(7)]);
    let cleaned = log
        .clean_plan(NOW, NO_TXN, BUFFER)
        .expect("plan")
        .run()
        .expect("run");
    let end = log.log_end_offset();
    log.truncate_to(end - 5).expect("truncate");
    let stats = install(&mut log, cleaned);
    assert!(stats.discarded);
    assert_eq!(
        log.log_end_offset(),
        end - 10,
        "cut at the start of the last batch"
    );
}

/// The same with a real appender thread: every acknowledged append is read back after the
/// pass, and the partition lock is taken only for short phases.
#[test]
fn an_append_concurrent_with_a_pass_is_not_lost() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().expect("dir");
    let log = Arc::new(Mutex::new(open(dir.path())));
    {
        let mut log = log.lock().expect("lock");
        fill(&mut log, (0..50).map(ten_keys).collect());
    }
    let appender = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            (0..200)
                .map(|i| {
                    let bytes = batch(&[("appended", Some(&i.to_string()))], Compression::None);
                    append(&mut log.lock().expect("lock"), bytes)
                })
                .collect::<Vec<i64>>()
        })
    };
    let mut passes = 0;
    while !appender.is_finished() || passes == 0 {
        let stats = PartitionLog::compact_in_phases(
            |phase| {
                let mut log = log.lock().expect("lock");
                let bound = log.log_end_offset();
                phase(&mut log, bound);
            },
            NOW,
            BUFFER,
        )
        .expect("pass");
        assert!(!stats.discarded, "appends alone never discard a pass");
        passes += 1;
    }
    let offsets = appender.join().expect("appender");
    let mut log = log.lock().expect("lock");
    log.compact(NOW, NO_TXN, BUFFER).expect("last pass");
    let seen = read_all(&log);
    // Only the newest "appended" record may stay once cleaned; every one is there or was
    // superseded by a later one, and the last one is there.
    let last = *offsets.last().expect("appends");
    assert!(seen.iter().any(|r| r.0 == last && r.1 == "appended"));
    for offset in offsets {
        assert!(offset <= last);
    }
    let keys: Vec<&Seen> = seen.iter().filter(|r| r.1.starts_with('k')).collect();
    assert_eq!(
        keys.len(),
        10,
        "one record per key among the closed segments"
    );
}

#[test]
fn a_follower_accepts_a_cleaned_log_and_an_unfinished_cleaned_file_goes_on_open() {
    let leader_dir = tempfile::tempdir().expect("dir");
    let follower_dir = tempfile::tempdir().expect("dir");
    let mut leader = open(leader_dir.path());
    fill(&mut leader, (0..3).map(ten_keys).collect());
    leader.compact(NOW, NO_TXN, BUFFER).expect("compact");
    let mut follower = open(follower_dir.path());
    follower
        .append_replicated(&all_bytes(&leader), NOW)
        .expect("replicated");
    assert_eq!(read_all(&follower), read_all(&leader));
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());

    let before = read_all(&leader);
    drop(leader);
    let stale = leader_dir.path().join("00000000000000000010.log.cleaned");
    std::fs::write(&stale, b"half a segment").expect("write");
    let leader = open(leader_dir.path());
    assert!(!stale.exists());
    assert_eq!(read_all(&leader), before);
}

#[test]
fn markers_go_once_their_transaction_has_nothing_left_and_delete_retention_has_passed() {
    let dir = tempfile::tempdir().expect("dir");
    let mut log = open(dir.path());
    let old = NOW - 10_000;
    let txn = |producer: i64, key: &str, ts: i64| {
        producer_batch_at(producer, true, &[(key, Some("txn"))], Compression::None, ts)
    };
    // One segment: two transactions of producer 5 written long ago, two of producer 7 just
    // now, every key overwritten in the next segment.
    append_together(
        &mut log,
        vec![
            txn(5, "a", old),
            marker_at(5, true, old),
            txn(5, "b", old),
            marker_at(5, false, old),
            txn(7, "c", NOW),
            marker(7, true),
            txn(7, "d", NOW),
            marker(7, true),
        ],
    );
    let keys = [
        ("a", Some("x")),
        ("b", Some("x")),
        ("c", Some("x")),
        ("d", Some("x")),
    ];
    append(&mut log, batch(&keys, Compression::None));
    append(&mut log, batch(&[("z", Some("active"))], Compression::None));
    let markers = |log: &PartitionLog| -> Vec<i64> {
        headers(log)
            .iter()
            .filter(|h| h.is_control())
            .map(|h| h.base_offset)
            .collect()
    };
    // First pass: the first transaction of each producer loses its batch (the second's is the
    // producer's last, kept as an empty header); every marker saw its batch, so all stay.
    let first = log.compact(NOW, NO_TXN, BUFFER).expect("first pass");
    assert_eq!(first.markers_removed, 0);
    assert_eq!(markers(&log), vec![1, 3, 5, 7]);
    // The next pass (more dirty data came): producer 5's first marker has nothing left and is
    // older than delete.retention.ms, and goes; its last marker stays with its empty batch;
    // producer 7's first marker is too recent.
    append(&mut log, batch(&[("z", Some("again"))], Compression::None));
    append(&mut log, batch(&[("y", Some("active"))], Compression::None));
    let second = log.compact(NOW, NO_TXN, BUFFER).expect("second pass");
    assert_eq!(second.markers_removed, 1);
    assert_eq!(markers(&log), vec![3, 5, 7]);
    // Much later, producer 7's first marker goes too; each producer's last stays.
    append(&mut log, batch(&[("y", Some("again"))], Compression::None));
    append(&mut log, batch(&[("x", Some("active"))], Compression::None));
    let later = log
        .compact(NOW + 5_000, NO_TXN, BUFFER)
        .expect("later pass");
    assert_eq!(later.markers_removed, 1);
    assert_eq!(markers(&log), vec![3, 7]);
    assert_eq!(
        read_all(&log)
            .into_iter()
            .filter(|r| r.0 < 12)
            .collect::<Vec<_>>(),
        vec![
            seen(8, "a", Some("x")),
            seen(9, "b", Some("x")),
            seen(10, "c", Some("x")),
            seen(11, "d", Some("x")),
        ]
    );
}
