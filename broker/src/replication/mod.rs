//! Replication between brokers, Kafka's way (not through Raft): followers fetch from their
//! leaders with the Fetch API, and leaders propose ISR changes to the controller.
//!
//! - `client`: a broker's own connection to another broker.
//! - `fetcher`: one task per leader this broker follows partitions of (Kafka's
//!   ReplicaFetcherThread), appending what the leader has and taking its high watermark.
//! - `isr`: the leader's AlterPartition proposals, from a follower catching up (expand) or
//!   lagging past `replica.lag.time.max.ms` (shrink), sent one at a time.

pub(crate) mod client;
mod fetcher;
mod isr;
mod session;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::Broker;

/// A partition a fetcher replicates: its leader epoch, and when it may be fetched again after
/// an error (ms since the epoch; 0 at once).
#[derive(Debug, Clone, Copy)]
struct Followed {
    leader_epoch: i32,
    retry_at_ms: i64,
}

/// The partitions one fetcher task replicates from one leader.
#[derive(Debug, Default)]
struct FetcherShared {
    partitions: Mutex<BTreeMap<(String, i32), Followed>>,
    changed: Notify,
}

impl FetcherShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, i32), Followed>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An ISR change for the controller.
#[derive(Debug)]
struct Proposal {
    topic: String,
    partition: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    isr: Vec<i32>,
}

/// The tasks that start once the broker runs, on its runtime (the metadata publisher, which
/// starts fetchers, runs on a thread of its own).
#[derive(Debug)]
struct Running {
    broker: Weak<Broker>,
    token: CancellationToken,
    runtime: tokio::runtime::Handle,
}

/// This broker's replication.
#[derive(Debug)]
pub struct ReplicationManager {
    fetchers: Mutex<HashMap<i32, Arc<FetcherShared>>>,
    proposals: mpsc::UnboundedSender<Proposal>,
    pending: Mutex<Option<mpsc::UnboundedReceiver<Proposal>>>,
    running: Mutex<Option<Running>>,
    /// This broker's registration epoch, which AlterPartition names.
    broker_epoch: AtomicI64,
}

impl Default for ReplicationManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicationManager {
    pub fn new() -> Self {
        let (proposals, pending) = mpsc::unbounded_channel();
        ReplicationManager {
            fetchers: Mutex::new(HashMap::new()),
            proposals,
            pending: Mutex::new(Some(pending)),
            running: Mutex::new(None),
            broker_epoch: AtomicI64::new(-1),
        }
    }

    /// Starts the ISR task and a fetcher for every leader followed so far.
    pub fn start(&self, broker: &Arc<Broker>, token: CancellationToken) {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(rx) = pending {
            tokio::spawn(isr::run(Arc::downgrade(broker), rx, token.clone()));
        }
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Running {
            broker: Arc::downgrade(broker),
            token,
            runtime: tokio::runtime::Handle::current(),
        });
        let leaders: Vec<(i32, Arc<FetcherShared>)> = self
            .lock_fetchers()
            .iter()
            .map(|(l, s)| (*l, s.clone()))
            .collect();
        for (leader, shared) in leaders {
            self.spawn_fetcher(leader, shared);
        }
    }

    fn spawn_fetcher(&self, leader: i32, shared: Arc<FetcherShared>) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = running.as_ref() {
            r.runtime.spawn(fetcher::run(
                r.broker.clone(),
                leader,
                shared,
                r.token.clone(),
            ));
        }
    }

    fn lock_fetchers(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Arc<FetcherShared>>> {
        self.fetchers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replicates `topic`-`index` from `leader` at `leader_epoch` (no leader: from nobody).
    pub fn follow(&self, topic: &str, index: i32, leader: i32, leader_epoch: i32) {
        let key = (topic.to_string(), index);
        let mut created = None;
        {
            let mut fetchers = self.lock_fetchers();
            for (l, shared) in fetchers.iter() {
                if *l != leader && shared.lock().remove(&key).is_some() {
                    shared.changed.notify_one();
                }
            }
            if leader < 0 {
                return;
            }
            let shared = fetchers.entry(leader).or_insert_with(|| {
                let s = Arc::new(FetcherShared::default());
                created = Some(s.clone());
                s
            });
            let followed = Followed {
                leader_epoch,
                retry_at_ms: 0,
            };
            let _ = shared.lock().insert(key, followed);
            shared.changed.notify_one();
        }
        if let Some(shared) = created {
            self.spawn_fetcher(leader, shared);
        }
    }

    /// Stops replicating `topic`-`index` (it leads, or is gone).
    pub fn unfollow(&self, topic: &str, index: i32) {
        self.follow(topic, index, -1, -1);
    }

    /// Queues an ISR change for the controller.
    pub fn propose_isr(
        &self,
        topic: &str,
        partition: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<i32>,
    ) {
        let _ = self.proposals.send(Proposal {
            topic: topic.to_string(),
            partition,
            leader_epoch,
            partition_epoch,
            isr,
        });
    }

    /// Records this broker's registration epoch.
    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::Relaxed);
    }

    fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::Relaxed)
    }
}
