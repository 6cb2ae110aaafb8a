//! What a member's task shares with the consumer using it, and its own line to the group
//! coordinator. The task publishes assignments on a watch channel; when it takes partitions
//! away it waits until the consumer releases them (and commits what the consumer read of
//! them, unless they were lost with the generation), so no record of a revoked partition is
//! printed after its offset was committed. Commits go through the task too, so they always
//! carry the generation or member epoch the coordinator last gave.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::protocol::Request;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::MemberConfig;
use super::Assignment;
use crate::client::admin::TopicPartition;
use crate::client::cluster::Cluster;
use crate::client::connection::Connection;
use crate::client::groups::{self, Committed, Committer};
use crate::error::{self, Error, Result};

/// What the consumer asks of the member's task.
#[derive(Debug)]
pub(super) enum Command {
    /// Commit these offsets now.
    Commit(Committed, oneshot::Sender<Result<()>>),
    /// The consumer stopped reading the partitions taken away; these are its offsets there.
    Release(Committed, oneshot::Sender<Result<()>>),
}

/// The member task's side.
pub(super) struct Link {
    pub(super) cluster: Arc<Cluster>,
    pub(super) group: String,
    pub(super) topics: Vec<String>,
    pub(super) config: MemberConfig,
    /// Cancelled by `leave()` (or by dropping the member): the task leaves the group and ends.
    pub(super) stop: CancellationToken,
    published: watch::Sender<Assignment>,
    commands: mpsc::Receiver<Command>,
    /// The member's own connection to the coordinator, apart from the cluster's shared ones:
    /// a broker answers a connection's requests in order, so heartbeats must not queue behind
    /// long-polling fetches, nor fetches behind a JoinGroup waiting for a rebalance. Kafka's
    /// clients keep a separate coordinator connection for the same reason.
    coordinator: Option<Arc<Connection>>,
    /// The next wait after a retriable error: `retry.backoff.ms` doubling to its maximum.
    backoff: Duration,
}

impl Link {
    pub(super) fn new(
        cluster: Arc<Cluster>,
        group: String,
        topics: Vec<String>,
        config: MemberConfig,
        published: watch::Sender<Assignment>,
        commands: mpsc::Receiver<Command>,
        stop: CancellationToken,
    ) -> Link {
        let backoff = cluster.config().retry_backoff;
        Link {
            cluster,
            group,
            topics,
            config,
            stop,
            published,
            commands,
            coordinator: None,
            backoff,
        }
    }

    /// The connection to the group's coordinator, found with FindCoordinator when needed.
    pub(super) async fn coordinator(&mut self) -> Result<Arc<Connection>> {
        if let Some(conn) = self.coordinator.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let node = self.cluster.coordinator(&self.group).await?;
        let known = self.cluster.metadata().await?.brokers.get(&node).cloned();
        let broker = match known {
            Some(b) => b,
            None => self
                .cluster
                .refresh_metadata()
                .await?
                .brokers
                .get(&node)
                .cloned()
                .ok_or_else(|| {
                    Error::kafka(
                        format!("coordinator {node} of group '{}'", self.group),
                        error::COORDINATOR_NOT_AVAILABLE,
                        Some("not in metadata"),
                    )
                })?,
        };
        let conn = Connection::open(&broker.addr(), self.cluster.config()).await?;
        self.coordinator = Some(conn.clone());
        Ok(conn)
    }

    /// After NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a failed connection: the next
    /// request finds the coordinator again.
    pub(super) fn forget_coordinator(&mut self) {
        self.coordinator = None;
        self.cluster.forget_coordinator(&self.group);
    }

