//! Incremental fetch sessions (KIP-227), as Kafka's `FetchManager` keeps them.
//!
//! A client that opens a session (id 0, epoch 0) sends its partitions once; later requests of
//! the session (its id, the next epoch) name only the partitions whose fetch position changed
//! and those to forget, and the answers carry only the partitions with something new: records,
//! an error, or a changed high watermark, last stable offset or log start offset. A follower
//! of thousands of partitions, or a consumer of many, then sends and receives a few bytes per
//! idle fetch instead of every partition every time.
//!
//! Sessions live in a cache of `max.incremental.fetch.session.cache.slots` (Kafka's default
//! 1000). When it is full, the least recently used session idle for longer than
//! [`SESSION_IDLE_EVICTION`] makes room; otherwise the new client gets session id 0 and goes on
//! with full fetches, as Kafka answers. This module decides which partitions a request reads
//! and which of the answers go back; reading them is `fetch.rs`'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;

/// Kafka's `min.incremental.fetch.session.eviction.ms`: a session idle this long may be evicted
/// to make room for a new one.
pub const SESSION_IDLE_EVICTION: Duration = Duration::from_millis(120_000);
/// The epoch that opens a session, and the one that closes it (Kafka's FetchMetadata).
const INITIAL_EPOCH: i32 = 0;
const FINAL_EPOCH: i32 = -1;
/// The session id that means "no session".
const NO_SESSION: i32 = 0;

/// One partition of a fetch: the topic as the request named it, and the fetch parameters.
#[derive(Debug, Clone)]
pub struct Target {
    pub topic: TopicName,
    pub topic_id: Uuid,
    pub partition: FetchPartition,
}

/// What one request reads, and how its answer is shaped.
#[derive(Debug)]
pub enum Plan {
    /// No session: every requested partition is read and answered (session id 0).
    Sessionless(Vec<Target>),
    /// A session's request (new or incremental): its partitions are read; `incremental`
    /// answers only the ones with news.
    Session {
        id: i32,
        incremental: bool,
        targets: Vec<Target>,
    },
    /// The request names a session that is gone or an epoch out of step.
    Refused(ResponseError),
}

impl Plan {
    /// The partitions to read, in order.
    pub fn targets(&self) -> &[Target] {
        match self {
            Plan::Sessionless(t) | Plan::Session { targets: t, .. } => t,
            Plan::Refused(_) => &[],
        }
    }

    /// The session id the answer carries.
    pub fn session_id(&self) -> i32 {
        match self {
            Plan::Session { id, .. } => *id,
            _ => NO_SESSION,
        }
    }
}

/// Fetch sessions, bounded by their slot count.
#[derive(Debug)]
pub struct FetchSessions {
    slots: usize,
    cache: Mutex<HashMap<i32, Session>>,
}

type Key = (TopicName, Uuid, i32);

#[derive(Debug)]
struct Session {
    /// The epoch the next request of the session must carry.
    next_epoch: i32,
    partitions: IndexMap<Key, Cached>,
    last_used: Instant,
}

#[derive(Debug)]
struct Cached {
    target: Target,
    /// What the client was last told, to tell it again only when it changed.
    sent: Option<(i64, i64, i64)>,
}

