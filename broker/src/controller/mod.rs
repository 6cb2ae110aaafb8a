//! The active controller: turns requests into metadata records (Kafka's `QuorumController`).
//!
//! Only the Raft leader decides. It takes one request at a time, against an image that is
//! current with everything committed, writes the records the request needs as one batch, and
//! answers with the batch's offset so that the asking broker can wait until it has applied it.
//!
//! - `topics`: create, delete, add partitions, topic configs, producer id blocks.
//! - `brokers`: registration, heartbeats, fencing and controlled shutdown.
//! - `elections`: the partition changes when replicas come and go, AlterPartition and
//!   ElectLeaders.
//! - `reassignments`: moving a partition's replicas (AlterPartitionReassignments).
//! - `acls`: creating and deleting ACLs (CreateAcls, DeleteAcls).
//! - `scram`: SCRAM credentials (AlterUserScramCredentials).

mod acls;
mod brokers;
mod elections;
mod reassignments;
mod scram;
mod topics;
mod voters;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::authorizer::{Acl, AclFilter};
use crate::cluster::records::{EndPoint, MetadataRecord};
use crate::cluster::{ClusterImage, Refusal, TopicInfo, TopicSpec};
use crate::quorum::{Quorum, WriteError};

pub use elections::{PartitionOutcome, PREFERRED, UNCLEAN};

/// Outcomes grouped by topic, topics in name order, each partition made into `T`.
pub fn by_topic<T>(
    outcomes: Vec<PartitionOutcome>,
    mut f: impl FnMut(PartitionOutcome) -> T,
) -> Vec<(String, Vec<T>)> {
    let mut grouped: BTreeMap<String, Vec<T>> = BTreeMap::new();
    for o in outcomes {
        let topic = o.topic.clone();
        grouped.entry(topic).or_default().push(f(o));
    }
    grouped.into_iter().collect()
}
pub use reassignments::Reassignment;
pub use scram::{ScramResult, ScramUpsertion};
pub use topics::{plan_topic, PRODUCER_ID_BLOCK};

/// A request to the active controller, from a broker (its own, or forwarded from a client).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerRequest {
    RegisterBroker {
        broker_id: i32,
        incarnation_id: Uuid,
        /// Every advertised listener, first the one clients are given by default.
        end_points: Vec<EndPoint>,
        rack: Option<String>,
    },
    BrokerHeartbeat {
        broker_id: i32,
        broker_epoch: i64,
        /// The metadata offset the broker has applied.
        metadata_offset: u64,
        want_shut_down: bool,
    },
    CreateTopic {
        spec: TopicSpec,
        validate_only: bool,
    },
    DeleteTopic {
        name: String,
    },
    CreatePartitions {
        name: String,
        count: i32,
        validate_only: bool,
    },
    /// Replaces a topic's config overrides.
    AlterTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Replaces the dynamic configs of a broker (resource type 4; `""` for the cluster-wide
    /// default) or the configs of a group (32).
    AlterResourceConfigs {
        resource_type: i8,
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// A leader's ISR changes (Kafka's AlterPartition), many partitions at once.
    AlterPartition {
        broker_id: i32,
        broker_epoch: i64,
        changes: Vec<IsrChange>,
    },
    AllocateProducerIds {
        broker_id: i32,
    },
    /// ElectLeaders: preferred (0) or unclean (1), for the named partitions or all.
    ElectLeaders {
        election_type: i8,
        partitions: Option<Vec<(String, i32)>>,
    },
    /// AlterPartitionReassignments: target replicas per partition, None to cancel.
    AlterReassignments {
        partitions: Vec<Reassignment>,
    },
    /// AlterUserScramCredentials: credentials to remove (user, mechanism type) and to set.
    AlterScramCredentials {
        deletions: Vec<(String, i8)>,
        upsertions: Vec<ScramUpsertion>,
    },
    /// DescribeQuorum: the metadata log's leader and each voter's progress.
    DescribeQuorum,
    /// AddRaftVoter (KIP-853): controller `id`, at controller listener `addr`, joins a
    /// dynamic quorum once caught up, within `timeout_ms`.
    AddVoter {
        id: i32,
        addr: String,
        timeout_ms: u64,
    },
    /// RemoveRaftVoter (KIP-853).
    RemoveVoter {
        id: i32,
    },
    /// CreateAcls: bindings the broker checked.
    CreateAcls {
        acls: Vec<Acl>,
    },
    /// DeleteAcls: the ACLs matching any of the filters.
    DeleteAcls {
        filters: Vec<AclFilter>,
    },
}

/// One partition's ISR change proposed by its leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IsrChange {
    pub topic: String,
    pub partition: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub new_isr: Vec<i32>,
}