    /// Sends `request` to the coordinator, waiting up to `timeout` for the answer.
    pub(super) async fn send<R: Request>(
        &mut self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response> {
        let conn = self.coordinator().await?;
        let result = conn.send_within(request, timeout).await;
        if result.as_ref().is_err_and(is_transient) {
            self.forget_coordinator();
        }
        result
    }

    /// The request timeout, for requests the coordinator answers at once.
    pub(super) fn request_timeout(&self) -> Duration {
        self.cluster.request_timeout()
    }

    /// Waits out the backoff, and doubles it up to `retry.backoff.max.ms`.
    pub(super) async fn back_off(&mut self) {
        let wait = self.next_backoff();
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    /// The backoff to wait now; the next one is twice as long, up to the maximum.
    pub(super) fn next_backoff(&mut self) -> Duration {
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(self.cluster.config().retry_backoff_max);
        wait
    }

    /// After a success: the next retriable error waits `retry.backoff.ms` again.
    pub(super) fn reset_backoff(&mut self) {
        self.backoff = self.cluster.config().retry_backoff;
    }

    /// The next command from the consumer; `None` once the member is stopped or dropped.
    pub(super) async fn next_command(&mut self) -> Option<Command> {
        tokio::select! {
            () = self.stop.cancelled() => None,
            command = self.commands.recv() => command,
        }
    }

    /// Answers a command outside a revocation; `committer` is `None` while the member has no
    /// generation to commit with.
    pub(super) async fn answer(&mut self, command: Command, committer: Option<&Committer>) {
        let (offsets, reply) = match command {
            Command::Commit(offsets, reply) | Command::Release(offsets, reply) => (offsets, reply),
        };
        let result = match committer {
            _ if offsets.is_empty() => Ok(()),
            Some(c) => self.commit(c, &offsets).await,
            None => Err(Error::Invalid(format!(
                "cannot commit for group '{}' while rejoining it",
                self.group
            ))),
        };
        let _ = reply.send(result);
    }

    /// Commits `offsets` as `committer`, finding the coordinator again when it moved.
    async fn commit(&mut self, committer: &Committer, offsets: &Committed) -> Result<()> {
        let mut tries = 0;
        loop {
            let conn = self.coordinator().await;
            let result = match conn {
                Ok(conn) => groups::commit_offsets_on(&conn, &self.group, committer, offsets).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if is_transient(&e) && tries < self.cluster.config().retries => {
                    tries += 1;
                    self.forget_coordinator();
                    self.back_off().await;
                }
                other => {
                    self.reset_backoff();
                    return other;
                }
            }
        }
    }

    /// Publishes `partitions` as the assignment of `generation`, with the group's committed
    /// offset of each partition that is new to the consumer.
    pub(super) async fn assign(
        &mut self,
        generation: i32,
        partitions: BTreeSet<TopicPartition>,
    ) -> Result<()> {
        let current = self.published.borrow().partitions.clone();
        let new = partitions.iter().any(|tp| !current.contains_key(tp));
        let committed = if new {
            self.committed().await?
        } else {
            Committed::new()
        };
        let next: BTreeMap<TopicPartition, Option<i64>> = partitions
            .into_iter()
            .map(|tp| {
                let offset = match current.get(&tp) {
                    Some(known) => *known,
                    None => committed.get(&tp).copied(),
                };
                (tp, offset)
            })
            .collect();
        let _ = self.published.send_if_modified(|a| {
            let changed = a.partitions != next;
            a.generation = generation;
            a.partitions = next;
            a.revoking = false;
            changed
        });
        Ok(())
    }

    /// The group's committed offsets, over the member's coordinator connection.
    async fn committed(&mut self) -> Result<Committed> {
        let mut tries = 0;
        loop {
            let result = match self.coordinator().await {
                Ok(conn) => groups::fetch_offsets_on(&conn, &self.group).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if is_transient(&e) && tries < self.cluster.config().retries => {
                    tries += 1;
                    self.forget_coordinator();
                    self.back_off().await;
                }
                other => return other,
            }
        }
    }

    /// Takes away every published partition not in `keep`: publishes the rest, waits until
    /// the consumer releases them (at most half the session timeout), and commits the offsets
    /// it releases as `committer`; `None` when the partitions were lost with the generation,
    /// and belong to another member already.
    pub(super) async fn revoke(
        &mut self,
        keep: &BTreeSet<TopicPartition>,
        committer: Option<&Committer>,
    ) {
        let kept: BTreeMap<TopicPartition, Option<i64>> = {
            let current = self.published.borrow();
            if current.partitions.keys().all(|tp| keep.contains(tp)) {
                return;
            }
            current
                .partitions
                .iter()
                .filter(|(tp, _)| keep.contains(*tp))
                .map(|(tp, o)| (tp.clone(), *o))
                .collect()
        };
        self.published.send_modify(|a| {
            a.partitions = kept;
            a.revoking = true;
        });
        let deadline = Instant::now() + self.config.session_timeout / 2;
        loop {
            let command = tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("group '{}': the consumer did not release its partitions in time", self.group);
                    break;
                }
                command = self.next_command() => command,
            };
            match command {
                None => break,
                Some(Command::Release(offsets, reply)) => {
                    let result = match committer {
                        Some(c) if !offsets.is_empty() => self.commit(c, &offsets).await,
                        _ => Ok(()),
                    };
                    let _ = reply.send(result);
                    break;
                }
                Some(command) => self.answer(command, committer).await,
            }
        }
        let _ = self.published.send_if_modified(|a| {
            a.revoking = false;
            false
        });
    }
}

/// An error after which the same request may succeed once the coordinator is found again.
pub(super) fn is_transient(e: &Error) -> bool {
    matches!(
        e,
        Error::Disconnected { .. } | Error::Timeout { .. } | Error::Connect { .. }
    ) || matches!(
        e.code(),
        Some(
            error::NOT_COORDINATOR
                | error::COORDINATOR_NOT_AVAILABLE
                | error::COORDINATOR_LOAD_IN_PROGRESS
        )
    )
}

/// Whether a response's error code says the coordinator moved or is not ready.
pub(super) fn is_coordinator_error(code: i16) -> bool {
    matches!(
        code,
        error::NOT_COORDINATOR
            | error::COORDINATOR_NOT_AVAILABLE
            | error::COORDINATOR_LOAD_IN_PROGRESS
    )
}

/// Milliseconds as a protocol's i32.
pub(super) fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
