//! Tail: one Fetch stream per partition from a start position (earliest, latest, an offset, or
//! the first offset at or after a time, via ListOffsets), delivering decoded records in offset
//! order per partition into one bounded mpsc channel. `fetcher` keeps one Fetch in flight per
//! leader broker for all the tail's partitions there; each partition has a decoder task, so
//! the next Fetch is in flight while the previous response is decoded (the next offset comes
//! from the batch headers, without decompressing). With `stop_at_end` each partition stops at
//! the log end offset it had when the tail started (the last stable offset at read_committed).
//!
//! A tail reads at an isolation level ([`Reading`]): at read_committed the fetches ask for it,
//! the start and end offsets are the last stable offsets, and the decoder drops the batches of
//! aborted transactions by the rule in [`super::isolation`]. Control records (transaction
//! markers) are delivered only when asked for, flagged `control`.

mod fetcher;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::{Record, RecordBatchDecoder};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::admin::{self, TopicPartition};
use super::cluster::Cluster;
use super::isolation::{AbortedFilter, AbortedTxn, BatchView, IsolationLevel, Marker};
use crate::error::{Error, Result};

/// Undecoded responses buffered per partition, and decoded chunks in the output channel.
const FETCHES_BUFFERED_MAX: usize = 2;
const CHUNKS_BUFFERED_MAX: usize = 16;
/// Bytes of a v2 batch header up to and including lastOffsetDelta.
const BATCH_HEADER_BYTES: usize = 27;

/// Where a tail starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    Latest,
    Offset(i64),
    /// Milliseconds since the epoch: the first offset whose timestamp is at or after it.
    Timestamp(i64),
}

/// What a tail delivers.
#[derive(Debug)]
pub enum TailEvent {
    /// Records of one partition, in offset order.
    Records {
        partition: i32,
        records: Vec<Record>,
    },
    /// The partition reached the end it had at the start (`stop_at_end` only).
    End { partition: i32 },
    /// The partition's stream failed and stopped.
    Error { partition: i32, error: Error },
}

/// How a tail reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reading {
    pub isolation: IsolationLevel,
    /// Deliver control records (COMMIT and ABORT markers), flagged `control`; readers that
    /// print records leave this off, as Kafka's consumer never returns them.
    pub control_records: bool,
}

/// One partition's share of a Fetch response, on its way to the decoder.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    /// Whole batches only.
    records: Bytes,
    /// The aborted transactions the response lists (read_committed only).
    aborted: Vec<AbortedTxn>,
}

/// A running tail.
pub struct Tail {
    pub events: mpsc::Receiver<TailEvent>,
    /// The partitions being read.
    pub partitions: Vec<i32>,
}

/// Starts fetching `partitions` (all when `None`) of `topic`.
pub async fn start(
    cluster: &Arc<Cluster>,
    topic: &str,
    partitions: Option<Vec<i32>>,
    start_at: StartAt,
    stop_at_end: bool,
    reading: Reading,
) -> Result<Tail> {
    start_each(
        cluster,
        topic,
        (partitions, &BTreeMap::new()),
        start_at,
        stop_at_end,
        reading,
    )
    .await
}

/// As [`start`] for `(partitions, offsets)`, but partitions in `offsets` start at the offset
/// given there (a group's committed offsets), the others at `start_at`.
pub async fn start_each(
    cluster: &Arc<Cluster>,
    topic: &str,
    (partitions, offsets): (Option<Vec<i32>>, &BTreeMap<i32, i64>),
    start_at: StartAt,
    stop_at_end: bool,
    reading: Reading,
) -> Result<Tail> {
    let all = admin::partitions_of(cluster, topic).await?;
    let chosen: Vec<TopicPartition> = match &partitions {
        None => all,
        Some(wanted) => {
            for p in wanted {
                if !all.iter().any(|(_, q)| q == p) {
                    return Err(Error::Invalid(format!(
                        "partition {p} does not exist: topic '{topic}' has {} partitions",
                        all.len()
                    )));
                }
            }
            wanted.iter().map(|p| (topic.to_string(), *p)).collect()
        }
    };
    let isolation = reading.isolation;
    let starts = start_offsets(cluster, &chosen, start_at, isolation).await?;
    let ends = if stop_at_end {
        Some(admin::list_offsets_isolated(cluster, &chosen, admin::LATEST, isolation).await?)
    } else {
        None
    };
    let from = |tp: &TopicPartition| {
        offsets
            .get(&tp.1)
            .or_else(|| starts.get(tp))
            .copied()
            .unwrap_or(0)
    };
    let feeds = chosen.iter().map(|tp| {
        let end = ends.as_ref().and_then(|e| e.get(tp)).map(|o| o.offset);
        (tp.clone(), from(tp), end)
    });
    let events = spawn_all(cluster, feeds, reading, CancellationToken::new());
    Ok(Tail {
        events,
        partitions: chosen.iter().map(|(_, p)| *p).collect(),
    })
}

