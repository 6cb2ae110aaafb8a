//! The log cleaner on a large compacted partition: about 1 GB of records whose keys cycle over
//! 1,000,000 distinct keys, in 64 MiB segments, cleaned by the broker's own cleaner
//! (`PartitionLog::compact_in_phases`, the same three phases the broker runs) while another
//! thread appends to the partition under the same lock.
//!
//! Reports, for a first pass over the whole log and for a second pass after 10% more is
//! appended: the time, the bytes of the closed segments before and after, the records removed
//! and mapped, the throughput (closed-segment bytes per second), the longest locked phase, the
//! appender's worst and 99th-percentile append latency during the pass, and the process's peak
//! RSS over the pass (VmHWM, reset before each pass).
//!
//! `cargo bench -p ktui-broker --bench compaction`. Scale with BENCH_COMPACT_BYTES (default
//! 1 GiB), BENCH_COMPACT_KEYS (1000000), BENCH_COMPACT_VALUE_BYTES (256), and the key map's
//! size with BENCH_COMPACT_DEDUPE_BYTES (Kafka's default, 128 MiB). The log lives in
//! $TMPDIR; the page cache is warm (the log was just written).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, TimestampType};
use ktui_broker::log::encode::one_batch;
use ktui_broker::log::{LogConfig, PartitionLog};

const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const RECORDS_PER_BATCH: usize = 64;
const NOW: i64 = 1_700_000_000_000;
/// The appender's pace during a pass: one single-record batch per interval.
const APPEND_EVERY: Duration = Duration::from_millis(1);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One uncompressed batch of records `first..first + count` with keys `<prefix>-N`, N cycling
/// over `keys`.
fn batch(prefix: &str, first: u64, count: usize, keys: u64, value: &Bytes) -> Vec<u8> {
    let records: Vec<Record> = (0..count as u64)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: NOW + (first + i) as i64,
            key: Some(Bytes::from(format!("{prefix}-{:07}", (first + i) % keys))),
            value: Some(value.clone()),
            headers: IndexMap::new(),
        })
        .collect();
    // One batch: one_batch gives the records sequences that keep kafka-protocol's encoder
    // from splitting them.
    one_batch(records, Compression::None)
        .expect("encode")
        .to_vec()
}

/// Appends about `bytes` bytes from record number `next`; returns the next record number.
fn write(log: &Mutex<PartitionLog>, mut next: u64, bytes: u64, keys: u64, value: &Bytes) -> u64 {
    let mut written = 0u64;
    while written < bytes {
        let mut b = batch("key", next, RECORDS_PER_BATCH, keys, value);
        written += b.len() as u64;
        next += RECORDS_PER_BATCH as u64;
        log.lock()
            .expect("lock")
            .append(&mut b, 0, NOW)
            .expect("append");
    }
    log.lock().expect("lock").flush().expect("flush");
    next
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux 4.0+); false where that is not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Appends one small batch every `APPEND_EVERY` until told to stop; returns each append's
/// latency, lock wait included.
fn appender(log: Arc<Mutex<PartitionLog>>, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let value = Bytes::from(vec![b'a'; 100]);
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut b = batch("live", n, 1, 1_000, &value);
        n += 1;
        let started = Instant::now();
        log.lock()
            .expect("lock")
            .append(&mut b, 0, NOW)
            .expect("append");
        latencies.push(started.elapsed());
        std::thread::sleep(APPEND_EVERY);
    }
    latencies
}

fn pass(name: &str, log: &Arc<Mutex<PartitionLog>>, dedupe: u64) {
    let closed_before = {
        let log = log.lock().expect("lock");
        log.size_bytes()
    };
    let hwm_reset = reset_peak_rss();
    let stop = Arc::new(AtomicBool::new(false));
    let live = {
        let (log, stop) = (Arc::clone(log), Arc::clone(&stop));
        std::thread::spawn(move || appender(log, stop))
    };
    let started = Instant::now();
    let stats = PartitionLog::compact_in_phases(
        |phase| {
            let mut guard = log.lock().expect("lock");
            let bound = guard.log_end_offset();
            phase(&mut guard, bound);
        },
        NOW,
        dedupe,
    )
    .expect("pass");
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = live.join().expect("appender");
    latencies.sort();
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    let max = latencies.last().copied().unwrap_or_default();
    let mb = |b: u64| b as f64 / 1e6;
    println!("{name}:");
    println!(
        "  time {seconds:.2} s, {:.0} MB/s over the {:.0} MB log ({:.0} MB read)",
        mb(closed_before) / seconds,
        mb(closed_before),
        mb(stats.bytes_read)
    );
    println!(
        "  rewritten segments {}: {:.0} MB -> {:.0} MB; records removed {}, mapped {} (first dirty offset {} -> {})",
        stats.segments_rewritten,
        mb(stats.bytes_before),
        mb(stats.bytes_after),
        stats.records_removed,
        stats.records_mapped,
        stats.first_dirty_offset,
        stats.cleaned_below
    );
    println!(
        "  batches decoded {}, copied undecoded {}; key map {:.0} MB; discarded {}",
        stats.batches_decoded,
        stats.batches_copied,
        mb(stats.map_bytes),
        stats.discarded
    );
    println!(
        "  lock held at most {:.2} ms; {} appends during the pass: p99 {:.2} ms, max {:.2} ms",
        stats.lock_held_us_max as f64 / 1e3,
        latencies.len(),
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    let hwm = status_kib("VmHWM:");
    let label = if hwm_reset {
        "during the pass"
    } else {
        "of the process"
    };
    println!("  peak RSS {label} {:.0} MB", hwm as f64 / 1024.0);
}

fn main() {
    let bytes = env("BENCH_COMPACT_BYTES", 1 << 30);
    let keys = env("BENCH_COMPACT_KEYS", 1_000_000);
    let value_bytes = env("BENCH_COMPACT_VALUE_BYTES", 256) as usize;
    let dedupe = env("BENCH_COMPACT_DEDUPE_BYTES", 128 * 1024 * 1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        segment_bytes: SEGMENT_BYTES,
        compact: true,
        retention_ms: -1,
        ..LogConfig::default()
    };
    let log = Arc::new(Mutex::new(
        PartitionLog::open(dir.path(), config).expect("open"),
    ));
    let value = Bytes::from(vec![b'v'; value_bytes]);
    println!(
        "compaction: {:.0} MB, {keys} keys, {value_bytes}-byte values, {RECORDS_PER_BATCH} records a batch, {} MiB segments, key map {} MiB",
        bytes as f64 / 1e6,
        SEGMENT_BYTES >> 20,
        dedupe >> 20
    );
    let started = Instant::now();
    let next = write(&log, 0, bytes, keys, &value);
    let segments = log.lock().expect("lock").segment_count();
    println!(
        "write: {next} records, {segments} segments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    pass("first pass", &log, dedupe);
    write(&log, next, bytes / 10, keys, &value);
    pass("second pass, after 10% more", &log, dedupe);
}
