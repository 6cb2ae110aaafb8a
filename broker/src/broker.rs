//! The broker as a whole: configuration, cluster metadata and hosted partitions, plus the
//! start-up and shutdown of the listener and the background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::fetch_session::FetchSessions;
use crate::authorizer::Authorizer;
use crate::cluster::{legacy, Cluster, ClusterImage, Refusal, TopicInfo, TopicSpec};
use crate::config::{BrokerConfig, ConfigError};
use crate::controller::{Controller, ControllerSettings};
use crate::coordinator::transactions::service::{self as txn_service, MarkerQueue};
use crate::coordinator::transactions::{TransactionCoordinator, TxnSettings, TRANSACTION_TOPIC};
use crate::coordinator::{
    self, ConsumerSettings, GroupCoordinator, GroupSettings, OffsetSettings, OFFSETS_TOPIC,
};
use crate::publisher::Publisher;
use crate::quorum::{Joining, Quorum};
use crate::replica::ReplicaManager;
use crate::replication::client::BrokerPool;
use crate::replication::ReplicationManager;
use crate::security::inter_broker::InterBrokerSecurity;
use crate::security::ListenerSecurity;
use crate::server::BoundListener;
use crate::storage;

/// An internal topic the broker creates on first use.
struct InternalTopic<'a> {
    name: &'a str,
    partitions: i32,
    replication_factor: i16,
    /// The config key of the replication factor, for the refusal.
    replication_key: &'a str,
    segment_bytes: String,
    min_isr: Option<String>,
}

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("opening metadata in '{dir}': {source}")]
    Metadata { dir: String, source: std::io::Error },
    #[error("the broker was not let in by the controller within {0:?}")]
    NotReady(Duration),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Shared state every request handler sees.
#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    /// Cancelled when the broker stops: waiting requests (long-poll fetches) answer at once.
    pub shutdown: CancellationToken,
    pub cluster: Cluster,
    pub replicas: ReplicaManager,
    pub groups: GroupCoordinator,
    /// The transaction coordinator, and the decided transactions waiting for markers.
    pub txns: TransactionCoordinator,
    pub txn_markers: MarkerQueue,
    /// Connections to the other brokers' transaction coordinators (KIP-890 verification).
    pub(crate) txn_brokers: BrokerPool,
    /// Incremental fetch sessions (KIP-227).
    pub fetch_sessions: FetchSessions,
    /// Follower fetchers and ISR proposals.
    pub replication: ReplicationManager,
    /// How this broker connects to the others' inter-broker listener (TLS, SASL).
    pub inter_broker: Arc<InterBrokerSecurity>,
    /// ACL checks (`authorizer.class.name`), against the ACLs of the metadata image.
    pub authorizer: Authorizer,
}

/// How long a broker whose controller connection closed has to reconnect before it is fenced.
const LOST_CONNECTION_GRACE: Duration = Duration::from_secs(1);

/// How long a new controller waits for a broker's first heartbeat before counting its
/// connection as closed (then the lost-connection grace runs): brokers heartbeat to a new
/// controller as soon as they see it.
const NEW_CONTROLLER_GRACE: Duration = Duration::from_millis(500);

/// How long a single node waits to be unfenced by its own controller at start.
const SINGLE_NODE_READY_MAX: Duration = Duration::from_secs(30);

