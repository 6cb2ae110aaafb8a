//! Changing the voters of a dynamic quorum (KIP-853's AddRaftVoter and RemoveRaftVoter). A
//! controller is first made a learner at its controller listener, catches up with the log,
//! then votes; a voter is removed. openraft changes the membership through joint consensus,
//! as entries of the log, so every node learns the voters from the log, as Kafka's
//! VotersRecord tells them. A static quorum (`controller.quorum.voters`) refuses both, as
//! Kafka does at `kraft.version` 0.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use super::{NodeId, Quorum};

/// Why a voter change was refused.
#[derive(Debug, thiserror::Error)]
pub enum VoterError {
    #[error("this node is not the active controller")]
    NotLeader(Option<i32>),
    #[error("node {0} is already a voter")]
    Duplicate(i32),
    #[error("node {0} is not a voter")]
    NotFound(i32),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("node {0} did not catch up with the metadata log in time; it stays an observer")]
    TimedOut(i32),
    #[error("the metadata quorum failed: {0}")]
    Failed(String),
}

type ChangeError = RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>;

fn change_error(e: ChangeError) -> VoterError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            VoterError::NotLeader(f.leader_id.map(|l| l as i32))
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            VoterError::Invalid(e.to_string())
        }
        other => VoterError::Failed(other.to_string()),
    }
}

impl Quorum {
    fn dynamic_only(&self) -> Result<(), VoterError> {
        if self.is_dynamic() {
            Ok(())
        } else {
            Err(VoterError::Unsupported(
                "The voters are fixed by controller.quorum.voters (a static quorum); only a \
                 quorum started with controller.quorum.bootstrap.servers changes them."
                    .into(),
            ))
        }
    }

    /// Adds controller `id`, reached at `addr`, as a voter: a learner there first, then a
    /// voter once it has caught up, within `timeout`. Returns the offset of the change.
    pub async fn add_voter(
        &self,
        id: i32,
        addr: String,
        timeout: Duration,
    ) -> Result<u64, VoterError> {
        self.dynamic_only()?;
        if self.voter_ids().any(|v| v == id) {
            return Err(VoterError::Duplicate(id));
        }
        let node = id as NodeId;
        // Replaces an observer entry (no address) of the same node.
        self.raft
            .change_membership(
                ChangeMembers::SetNodes(BTreeMap::from([(node, BasicNode::new(addr))])),
                true,
            )
            .await
            .map_err(change_error)?;
        let target = self.raft.metrics().borrow().last_log_index;
        let caught_up = tokio::time::timeout(timeout, async {
            let mut metrics = self.raft.metrics();
            loop {
                let matched = metrics
                    .borrow_and_update()
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(&node).cloned().flatten())
                    .map(|l| l.index);
                if matched >= target {
                    return true;
                }
                if metrics.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await;
        if !matches!(caught_up, Ok(true)) {
            return Err(VoterError::TimedOut(id));
        }
        let written = self
            .raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node])), false)
            .await
            .map_err(change_error)?;
        tracing::info!(voter = id, "controller added to the quorum");
        Ok(written.log_id.index)
    }

    /// Removes voter `id`; it stays an observer when `keep_observing` (a node that is also a
    /// broker). Returns the offset of the change.
    pub async fn remove_voter(&self, id: i32, keep_observing: bool) -> Result<u64, VoterError> {
        self.dynamic_only()?;
        let voters: Vec<i32> = self.voter_ids().collect();
        if !voters.contains(&id) {
            return Err(VoterError::NotFound(id));
        }
        if voters.len() == 1 {
            return Err(VoterError::Invalid(
                "The last voter of the quorum cannot be removed.".into(),
            ));
        }
        let written = self
            .raft
            .change_membership(
                ChangeMembers::RemoveVoters(BTreeSet::from([id as NodeId])),
                keep_observing,
            )
            .await
            .map_err(change_error)?;
        tracing::info!(voter = id, "controller removed from the quorum");
        Ok(written.log_id.index)
    }
}