/// Where each partition starts; `Latest` is the last stable offset at read_committed, as
/// Kafka's consumer resets there.
async fn start_offsets(
    cluster: &Arc<Cluster>,
    partitions: &[TopicPartition],
    start_at: StartAt,
    isolation: IsolationLevel,
) -> Result<std::collections::HashMap<TopicPartition, i64>> {
    if partitions.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let spec = match start_at {
        StartAt::Offset(o) => return Ok(partitions.iter().map(|tp| (tp.clone(), o)).collect()),
        StartAt::Earliest => admin::EARLIEST,
        StartAt::Latest => admin::LATEST,
        StartAt::Timestamp(ms) => ms,
    };
    let found = admin::list_offsets_isolated(cluster, partitions, spec, isolation).await?;
    let mut out = std::collections::HashMap::with_capacity(found.len());
    let mut none_after = Vec::new();
    for (tp, o) in found {
        if o.offset < 0 {
            none_after.push(tp);
        } else {
            let _ = out.insert(tp, o.offset);
        }
    }
    // No record at or after the time: start at the end, as Kafka's consumer does.
    if !none_after.is_empty() {
        let latest = admin::LATEST;
        for (tp, o) in admin::list_offsets_isolated(cluster, &none_after, latest, isolation).await?
        {
            let _ = out.insert(tp, o.offset);
        }
    }
    Ok(out)
}

/// Starts a decoder per partition (`(partition, from, end)`) and the fetcher for them all;
/// a partition already at its end reports so at once.
fn spawn_all(
    cluster: &Arc<Cluster>,
    partitions: impl Iterator<Item = (TopicPartition, i64, Option<i64>)>,
    reading: Reading,
    stop: CancellationToken,
) -> mpsc::Receiver<TailEvent> {
    let (out, events) = mpsc::channel(CHUNKS_BUFFERED_MAX);
    let mut feeds = Vec::new();
    for (tp, from, end) in partitions {
        let partition = tp.1;
        if end.is_some_and(|e| from >= e) {
            let out = out.clone();
            tokio::spawn(async move {
                let _ = out.send(TailEvent::End { partition }).await;
            });
            continue;
        }
        let (raw_tx, raw_rx) = mpsc::channel(FETCHES_BUFFERED_MAX);
        let range = (from, end);
        tokio::spawn(decode_loop(partition, range, reading, raw_rx, out.clone()));
        feeds.push(fetcher::Feed::new(tp, from, end, raw_tx));
    }
    tokio::spawn(fetcher::run(
        cluster.clone(),
        feeds,
        reading.isolation,
        out,
        stop,
    ));
    events
}

/// The leading run of whole batches: a Fetch response may end in a partial batch.
fn complete_batches(records: Bytes) -> Bytes {
    let mut at = 0;
    while records.len() >= at + 12 {
        let len = i32::from_be_bytes([
            records[at + 8],
            records[at + 9],
            records[at + 10],
            records[at + 11],
        ]);
        let Ok(len) = usize::try_from(len) else { break };
        if records.len() < at + 12 + len {
            break;
        }
        at += 12 + len;
    }
    records.slice(..at)
}

/// The last offset in whole batches: base offset plus lastOffsetDelta of the final batch.
fn last_offset(records: &Bytes) -> Option<i64> {
    let mut at = 0;
    let mut last = None;
    while records.len() >= at + BATCH_HEADER_BYTES {
        let base = i64::from_be_bytes(records[at..at + 8].try_into().ok()?);
        let len = usize::try_from(i32::from_be_bytes(
            records[at + 8..at + 12].try_into().ok()?,
        ))
        .ok()?;
        let delta = i32::from_be_bytes(records[at + 23..at + 27].try_into().ok()?);
        last = Some(base + i64::from(delta));
        at += 12 + len;
    }
    last
}

/// Decodes one partition's fetched batches from `next` up to `end` (`range`), dropping what
/// `reading` leaves out, and sends the records on.
async fn decode_loop(
    partition: i32,
    (mut next, end): (i64, Option<i64>),
    reading: Reading,
    mut raw: mpsc::Receiver<Fetched>,
    out: mpsc::Sender<TailEvent>,
) {
    loop {
        let fetched = tokio::select! {
            () = out.closed() => return,
            got = raw.recv() => match got {
                Some(fetched) => fetched,
                None => return,
            },
        };
        let records = match decode(fetched, next, end, reading) {
            Ok((records, after)) => {
                next = next.max(after);
                records
            }
            Err(reason) => {
                let error = Error::Protocol {
                    addr: format!("partition {partition}"),
                    reason,
                };
                let _ = out.send(TailEvent::Error { partition, error }).await;
                return;
            }
        };
        let reached = end.is_some_and(|e| next >= e);
        if !records.is_empty()
            && out
                .send(TailEvent::Records { partition, records })
                .await
                .is_err()
        {
            return;
        }
        if reached {
            let _ = out.send(TailEvent::End { partition }).await;
            return;
        }
    }
}