impl Broker {
    /// Joins the metadata quorum, replays the metadata, and opens every partition placed here
    /// (recovering their logs).
    pub async fn open(config: BrokerConfig) -> Result<Arc<Broker>, StartError> {
        let dir = config.log_dir.clone();
        let metadata_error = |source| StartError::Metadata {
            dir: dir.display().to_string(),
            source,
        };
        let legacy = if config.is_single_node() {
            legacy::load(&dir).map_err(metadata_error)?
        } else {
            None
        };
        let formatting = !storage::is_formatted(&dir);
        bootstrap_scram(&config, &dir, formatting)?;
        let cluster_id = storage::ensure_formatted(
            &dir,
            config.node_id,
            config.cluster_id.as_deref(),
            legacy.as_ref().map(|l| l.cluster_id.as_str()),
        )?;
        let quorum = Quorum::start(
            &dir,
            config.node_id,
            Joining {
                voters: &config.voters,
                bootstrap: &config.bootstrap_servers,
                initial: &config.initial_voters,
                controller: config.roles.controller,
            },
            ClusterImage::new(cluster_id, -1),
            config.metadata_snapshot_interval_records,
        )
        .await
        .map_err(metadata_error)?;
        let quorum = Arc::new(quorum);
        let controller = Controller::new(
            quorum.clone(),
            ControllerSettings {
                session_timeout: Duration::from_millis(config.broker_session_timeout_ms),
                lost_connection_grace: LOST_CONNECTION_GRACE
                    .min(Duration::from_millis(config.broker_session_timeout_ms)),
                new_controller_grace: NEW_CONTROLLER_GRACE,
                auto_leader_rebalance: config.auto_leader_rebalance_enable,
                imbalance_check_interval: Duration::from_secs(
                    config.leader_imbalance_check_interval_seconds,
                ),
                imbalance_percentage: config.leader_imbalance_per_broker_percentage,
                unclean_leader_election: config
                    .str_value("unclean.leader.election.enable")
                    .eq_ignore_ascii_case("true"),
            },
        );
        let cluster = Cluster::new(quorum.clone(), controller);
        if let Some(old) = legacy {
            seed_from_legacy(&quorum, &dir, &old).await?;
        }
        let replicas = ReplicaManager::new(&dir, config.node_id);
        let groups = GroupCoordinator::new(
            group_settings(&config),
            offset_settings(&config),
            consumer_settings(&config),
        );
        let txns = TransactionCoordinator::new(txn_settings(&config));
        let fetch_sessions = FetchSessions::new(config.fetch_session_cache_slots);
        let inter_broker = Arc::new(InterBrokerSecurity::from_config(&config)?);
        let authorizer = Authorizer::new(config.authorizer.clone(), cluster.clone());
        let txn_brokers = BrokerPool::new(
            format!("broker-{}-txn-verify", config.node_id),
            inter_broker.clone(),
        );
        let broker = Arc::new(Broker {
            authorizer,
            config,
            shutdown: CancellationToken::new(),
            cluster,
            replicas,
            groups,
            txns,
            txn_markers: MarkerQueue::default(),
            txn_brokers,
            fetch_sessions,
            replication: ReplicationManager::new(),
            inter_broker,
        });
        quorum
            .state()
            .set_listener(Arc::new(Publisher::new(Arc::downgrade(&broker))));
        let topics = broker.cluster.read(|i| i.topics.len());
        tracing::info!(topics, dir = %dir.display(), "broker state loaded");
        Ok(broker)
    }

    /// The inter-broker listener address of live broker `id`.
    pub fn broker_addr(&self, id: i32) -> Option<String> {
        let listener = &self.config.inter_broker_listener;
        self.cluster.read(|i| {
            i.brokers
                .get(&id)
                .filter(|b| !b.fenced)
                .and_then(|b| b.end_point(listener))
                .map(|(host, port)| format!("{host}:{port}"))
        })
    }

    /// The controller of this node.
    pub fn controller(&self) -> &Arc<Controller> {
        self.cluster.controller()
    }

    /// Creates `__consumer_offsets` on first use, as Kafka does on the first FindCoordinator:
    /// compacted, `offsets.topic.num.partitions` partitions, and a replication factor of
    /// `offsets.topic.replication.factor` (a single node takes no more than itself).
    pub async fn ensure_offsets_topic(&self) -> Result<(), Refusal> {
        if self.groups.partitions() > 0 {
            return Ok(());
        }
        let topic = InternalTopic {
            name: OFFSETS_TOPIC,
            partitions: self.config.offsets_topic_num_partitions,
            replication_factor: self.config.offsets_topic_replication_factor,
            replication_key: "offsets.topic.replication.factor",
            segment_bytes: self.config.offsets_topic_segment_bytes.to_string(),
            min_isr: None,
        };
        let partitions = self.ensure_internal_topic(topic).await?;
        self.groups.set_partitions(partitions);
        Ok(())
    }

