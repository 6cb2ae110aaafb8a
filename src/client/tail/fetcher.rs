//! The tail's fetching, as Kafka's consumer does it: at most one Fetch in flight per leader
//! broker, covering every partition of the tail led there whose decoder has room for another
//! response. A record on any partition ends that broker's long poll at once; one Fetch per
//! partition on a shared connection would queue behind the others' long polls (a broker
//! answers a connection's requests in order), which made a live record wait for seconds.
//!
//! Leadership moves and lost brokers are retried with backoff and a metadata refresh until
//! the error has lasted a request timeout; other errors end that partition's stream.
//! Fetches carry the tail's isolation level; at read_committed each partition's aborted
//! transactions travel to its decoder with its batches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::mpsc::{self, error::TrySendError, OwnedPermit};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{complete_batches, last_offset, Fetched, TailEvent};
use crate::client::admin::TopicPartition;
use crate::client::cluster::{Cluster, Metadata};
use crate::client::isolation::{AbortedTxn, IsolationLevel};
use crate::error::{Error, Result};

/// Kafka's `fetch.max.wait.ms` default.
pub(super) const FETCH_WAIT_MS_MAX: i32 = 500;
/// Kafka's `fetch.max.bytes` default.
const FETCH_BYTES_MAX: i32 = 50 * 1024 * 1024;
/// Per partition per Fetch: larger than Kafka's 1 MiB default so one partition streams fast.
const PARTITION_FETCH_BYTES_MAX: i32 = 8 * 1024 * 1024;

/// One partition the fetcher reads, handing whole batches to its decoder.
pub(super) struct Feed {
    tp: TopicPartition,
    offset: i64,
    end: Option<i64>,
    /// The decoder's channel; dropped when the partition is done, which ends the decoder.
    raw: Option<mpsc::Sender<Fetched>>,
    /// Room for one response in the decoder's channel, taken before the partition is fetched.
    room: Option<OwnedPermit<Fetched>>,
    state: State,
    /// Since when the partition's fetches have failed, and the next backoff.
    failing: Option<(Instant, Duration)>,
}

