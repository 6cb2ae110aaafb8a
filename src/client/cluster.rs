//! A cluster as the client sees it: the bootstrap list, one [`Connection`] per broker (opened
//! on first use, reopened after it fails), the metadata cache (brokers, topics, partition
//! leaders) and the routing of requests to partition leaders and to group and transaction
//! coordinators. Metadata is refreshed when it is older than `metadata.max.age.ms` and
//! whenever a caller reports stale routing (NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_COORDINATOR). [`Cluster::retry`]
//! retries retriable errors only, with backoff.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::connection::Connection;
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// A broker as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A partition as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    /// -1 when there is no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
    pub error_code: i16,
}

/// A topic as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub id: String,
    pub internal: bool,
    pub error_code: i16,
    /// Sorted by partition id.
    pub partitions: Vec<PartitionInfo>,
}

/// One snapshot of cluster metadata.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicInfo>,
}

impl Metadata {
    fn from_response(r: &MetadataResponse) -> Metadata {
        let brokers = r
            .brokers
            .iter()
            .map(|b| {
                let info = BrokerInfo {
                    id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                };
                (info.id, info)
            })
            .collect();
        let topics = r
            .topics
            .iter()
            .filter_map(|t| {
                let name = t.name.as_ref()?.0.to_string();
                let mut partitions: Vec<_> = t
                    .partitions
                    .iter()
                    .map(|p| PartitionInfo {
                        id: p.partition_index,
                        leader: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                        isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                        offline: p.offline_replicas.iter().map(|b| b.0).collect(),
                        error_code: p.error_code,
                    })
                    .collect();
                partitions.sort_by_key(|p| p.id);
                let info = TopicInfo {
                    name: name.clone(),
                    id: t.topic_id.to_string(),
                    internal: t.is_internal,
                    error_code: t.error_code,
                    partitions,
                };
                Some((name, info))
            })
            .collect();
        Metadata {
            cluster_id: r.cluster_id.as_ref().map(|c| c.to_string()),
            controller_id: r.controller_id.0,
            brokers,
            topics,
        }
    }

    /// The topic, or UNKNOWN_TOPIC_OR_PARTITION naming it.
    pub fn topic(&self, name: &str) -> Result<&TopicInfo> {
        match self.topics.get(name) {
            Some(t) if t.error_code == 0 => Ok(t),
            Some(t) => Err(Error::kafka(format!("topic '{name}'"), t.error_code, None)),
            None => Err(Error::UnknownTopic(name.to_string())),
        }
    }
}

/// One connection, opened on first use by whichever task gets there first.
type Slot = Arc<tokio::sync::OnceCell<Arc<Connection>>>;

/// The shared client state for one cluster.
pub struct Cluster {
    config: ClientConfig,
    /// Connections by `host:port`, each opened once however many tasks ask at the same time;
    /// the map's lock is held only to find or replace a slot, never while connecting, so a
    /// slow or unreachable broker does not hold up requests to the others. A closed or failed
    /// slot is replaced on next use.
    connections: Mutex<HashMap<String, Slot>>,
    metadata: Mutex<(Arc<Metadata>, Instant)>,
    /// (kind, group or transactional id) → coordinator node, from FindCoordinator; dropped
    /// on NOT_COORDINATOR. Groups and transactional ids are separate namespaces.
    coordinators: Mutex<HashMap<(CoordinatorKind, String), i32>>,
}

/// Which coordinator FindCoordinator looks for: its `key_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordinatorKind {
    /// A consumer group's coordinator (key type 0).
    Group,
    /// A transactional id's transaction coordinator (key type 1, FindCoordinator v1+).
    Transaction,
}

impl CoordinatorKind {
    /// FindCoordinator's `key_type`.
    fn key_type(self) -> i8 {
        match self {
            CoordinatorKind::Group => 0,
            CoordinatorKind::Transaction => 1,
        }
    }

    /// What a key of this kind is called in messages.
    fn noun(self) -> &'static str {
        match self {
            CoordinatorKind::Group => "group",
            CoordinatorKind::Transaction => "transactional id",
        }
    }
}

impl Cluster {
    /// Connects to the first reachable bootstrap server and loads metadata for every topic.
    pub async fn connect(config: ClientConfig) -> Result<Arc<Cluster>> {
        let cluster = Arc::new(Cluster {
            config,
            connections: Mutex::default(),
            metadata: Mutex::new((Arc::default(), Instant::now())),
            coordinators: Mutex::default(),
        });
        cluster.refresh_metadata().await?;
        Ok(cluster)
    }

    /// The settings in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The cached metadata, refreshed first when older than `metadata.max.age.ms`.
    pub async fn metadata(&self) -> Result<Arc<Metadata>> {
        let (current, at) = self.cached();
        if at.elapsed() >= self.config.metadata_max_age {
            return self.refresh_metadata().await;
        }
        Ok(current)
    }