/// What a request produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerResponse {
    Registered {
        broker_epoch: i64,
    },
    Heartbeat {
        fenced: bool,
        should_shut_down: bool,
    },
    Topic(TopicInfo),
    IsrChanges(Vec<PartitionOutcome>),
    Elections(Vec<PartitionOutcome>),
    Configs(BTreeMap<String, String>),
    Quorum(QuorumState),
    /// The voters changed.
    VotersChanged,
    Reassignments(Vec<PartitionOutcome>),
    ProducerIds {
        first: i64,
        count: i64,
    },
    AclsCreated,
    /// The ACLs each filter removed, in filter order.
    AclsDeleted(Vec<Vec<Acl>>),
    /// Each user's outcome of AlterUserScramCredentials.
    ScramResults(Vec<ScramResult>),
}

/// The metadata quorum as the active controller sees it (DescribeQuorum).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuorumState {
    pub leader_id: i32,
    /// The Raft term, which Kafka calls the leader epoch.
    pub leader_epoch: i32,
    /// The last committed (and applied) offset.
    pub high_watermark: i64,
    /// Each voter's id and log end offset (-1 when unknown).
    pub voters: Vec<(i32, i64)>,
    /// Each observer's (a broker that is not a voter), the same way.
    #[serde(default)]
    pub observers: Vec<(i32, i64)>,
    /// The time of this answer, in ms, for the voters' last-caught-up times.
    pub now_ms: i64,
    /// Voters and observers that acknowledged the leader's last round (caught up as of now).
    pub caught_up: Vec<i32>,
}

/// The answer on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerReply {
    /// Done; `offset` is the metadata offset to apply before the change is visible.
    Ok {
        offset: u64,
        response: ControllerResponse,
    },
    Refused {
        code: i16,
        message: String,
    },
    /// Ask the active controller instead.
    NotController {
        leader: Option<i32>,
        /// Its controller listener, for a node that does not know the voters yet.
        #[serde(default)]
        leader_addr: Option<String>,
    },
}

impl ControllerReply {
    fn refused(r: Refusal) -> Self {
        ControllerReply::Refused {
            code: r.error.code(),
            message: r.message,
        }
    }
}

/// Settings the controller decides with.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    pub session_timeout: Duration,
    /// How long a broker whose connection to the controller closed has to come back before
    /// it is fenced, instead of the whole session.
    pub lost_connection_grace: Duration,
    /// How long a new controller waits for a broker's first heartbeat (brokers send one as
    /// soon as they see a new controller) before it counts that broker's connection as
    /// closed.
    pub new_controller_grace: Duration,
    /// `auto.leader.rebalance.enable`, `leader.imbalance.check.interval.seconds` and
    /// `leader.imbalance.per.broker.percentage`.
    pub auto_leader_rebalance: bool,
    pub imbalance_check_interval: Duration,
    pub imbalance_percentage: u32,
    /// `unclean.leader.election.enable` of the broker's own configuration (a topic's or the
    /// cluster's dynamic value wins).
    pub unclean_leader_election: bool,
}

/// A broker's session: its last heartbeat, the connection it came over (0: in-process), and
/// when that connection closed since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    last_heartbeat: Instant,
    connection: u64,
    lost_at: Option<Instant>,
}

impl Session {
    fn new(now: Instant) -> Self {
        Session {
            last_heartbeat: now,
            connection: 0,
            lost_at: None,
        }
    }
}

/// The controller of this node (active while its Raft replica leads).
#[derive(Debug)]
pub struct Controller {
    quorum: Arc<Quorum>,
    settings: ControllerSettings,
    /// One decision at a time, as Kafka's controller event queue runs them.
    decide: tokio::sync::Mutex<()>,
    /// Each broker's session while this node leads.
    sessions: Mutex<HashMap<i32, Session>>,
}

/// A decision: the records to write and the answer to give once they are applied.
struct Decision {
    records: Vec<MetadataRecord>,
    response: ControllerResponse,
}

