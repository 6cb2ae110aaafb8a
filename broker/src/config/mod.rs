//! The broker's configuration: `server.properties` with Kafka's key names and defaults.
//!
//! `BrokerConfig` is built once at start-up from a properties file plus `--override key=value`
//! pairs, checked against the key table in `defs.rs`, and read-only afterwards. Topic configs are
//! resolved here too (override, else broker synonym, else default) so that the log, the produce
//! path and DescribeConfigs agree on every value.

pub mod authorizer;
pub mod defs;
pub mod listeners;
mod properties;
pub mod quorum;
pub mod security;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use authorizer::AuthorizerSettings;
use defs::{ConfigType, TopicKey};
pub use listeners::{parse_listeners, Listener, SecurityProtocol};
pub use properties::parse_properties;
pub use quorum::{parse_initial_controllers, Voter};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config '{key}': {message}")]
    Invalid { key: String, message: String },
    #[error("reading '{path}': {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Where a config value came from, numbered as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    DynamicBroker = 2,
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
    /// A group's own config (Kafka 4.0's GROUP_CONFIG).
    Group = 8,
}

/// Dynamic broker configs (KIP-226) from the metadata: this broker's own and the
/// cluster-wide defaults. They win over `server.properties` for the keys Kafka makes dynamic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicConfigs {
    pub broker: BTreeMap<String, String>,
    pub cluster: BTreeMap<String, String>,
}

/// A resolved config value with the synonyms Kafka lists for it, most specific first.
#[derive(Debug, Clone)]
pub struct ResolvedValue {
    pub value: Option<String>,
    pub source: ConfigSource,
    pub synonyms: Vec<(String, Option<String>, ConfigSource)>,
}

/// `process.roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub broker: bool,
    pub controller: bool,
}

/// The broker's static configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Every key set in the file or by an override, as written.
    values: BTreeMap<String, String>,
    pub node_id: i32,
    /// The id the data directory must belong to (`ktui broker --cluster-id`, Kafka's
    /// `kafka-storage.sh format -t`); a new directory gets a random one when unset.
    pub cluster_id: Option<String>,
    /// SCRAM credentials to create when the data directory is formatted (`ktui broker
    /// --add-scram`, Kafka's `kafka-storage.sh format --add-scram`); they hold passwords.
    pub add_scram: Vec<crate::security::Secret>,
    pub roles: Roles,
    /// The client (and inter-broker) listeners; the controller's is apart.
    pub listeners: Vec<Listener>,
    pub advertised_listeners: Vec<Listener>,
    /// The listener brokers replicate over and send each other requests on (one of
    /// `listeners`; empty on a controller-only node).
    pub inter_broker_listener: String,
    /// The listener named by `controller.listener.names`, when this node has one.
    pub controller_listener: Option<Listener>,
    /// `controller.quorum.voters`: a static quorum; empty when this node is a quorum of one
    /// or the quorum is dynamic.
    pub voters: Vec<Voter>,
    /// `controller.quorum.bootstrap.servers` (KIP-853): `host:port` of controllers to find a
    /// dynamic quorum through, whose voters are kept in the metadata log.
    pub bootstrap_servers: Vec<String>,
    /// The first voters of a dynamic quorum, used when the data directory is formatted
    /// (`ktui broker --standalone` or `--initial-controllers`, as `kafka-storage.sh format`).
    pub initial_voters: Vec<Voter>,
    pub rack: Option<String>,
    pub broker_heartbeat_interval_ms: u64,
    pub broker_session_timeout_ms: u64,
    pub replica_lag_time_max_ms: i64,
    pub replica_fetch_wait_max_ms: i32,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_response_max_bytes: i32,
    pub metadata_snapshot_interval_records: u64,
    /// Dynamic configs, shared by every clone of this config and replaced from the metadata.
    dynamic: std::sync::Arc<std::sync::RwLock<DynamicConfigs>>,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval_seconds: u64,
    pub leader_imbalance_per_broker_percentage: u32,
    pub log_dir: PathBuf,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub delete_topic_enable: bool,
    pub retention_check_interval_ms: u64,
    pub flush_scheduler_interval_ms: u64,
    pub socket_request_max_bytes: usize,
    pub max_connections: usize,
    /// `max.incremental.fetch.session.cache.slots`: fetch sessions kept at once (KIP-227).
    pub fetch_session_cache_slots: usize,
    pub offsets_topic_num_partitions: i32,
    pub offsets_topic_replication_factor: i16,
    pub offsets_topic_segment_bytes: i32,
    pub offsets_retention_ms: i64,
    pub offsets_retention_check_interval_ms: u64,
    pub log_cleaner_backoff_ms: u64,
    /// `log.cleaner.dedupe.buffer.size`: bytes of the cleaner's key map.
    pub log_cleaner_dedupe_buffer_size: u64,
    pub offset_metadata_max_bytes: usize,
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    pub group_initial_rebalance_delay_ms: i32,
    pub group_max_size: usize,
    pub group_consumer_heartbeat_interval_ms: i32,
    pub group_consumer_session_timeout_ms: i32,
    pub group_consumer_max_size: usize,
    /// `authorizer.class.name`, `super.users` and `allow.everyone.if.no.acl.found`.
    pub authorizer: AuthorizerSettings,
}

