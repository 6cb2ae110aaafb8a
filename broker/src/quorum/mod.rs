//! The controller quorum: the metadata log replicated with `openraft` (Kafka's KRaft).
//!
//! - `log_store`: the Raft log and vote in `<log.dir>/__cluster_metadata-0/`.
//! - `state_machine`: committed records replayed into the image; snapshots.
//! - `rpc`, `network`, `server`: the controller listener's framed protocol, its client side
//!   for openraft, and its accept loop.
//! - `observers`: brokers that are not voters, which get the log as learners over
//!   connections they offer the voters.
//!
//! A node without `controller.quorum.voters` is a quorum of one and needs no listener.

mod log_store;
mod network;
mod observers;
pub mod rpc;
mod server;
pub mod state_machine;

use std::collections::BTreeMap;
use std::io::{self, Cursor};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Raft, ServerState, SnapshotPolicy};
use serde::{Deserialize, Serialize};

use crate::cluster::records::MetadataRecord;
use crate::cluster::ClusterImage;
use crate::config::Voter;
pub use observers::Observers;
pub use server::serve;
pub use state_machine::{Delta, MetadataListener, MetadataState};

/// Raft node ids are Kafka node ids.
pub type NodeId = u64;
pub type Node = BasicNode;
pub type Entry = openraft::Entry<TypeConfig>;

/// One entry of the metadata log: the records of one controller decision, applied together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MetadataBatch {
    pub records: Vec<MetadataRecord>,
}

/// What applying an entry answers: its offset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Applied {
    pub index: u64,
}

openraft::declare_raft_types!(
    /// The metadata quorum's types.
    pub TypeConfig:
        D = MetadataBatch,
        R = Applied,
);

/// Why a write to the metadata log failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("this node is not the active controller")]
    NotLeader(Option<i32>),
    #[error("the metadata quorum failed: {0}")]
    Failed(String),
}

/// A running member of the quorum: a voter, or an observer (a broker that is not a
/// controller), which replays the log without voting.
pub struct Quorum {
    raft: Raft<TypeConfig>,
    state: Arc<MetadataState>,
    voters: BTreeMap<NodeId, Node>,
    /// Connections observers offered, on a voter.
    observers: Arc<Observers>,
    /// Whether this node votes (`process.roles` has `controller`).
    voter: bool,
    /// The leader a voter last named, for an observer that does not know one yet.
    hint: std::sync::Mutex<Option<i32>>,
    /// Stops an observer's connections to the voters.
    stop: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Quorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quorum")
            .field("voters", &self.voters)
            .field("leader", &self.leader())
            .finish_non_exhaustive()
    }
}

/// The longest a start waits to replay the committed metadata log.
const REPLAY_MAX: Duration = Duration::from_secs(60);

/// Directory of the metadata log, as Kafka names it.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

