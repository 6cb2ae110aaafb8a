//! Cluster metadata as this broker sees it: the image replayed from the metadata log, and the
//! way to change it, which is to ask the active controller (here or on another node) and wait
//! until the change has been applied here.
//!
//! - `records`: Kafka's metadata record kinds.
//! - `image`: brokers, topics with ids, partitions with replicas, leader, epochs and ISR.
//! - `legacy`: the single JSON file metadata was kept in before the quorum, read once to seed
//!   a new metadata log.

mod image;
pub mod legacy;
pub mod records;

pub use image::{BrokerInfo, ClusterImage, PartitionInfo, TopicInfo, INTERNAL_TOPICS};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};

use crate::controller::{Controller, ControllerReply, ControllerRequest, ControllerResponse};
use crate::limits::TOPIC_NAME_BYTES_MAX;
use crate::quorum::rpc::{Request, Response, RpcClient};
use crate::quorum::Quorum;

/// How long a metadata change may wait for an active controller and for its own application.
const CONTROLLER_WAIT: Duration = Duration::from_secs(15);
/// Pause between attempts while no controller is known.
const CONTROLLER_RETRY: Duration = Duration::from_millis(50);

/// Why a metadata change was refused, with the Kafka error code and a message for the client.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: ResponseError,
    pub message: String,
}

impl Refusal {
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Refusal {
            error,
            message: message.into(),
        }
    }
}

/// Shared handle on the cluster metadata.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    quorum: Arc<Quorum>,
    controller: Arc<Controller>,
    /// The connection to the active controller when it is another node, by address.
    forward: tokio::sync::Mutex<Option<(String, RpcClient)>>,
    /// This broker's block of producer ids: (next, end).
    producer_ids: Mutex<(i64, i64)>,
    /// Which contact a node that knows no leader asks next.
    next_contact: std::sync::atomic::AtomicUsize,
}