impl BrokerConfig {
    /// Builds the config from properties text and overrides (later wins).
    pub fn from_properties(
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let mut values: BTreeMap<String, String> = parse_properties(text).into_iter().collect();
        for (key, value) in overrides {
            values.insert(key.clone(), value.clone());
        }
        for (key, value) in &values {
            match defs::broker_key(key) {
                Some(def) => check(key, def.kind, value)?,
                None if security::is_listener_scoped(key) => {}
                None => tracing::warn!(key = %key, "unknown config key ignored"),
            }
        }
        Self::from_values(values)
    }

    /// Reads `path` (if any) and applies the overrides.
    pub fn load(
        path: Option<&std::path::Path>,
        overrides: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_properties(&text, overrides)
    }

    fn from_values(values: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = BrokerConfig {
            values,
            node_id: 1,
            cluster_id: None,
            add_scram: Vec::new(),
            roles: Roles {
                broker: true,
                controller: true,
            },
            listeners: Vec::new(),
            advertised_listeners: Vec::new(),
            inter_broker_listener: String::new(),
            controller_listener: None,
            voters: Vec::new(),
            bootstrap_servers: Vec::new(),
            initial_voters: Vec::new(),
            rack: None,
            broker_heartbeat_interval_ms: 2000,
            broker_session_timeout_ms: 9000,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1_048_576,
            replica_fetch_response_max_bytes: 10_485_760,
            metadata_snapshot_interval_records: 20_000,
            dynamic: Default::default(),
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            log_dir: PathBuf::new(),
            num_partitions: 1,
            default_replication_factor: 1,
            auto_create_topics_enable: true,
            delete_topic_enable: true,
            retention_check_interval_ms: 300_000,
            flush_scheduler_interval_ms: u64::MAX,
            socket_request_max_bytes: crate::limits::FRAME_BYTES_MAX_DEFAULT,
            max_connections: crate::limits::CONNECTIONS_MAX_DEFAULT,
            fetch_session_cache_slots: 1000,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 104_857_600,
            offsets_retention_ms: 10_080 * 60_000,
            offsets_retention_check_interval_ms: 600_000,
            log_cleaner_backoff_ms: 15_000,
            log_cleaner_dedupe_buffer_size: 134_217_728,
            offset_metadata_max_bytes: 4096,
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3000,
            group_max_size: i32::MAX as usize,
            group_consumer_heartbeat_interval_ms: 5000,
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_max_size: i32::MAX as usize,
            authorizer: AuthorizerSettings::default(),
        };
        config.node_id = match config
            .values
            .get("node.id")
            .or(config.values.get("broker.id"))
        {
            Some(v) => parse_num("node.id", v)?,
            None => 1,
        };
        config.roles = parse_roles(&config.str_value("process.roles"))?;
        let protocols = config.str_value("listener.security.protocol.map");
        let controller_names = config.str_value("controller.listener.names");
        let is_controller = |l: &Listener| controller_names.split(',').any(|n| n.trim() == l.name);
        let all = parse_listeners("listeners", &config.str_value("listeners"), &protocols)?;
        let (controller, client): (Vec<Listener>, Vec<Listener>) =
            all.into_iter().partition(is_controller);
        config.controller_listener = controller.into_iter().next();
        config.listeners = client;
        config.advertised_listeners = match config.values.get("advertised.listeners") {
            Some(v) => parse_listeners("advertised.listeners", v, &protocols)?
                .into_iter()
                .filter(|l| !is_controller(l))
                .collect(),
            None => config.listeners.clone(),
        };
        config.inter_broker_listener = listeners::inter_broker_listener(
            config
                .values
                .get("inter.broker.listener.name")
                .map(String::as_str),
            config
                .values
                .get("security.inter.broker.protocol")
                .map(String::as_str),
            &config.listeners,
        )?
        .unwrap_or_default();
        config.voters = quorum::parse_voters(&config.str_value("controller.quorum.voters"))?;
        config.bootstrap_servers = quorum::parse_bootstrap_servers(
            &config.str_value("controller.quorum.bootstrap.servers"),
        )?;
        config.rack = config.values.get("broker.rack").cloned();
        config.broker_heartbeat_interval_ms = config.num("broker.heartbeat.interval.ms")?;
        config.broker_session_timeout_ms = config.num("broker.session.timeout.ms")?;
        config.replica_lag_time_max_ms = config.num("replica.lag.time.max.ms")?;
        config.replica_fetch_wait_max_ms = config.num("replica.fetch.wait.max.ms")?;
        config.replica_fetch_max_bytes = config.num("replica.fetch.max.bytes")?;
        config.replica_fetch_response_max_bytes = config.num("replica.fetch.response.max.bytes")?;
        config.metadata_snapshot_interval_records =
            config.num("metadata.log.max.snapshot.interval.records")?;
        config.auto_leader_rebalance_enable =
            config.str_value("auto.leader.rebalance.enable") == "true";
        config.leader_imbalance_check_interval_seconds =
            config.num("leader.imbalance.check.interval.seconds")?;
        config.leader_imbalance_per_broker_percentage =
            config.num("leader.imbalance.per.broker.percentage")?;
        let dirs = config
            .values
            .get("log.dirs")
            .cloned()
            .unwrap_or_else(|| config.str_value("log.dir"));
        let first = dirs.split(',').map(str::trim).find(|d| !d.is_empty());
        config.log_dir = PathBuf::from(first.unwrap_or("/tmp/kafka-logs"));
        config.num_partitions = config.num("num.partitions")?;
        config.default_replication_factor = config.num("default.replication.factor")?;
        config.auto_create_topics_enable = config.str_value("auto.create.topics.enable") == "true";
        config.delete_topic_enable = config.str_value("delete.topic.enable") == "true";
        config.retention_check_interval_ms = config.num("log.retention.check.interval.ms")?;
        config.flush_scheduler_interval_ms = config.num("log.flush.scheduler.interval.ms")?;
        config.socket_request_max_bytes = config.num("socket.request.max.bytes")?;
        config.max_connections = config
            .num::<usize>("max.connections")?
            .min(crate::limits::CONNECTIONS_MAX_DEFAULT);
        config.fetch_session_cache_slots =
            config.num("max.incremental.fetch.session.cache.slots")?;
        config.offsets_topic_num_partitions = config.num("offsets.topic.num.partitions")?;
        config.offsets_topic_replication_factor = config.num("offsets.topic.replication.factor")?;
        config.offsets_topic_segment_bytes = config.num("offsets.topic.segment.bytes")?;
        config.offsets_retention_ms = config
            .num::<i64>("offsets.retention.minutes")?
            .saturating_mul(60_000);
        config.offsets_retention_check_interval_ms =
            config.num("offsets.retention.check.interval.ms")?;
        config.offset_metadata_max_bytes = config.num("offset.metadata.max.bytes")?;
        config.log_cleaner_backoff_ms = config.num("log.cleaner.backoff.ms")?;
        config.log_cleaner_dedupe_buffer_size = config.num("log.cleaner.dedupe.buffer.size")?;
        config.group_min_session_timeout_ms = config.num("group.min.session.timeout.ms")?;
        config.group_max_session_timeout_ms = config.num("group.max.session.timeout.ms")?;
        config.group_initial_rebalance_delay_ms = config.num("group.initial.rebalance.delay.ms")?;
        config.group_max_size = config.num("group.max.size")?;
        config.group_consumer_heartbeat_interval_ms =
            config.num("group.consumer.heartbeat.interval.ms")?;
        config.group_consumer_session_timeout_ms =
            config.num("group.consumer.session.timeout.ms")?;
        config.group_consumer_max_size = config.num("group.consumer.max.size")?;
        config.authorizer = AuthorizerSettings::from_config(&config)?;
        config.validate()?;
        Ok(config)
    }