    /// Creates `__transaction_state` on the first FindCoordinator for a transactional id, as
    /// Kafka does: compacted, `transaction.state.log.num.partitions` partitions,
    /// `transaction.state.log.replication.factor` replicas and `.min.isr`.
    pub async fn ensure_transaction_topic(&self) -> Result<(), Refusal> {
        if self.txns.partitions() > 0 {
            return Ok(());
        }
        let value = |key: &str| self.config.str_value(key);
        let topic = InternalTopic {
            name: TRANSACTION_TOPIC,
            partitions: value("transaction.state.log.num.partitions")
                .parse()
                .unwrap_or(50),
            replication_factor: value("transaction.state.log.replication.factor")
                .parse()
                .unwrap_or(3),
            replication_key: "transaction.state.log.replication.factor",
            segment_bytes: value("transaction.state.log.segment.bytes"),
            min_isr: Some(value("transaction.state.log.min.isr")),
        };
        let partitions = self.ensure_internal_topic(topic).await?;
        self.txns.set_partitions(partitions);
        Ok(())
    }

    /// Creates an internal topic unless it exists; returns its partition count. A cluster
    /// refuses, as Kafka does, until enough brokers are up for its replication factor; a
    /// quorum of one is a development broker and takes what it has.
    async fn ensure_internal_topic(&self, topic: InternalTopic<'_>) -> Result<i32, Refusal> {
        let existing = self.cluster.read(|i| {
            i.topics
                .get(topic.name)
                .map(|t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX))
        });
        if let Some(n) = existing {
            return Ok(n);
        }
        let brokers = self.cluster.read(|i| i.live_brokers().len()).max(1);
        let brokers = i16::try_from(brokers).unwrap_or(i16::MAX);
        let wanted = topic.replication_factor;
        if !self.config.is_single_node() && brokers < wanted {
            return Err(Refusal::new(
                kafka_protocol::ResponseError::CoordinatorNotAvailable,
                format!(
                    "{} is {wanted} but only {brokers} brokers are up.",
                    topic.replication_key
                ),
            ));
        }
        let rf = wanted.min(brokers);
        let mut configs: std::collections::BTreeMap<String, String> = [
            ("cleanup.policy", "compact".to_string()),
            ("compression.type", "producer".to_string()),
            ("segment.bytes", topic.segment_bytes),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(min_isr) = topic.min_isr {
            // A single node's topic cannot need more in-sync replicas than it has.
            let min_isr = min_isr.parse::<i16>().unwrap_or(1).min(rf).max(1);
            configs.insert("min.insync.replicas".to_string(), min_isr.to_string());
        }
        let spec = TopicSpec {
            name: topic.name.to_string(),
            partitions: topic.partitions,
            replication_factor: rf,
            assignments: Vec::new(),
            configs,
            internal: true,
        };
        match self.create_topic(&spec).await {
            Ok(info) => Ok(i32::try_from(info.partitions.len()).unwrap_or(i32::MAX)),
            Err(r) if r.error == kafka_protocol::ResponseError::TopicAlreadyExists => {
                Ok(topic.partitions)
            }
            Err(r) => Err(r),
        }
    }

    /// Creates a topic; its logs are open here once this returns.
    pub async fn create_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        let topic = self.cluster.create_topic(spec).await?;
        tracing::info!(topic = %spec.name, partitions = topic.partitions.len(), "topic created");
        Ok(topic)
    }

    /// A spec with the broker's defaults for `name`, as auto-creation uses.
    pub fn default_topic_spec(&self, name: &str) -> TopicSpec {
        TopicSpec {
            name: name.to_string(),
            partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor,
            assignments: Vec::new(),
            configs: Default::default(),
            internal: false,
        }
    }
}

/// Checks the `--add-scram` arguments and, for a directory being formatted, keeps the
/// credentials they give until a controller writes them (`security::bootstrap`).
fn bootstrap_scram(
    config: &BrokerConfig,
    dir: &std::path::Path,
    formatting: bool,
) -> Result<(), StartError> {
    let users = config
        .add_scram
        .iter()
        .map(crate::security::bootstrap::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            StartError::Config(ConfigError::Invalid {
                key: "--add-scram".into(),
                message: e.to_string(),
            })
        })?;
    if users.is_empty() {
        return Ok(());
    }
    if !formatting {
        tracing::warn!("--add-scram applies when the data directory is formatted; it already is, so the credentials are ignored");
        return Ok(());
    }
    crate::security::bootstrap::save(dir, &users).map_err(|source| StartError::Metadata {
        dir: dir.display().to_string(),
        source,
    })
}

