//! The controller quorum: the metadata log replicated with `openraft` (Kafka's KRaft).
//!
//! - `log_store`: the Raft log and vote in `<log.dir>/__cluster_metadata-0/`.
//! - `state_machine`: committed records replayed into the image; snapshots.
//! - `rpc`, `network`, `server`: the controller listener's framed protocol, its client side
//!   for openraft, and its accept loop.
//! - `observers`: brokers that are not voters, which get the log as learners over
//!   connections they offer the voters.
//! - `membership`: adding and removing voters of a dynamic quorum (KIP-853).
//!
//! A node without `controller.quorum.voters` is a quorum of one and needs no listener.

mod log_store;
mod membership;
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
pub use membership::VoterError;
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

/// How a node joins the quorum.
#[derive(Debug, Clone, Copy)]
pub struct Joining<'a> {
    /// `controller.quorum.voters`: a static quorum; empty for a quorum of one or a dynamic
    /// quorum.
    pub voters: &'a [Voter],
    /// `controller.quorum.bootstrap.servers`: a dynamic quorum's controllers to find it by
    /// (KIP-853); its voters are kept in the log.
    pub bootstrap: &'a [String],
    /// A dynamic quorum's first voters, used when the log is new (`--standalone`,
    /// `--initial-controllers`).
    pub initial: &'a [Voter],
    /// Whether this node may vote (`process.roles` has `controller`).
    pub controller: bool,
}

impl Joining<'_> {
    fn dynamic(&self) -> bool {
        self.voters.is_empty() && !self.bootstrap.is_empty()
    }
}

/// A running member of the quorum: a voter, or an observer (a broker that is not a
/// controller, or a controller not yet added to a dynamic quorum), which replays the log
/// without voting.
pub struct Quorum {
    raft: Raft<TypeConfig>,
    state: Arc<MetadataState>,
    /// The voters `controller.quorum.voters` fixes; empty in a dynamic quorum, whose voters
    /// are the log's membership.
    voters: BTreeMap<NodeId, Node>,
    /// Whether the voters are the log's to change (KIP-853).
    dynamic: bool,
    /// Addresses to reach the quorum by when no leader is known: the voters' or the
    /// bootstrap servers.
    contacts: Vec<String>,
    /// Connections observers offered, on a voter.
    observers: Arc<Observers>,
    /// The controller address a voter last named as the leader's, for a node that does not
    /// know the leader yet.
    hint: std::sync::Mutex<Option<String>>,
    /// Stops an observer's connections to the voters.
    stop: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Quorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quorum")
            .field("voters", &self.voters)
            .field("dynamic", &self.dynamic)
            .field("leader", &self.leader())
            .finish_non_exhaustive()
    }
}

/// The longest a start waits to replay the committed metadata log.
const REPLAY_MAX: Duration = Duration::from_secs(60);

/// Directory of the metadata log, as Kafka names it.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

fn nodes_of(voters: &[Voter]) -> BTreeMap<NodeId, Node> {
    voters
        .iter()
        .map(|v| (v.id as NodeId, BasicNode::new(v.addr())))
        .collect()
}

impl Quorum {
    /// Opens the metadata log under `log_dir` and joins the quorum as `joining` says: a
    /// voter of a static quorum (this node alone when no voters are named), an observer of
    /// one (a node that is only a broker), or a member of a dynamic quorum, which votes once
    /// the log says so. `initial` is the image before the first record (the cluster id).
    pub async fn start(
        log_dir: &Path,
        node_id: i32,
        joining: Joining<'_>,
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
        let dynamic = joining.dynamic();
        let voters: BTreeMap<NodeId, Node> = if dynamic {
            BTreeMap::new()
        } else if joining.voters.is_empty() {
            BTreeMap::from([(node_id as NodeId, BasicNode::new(""))])
        } else {
            nodes_of(joining.voters)
        };
        let contacts: Vec<String> = if dynamic {
            joining.bootstrap.to_vec()
        } else {
            voters
                .values()
                .map(|n| n.addr.clone())
                .filter(|a| !a.is_empty())
                .collect()
        };
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
        // Who starts the log: every voter of a static quorum, with the same members (which
        // openraft allows), or the node formatted with a dynamic quorum's first voters.
        let first_voters = if dynamic {
            nodes_of(joining.initial)
        } else if joining.controller {
            voters.clone()
        } else {
            BTreeMap::new()
        };
        if fresh && !first_voters.is_empty() {
            if let Err(e) = raft.initialize(first_voters).await {
                tracing::debug!(error = %e, "quorum already initialised");
            }
        }
        if dynamic || !joining.controller {
            // Not (yet) a voter: the leader replicates to it as a learner over the
            // connections it offers the voters it knows of.
            for addr in &contacts {
                tokio::spawn(observers::observe(
                    raft.clone(),
                    node_id as NodeId,
                    addr.clone(),
                    cluster_id.clone(),
                    stop.clone(),
                ));
            }
        }
        let quorum = Quorum {
            raft,
            state,
            voters,
            dynamic,
            contacts,
            observers,
            hint: std::sync::Mutex::new(None),
            stop,
        };
        if !fresh && quorum.voter_ids().eq([node_id]) {
            // Alone, there is nobody to wait for: elect at once instead of after a timeout.
            let _ = quorum.raft.trigger().elect().await;
        }
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

    /// Whether the voters are the log's to change (KIP-853), not fixed by the config.
    pub fn is_dynamic(&self) -> bool {
        self.dynamic
    }

    /// The voters' ids: the configured ones, or the log's membership in a dynamic quorum.
    pub fn voter_ids(&self) -> impl Iterator<Item = i32> {
        let ids: Vec<i32> = if self.dynamic {
            self.raft
                .metrics()
                .borrow()
                .membership_config
                .membership()
                .voter_ids()
                .map(|id| id as i32)
                .collect()
        } else {
            self.voters.keys().map(|id| *id as i32).collect()
        };
        ids.into_iter()
    }

    /// Addresses to reach the quorum by when no leader is known.
    pub fn contacts(&self) -> &[String] {
        &self.contacts
    }

    /// Remembers the controller address a voter named as the leader's.
    pub fn set_hint(&self, leader_addr: Option<String>) {
        if let Ok(mut hint) = self.hint.lock() {
            *hint = leader_addr;
        }
    }

    /// The leader's address a voter last named, when this node knows none itself.
    pub fn hint(&self) -> Option<String> {
        self.hint.lock().ok().and_then(|h| h.clone())
    }

    /// Makes broker `id` an observer of the log (an openraft learner) unless it is a voter
    /// or one already. Only the active controller does this, when the broker registers.
    pub async fn add_observer(&self, id: i32) -> Result<(), WriteError> {
        let known = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&(id as NodeId))
            .is_some();
        if known || self.voters.contains_key(&(id as NodeId)) {
            return Ok(());
        }
        let id = id as NodeId;
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

    /// The controller address of a voter (or of a controller a dynamic quorum is adding).
    pub fn voter_addr(&self, id: i32) -> Option<String> {
        if let Some(node) = self.voters.get(&(id as NodeId)) {
            return Some(node.addr.clone()).filter(|a| !a.is_empty());
        }
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&(id as NodeId))
            .map(|n| n.addr.clone())
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
            .voter_ids()
            .map(|id| {
                let id = id as NodeId;
                let leo = if id == me {
                    end
                } else {
                    matched
                        .get(&id)
                        .map_or(-1, |l| l.map_or(0, |l| l.index as i64 + 1))
                };
                (id as i32, leo)
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