impl Controller {
    pub fn new(quorum: Arc<Quorum>, settings: ControllerSettings) -> Arc<Self> {
        Arc::new(Controller {
            quorum,
            settings,
            decide: tokio::sync::Mutex::new(()),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// The quorum this controller writes to.
    pub fn quorum(&self) -> &Arc<Quorum> {
        &self.quorum
    }

    /// Answers one request; on a node that is not the active controller, says who is.
    pub async fn handle(&self, request: ControllerRequest) -> ControllerReply {
        if !self.quorum.is_leader() {
            return self.not_controller(self.quorum.leader());
        }
        if let ControllerRequest::DescribeQuorum = request {
            return ControllerReply::Ok {
                offset: 0,
                response: ControllerResponse::Quorum(self.quorum.describe()),
            };
        }
        if let ControllerRequest::AddVoter { .. } | ControllerRequest::RemoveVoter { .. } = request
        {
            return self.change_voters(request).await;
        }
        let _turn = self.decide.lock().await;
        if let Err(e) = self.quorum.catch_up().await {
            return self.write_failed(e);
        }
        // A broker that is not a voter gets the log as an observer from its registration on.
        if let ControllerRequest::RegisterBroker { broker_id, .. } = &request {
            if let Err(e) = self.quorum.add_observer(*broker_id).await {
                return self.write_failed(e);
            }
        }
        let now = Instant::now();
        let decision = self
            .quorum
            .state()
            .read(|image| self.decide(image, &request, now));
        let decision = match decision {
            Ok(d) => d,
            Err(r) => return ControllerReply::refused(r),
        };
        let offset = if decision.records.is_empty() {
            self.quorum.state().applied()
        } else {
            match self.quorum.write(decision.records).await {
                Ok(offset) => offset,
                Err(e) => return self.write_failed(e),
            }
        };
        let response = match decision.response {
            ControllerResponse::Registered { .. } => ControllerResponse::Registered {
                broker_epoch: offset as i64,
            },
            other => other,
        };
        ControllerReply::Ok { offset, response }
    }

    /// Names the leader, with its address, to a node that asked this one.
    fn not_controller(&self, leader: Option<i32>) -> ControllerReply {
        ControllerReply::NotController {
            leader,
            leader_addr: leader.and_then(|l| self.quorum.voter_addr(l)),
        }
    }

    fn write_failed(&self, e: WriteError) -> ControllerReply {
        match e {
            WriteError::NotLeader(leader) => self.not_controller(leader),
            WriteError::Failed(message) => ControllerReply::Refused {
                code: ResponseError::UnknownServerError.code(),
                message,
            },
        }
    }

    /// A config change that allows unclean elections where a partition is offline elects a
    /// live replica there at once, in the same batch, as Kafka's controller does.
    fn with_unclean_elections(&self, image: &ClusterImage, mut decision: Decision) -> Decision {
        let elected = elections::elect_after_config_change(
            image,
            &decision.records,
            self.settings.unclean_leader_election,
        );
        decision.records.extend(elected);
        decision
    }

    fn decide(
        &self,
        image: &ClusterImage,
        request: &ControllerRequest,
        now: Instant,
    ) -> Result<Decision, Refusal> {
        match request {
            ControllerRequest::RegisterBroker {
                broker_id,
                incarnation_id,
                end_points,
                rack,
            } => Ok(self.register(image, *broker_id, *incarnation_id, end_points, rack, now)),
            ControllerRequest::BrokerHeartbeat {
                broker_id,
                broker_epoch,
                metadata_offset,
                want_shut_down,
            } => self.heartbeat(
                image,
                *broker_id,
                *broker_epoch,
                *metadata_offset,
                *want_shut_down,
                now,
            ),
            ControllerRequest::CreateTopic {
                spec,
                validate_only,
            } => topics::create(image, spec, *validate_only),
            ControllerRequest::DeleteTopic { name } => topics::delete(image, name),
            ControllerRequest::CreatePartitions {
                name,
                count,
                validate_only,
            } => topics::add_partitions(image, name, *count, *validate_only),
            ControllerRequest::AlterResourceConfigs {
                resource_type,
                name,
                configs,
            } => topics::alter_resource_configs(image, *resource_type, name, configs)
                .map(|d| self.with_unclean_elections(image, d)),
            ControllerRequest::AlterTopicConfigs { name, configs } => {
                topics::alter_configs(image, name, configs)
                    .map(|d| self.with_unclean_elections(image, d))
            }
            ControllerRequest::AlterPartition {
                broker_id,
                broker_epoch,
                changes,
            } => elections::alter_partitions(image, *broker_id, *broker_epoch, changes),
            ControllerRequest::AllocateProducerIds { .. } => Ok(topics::producer_ids(image)),
            ControllerRequest::ElectLeaders {
                election_type,
                partitions,
            } => Ok(elections::elect(
                image,
                *election_type,
                partitions.as_deref(),
            )),
            ControllerRequest::AlterReassignments { partitions } => {
                Ok(reassignments::alter(image, partitions))
            }
            ControllerRequest::AlterScramCredentials {
                deletions,
                upsertions,
            } => Ok(scram::alter(image, deletions, upsertions)),
            ControllerRequest::DescribeQuorum => Ok(Decision {
                records: Vec::new(),
                response: ControllerResponse::Quorum(self.quorum.describe()),
            }),
            ControllerRequest::CreateAcls { acls } => acls::create(image, acls),
            ControllerRequest::DeleteAcls { filters } => acls::delete(image, filters),
            // Taken before the decision queue (`voters`).
            ControllerRequest::AddVoter { .. } | ControllerRequest::RemoveVoter { .. } => {
                Err(Refusal::new(
                    ResponseError::InvalidRequest,
                    "A voter change is not a metadata decision.",
                ))
            }
        }
    }

    /// Fences brokers whose sessions ended, every `tick`, while this node leads; until
    /// `token` is cancelled.
    pub async fn run_session_timer(self: Arc<Self>, token: CancellationToken) {
        let tick = Duration::from_millis(100);
        let mut led_term = None;
        let mut last_rebalance = Instant::now();
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            let now_leading = self.quorum.is_leader();
            let term = self.quorum.term();
            // Only a new term is a new controller: its sessions start over. (The leader state
            // may blink within one term; the sessions it has stay valid.)
            if now_leading && term != led_term {
                led_term = term;
                // A new controller has heard from no broker but those that reached it since it
                // took over (their sessions are kept). The others heartbeat to it as soon as
                // they see it; one that does not is as gone as one whose connection closed.
                let since = Instant::now();
                let ids: Vec<i32> = self
                    .quorum
                    .state()
                    .read(|i| i.brokers.keys().copied().collect());
                let mut sessions = self.lock_sessions();
                for id in ids {
                    let _ = sessions.entry(id).or_insert_with(|| {
                        let mut session = Session::new(since);
                        session.lost_at = Some(since + self.settings.new_controller_grace);
                        session
                    });
                }
            }
            if now_leading {
                self.fence_expired(Instant::now()).await;
                let due = last_rebalance.elapsed() >= self.settings.imbalance_check_interval;
                if self.settings.auto_leader_rebalance && due {
                    last_rebalance = Instant::now();
                    self.rebalance_leaders().await;
                }
            }
        }
    }

    async fn fence_expired(&self, now: Instant) {
        let _turn = self.decide.lock().await;
        if self.quorum.catch_up().await.is_err() {
            return;
        }
        let records = self
            .quorum
            .state()
            .read(|image| self.expired_sessions(image, now));
        if records.is_empty() {
            return;
        }
        if let Err(e) = self.quorum.write(records).await {
            tracing::warn!(error = %e, "could not fence brokers");
        }
    }

    /// The connection a broker heartbeats over closed: a killed process's connections are
    /// closed by its kernel at once, so the broker is fenced after a short grace (for it to
    /// reconnect) instead of at the end of its session. A silent network still takes the whole
    /// session.
    ///
    /// Only the connection the broker last heartbeated over counts: an older one closing (the
    /// broker reconnected, or forwarded through another node) says nothing about it.
    pub fn connection_closed(&self, broker_id: i32, connection: u64) {
        if let Some(session) = self.lock_sessions().get_mut(&broker_id) {
            if session.connection == connection {
                session.lost_at = Some(Instant::now());
            }
        }
    }

    /// Notes the connection a broker's heartbeat or registration came over.
    pub fn heard_over(&self, broker_id: i32, connection: u64) {
        if let Some(session) = self.lock_sessions().get_mut(&broker_id) {
            session.connection = connection;
        }
    }

    /// One automatic preferred election pass.
    async fn rebalance_leaders(&self) {
        let _turn = self.decide.lock().await;
        if self.quorum.catch_up().await.is_err() {
            return;
        }
        let percentage = self.settings.imbalance_percentage;
        let records = self
            .quorum
            .state()
            .read(|image| elections::rebalance(image, percentage));
        if records.is_empty() {
            return;
        }
        tracing::info!(
            partitions = records.len(),
            "leaders imbalanced; electing preferred replicas"
        );
        if let Err(e) = self.quorum.write(records).await {
            tracing::warn!(error = %e, "preferred election failed");
        }
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}