/// Writes the records of a pre-quorum metadata file into a new metadata log, once.
async fn seed_from_legacy(
    quorum: &Quorum,
    dir: &std::path::Path,
    old: &ClusterImage,
) -> Result<(), StartError> {
    let failed = |message: String| StartError::Metadata {
        dir: dir.display().to_string(),
        source: std::io::Error::other(message),
    };
    let started = tokio::time::Instant::now();
    while !quorum.is_leader() {
        if started.elapsed() > SINGLE_NODE_READY_MAX {
            return Err(failed("the metadata quorum elected no leader".into()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if quorum.state().read(|i| i.topics.is_empty()) {
        quorum
            .write(legacy::records(old))
            .await
            .map_err(|e| failed(e.to_string()))?;
    }
    let to = legacy::retire(dir).map_err(|e| failed(e.to_string()))?;
    tracing::info!(topics = old.topics.len(), kept = %to.display(), "metadata carried over into the metadata log");
    Ok(())
}

/// A broker serving on its listener, until `shutdown`.
#[derive(Debug)]
pub struct RunningBroker {
    addr: SocketAddr,
    /// Every client listener's name and bound address, in `listeners` order.
    listener_addrs: Vec<(String, SocketAddr)>,
    controller_addr: Option<SocketAddr>,
    broker: Arc<Broker>,
    /// Cancelled to ask for a stop; the broker then shuts down in order.
    requested: CancellationToken,
    unfenced: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl RunningBroker {
    /// Binds the listeners, joins the quorum, opens the state and starts serving. A node that
    /// is a quorum of one also waits until its controller has let its broker in; a member of a
    /// larger quorum returns at once ([`Self::wait_ready`] waits for that).
    pub async fn start(mut config: BrokerConfig) -> Result<RunningBroker, StartError> {
        let mut sockets = Vec::with_capacity(config.listeners.len());
        let mut addrs = Vec::with_capacity(config.listeners.len());
        for listener in config.listeners.clone() {
            let socket = bind(&listener).await?;
            let local = socket.local_addr().map_err(|source| StartError::Bind {
                addr: listener.host.clone(),
                source,
            })?;
            config.set_bound_port(&listener.name, local.port());
            addrs.push((listener.name.clone(), local));
            sockets.push((listener.name, socket));
        }
        let mut listeners = Vec::with_capacity(sockets.len());
        for (name, socket) in sockets {
            let Some(listener) = config.listeners.iter().find(|l| l.name == name) else {
                continue;
            };
            let security = ListenerSecurity::from_config(&config, listener)?;
            listeners.push(BoundListener {
                socket,
                security: Arc::new(security),
            });
        }
        let controller_socket = match &config.controller_listener {
            Some(l) => Some(bind(l).await?),
            None => None,
        };
        let controller_addr = controller_socket.as_ref().and_then(|s| s.local_addr().ok());
        // A standalone controller formatted on port 0 is the first voter at its bound port.
        if let Some(bound) = controller_addr {
            let me = config.node_id;
            for v in config.initial_voters.iter_mut() {
                if v.id == me && v.port == 0 {
                    v.port = bound.port();
                }
            }
        }
        // A node that is only a controller serves no clients: its address is the controller's.
        let serves_clients = config.roles.broker;
        let Some(local) = addrs
            .first()
            .map(|(_, a)| *a)
            .or(controller_addr.filter(|_| !serves_clients))
        else {
            return Err(StartError::Config(ConfigError::Invalid {
                key: "listeners".into(),
                message: "a broker needs at least one client listener".into(),
            }));
        };
        let single = config.is_single_node() && serves_clients;
        let broker = Broker::open(config).await?;
        let requested = CancellationToken::new();
        let (unfenced_tx, unfenced) = watch::channel(false);
        broker.replication.start(&broker, broker.shutdown.clone());
        if let Some(socket) = controller_socket {
            let controller = broker.controller().clone();
            tokio::spawn(crate::quorum::serve(
                socket,
                controller,
                broker.shutdown.clone(),
            ));
        }
        tokio::spawn(
            broker
                .controller()
                .clone()
                .run_session_timer(broker.shutdown.clone()),
        );
        // A controller is not a broker: it never registers, so nothing unfences it.
        let lifecycle = serves_clients.then(|| {
            tokio::spawn(crate::lifecycle::run(
                broker.clone(),
                unfenced_tx,
                requested.clone(),
            ))
        });
        let task = tokio::spawn(run(
            serves_clients.then_some(listeners),
            broker.clone(),
            requested.clone(),
            lifecycle,
            unfenced.clone(),
        ));
        for (name, addr) in &addrs {
            tracing::info!(listener = %name, %addr, "broker listening");
        }
        let running = RunningBroker {
            addr: local,
            listener_addrs: addrs,
            controller_addr,
            broker,
            requested,
            unfenced,
            task,
        };
        if single {
            running.wait_ready(SINGLE_NODE_READY_MAX).await?;
        }
        Ok(running)
    }

    /// Waits until the controller has unfenced this broker (it serves as a cluster member).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), StartError> {
        let mut unfenced = self.unfenced.clone();
        let ready = tokio::time::timeout(timeout, unfenced.wait_for(|u| *u))
            .await
            .is_ok_and(|r| r.is_ok());
        if ready {
            Ok(())
        } else {
            Err(StartError::NotReady(timeout))
        }
    }

    /// The address the first client listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the client listener named `name` is bound to.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listener_addrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, a)| *a)
    }

    /// The address of the controller listener, if this node has one.
    pub fn controller_addr(&self) -> Option<SocketAddr> {
        self.controller_addr
    }

    /// The shared broker state.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// A token whose cancellation stops the broker (controlled shutdown first).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.requested.clone()
    }

    /// Moves leaderships away, stops accepting, drains connections, flushes and fsyncs every
    /// log.
    pub async fn shutdown(self) {
        self.requested.cancel();
        self.wait().await;
    }

    /// Waits until the broker has stopped (after its token was cancelled).
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "broker task failed");
        }
    }
}

