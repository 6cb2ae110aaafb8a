//! Membership of a consumer group, for a consumer that reads what the group assigns it.
//!
//! [`GroupMember::join`] starts a task that joins the group and stays in it: with the classic
//! protocol ([`classic`]: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, eager rebalancing, the
//! leader assigning with [`assignors`]) or with KIP-848's consumer protocol ([`consumer`]:
//! ConsumerGroupHeartbeat, the coordinator assigning). The consumer watches
//! [`GroupMember::assignment`]; when partitions are taken away (`revoking`) it stops reading
//! them and calls [`GroupMember::release`] with its offsets there, which the member commits
//! before it rebalances further. [`GroupMember::commit`] commits with the member's current
//! generation (or member epoch); [`GroupMember::leave`] leaves the group. Fetching is the
//! consumer's (`client::tail`); settings are in [`config`].

pub mod assignors;
mod classic;
pub mod config;
mod consumer;
mod link;
pub mod subscription;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

pub use config::{GroupProtocol, MemberConfig};

use super::admin::TopicPartition;
use super::cluster::Cluster;
use super::groups::Committed;
use crate::error::{Error, Result};
use link::{Command, Link};

/// Commands queued to the member's task before callers wait.
const COMMANDS_QUEUED_MAX: usize = 16;

/// What the group gave this member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The generation (classic) or member epoch (KIP-848) it belongs to; -1 before the first.
    pub generation: i32,
    /// The partitions, each with the group's committed offset read when it was assigned
    /// (`None`: nothing committed; the consumer starts by its `auto.offset.reset`).
    pub partitions: BTreeMap<TopicPartition, Option<i64>>,
    /// Partitions were just taken away: the consumer must stop reading them and call
    /// [`GroupMember::release`], which the member waits for before it goes on.
    pub revoking: bool,
}

/// A member of a consumer group; dropping it leaves the group in the background.
pub struct GroupMember {
    group: String,
    assignment: watch::Receiver<Assignment>,
    commands: mpsc::Sender<Command>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl GroupMember {
    /// Joins `group` subscribed to `topics`. Returns once the coordinator is found; the
    /// first assignment follows on [`GroupMember::assignment`].
    pub async fn join(
        cluster: &Arc<Cluster>,
        group: &str,
        topics: &[String],
        config: MemberConfig,
    ) -> Result<GroupMember> {
        if group.is_empty() {
            return Err(Error::Invalid(
                "the group id is empty; name a group".to_string(),
            ));
        }
        let _ = cluster.coordinator(group).await?;
        let (published, assignment) = watch::channel(Assignment {
            generation: -1,
            ..Assignment::default()
        });
        let (commands, received) = mpsc::channel(COMMANDS_QUEUED_MAX);
        let stop = CancellationToken::new();
        let protocol = config.protocol;
        let link = Link::new(
            cluster.clone(),
            group.to_string(),
            topics.to_vec(),
            config,
            published,
            received,
            stop.clone(),
        );
        let task = match protocol {
            GroupProtocol::Classic => tokio::spawn(classic::run(link)),
            GroupProtocol::Consumer => tokio::spawn(consumer::run(link)),
        };
        Ok(GroupMember {
            group: group.to_string(),
            assignment,
            commands,
            stop,
            task: Some(task),
        })
    }

    /// The assignment as it changes; closed when the member stops (see [`GroupMember::leave`]
    /// for why).
    pub fn assignment(&self) -> watch::Receiver<Assignment> {
        self.assignment.clone()
    }

    /// Commits `offsets` (the next offset to read, per partition) for the group.
    pub async fn commit(&self, offsets: Committed) -> Result<()> {
        self.ask(|reply| Command::Commit(offsets, reply)).await
    }

    /// Says the consumer has stopped reading the partitions taken away, and commits its
    /// `offsets` in them (unless they were lost to another member).
    pub async fn release(&self, offsets: Committed) -> Result<()> {
        self.ask(|reply| Command::Release(offsets, reply)).await
    }

    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<()>>) -> Command,
    ) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            Error::Invalid(format!(
                "the member of group '{}' has stopped; see the error it stopped with",
                self.group
            ))
        };
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Leaves the group (LeaveGroup, or a KIP-848 heartbeat with epoch -1) and waits for the
    /// task; returns the error that stopped it, if one did before.
    pub async fn leave(mut self) -> Result<()> {
        self.stop.cancel();
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        task.await.map_err(|e| {
            Error::Invalid(format!("the member of group '{}' failed: {e}", self.group))
        })?
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