    fn cached(&self) -> (Arc<Metadata>, Instant) {
        let guard = self.metadata.lock().unwrap_or_else(|p| p.into_inner());
        (guard.0.clone(), guard.1)
    }

    /// Loads metadata for every topic from any broker and replaces the cache.
    pub async fn refresh_metadata(&self) -> Result<Arc<Metadata>> {
        let conn = self.any_connection().await?;
        let request = MetadataRequest::default()
            .with_topics(None)
            .with_allow_auto_topic_creation(false);
        let response = conn.send(&request).await?;
        let fresh = Arc::new(Metadata::from_response(&response));
        *self.metadata.lock().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// Metadata for `topics` only, without touching the cache (for `topics describe`).
    pub async fn topic_metadata(&self, topics: &[String]) -> Result<Metadata> {
        let conn = self.any_connection().await?;
        let list = topics
            .iter()
            .map(|t| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
            })
            .collect();
        let request = MetadataRequest::default()
            .with_topics(Some(list))
            .with_allow_auto_topic_creation(false);
        Ok(Metadata::from_response(&conn.send(&request).await?))
    }

    /// A connection to a known broker, else to the first reachable bootstrap server.
    pub async fn any_connection(&self) -> Result<Arc<Connection>> {
        let open = self
            .lock_connections()
            .values()
            .find_map(|slot| slot.get().filter(|c| !c.is_closed()).cloned());
        if let Some(c) = open {
            return Ok(c);
        }
        let known: Vec<String> = self
            .cached()
            .0
            .brokers
            .values()
            .map(BrokerInfo::addr)
            .collect();
        let mut last = None;
        for addr in self.config.bootstrap.iter().chain(known.iter()) {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Config("no bootstrap servers configured".into())))
    }

    /// The connection to `addr`, opened if needed.
    pub async fn connection(&self, addr: &str) -> Result<Arc<Connection>> {
        let slot = {
            let mut conns = self.lock_connections();
            let stale = conns
                .get(addr)
                .is_some_and(|s| s.get().is_some_and(|c| c.is_closed()));
            if stale {
                let _ = conns.remove(addr);
            }
            conns.entry(addr.to_string()).or_default().clone()
        };
        let conn = slot
            .get_or_try_init(|| Connection::open(addr, &self.config))
            .await?;
        Ok(conn.clone())
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection to broker `node`.
    pub async fn broker(&self, node: i32) -> Result<Arc<Connection>> {
        let addr = match self.cached().0.brokers.get(&node) {
            Some(b) => b.addr(),
            None => {
                let fresh = self.refresh_metadata().await?;
                fresh
                    .brokers
                    .get(&node)
                    .map(BrokerInfo::addr)
                    .ok_or_else(|| {
                        Error::kafka(
                            format!("broker {node}"),
                            crate::error::LEADER_NOT_AVAILABLE,
                            Some("not in metadata"),
                        )
                    })?
            }
        };
        self.connection(&addr).await
    }

    /// `topic` from the cache; a topic missing there is looked up once more before
    /// UNKNOWN_TOPIC_OR_PARTITION is returned, so a topic created elsewhere is found.
    pub async fn topic(&self, topic: &str) -> Result<TopicInfo> {
        let metadata = self.metadata().await?;
        if let Ok(t) = metadata.topic(topic) {
            return Ok(t.clone());
        }
        match self.refresh_metadata().await?.topic(topic) {
            Ok(t) => Ok(t.clone()),
            // An authorizer leaves topics the principal may not describe out of a listing;
            // asked by name, the broker says whether it is missing or refused.
            Err(Error::UnknownTopic(_)) => self
                .topic_metadata(&[topic.to_string()])
                .await?
                .topic(topic)
                .cloned(),
            Err(e) => Err(e),
        }
    }

    /// The leader of `topic`/`partition` from the cache.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<i32> {
        let t = self.topic(topic).await?;
        match t.partitions.iter().find(|p| p.id == partition) {
            Some(p) if p.leader >= 0 => Ok(p.leader),
            Some(_) => Err(Error::kafka(
                format!("{topic}-{partition}"),
                crate::error::LEADER_NOT_AVAILABLE,
                None,
            )),
            None => Err(Error::kafka(
                format!("partition {partition} of '{topic}'"),
                crate::error::UNKNOWN_TOPIC_OR_PARTITION,
                Some(&format!("the topic has {} partitions", t.partitions.len())),
            )),
        }
    }

    /// The coordinator of `group`, asking FindCoordinator when not cached.
    pub async fn coordinator(&self, group: &str) -> Result<i32> {
        let found = self.coordinators(&[group.to_string()]).await?;
        found
            .into_iter()
            .next()
            .map(|(node, _)| node)
            .ok_or_else(|| Error::Invalid(format!("no coordinator found for group '{group}'")))
    }

    /// Groups by coordinator node: one FindCoordinator for all uncached groups (v4+, KIP-699),
    /// else one per group.
    pub async fn coordinators(&self, groups: &[String]) -> Result<BTreeMap<i32, Vec<String>>> {
        self.coordinators_of(CoordinatorKind::Group, groups).await
    }

    /// Keys of `kind` (groups, or transactional ids) by coordinator node: one FindCoordinator
    /// for all uncached keys (v4+, KIP-699), else one per key.
    pub async fn coordinators_of(
        &self,
        kind: CoordinatorKind,
        keys: &[String],
    ) -> Result<BTreeMap<i32, Vec<String>>> {
        let mut out: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.lock_coordinators();
            for k in keys {
                match cache.get(&(kind, k.clone())) {
                    Some(node) => out.entry(*node).or_default().push(k.clone()),
                    None => missing.push(k.clone()),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let conn = self.any_connection().await?;
        let version = conn.version_of::<FindCoordinatorRequest>()?;
        if kind == CoordinatorKind::Transaction && version < 1 {
            return Err(Error::UnsupportedVersion {
                addr: conn.addr().to_string(),
                api: "FindCoordinator of a transactional id".into(),
                ours: "v1-v6".into(),
            });
        }
        let found = if version >= 4 {
            find_coordinators_batched(&conn, kind, &missing).await?
        } else {
            let mut found = Vec::with_capacity(missing.len());
            for k in &missing {
                found.push(find_coordinator_single(&conn, kind, k).await?);
            }
            found
        };
        let mut cache = self.lock_coordinators();
        for (key, node) in found {
            let _ = cache.insert((kind, key.clone()), node);
            out.entry(node).or_default().push(key);
        }
        Ok(out)
    }

    /// Forgets a coordinator after NOT_COORDINATOR or a failed connection.
    pub fn forget_coordinator(&self, group: &str) {
        self.forget_coordinator_of(CoordinatorKind::Group, group);
    }

    /// Forgets the coordinator of `key` of `kind`.
    pub fn forget_coordinator_of(&self, kind: CoordinatorKind, key: &str) {
        let _ = self.lock_coordinators().remove(&(kind, key.to_string()));
    }

    fn lock_coordinators(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(CoordinatorKind, String), i32>> {
        self.coordinators.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `attempt` until it succeeds, fails with a non-retriable error, or the retries are
    /// spent; stale routing refreshes metadata before the next try.
    pub async fn retry<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut backoff = self.config.retry_backoff;
        let mut tries = 0;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() && tries < self.config.retries => {
                    tries += 1;
                    tracing::debug!("retrying after: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.retry_backoff_max);
                    if e.is_stale_metadata() {
                        self.lock_coordinators().clear();
                        let _ = self.refresh_metadata().await;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The request timeout, for callers that bound whole operations.
    pub fn request_timeout(&self) -> Duration {
        self.config.request_timeout
    }
}

async fn find_coordinators_batched(
    conn: &Connection,
    kind: CoordinatorKind,
    keys: &[String],
) -> Result<Vec<(String, i32)>> {
    let request = FindCoordinatorRequest::default()
        .with_key_type(kind.key_type())
        .with_coordinator_keys(
            keys.iter()
                .map(|k| StrBytes::from_string(k.clone()))
                .collect(),
        );
    let response = conn.send(&request).await?;
    let mut out = Vec::with_capacity(keys.len());
    for c in &response.coordinators {
        Error::check(
            || format!("find coordinator of {} '{}'", kind.noun(), c.key.as_str()),
            c.error_code,
            c.error_message.as_deref(),
        )?;
        out.push((c.key.to_string(), c.node_id.0));
    }
    Ok(out)
}

async fn find_coordinator_single(
    conn: &Connection,
    kind: CoordinatorKind,
    key: &str,
) -> Result<(String, i32)> {
    let request = FindCoordinatorRequest::default()
        .with_key_type(kind.key_type())
        .with_key(StrBytes::from_string(key.to_string()));
    let response = conn.send(&request).await?;
    Error::check(
        || format!("find coordinator of {} '{key}'", kind.noun()),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    Ok((key.to_string(), response.node_id.0))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::client::admin::{self, LATEST};
    use crate::client::test_server::start_flaky_leader;

    fn config(addr: &str, extra: &[(&str, &str)]) -> ClientConfig {
        let mut props = vec![
            ("bootstrap.servers".to_string(), addr.to_string()),
            ("retry.backoff.ms".to_string(), "1".to_string()),
        ];
        props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ClientConfig::from_properties(&props).expect("config")
    }

    #[tokio::test]
    async fn a_moved_leader_refreshes_metadata_and_is_retried() {
        let (addr, counts) = start_flaky_leader(2, crate::error::NOT_LEADER_OR_FOLLOWER).await;
        let cluster = Cluster::connect(config(&addr, &[])).await.expect("connect");
        assert_eq!(counts.metadata.load(Ordering::SeqCst), 1);
        let tp = vec![("t".to_string(), 0)];
        let found = admin::list_offsets(&cluster, &tp, LATEST)
            .await
            .expect("after retries");
        assert_eq!(found[&tp[0]].offset, 42);
        assert_eq!(counts.list_offsets.load(Ordering::SeqCst), 3);
        // One refresh per stale answer.
        assert_eq!(counts.metadata.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_non_retriable_error_is_not_retried_and_retries_run_out() {
        const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
        let (addr, counts) = start_flaky_leader(usize::MAX, TOPIC_AUTHORIZATION_FAILED).await;
        let cluster = Cluster::connect(config(&addr, &[])).await.expect("connect");
        let tp = vec![("t".to_string(), 0)];
        let e = admin::list_offsets(&cluster, &tp, LATEST)
            .await
            .expect_err("refused");
        assert!(
            e.to_string().contains("TOPIC_AUTHORIZATION_FAILED (29)"),
            "{e}"
        );
        assert_eq!(counts.list_offsets.load(Ordering::SeqCst), 1);

        let (addr, counts) =
            start_flaky_leader(usize::MAX, crate::error::LEADER_NOT_AVAILABLE).await;
        let cluster = Cluster::connect(config(&addr, &[("retries", "3")]))
            .await
            .expect("connect");
        let e = admin::list_offsets(&cluster, &tp, LATEST)
            .await
            .expect_err("gives up");
        assert!(e.to_string().contains("LEADER_NOT_AVAILABLE (5)"), "{e}");
        assert_eq!(counts.list_offsets.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn metadata_older_than_its_max_age_is_reloaded() {
        let (addr, counts) = start_flaky_leader(0, 0).await;
        let fresh = Cluster::connect(config(&addr, &[])).await.expect("connect");
        let _ = fresh.metadata().await.expect("cached");
        assert_eq!(counts.metadata.load(Ordering::SeqCst), 1);
        let aging = Cluster::connect(config(&addr, &[("metadata.max.age.ms", "0")]))
            .await
            .expect("connect");
        let _ = aging.metadata().await.expect("reloaded");
        assert_eq!(counts.metadata.load(Ordering::SeqCst), 3);
    }

    /// Metadata v12 answers whose counts claim billions of elements, that stop short, or that
    /// are random bytes: each is a protocol error naming the broker, never a panic or an abort.
    #[tokio::test]
    async fn hostile_metadata_answers_are_errors() {
        fn huge_counts(_: usize) -> Vec<u8> {
            // Header tag buffer, throttle, then a compact array "length" of 2^32-2 brokers.
            vec![0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f]
        }
        fn truncated(_: usize) -> Vec<u8> {
            vec![0, 0, 0, 0, 0, 3, 0, 0, 0, 1]
        }
        fn random(n: usize) -> Vec<u8> {
            let mut rng = fastrand::Rng::with_seed(n as u64);
            (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect()
        }
        for garbage in [huge_counts as fn(usize) -> Vec<u8>, truncated, random] {
            let addr = crate::client::test_server::start_hostile(garbage).await;
            for _ in 0..20 {
                let config = config(&addr, &[("retries", "0")]);
                match Cluster::connect(config).await {
                    Err(Error::Protocol { addr: a, .. }) => assert_eq!(a, addr),
                    Err(other) => panic!("expected a protocol error, got {other}"),
                    // Random bytes may, rarely, decode as an empty answer.
                    Ok(_) => {}
                }
            }
        }
    }

    /// A broker that accepts but never answers does not hold up connections to the others.
    #[tokio::test]
    async fn a_silent_broker_does_not_block_the_others() {
        let (good, _) = start_flaky_leader(0, 0).await;
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let silent_addr = silent.local_addr().expect("addr").to_string();
        let cluster = Cluster::connect(config(&good, &[("request.timeout.ms", "3000")]))
            .await
            .expect("connect");
        let stuck = {
            let cluster = cluster.clone();
            let addr = silent_addr.clone();
            tokio::spawn(async move { cluster.connection(&addr).await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        let started = std::time::Instant::now();
        let _ = cluster.connection(&good).await.expect("the good broker");
        let _ = cluster.any_connection().await.expect("any");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let e = stuck.await.expect("join").expect_err("silent");
        assert!(e.to_string().contains(&silent_addr), "{e}");
    }
}