/// The records of `fetched` from `next` up to `end` that `reading` delivers, and the offset
/// after its last batch (read or dropped), or why a batch could not be decoded.
fn decode(
    fetched: Fetched,
    next: i64,
    end: Option<i64>,
    reading: Reading,
) -> std::result::Result<(Vec<Record>, i64), String> {
    let after = last_offset(&fetched.records).map_or(next, |last| last + 1);
    let mut bytes = fetched.records;
    let mut aborted = (reading.isolation == IsolationLevel::ReadCommitted)
        .then(|| AbortedFilter::new(fetched.aborted));
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes)
            .map_err(|e| format!("undecodable record batch: {e}"))?;
        if let (Some(filter), Some(view)) = (aborted.as_mut(), batch_view(&set.records)) {
            if filter.drops(&view) {
                continue;
            }
        }
        records.extend(set.records.into_iter().filter(|r| {
            (reading.control_records || !r.control)
                && r.offset >= next
                && end.is_none_or(|e| r.offset < e)
        }));
    }
    Ok((records, after))
}

/// What the aborted-transaction filter needs of a decoded batch (every record carries its
/// batch's producer and flags); `None` for a batch left empty by compaction.
fn batch_view(records: &[Record]) -> Option<BatchView> {
    let first = records.first()?;
    let last = records.last()?;
    Some(BatchView {
        producer_id: first.producer_id,
        transactional: first.transactional,
        control: first.control,
        abort_marker: first.control
            && records
                .iter()
                .any(|r| r.key.as_deref().and_then(Marker::of_key) == Some(Marker::Abort)),
        last_offset: last.offset,
    })
}