    /// Whether this node is a quorum of one, with no controller listener (neither
    /// `controller.quorum.voters` nor `controller.quorum.bootstrap.servers`).
    pub fn is_single_node(&self) -> bool {
        self.voters.is_empty() && self.bootstrap_servers.is_empty()
    }

    /// Whether the quorum's voters are kept in the metadata log (KIP-853), not in the config.
    pub fn is_dynamic_quorum(&self) -> bool {
        self.voters.is_empty() && !self.bootstrap_servers.is_empty()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.listeners.is_empty() && self.roles.broker {
            return bad("listeners", "a broker needs at least one client listener");
        }
        quorum::validate(self)?;
        if self.broker_heartbeat_interval_ms == 0
            || self.broker_heartbeat_interval_ms >= self.broker_session_timeout_ms
        {
            return bad(
                "broker.heartbeat.interval.ms",
                "must be positive and below broker.session.timeout.ms",
            );
        }
        if self.num_partitions < 1 {
            return bad("num.partitions", "must be at least 1");
        }
        if self.default_replication_factor < 1 {
            return bad("default.replication.factor", "must be at least 1");
        }
        if self.offsets_topic_num_partitions < 1 {
            return bad("offsets.topic.num.partitions", "must be at least 1");
        }
        if self.offsets_topic_replication_factor < 1 {
            return bad("offsets.topic.replication.factor", "must be at least 1");
        }
        if self.group_max_size < 1 || self.group_consumer_max_size < 1 {
            return bad("group.max.size", "group sizes must be at least 1");
        }
        if self.group_consumer_heartbeat_interval_ms < 1
            || self.group_consumer_heartbeat_interval_ms >= self.group_consumer_session_timeout_ms
        {
            return bad(
                "group.consumer.heartbeat.interval.ms",
                "must be positive and below group.consumer.session.timeout.ms",
            );
        }
        if self.socket_request_max_bytes < crate::limits::REQUEST_HEADER_BYTES_MIN {
            return bad("socket.request.max.bytes", "too small to hold a request");
        }
        Ok(())
    }