impl Feed {
    /// A partition read from `offset` up to `end` (forever without), into `raw`.
    pub(super) fn new(
        tp: TopicPartition,
        offset: i64,
        end: Option<i64>,
        raw: mpsc::Sender<Fetched>,
    ) -> Self {
        Feed {
            tp,
            offset,
            end,
            raw: Some(raw),
            room: None,
            state: State::Idle,
            failing: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// Waiting for the decoder to take a response.
    Full,
    InFlight,
    Backoff(Instant),
    Done,
}

/// A Fetch's answer: the leader asked, the feeds it covered, the response.
type Answer = (i32, Vec<usize>, Result<FetchResponse>);

/// Fetches `feeds` at `isolation` until each is done, the reader goes away (`out` closes) or
/// `stop` fires.
pub(super) async fn run(
    cluster: Arc<Cluster>,
    mut feeds: Vec<Feed>,
    isolation: IsolationLevel,
    out: mpsc::Sender<TailEvent>,
    stop: CancellationToken,
) {
    let mut fetches: JoinSet<Answer> = JoinSet::new();
    let mut rooms: JoinSet<(usize, Option<OwnedPermit<Fetched>>)> = JoinSet::new();
    let mut busy: HashSet<i32> = HashSet::new();
    let mut refresh = false;
    loop {
        if refresh {
            refresh = false;
            let _ = cluster.refresh_metadata().await;
        }
        let now = Instant::now();
        for (i, feed) in feeds.iter_mut().enumerate() {
            if matches!(feed.state, State::Backoff(until) if until <= now) {
                feed.state = State::Idle;
            }
            if feed.state == State::Done {
                feed.raw = None;
                feed.room = None;
                continue;
            }
            if feed.state == State::Idle && feed.room.is_none() {
                let Some(raw) = feed.raw.clone() else {
                    feed.state = State::Done;
                    continue;
                };
                match raw.try_reserve_owned() {
                    Ok(room) => feed.room = Some(room),
                    Err(TrySendError::Full(raw)) => {
                        feed.state = State::Full;
                        drop(rooms.spawn(async move { (i, raw.reserve_owned().await.ok()) }));
                    }
                    Err(TrySendError::Closed(_)) => feed.state = State::Done,
                }
            }
        }
        if feeds.iter().all(|f| f.state == State::Done) {
            return;
        }
        if let Ok(metadata) = cluster.metadata().await {
            for (leader, chosen) in ready_by_leader(&mut feeds, &metadata, &busy, &mut refresh) {
                let request = request_for(&feeds, &chosen, isolation);
                for &i in &chosen {
                    feeds[i].state = State::InFlight;
                }
                let _ = busy.insert(leader);
                let cluster = cluster.clone();
                drop(fetches.spawn(async move {
                    let response = match cluster.broker(leader).await {
                        Ok(conn) => conn.send(&request).await,
                        Err(e) => Err(e),
                    };
                    (leader, chosen, response)
                }));
            }
        } else {
            refresh = true;
        }
        let next_try = feeds
            .iter()
            .filter_map(|f| match f.state {
                State::Backoff(until) => Some(until),
                _ => None,
            })
            .min();
        tokio::select! {
            () = stop.cancelled() => return,
            () = out.closed() => return,
            Some(done) = fetches.join_next(), if !fetches.is_empty() => {
                let Ok((leader, chosen, response)) = done else { return };
                let _ = busy.remove(&leader);
                for (i, error) in take_response(&mut feeds, &chosen, response) {
                    if let Some(error) = fail(&mut feeds[i], error, &cluster, &mut refresh) {
                        let partition = feeds[i].tp.1;
                        let _ = out.send(TailEvent::Error { partition, error }).await;
                    }
                }
            }
            Some(done) = rooms.join_next(), if !rooms.is_empty() => {
                let Ok((i, room)) = done else { return };
                let feed = &mut feeds[i];
                match room {
                    Some(room) => {
                        feed.room = Some(room);
                        feed.state = State::Idle;
                    }
                    None => feed.state = State::Done,
                }
            }
            () = sleep_until(next_try), if next_try.is_some() => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Partitions ready to fetch (room taken, not in flight), by leader, leaving out leaders
/// with a Fetch in flight. A partition without a known leader backs off and asks for fresh
/// metadata.
fn ready_by_leader(
    feeds: &mut [Feed],
    metadata: &Metadata,
    busy: &HashSet<i32>,
    refresh: &mut bool,
) -> BTreeMap<i32, Vec<usize>> {
    let mut out: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, feed) in feeds.iter_mut().enumerate() {
        if feed.state != State::Idle || feed.room.is_none() {
            continue;
        }
        let leader = metadata
            .topics
            .get(&feed.tp.0)
            .and_then(|t| t.partitions.iter().find(|p| p.id == feed.tp.1))
            .map(|p| p.leader)
            .filter(|l| metadata.brokers.contains_key(l));
        match leader {
            Some(l) if busy.contains(&l) => {}
            Some(l) => out.entry(l).or_default().push(i),
            None => {
                *refresh = true;
                feed.state = State::Backoff(Instant::now() + backoff_of(feed));
            }
        }
    }
    out
}

/// The backoff a failing partition waits next (without advancing it).
fn backoff_of(feed: &Feed) -> Duration {
    feed.failing
        .map_or(Duration::from_millis(100), |(_, next)| next)
}

/// One Fetch at `isolation` for the `chosen` feeds (all led by one broker).
fn request_for(feeds: &[Feed], chosen: &[usize], isolation: IsolationLevel) -> FetchRequest {
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for &i in chosen {
        let feed = &feeds[i];
        topics.entry(feed.tp.0.as_str()).or_default().push(
            FetchPartition::default()
                .with_partition(feed.tp.1)
                .with_current_leader_epoch(-1)
                .with_fetch_offset(feed.offset)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(PARTITION_FETCH_BYTES_MAX),
        );
    }
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(FETCH_WAIT_MS_MAX)
        .with_min_bytes(1)
        .with_max_bytes(FETCH_BYTES_MAX)
        .with_isolation_level(isolation.code())
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
        )
}

/// Hands each chosen partition's records to its decoder; returns the partitions that failed.
fn take_response(
    feeds: &mut [Feed],
    chosen: &[usize],
    response: Result<FetchResponse>,
) -> Vec<(usize, Error)> {
    for &i in chosen {
        feeds[i].state = State::Idle;
    }
    let response = match response.and_then(|r| {
        Error::check(|| "fetch".to_string(), r.error_code, None)?;
        Ok(r)
    }) {
        Ok(r) => r,
        Err(e) => return chosen.iter().map(|&i| (i, e.clone())).collect(),
    };
    let mut data: HashMap<(&str, i32), _> = HashMap::new();
    for topic in &response.responses {
        for p in &topic.partitions {
            let _ = data.insert((topic.topic.0.as_str(), p.partition_index), p);
        }
    }
    let mut failed = Vec::new();
    for &i in chosen {
        let feed = &mut feeds[i];
        let Some(p) = data.get(&(feed.tp.0.as_str(), feed.tp.1)) else {
            // Not answered (the broker's response size limit): fetched again next round.
            continue;
        };
        let context = || {
            format!(
                "fetch {}-{} at offset {}",
                feed.tp.0, feed.tp.1, feed.offset
            )
        };
        if let Err(e) = Error::check(context, p.error_code, None) {
            failed.push((i, e));
            continue;
        }
        feed.failing = None;
        let records = complete_batches(p.records.clone().unwrap_or_default());
        if let Some(last) = last_offset(&records) {
            feed.offset = last + 1;
            let aborted = p
                .aborted_transactions
                .iter()
                .flatten()
                .map(|a| AbortedTxn {
                    producer_id: a.producer_id.0,
                    first_offset: a.first_offset,
                })
                .collect();
            if let Some(room) = feed.room.take() {
                let _ = room.send(Fetched { records, aborted });
            }
        }
        if feed.end.is_some_and(|e| feed.offset >= e) {
            feed.state = State::Done;
        }
    }
    failed
}

/// Backs a failed partition off (retriable errors, until they have lasted a request
/// timeout), or ends it and returns the error to report.
fn fail(feed: &mut Feed, error: Error, cluster: &Cluster, refresh: &mut bool) -> Option<Error> {
    let now = Instant::now();
    let lost = matches!(error, Error::Connect { .. });
    let (since, backoff) = feed
        .failing
        .unwrap_or((now, cluster.config().retry_backoff));
    let retriable = error.is_retriable() || lost;
    if !retriable || now.duration_since(since) > cluster.request_timeout() {
        feed.state = State::Done;
        return Some(error);
    }
    tracing::debug!(
        "tail of {}-{} retrying after: {error}",
        feed.tp.0,
        feed.tp.1
    );
    *refresh |= error.is_stale_metadata() || lost || matches!(error, Error::Timeout { .. });
    feed.state = State::Backoff(now + backoff);
    feed.failing = Some((since, (backoff * 2).min(cluster.config().retry_backoff_max)));
    None
}