impl Cluster {
    pub fn new(quorum: Arc<Quorum>, controller: Arc<Controller>) -> Self {
        Cluster {
            inner: Arc::new(Inner {
                quorum,
                controller,
                forward: tokio::sync::Mutex::new(None),
                producer_ids: Mutex::new((0, 0)),
                next_contact: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// A consistent read of the image.
    pub fn read<T>(&self, f: impl FnOnce(&ClusterImage) -> T) -> T {
        self.inner.quorum.state().read(f)
    }

    /// This node's controller.
    pub fn controller(&self) -> &Arc<Controller> {
        &self.inner.controller
    }

    /// The quorum this node is a member of.
    pub fn quorum(&self) -> &Arc<Quorum> {
        &self.inner.quorum
    }

    /// Sends a request to the active controller and waits until its records are applied
    /// here.
    pub async fn submit(&self, request: ControllerRequest) -> Result<ControllerResponse, Refusal> {
        let deadline = tokio::time::Instant::now() + CONTROLLER_WAIT;
        loop {
            let reply = self.ask(&request).await;
            match reply {
                Some(ControllerReply::Ok { offset, response }) => {
                    let quorum = &self.inner.quorum;
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if !quorum.wait_published(offset, left).await {
                        return Err(Refusal::new(
                            ResponseError::RequestTimedOut,
                            "The metadata change was made but is not applied here yet.",
                        ));
                    }
                    return Ok(response);
                }
                Some(ControllerReply::Refused { code, message }) => {
                    let error = ResponseError::try_from_code(code)
                        .unwrap_or(ResponseError::UnknownServerError);
                    return Err(Refusal::new(error, message));
                }
                Some(ControllerReply::NotController { .. }) | None => {}
            }
            if tokio::time::Instant::now() + CONTROLLER_RETRY > deadline {
                return Err(Refusal::new(
                    ResponseError::NotController,
                    "No active controller answered in time.",
                ));
            }
            tokio::time::sleep(CONTROLLER_RETRY).await;
        }
    }

    /// One attempt: the local controller if it leads, else the leader's controller listener.
    async fn ask(&self, request: &ControllerRequest) -> Option<ControllerReply> {
        let quorum = &self.inner.quorum;
        if quorum.is_leader() {
            return Some(self.inner.controller.handle(request.clone()).await);
        }
        // A node not yet replicated to knows no leader: it asks the one a voter named, or
        // the voters (or bootstrap servers) in turn.
        let addr = quorum
            .leader()
            .and_then(|l| quorum.voter_addr(l))
            .or_else(|| quorum.hint())
            .or_else(|| self.next_contact())?;
        let mut forward = self.inner.forward.lock().await;
        if forward.as_ref().is_none_or(|(a, _)| *a != addr) {
            let cluster_id = self.read(|i| i.cluster_id.clone());
            *forward = Some((addr.clone(), RpcClient::new(addr.clone(), cluster_id)));
        }
        let (_, client) = forward.as_mut()?;
        match client
            .call(&Request::Controller(request.clone()), CONTROLLER_WAIT)
            .await
        {
            Ok(Response::Controller(reply)) => {
                if let ControllerReply::NotController { leader_addr, .. } = &reply {
                    quorum.set_hint(leader_addr.clone().filter(|a| *a != addr));
                }
                Some(reply)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(%addr, error = %e, "controller request failed");
                quorum.set_hint(None);
                None
            }
        }
    }

    /// The next address to try, round the quorum's contacts.
    fn next_contact(&self) -> Option<String> {
        let contacts = self.inner.quorum.contacts();
        let turn = self
            .inner
            .next_contact
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        contacts.get(turn % contacts.len().max(1)).cloned()
    }

    fn topic_reply(reply: Result<ControllerResponse, Refusal>) -> Result<TopicInfo, Refusal> {
        match reply? {
            ControllerResponse::Topic(t) => Ok(t),
            other => Err(unexpected(&other)),
        }
    }

    /// Checks a topic creation without applying it; returns the partitions it would have.
    pub async fn plan_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        let request = ControllerRequest::CreateTopic {
            spec: spec.clone(),
            validate_only: true,
        };
        Self::topic_reply(self.submit(request).await)
    }

    /// Creates a topic.
    pub async fn create_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        let request = ControllerRequest::CreateTopic {
            spec: spec.clone(),
            validate_only: false,
        };
        Self::topic_reply(self.submit(request).await)
    }

    /// Deletes a topic; returns its info as it was.
    pub async fn delete_topic(&self, name: &str) -> Result<TopicInfo, Refusal> {
        let request = ControllerRequest::DeleteTopic {
            name: name.to_string(),
        };
        Self::topic_reply(self.submit(request).await)
    }

    /// Raises a topic's partition count to `count`.
    pub async fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<TopicInfo, Refusal> {
        let request = ControllerRequest::CreatePartitions {
            name: name.to_string(),
            count,
            validate_only,
        };
        Self::topic_reply(self.submit(request).await)
    }

    /// Replaces a topic's config overrides.
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        let request = ControllerRequest::AlterTopicConfigs {
            name: name.to_string(),
            configs,
        };
        Self::topic_reply(self.submit(request).await).map(|_| ())
    }

    /// Replaces the configs of a broker or group resource (`resource_type` 4 or 32; broker
    /// `""` is the cluster default).
    pub async fn set_resource_configs(
        &self,
        resource_type: i8,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        let request = ControllerRequest::AlterResourceConfigs {
            resource_type,
            name: name.to_string(),
            configs,
        };
        self.submit(request).await.map(|_| ())
    }

    /// Hands out the next producer id from this broker's block, asking the controller for a
    /// new block when it runs out (ids are never reused across restarts or brokers).
    pub async fn allocate_producer_id(&self, broker_id: i32) -> Result<i64, Refusal> {
        {
            let mut ids = self.lock_ids();
            if ids.0 < ids.1 {
                ids.0 += 1;
                return Ok(ids.0 - 1);
            }
        }
        let request = ControllerRequest::AllocateProducerIds { broker_id };
        let (first, count) = match self.submit(request).await? {
            ControllerResponse::ProducerIds { first, count } => (first, count),
            other => return Err(unexpected(&other)),
        };
        let mut ids = self.lock_ids();
        *ids = (first + 1, first + count);
        Ok(first)
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, (i64, i64)> {
        self.inner
            .producer_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

fn unexpected(response: &ControllerResponse) -> Refusal {
    Refusal::new(
        ResponseError::UnknownServerError,
        format!("the controller answered {response:?}"),
    )
}

/// What CreateTopics (or auto-creation) asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Manual assignment: replicas per partition, in partition order.
    pub assignments: Vec<Vec<i32>>,
    pub configs: BTreeMap<String, String>,
    pub internal: bool,
}

/// Kafka's topic name rule: 1 to 249 of `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), Refusal> {
    let bad = |why: &str| {
        Err(Refusal::new(
            ResponseError::InvalidTopicException,
            format!("Topic name '{name}' is illegal, {why}"),
        ))
    };
    if name.is_empty() {
        return bad("it can't be empty");
    }
    if name == "." || name == ".." {
        return bad("it can't be '.' or '..'");
    }
    if name.len() > TOPIC_NAME_BYTES_MAX {
        return bad("it can't be longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return bad("it contains a character other than ASCII alphanumerics, '.', '_' and '-'");
    }
    Ok(())
}