    /// The value set for a broker key (dynamically or statically), else its default.
    pub fn str_value(&self, key: &str) -> String {
        self.layered(key)
            .map(|(v, _)| v)
            .or_else(|| defs::broker_key(key).and_then(|k| k.default.map(str::to_string)))
            .unwrap_or_default()
    }

    /// Replaces the dynamic configs (the metadata changed).
    /// Returns whether they changed.
    pub fn set_dynamic(&self, dynamic: DynamicConfigs) -> bool {
        let mut current = self.dynamic.write().unwrap_or_else(|p| p.into_inner());
        let changed = *current != dynamic;
        *current = dynamic;
        changed
    }

    /// A broker key's value from the first layer that sets it: this broker's dynamic config,
    /// the cluster-wide dynamic default, then `server.properties`.
    pub fn layered(&self, key: &str) -> Option<(String, ConfigSource)> {
        let dynamic = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = dynamic.broker.get(key) {
            return Some((v.clone(), ConfigSource::DynamicBroker));
        }
        if let Some(v) = dynamic.cluster.get(key) {
            return Some((v.clone(), ConfigSource::DynamicDefaultBroker));
        }
        self.values
            .get(key)
            .map(|v| (v.clone(), ConfigSource::StaticBroker))
    }

    /// Every layer that sets a broker key, most specific first (DescribeConfigs synonyms).
    pub fn layers(&self, key: &str) -> Vec<(String, ConfigSource)> {
        let dynamic = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        if let Some(v) = dynamic.broker.get(key) {
            out.push((v.clone(), ConfigSource::DynamicBroker));
        }
        if let Some(v) = dynamic.cluster.get(key) {
            out.push((v.clone(), ConfigSource::DynamicDefaultBroker));
        }
        if let Some(v) = self.values.get(key) {
            out.push((v.clone(), ConfigSource::StaticBroker));
        }
        out
    }