impl Quorum {
    /// Opens the metadata log under `log_dir` and joins the quorum of `voters` (this node
    /// alone when empty): as a voter, or as an observer when `voter` is false (a node that
    /// is only a broker). `initial` is the image before the first record (the cluster id).
    pub async fn start(
        log_dir: &Path,
        node_id: i32,
        voters: &[Voter],
        voter: bool,
        initial: ClusterImage,
        snapshot_every: u64,
    ) -> io::Result<Quorum> {
        let dir = log_dir.join(METADATA_DIR);
        let observers = Arc::new(Observers::default());
        let cluster_id = initial.cluster_id.clone();
        let network = network::Network {
            cluster_id: cluster_id.clone(),
            observers: observers.clone(),
        };
        let log = log_store::LogStore::open(&dir)?;
        let fresh = log.is_empty();
        let committed = log.committed();
        let machine = state_machine::StateMachine::open(&dir, initial)?;
        let state = machine.state();
        let voters: BTreeMap<NodeId, Node> = if voters.is_empty() {
            BTreeMap::from([(node_id as NodeId, BasicNode::new(""))])
        } else {
            voters
                .iter()
                .map(|v| {
                    (
                        v.id as NodeId,
                        BasicNode::new(format!("{}:{}", v.host, v.port)),
                    )
                })
                .collect()
        };
        let single = voters.len() == 1;
        let config = openraft::Config {
            cluster_name: "ktui".into(),
            heartbeat_interval: 100,
            election_timeout_min: 500,
            election_timeout_max: 1000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_every.max(1)),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        };
        let config = Arc::new(config.validate().map_err(io::Error::other)?);
        let raft = Raft::new(node_id as NodeId, config, network, log, machine)
            .await
            .map_err(io::Error::other)?;
        let stop = tokio_util::sync::CancellationToken::new();
        if !voter {
            // An observer waits to be added as a learner; the leader replicates to it over
            // the connections it offers every voter.
            for (id, node) in &voters {
                tokio::spawn(observers::observe(
                    raft.clone(),
                    node_id as NodeId,
                    node.addr.clone(),
                    cluster_id.clone(),
                    stop.clone(),
                ));
                tracing::debug!(voter = id, "observing the quorum");
            }
        } else if fresh {
            // Every voter initialises with the same members, which openraft allows.
            if let Err(e) = raft.initialize(voters.clone()).await {
                tracing::debug!(error = %e, "quorum already initialised");
            }
        } else if single {
            // Alone, there is nobody to wait for: elect at once instead of after a timeout.
            let _ = raft.trigger().elect().await;
        }
        let quorum = Quorum {
            raft,
            state,
            voters,
            observers,
            voter,
            hint: std::sync::Mutex::new(None),
            stop,
        };
        quorum.follow_leader();
        // Replay what was committed before the stop, so the image is whole before the broker
        // opens its partitions.
        if !quorum.wait_applied(committed, REPLAY_MAX).await {
            tracing::warn!(committed, "metadata log not replayed in time; going on");
        }
        Ok(quorum)
    }

    /// Keeps the image's controller id on the current Raft leader.
    fn follow_leader(&self) {
        let mut metrics = self.raft.metrics();
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut shown = None;
            loop {
                let leader = metrics.borrow_and_update().current_leader;
                if leader != shown {
                    shown = leader;
                    state.set_controller(leader.map_or(-1, |l| l as i32));
                    tracing::info!(controller = ?leader, "active controller");
                }
                if metrics.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// The replayed metadata.
    pub fn state(&self) -> &Arc<MetadataState> {
        &self.state
    }

    /// The openraft handle, for the listener and DescribeQuorum.
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The connections observers offered this voter.
    pub fn observers(&self) -> &Observers {
        &self.observers
    }

    /// Whether this node is a voter (a controller).
    pub fn is_voter(&self) -> bool {
        self.voter
    }

    /// The voters' ids.
    pub fn voter_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.voters.keys().map(|id| *id as i32)
    }

    /// Remembers the leader a voter named, for a node that does not know one itself.
    pub fn set_hint(&self, leader: Option<i32>) {
        if let Ok(mut hint) = self.hint.lock() {
            *hint = leader;
        }
    }

    /// The leader a voter last named, when this node knows none itself.
    pub fn hint(&self) -> Option<i32> {
        self.hint.lock().ok().and_then(|h| *h)
    }

    /// Makes broker `id` an observer of the log (an openraft learner) unless it is a voter
    /// or one already. Only the active controller does this, when the broker registers.
    pub async fn add_observer(&self, id: i32) -> Result<(), WriteError> {
        let id = id as NodeId;
        if self.voters.contains_key(&id) {
            return Ok(());
        }
        let known = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .learner_ids()
            .any(|l| l == id);
        if known {
            return Ok(());
        }
        match self.raft.add_learner(id, BasicNode::new(""), false).await {
            Ok(_) => {
                tracing::info!(observer = id, "broker added as an observer of the quorum");
                Ok(())
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(WriteError::NotLeader(f.leader_id.map(|l| l as i32)))
            }
            Err(e) => Err(WriteError::Failed(e.to_string())),
        }
    }

    /// The active controller as this node knows it.
    pub fn leader(&self) -> Option<i32> {
        self.raft
            .metrics()
            .borrow()
            .current_leader
            .map(|l| l as i32)
    }

    /// The Raft term (Kafka's controller epoch), when a leader is known.
    pub fn term(&self) -> Option<u64> {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.current_leader.map(|_| m.current_term)
    }

    /// Whether this node is the active controller.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// The controller address of a voter.
    pub fn voter_addr(&self, id: i32) -> Option<&str> {
        self.voters
            .get(&(id as NodeId))
            .map(|n| n.addr.as_str())
            .filter(|a| !a.is_empty())
    }

    /// Appends a batch of records and waits until it is committed and applied here; returns
    /// its offset. Only the active controller writes.
    pub async fn write(&self, records: Vec<MetadataRecord>) -> Result<u64, WriteError> {
        match self.raft.client_write(MetadataBatch { records }).await {
            Ok(r) => Ok(r.data.index),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(WriteError::NotLeader(f.leader_id.map(|l| l as i32)))
            }
            Err(e) => Err(WriteError::Failed(e.to_string())),
        }
    }

    /// Waits until this node's image is current with the committed log (a new controller's
    /// first step, so that it decides on what was committed before it).
    pub async fn catch_up(&self) -> Result<(), WriteError> {
        self.raft
            .ensure_linearizable()
            .await
            .map(|_| ())
            .map_err(|e| match e {
                RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f)) => {
                    WriteError::NotLeader(f.leader_id.map(|l| l as i32))
                }
                other => WriteError::Failed(other.to_string()),
            })
    }

    /// Waits until this node has applied `offset`, at most `timeout`; false on timeout.
    pub async fn wait_applied(&self, offset: u64, timeout: Duration) -> bool {
        let mut applied = self.state.watch_applied();
        tokio::time::timeout(timeout, applied.wait_for(|a| *a >= offset))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until this broker has taken in the changes up to `offset` (logs opened,
    /// leadership changed), at most `timeout`; false on timeout.
    pub async fn wait_published(&self, offset: u64, timeout: Duration) -> bool {
        let mut published = self.state.watch_published();
        tokio::time::timeout(timeout, published.wait_for(|p| *p >= offset))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The quorum as this node (the leader) sees it: each voter's matched log end.
    pub fn describe(&self) -> crate::controller::QuorumState {
        let m = self.raft.metrics().borrow().clone();
        let end = m.last_log_index.map_or(0, |i| i as i64 + 1);
        let matched = m.replication.clone().unwrap_or_default();
        let me = m.id;
        let voters: Vec<(i32, i64)> = self
            .voters
            .keys()
            .map(|id| {
                let leo = if *id == me {
                    end
                } else {
                    matched
                        .get(id)
                        .map_or(-1, |l| l.map_or(0, |l| l.index as i64 + 1))
                };
                (*id as i32, leo)
            })
            .collect();
        let observers: Vec<(i32, i64)> = m
            .membership_config
            .membership()
            .learner_ids()
            .map(|id| {
                let leo = matched
                    .get(&id)
                    .map_or(-1, |l| l.map_or(0, |l| l.index as i64 + 1));
                (id as i32, leo)
            })
            .collect();
        let caught_up = voters
            .iter()
            .chain(&observers)
            .filter(|(_, leo)| *leo == end)
            .map(|(id, _)| *id)
            .collect();
        crate::controller::QuorumState {
            leader_id: m.current_leader.map_or(-1, |l| l as i32),
            leader_epoch: i32::try_from(m.current_term).unwrap_or(i32::MAX),
            high_watermark: m.last_applied.map_or(0, |l| l.index as i64 + 1),
            voters,
            observers,
            now_ms: crate::now_ms(),
            caught_up,
        }
    }

    /// Stops the Raft node.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "metadata quorum did not stop cleanly");
        }
    }
}
