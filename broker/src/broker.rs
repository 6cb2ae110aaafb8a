//! The broker as a whole: configuration, cluster metadata and hosted partitions, plus the
//! start-up and shutdown of the listener and the background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::fetch_session::FetchSessions;

use crate::cluster::{BrokerInfo, Cluster, Refusal, TopicInfo, TopicSpec};
use crate::config::BrokerConfig;
use crate::coordinator::{
    self, ConsumerSettings, GroupCoordinator, GroupSettings, OffsetSettings, OFFSETS_TOPIC,
};
use crate::replica::ReplicaManager;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("opening metadata in '{dir}': {source}")]
    Metadata { dir: String, source: std::io::Error },
    #[error("opening the log of '{topic}': {message}")]
    Log { topic: String, message: String },
    #[error("loading consumer groups from __consumer_offsets: {0}")]
    Groups(String),
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
    /// Incremental fetch sessions (KIP-227).
    pub fetch_sessions: FetchSessions,
}

impl Broker {
    /// Opens the metadata and every hosted partition (recovering their logs).
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, StartError> {
        let advertised = &config.advertised_listeners[0];
        let me = BrokerInfo {
            node_id: config.node_id,
            host: advertised.host.clone(),
            port: advertised.port,
            rack: None,
        };
        let dir = config.log_dir.clone();
        let cluster = Cluster::open(&dir, me).map_err(|source| StartError::Metadata {
            dir: dir.display().to_string(),
            source,
        })?;
        let replicas = ReplicaManager::new(&dir, config.node_id);
        let groups = GroupCoordinator::new(
            group_settings(&config),
            offset_settings(&config),
            consumer_settings(&config),
        );
        let fetch_sessions = FetchSessions::new(config.fetch_session_cache_slots);
        let broker = Broker {
            config,
            shutdown: CancellationToken::new(),
            cluster,
            replicas,
            groups,
            fetch_sessions,
        };
        let topics: Vec<(String, TopicInfo)> = broker
            .cluster
            .read(|i| i.topics.clone().into_iter().collect());
        for (name, topic) in &topics {
            broker.open_logs(name, topic).map_err(|r| StartError::Log {
                topic: name.clone(),
                message: r.message,
            })?;
        }
        if let Some((_, offsets)) = topics.iter().find(|(n, _)| n == OFFSETS_TOPIC) {
            let partitions = i32::try_from(offsets.partitions.len()).unwrap_or(i32::MAX);
            let loaded = broker
                .groups
                .load(&broker.replicas, partitions)
                .map_err(StartError::Groups)?;
            tracing::info!(groups = loaded, "consumer groups loaded");
        }
        tracing::info!(topics = topics.len(), dir = %dir.display(), "broker state loaded");
        Ok(Arc::new(broker))
    }

    /// Creates `__consumer_offsets` on first use, as Kafka does on the first FindCoordinator:
    /// compacted, `offsets.topic.num.partitions` partitions, and a replication factor of
    /// `offsets.topic.replication.factor` but no more than the brokers there are.
    pub fn ensure_offsets_topic(&self) -> Result<(), Refusal> {
        if self.groups.partitions() > 0 {
            return Ok(());
        }
        let existing = self.cluster.read(|i| {
            i.topics
                .get(OFFSETS_TOPIC)
                .map(|t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX))
        });
        let partitions = match existing {
            Some(n) => n,
            None => {
                let brokers = self.cluster.read(|i| i.brokers.len()).max(1);
                let rf = self
                    .config
                    .offsets_topic_replication_factor
                    .min(i16::try_from(brokers).unwrap_or(i16::MAX));
                let configs = [
                    ("cleanup.policy", "compact".to_string()),
                    ("compression.type", "producer".to_string()),
                    (
                        "segment.bytes",
                        self.config.offsets_topic_segment_bytes.to_string(),
                    ),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                let spec = TopicSpec {
                    name: OFFSETS_TOPIC.to_string(),
                    partitions: self.config.offsets_topic_num_partitions,
                    replication_factor: rf,
                    assignments: Vec::new(),
                    configs,
                    internal: true,
                };
                match self.create_topic(&spec) {
                    Ok(info) => i32::try_from(info.partitions.len()).unwrap_or(i32::MAX),
                    Err(r) if r.error == kafka_protocol::ResponseError::TopicAlreadyExists => {
                        self.config.offsets_topic_num_partitions
                    }
                    Err(r) => return Err(r),
                }
            }
        };
        self.groups.set_partitions(partitions);
        Ok(())
    }

    /// Creates a topic (metadata first, then its logs).
    pub fn create_topic(&self, spec: &TopicSpec) -> Result<TopicInfo, Refusal> {
        let topic = self.cluster.create_topic(spec)?;
        self.open_logs(&spec.name, &topic)?;
        tracing::info!(topic = %spec.name, partitions = topic.partitions.len(), "topic created");
        Ok(topic)
    }

    /// Opens the logs of a topic's partitions hosted here.
    pub fn open_logs(&self, name: &str, topic: &TopicInfo) -> Result<(), Refusal> {
        self.replicas
            .open_topic(&self.config, name, topic)
            .map_err(|e| Refusal {
                error: kafka_protocol::ResponseError::KafkaStorageError,
                message: e.to_string(),
            })
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

/// A broker serving on its listener, until `shutdown`.
#[derive(Debug)]
pub struct RunningBroker {
    addr: SocketAddr,
    broker: Arc<Broker>,
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningBroker {
    /// Binds the first listener, opens the state and starts serving.
    pub async fn start(mut config: BrokerConfig) -> Result<RunningBroker, StartError> {
        let listener = &config.listeners[0];
        let addr = format!("{}:{}", listener.host, listener.port);
        let socket = TcpListener::bind(&addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let local = socket
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        config.set_bound_port(local.port());
        let broker = Broker::open(config)?;
        let token = broker.shutdown.clone();
        let task = tokio::spawn(run(socket, broker.clone(), token.clone()));
        tracing::info!(addr = %local, "broker listening");
        Ok(RunningBroker {
            addr: local,
            broker,
            token,
            task,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared broker state.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// A token whose cancellation stops the broker.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Stops accepting, drains connections, flushes and fsyncs every log.
    pub async fn shutdown(self) {
        self.token.cancel();
        self.wait().await;
    }

    /// Waits until the broker has stopped (after its token was cancelled).
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "broker task failed");
        }
    }
}

async fn run(socket: TcpListener, broker: Arc<Broker>, token: CancellationToken) {
    let background = tokio::spawn(background(broker.clone(), token.clone()));
    let timers = tokio::spawn(group_timers(broker.clone(), token.clone()));
    crate::server::run(socket, broker.clone(), token).await;
    let _ = background.await;
    let _ = timers.await;
    let b = broker.clone();
    let flushed = tokio::task::spawn_blocking(move || b.replicas.close_all()).await;
    if flushed.is_err() {
        tracing::error!("final flush panicked");
    }
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

/// Retention, time-based flush, log compaction and offset expiry, each on its own period,
/// until shutdown.
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
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = cleaner.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.compact(now_ms())).await;
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
        }
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