    /// The value explicitly set for a key in the file or an override.
    pub fn explicit(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<T, ConfigError> {
        parse_num(key, &self.str_value(key))
    }

    /// Resolves a topic key given the topic's own overrides.
    pub fn resolve_topic(
        &self,
        key: &TopicKey,
        overrides: &BTreeMap<String, String>,
    ) -> ResolvedValue {
        let mut synonyms = Vec::new();
        if let Some(v) = overrides.get(key.name) {
            synonyms.push((
                key.name.to_string(),
                Some(v.clone()),
                ConfigSource::DynamicTopic,
            ));
        }
        for syn in key.synonyms {
            for (v, source) in self.layers(syn.name) {
                synonyms.push((syn.name.to_string(), Some(v), source));
            }
        }
        let default_synonym = key.synonyms.iter().find_map(|s| {
            defs::broker_key(s.name)
                .and_then(|k| k.default)
                .map(|d| (s.name, d))
        });
        if let Some((name, d)) = default_synonym {
            synonyms.push((name.to_string(), Some(d.to_string()), ConfigSource::Default));
        }
        let (value, source) = match overrides.get(key.name) {
            Some(v) => (Some(v.clone()), ConfigSource::DynamicTopic),
            None => match self.broker_synonym_value(key) {
                Some((v, source)) => (Some(v), source),
                None => (key.default.map(str::to_string), ConfigSource::Default),
            },
        };
        ResolvedValue {
            value,
            source,
            synonyms,
        }
    }

    /// The topic key's value from the first broker synonym set (dynamically or statically),
    /// converted to the topic unit.
    fn broker_synonym_value(&self, key: &TopicKey) -> Option<(String, ConfigSource)> {
        key.synonyms.iter().find_map(|syn| {
            let (raw, source) = self.layered(syn.name)?;
            if syn.factor == 1 {
                return Some((raw, source));
            }
            let n: i64 = raw.trim().parse().ok()?;
            Some((n.saturating_mul(syn.factor).to_string(), source))
        })
    }

    /// The effective value of a topic key as a string.
    pub fn topic_value(&self, name: &str, overrides: &BTreeMap<String, String>) -> Option<String> {
        defs::topic_key(name).and_then(|k| self.resolve_topic(k, overrides).value)
    }

    /// A config for tests and the embedded broker: one listener on `127.0.0.1:port`, logs in `dir`.
    pub fn for_dir(dir: &std::path::Path, port: u16) -> Self {
        let overrides = vec![
            ("log.dirs".to_string(), dir.display().to_string()),
            (
                "listeners".to_string(),
                format!("PLAINTEXT://127.0.0.1:{port}"),
            ),
        ];
        match Self::from_properties("", &overrides) {
            Ok(config) => config,
            Err(e) => panic!("built-in test config is invalid: {e}"),
        }
    }

    /// Sets a listener's port (and its advertised port) where it was 0: the port it was bound
    /// to.
    pub fn set_bound_port(&mut self, listener: &str, port: u16) {
        for l in self
            .listeners
            .iter_mut()
            .chain(self.advertised_listeners.iter_mut())
            .filter(|l| l.name == listener)
        {
            if l.port == 0 {
                l.port = port;
            }
        }
    }
}

fn check(key: &str, kind: ConfigType, value: &str) -> Result<(), ConfigError> {
    defs::check_value(kind, value).map_err(|message| ConfigError::Invalid {
        key: key.into(),
        message,
    })
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        key: key.into(),
        message: format!("'{value}' is not a number in range"),
    })
}