/// As [`start`] for `partitions` (all when `None`) of `topic`, never stopping at the end,
/// but fetching also ends when `stop` is cancelled, even while no records arrive (the
/// console's tail closes on an idle topic without leaving long polls behind). Partitions in
/// `resume` start at the offset given there (where an earlier tail stopped).
pub async fn start_until(
    cluster: &Arc<Cluster>,
    topic: &str,
    (partitions, resume): (Option<&[i32]>, &BTreeMap<i32, i64>),
    start_at: StartAt,
    reading: Reading,
    stop: CancellationToken,
) -> Result<Tail> {
    let mut chosen = admin::partitions_of(cluster, topic).await?;
    if let Some(wanted) = partitions {
        if let Some(p) = wanted.iter().find(|p| !chosen.iter().any(|(_, q)| q == *p)) {
            return Err(Error::Invalid(format!(
                "partition {p} does not exist: topic '{topic}' has {} partitions",
                chosen.len()
            )));
        }
        chosen.retain(|(_, q)| wanted.contains(q));
    }
    let fresh: Vec<TopicPartition> = chosen
        .iter()
        .filter(|tp| !resume.contains_key(&tp.1))
        .cloned()
        .collect();
    let starts = start_offsets(cluster, &fresh, start_at, reading.isolation).await?;
    let feeds = chosen.iter().map(|tp| {
        let from = resume
            .get(&tp.1)
            .or_else(|| starts.get(tp))
            .copied()
            .unwrap_or(0);
        (tp.clone(), from, None)
    });
    let events = spawn_all(cluster, feeds, reading, stop);
    Ok(Tail {
        events,
        partitions: chosen.iter().map(|(_, p)| *p).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{
        Compression, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    fn batch(base: i64, n: i64) -> Vec<u8> {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: base + i,
                sequence: -1,
                timestamp: 1,
                key: None,
                value: Some(Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options).expect("encode");
        buf.to_vec()
    }

    /// Once a tail on an idle topic is dropped, no Fetch reaches the broker: its fetch loops
    /// end although no record arrives whose delivery would show that the reader is gone. A
    /// proxy in front of the broker counts every request; broker and proxy run on a runtime
    /// of their own, so the client's runtime counts only the client's tasks.
    #[test]
    fn a_dropped_tail_stops_fetching_an_idle_topic() {
        use crate::client::test_proxy::{wait_until, ProxiedBroker, Responses};
        let server = tokio::runtime::Runtime::new().expect("broker runtime");
        let broker = server.block_on(ProxiedBroker::start(Responses::Forward));
        let client = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("client runtime");
        client.block_on(async {
            let config = crate::config::ClientConfig {
                bootstrap: vec![broker.addr()],
                ..crate::config::ClientConfig::default()
            };
            let cluster = Cluster::connect(config).await.expect("connect");
            admin::create_topic(&cluster, "idle", 3, 1, &[])
                .await
                .expect("topic");
            let all: Vec<TopicPartition> = (0..3).map(|p| ("idle".to_string(), p)).collect();
            // Opens the leader's connection (and its tasks) before counting.
            admin::list_offsets(&cluster, &all, admin::LATEST)
                .await
                .expect("offsets");
            let metrics = tokio::runtime::Handle::current().metrics();
            let before = metrics.num_alive_tasks();
            let tail = start(
                &cluster,
                "idle",
                None,
                StartAt::Latest,
                false,
                Reading::default(),
            )
            .await
            .expect("tail");
            let fetching = || format!("{} Fetch requests", broker.seen().fetch_requests());
            wait_until(fetching, || broker.seen().fetch_requests() >= 3).await;

            drop(tail);
            let alive = || {
                format!(
                    "{} tasks, {before} before the tail",
                    metrics.num_alive_tasks()
                )
            };
            wait_until(alive, || metrics.num_alive_tasks() <= before).await;
            // Requests share the connection in order: once this one is answered, the proxy
            // has counted every Fetch the tail wrote before its tasks ended.
            admin::list_offsets(&cluster, &all, admin::LATEST)
                .await
                .expect("offsets");
            let in_flight = || format!("{} Fetch in flight", broker.seen().fetches_in_flight());
            wait_until(in_flight, || broker.seen().fetches_in_flight() == 0).await;
            let fetches = broker.seen().fetch_requests();
            // Proving an absence takes time: three times the longest a Fetch waits at the
            // broker, so a loop still running would have sent another.
            let quiet = std::time::Duration::from_millis(3 * fetcher::FETCH_WAIT_MS_MAX as u64);
            tokio::time::sleep(quiet).await;
            assert_eq!(
                broker.seen().fetch_requests(),
                fetches,
                "Fetch requests after the tail was dropped"
            );
            assert_eq!(broker.seen().refused_requests, Vec::<String>::new());
        });
        drop(client);
        server.block_on(broker.shutdown());
    }

    /// A tail of many partitions on one broker keeps one Fetch in flight there, covering them
    /// all: a Fetch per partition would queue a record behind the other partitions' long
    /// polls on the shared connection. A record on the last partition still arrives.
    #[test]
    fn one_fetch_in_flight_per_broker_covers_every_partition() {
        use crate::client::produce::{ProduceOptions, Producer, ProducerRecord};
        use crate::client::test_proxy::{wait_until, ProxiedBroker, Responses};
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let broker = ProxiedBroker::start(Responses::Forward).await;
            let config = crate::config::ClientConfig {
                bootstrap: vec![broker.addr()],
                ..crate::config::ClientConfig::default()
            };
            let cluster = Cluster::connect(config).await.expect("connect");
            admin::create_topic(&cluster, "six", 6, 1, &[])
                .await
                .expect("topic");
            let reading = Reading::default();
            let mut tail = start(&cluster, "six", None, StartAt::Latest, false, reading)
                .await
                .expect("tail");
            let fetching = || format!("{} Fetch requests", broker.seen().fetch_requests());
            wait_until(fetching, || broker.seen().fetch_requests() >= 3).await;
            for _ in 0..20 {
                assert!(
                    broker.seen().fetches_in_flight() <= 1,
                    "{} Fetch requests in flight to one broker",
                    broker.seen().fetches_in_flight()
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let mut producer = Producer::new(cluster.clone(), "six", ProduceOptions::default())
                .await
                .expect("producer");
            let record = ProducerRecord {
                key: None,
                value: Some(Bytes::from_static(b"last")),
                headers: Vec::new(),
                partition: Some(5),
                timestamp: None,
            };
            producer.send(record).await.expect("send");
            producer.flush().await.expect("flush");
            let got = tokio::time::timeout(std::time::Duration::from_secs(10), tail.events.recv())
                .await
                .expect("the record reaches the tail")
                .expect("event");
            match got {
                TailEvent::Records { partition, records } => {
                    assert_eq!(partition, 5);
                    assert_eq!(records[0].value.as_deref(), Some(&b"last"[..]));
                }
                other => panic!("expected records, got {other:?}"),
            }
            drop(tail);
            broker.shutdown().await;
        });
    }

    #[test]
    fn partial_trailing_batches_are_cut_and_last_offsets_read() {
        let mut data = batch(10, 3);
        let whole = data.len();
        data.extend_from_slice(&batch(13, 2)[..20]);
        let cut = complete_batches(Bytes::from(data));
        assert_eq!(cut.len(), whole);
        assert_eq!(last_offset(&cut), Some(12));
        assert_eq!(last_offset(&Bytes::new()), None);
    }
}