async fn bind(listener: &crate::config::Listener) -> Result<TcpListener, StartError> {
    let addr = format!("{}:{}", listener.host, listener.port);
    TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Serves until a stop is requested, then stops in order. `listeners` is None on a node
/// that is only a controller.
async fn run(
    listeners: Option<Vec<BoundListener>>,
    broker: Arc<Broker>,
    requested: CancellationToken,
    lifecycle: Option<JoinHandle<()>>,
    mut unfenced: watch::Receiver<bool>,
) {
    let token = broker.shutdown.clone();
    let background = tokio::spawn(background(broker.clone(), token.clone()));
    let timers = tokio::spawn(group_timers(broker.clone(), token.clone()));
    let markers = tokio::spawn(txn_service::run_markers(broker.clone(), token.clone()));
    let txn_timers = tokio::spawn(txn_service::run_timers(broker.clone(), token.clone()));
    let server = match listeners {
        Some(listeners) => {
            // Clients are served once the controller has let this broker in: before that its
            // metadata may be the stale image it replayed at start (Kafka opens its listeners
            // then).
            tokio::select! {
                _ = unfenced.wait_for(|u| *u) => {}
                _ = requested.cancelled() => {}
            }
            // First SCRAM users are in the metadata before the first client can try them.
            crate::security::bootstrap::apply(&broker).await;
            Some(tokio::spawn(crate::server::run(
                listeners,
                broker.clone(),
                token.clone(),
            )))
        }
        None => {
            // A controller formatted with first SCRAM users writes them once a leader is up.
            tokio::select! {
                _ = crate::security::bootstrap::apply(&broker) => {}
                _ = requested.cancelled() => {}
            }
            None
        }
    };
    requested.cancelled().await;
    // The lifecycle task runs the controlled shutdown before it ends.
    if let Some(lifecycle) = lifecycle {
        let _ = lifecycle.await;
    }
    token.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    let _ = background.await;
    let _ = timers.await;
    let _ = markers.await;
    let _ = txn_timers.await;
    let b = broker.clone();
    let flushed = tokio::task::spawn_blocking(move || b.replicas.close_all()).await;
    if flushed.is_err() {
        tracing::error!("final flush panicked");
    }
    broker.cluster.quorum().shutdown().await;
    tracing::info!("broker stopped; logs flushed");
}

/// Group sessions, pending member ids and rebalance phases end at their deadlines, as Kafka's
/// timers end them: this task sleeps until the coordinator's next deadline (at most
/// `TICK_MS`), on its own so that log maintenance never holds it up. A late expiry is not
/// harmless: a static member that closed stays in its group, which cannot be deleted.
async fn group_timers(broker: Arc<Broker>, token: CancellationToken) {
    let period = Duration::from_millis(coordinator::TICK_MS);
    loop {
        broker.groups.tick(&broker.replicas);
        let now = tokio::time::Instant::now();
        let next = broker
            .groups
            .next_deadline()
            .map_or(now + period, |d| {
                tokio::time::Instant::from_std(d).min(now + period)
            })
            .max(now + TIMER_SLACK);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}

/// The shortest sleep of the group timers, so that a deadline the coordinator cannot act on yet
/// never turns the loop into a spin.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// How often the open log files are counted against their cap.
const OPEN_FILES_CHECK: Duration = Duration::from_secs(10);

/// Retention, time-based flush, log compaction, offset expiry, the high watermark checkpoint
/// and the cap on open log files, each on its own period, until shutdown.
async fn background(broker: Arc<Broker>, token: CancellationToken) {
    let retention_every = Duration::from_millis(broker.config.retention_check_interval_ms.max(1));
    let flush_every = Duration::from_millis(
        broker
            .config
            .flush_scheduler_interval_ms
            .clamp(1, 86_400_000),
    );
    let offsets_every = Duration::from_millis(
        broker
            .config
            .offsets_retention_check_interval_ms
            .clamp(1, 86_400_000),
    );
    let mut retention = tokio::time::interval(retention_every);
    let mut flush = tokio::time::interval(flush_every);
    let mut offsets = tokio::time::interval(offsets_every);
    let cleaner_every =
        Duration::from_millis(broker.config.log_cleaner_backoff_ms.clamp(1, 86_400_000));
    let mut cleaner = tokio::time::interval(cleaner_every);
    let mut files = tokio::time::interval(OPEN_FILES_CHECK);
    let hw_every = broker
        .config
        .str_value("replica.high.watermark.checkpoint.interval.ms")
        .parse::<u64>()
        .unwrap_or(5_000)
        .clamp(1, 86_400_000);
    let mut hw_checkpoint = tokio::time::interval(Duration::from_millis(hw_every));
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = cleaner.tick() => {
                let b = broker.clone();
                let dedupe = b.config.log_cleaner_dedupe_buffer_size;
                let _ = tokio::task::spawn_blocking(move || b.replicas.compact(now_ms(), dedupe)).await;
            }
            _ = offsets.tick() => {
                let expired = broker.groups.expire_offsets(&broker.replicas, now_ms());
                if expired > 0 {
                    tracing::info!(expired, "committed offsets expired");
                }
            }
            _ = retention.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.apply_retention(now_ms())).await;
            }
            _ = flush.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.flush(now_ms(), false)).await;
            }
            _ = hw_checkpoint.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.checkpoint_high_watermarks()).await;
            }
            _ = files.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.bound_open_files()).await;
            }
        }
    }
}

fn txn_settings(config: &BrokerConfig) -> TxnSettings {
    TxnSettings {
        max_timeout_ms: config
            .str_value("transaction.max.timeout.ms")
            .parse()
            .unwrap_or(900_000),
        id_expiration_ms: config
            .str_value("transactional.id.expiration.ms")
            .parse()
            .unwrap_or(604_800_000),
    }
}

fn group_settings(config: &BrokerConfig) -> GroupSettings {
    GroupSettings {
        min_session_timeout_ms: config.group_min_session_timeout_ms,
        max_session_timeout_ms: config.group_max_session_timeout_ms,
        max_size: config.group_max_size,
        initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
    }
}

fn consumer_settings(config: &BrokerConfig) -> ConsumerSettings {
    ConsumerSettings {
        heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms,
        session_timeout_ms: config.group_consumer_session_timeout_ms,
        max_size: config.group_consumer_max_size,
    }
}

fn offset_settings(config: &BrokerConfig) -> OffsetSettings {
    OffsetSettings {
        retention_ms: config.offsets_retention_ms,
        metadata_max_bytes: config.offset_metadata_max_bytes,
    }
}

/// Wall-clock milliseconds since the Unix epoch, as Kafka timestamps are.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