impl FetchSessions {
    pub fn new(slots: usize) -> Self {
        FetchSessions {
            slots,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Session>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Kafka's `FetchManager.newContext`: which partitions `request` reads and whether it opens,
    /// continues or closes a session. Versions before 7 have no sessions.
    pub fn plan(&self, version: i16, request: &FetchRequest, now: Instant) -> Plan {
        let requested = targets_of(&request.topics);
        let (id, epoch) = (request.session_id, request.session_epoch);
        if version < 7 || (id == NO_SESSION && epoch == FINAL_EPOCH) {
            return Plan::Sessionless(requested);
        }
        let mut cache = self.cache();
        if epoch == FINAL_EPOCH {
            cache.remove(&id);
            return Plan::Sessionless(requested);
        }
        if epoch == INITIAL_EPOCH {
            if id != NO_SESSION {
                cache.remove(&id);
            }
            return match self.open(&mut cache, &requested, now) {
                Some(id) => Plan::Session {
                    id,
                    incremental: false,
                    targets: requested,
                },
                None => Plan::Sessionless(requested),
            };
        }
        let Some(session) = cache.get_mut(&id) else {
            return Plan::Refused(ResponseError::FetchSessionIdNotFound);
        };
        if epoch != session.next_epoch {
            return Plan::Refused(ResponseError::InvalidFetchSessionEpoch);
        }
        session.next_epoch = next_epoch(epoch);
        session.last_used = now;
        for target in requested {
            let key = key_of(&target);
            match session.partitions.get_mut(&key) {
                Some(cached) => cached.target = target,
                None => {
                    session
                        .partitions
                        .insert(key, Cached { target, sent: None });
                }
            }
        }
        for forgotten in &request.forgotten_topics_data {
            for p in &forgotten.partitions {
                let key = (forgotten.topic.clone(), forgotten.topic_id, *p);
                session.partitions.shift_remove(&key);
            }
        }
        let targets = session
            .partitions
            .values()
            .map(|c| c.target.clone())
            .collect();
        Plan::Session {
            id,
            incremental: true,
            targets,
        }
    }

    /// A new session holding `targets`, evicting an idle one if every slot is taken; `None`
    /// when there is no room.
    fn open(
        &self,
        cache: &mut HashMap<i32, Session>,
        targets: &[Target],
        now: Instant,
    ) -> Option<i32> {
        if cache.len() >= self.slots {
            let idle = cache
                .iter()
                .filter(|(_, s)| now.duration_since(s.last_used) >= SESSION_IDLE_EVICTION)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| *id)?;
            cache.remove(&idle);
        }
        let id = loop {
            // Kafka draws session ids at random; positive, never 0, never one in use.
            let candidate = (Uuid::new_v4().as_u128() as i32) & i32::MAX;
            if candidate != NO_SESSION && !cache.contains_key(&candidate) {
                break candidate;
            }
        };
        let partitions = targets
            .iter()
            .map(|t| {
                let cached = Cached {
                    target: t.clone(),
                    sent: None,
                };
                (key_of(t), cached)
            })
            .collect();
        let session = Session {
            next_epoch: 1,
            partitions,
            last_used: now,
        };
        cache.insert(id, session);
        Some(id)
    }

    /// Shapes the answer of a session's request: remembers what each partition's answer told
    /// the client, and for an incremental request leaves out the partitions with nothing new.
    pub fn finish(
        &self,
        plan: &Plan,
        responses: Vec<FetchableTopicResponse>,
    ) -> Vec<FetchableTopicResponse> {
        let Plan::Session {
            id, incremental, ..
        } = plan
        else {
            return responses;
        };
        let mut cache = self.cache();
        let Some(session) = cache.get_mut(id) else {
            return responses;
        };
        responses
            .into_iter()
            .filter_map(|mut topic| {
                topic.partitions.retain(|p| {
                    let key = (topic.topic.clone(), topic.topic_id, p.partition_index);
                    let news = session
                        .partitions
                        .get_mut(&key)
                        .is_none_or(|cached| cached.remember(p));
                    news || !*incremental
                });
                (!topic.partitions.is_empty() || !*incremental).then_some(topic)
            })
            .collect()
    }

    /// Sessions open now.
    pub fn len(&self) -> usize {
        self.cache().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Cached {
    /// Notes what `answer` tells the client; true when it tells something new (records, an
    /// error, or a changed high watermark, last stable or log start offset).
    fn remember(&mut self, answer: &PartitionData) -> bool {
        let now = (
            answer.high_watermark,
            answer.last_stable_offset,
            answer.log_start_offset,
        );
        let has_records = answer.records.as_ref().is_some_and(|r| !r.is_empty());
        let news = has_records || answer.error_code != 0 || self.sent != Some(now);
        self.sent = Some(now);
        news
    }
}

fn targets_of(topics: &[FetchTopic]) -> Vec<Target> {
    topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| Target {
                topic: t.topic.clone(),
                topic_id: t.topic_id,
                partition: p.clone(),
            })
        })
        .collect()
}

fn key_of(t: &Target) -> Key {
    (t.topic.clone(), t.topic_id, t.partition.partition)
}

/// Epochs count up and wrap past `i32::MAX` to 1, never to the initial or final epoch.
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

#[cfg(test)]
#[path = "fetch_session_tests.rs"]
mod tests;