/// Parses `process.roles`.
fn parse_roles(value: &str) -> Result<Roles, ConfigError> {
    let mut roles = Roles {
        broker: false,
        controller: false,
    };
    for role in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        match role {
            "broker" => roles.broker = true,
            "controller" => roles.controller = true,
            other => {
                return Err(ConfigError::Invalid {
                    key: "process.roles".into(),
                    message: format!("unknown role '{other}'"),
                })
            }
        }
    }
    if !roles.broker && !roles.controller {
        return Err(ConfigError::Invalid {
            key: "process.roles".into(),
            message: "names no role".into(),
        });
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_defaults_and_synonyms() {
        let c = BrokerConfig::from_properties("log.retention.hours=1\nlog.dirs=/x,/y\n", &[])
            .expect("config");
        assert_eq!(c.log_dir, PathBuf::from("/x"));
        assert_eq!(c.listeners[0].host, "127.0.0.1");
        assert_eq!(c.listeners[0].port, 9092);
        let key = defs::topic_key("retention.ms").expect("key");
        let r = c.resolve_topic(key, &BTreeMap::new());
        assert_eq!(r.value.as_deref(), Some("3600000"));
        assert_eq!(r.source, ConfigSource::StaticBroker);
        let mut topic = BTreeMap::new();
        topic.insert("retention.ms".to_string(), "5".to_string());
        let r = c.resolve_topic(key, &topic);
        assert_eq!(r.value.as_deref(), Some("5"));
        assert_eq!(r.synonyms.len(), 3);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(BrokerConfig::from_properties("num.partitions=x", &[]).is_err());
        assert!(BrokerConfig::from_properties("listeners=OTHER://:9093", &[]).is_err());
        assert!(BrokerConfig::from_properties("num.partitions=0", &[]).is_err());
        assert!(BrokerConfig::from_properties("some.unknown.key=1", &[]).is_ok());
    }

    #[test]
    fn roles_are_checked_against_the_voters_and_the_listeners() {
        let config = |text: &str| BrokerConfig::from_properties(text, &[]);
        let voters = "controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9094\n\
                      controller.listener.names=CONTROLLER\n";
        let refused = |text: String, key: &str, says: &str| match config(&text) {
            Err(ConfigError::Invalid { key: k, message }) => {
                assert_eq!(k, key, "{text}");
                assert!(message.contains(says), "{message}");
            }
            other => panic!("{text}: {other:?}"),
        };
        // A broker alone observes the voters; it must not be one.
        let broker = config(&format!(
            "{voters}process.roles=broker\nnode.id=3\nlisteners=PLAINTEXT://127.0.0.1:9092\n"
        ))
        .expect("a broker apart");
        assert!(broker.roles.broker && !broker.roles.controller);
        refused(
            format!(
                "{voters}process.roles=broker\nnode.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092\n"
            ),
            "controller.quorum.voters",
            "must not be one of the voters",
        );
        // A controller alone has its controller listener only.
        let controller = config(&format!(
            "{voters}process.roles=controller\nnode.id=1\nlisteners=CONTROLLER://127.0.0.1:9093\n"
        ))
        .expect("a controller apart");
        assert!(controller.listeners.is_empty() && controller.controller_listener.is_some());
        refused(
            format!(
                "{voters}process.roles=controller\nnode.id=1\n\
                 listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
            ),
            "listeners",
            "only its controller listener",
        );
        refused(
            format!("{voters}process.roles=controller\nnode.id=7\nlisteners=CONTROLLER://127.0.0.1:9093\n"),
            "controller.quorum.voters",
            "must be one of the voters",
        );
        refused(
            "process.roles=broker\nlisteners=PLAINTEXT://127.0.0.1:9092\n".into(),
            "controller.quorum.voters",
            "needs the quorum's voters",
        );
        refused(
            "process.roles=gateway\n".into(),
            "process.roles",
            "unknown role",
        );
    }
}
