//! The tables of config keys the broker knows: Kafka's names, defaults, types and docs.
//!
//! Broker keys come from `server.properties`; topic keys are per-topic overrides whose default
//! comes from a broker key (a "synonym", in Kafka's words). DescribeConfigs is answered from
//! these tables, so every key listed here is one we honour or report exactly as Kafka does.

/// Kafka's config types, numbered as DescribeConfigs v3+ reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

/// One broker key.
#[derive(Debug)]
pub struct BrokerKey {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub kind: ConfigType,
    pub doc: &'static str,
}

/// A broker synonym of a topic key, with the factor that turns its unit into the topic key's.
#[derive(Debug)]
pub struct Synonym {
    pub name: &'static str,
    pub factor: i64,
}

/// One topic key: its default comes from the first synonym set in `server.properties`, else
/// from `default`.
#[derive(Debug)]
pub struct TopicKey {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub kind: ConfigType,
    pub synonyms: &'static [Synonym],
    pub doc: &'static str,
}

const fn syn(name: &'static str) -> Synonym {
    Synonym { name, factor: 1 }
}

const fn b(
    name: &'static str,
    default: Option<&'static str>,
    kind: ConfigType,
    doc: &'static str,
) -> BrokerKey {
    BrokerKey {
        name,
        default,
        kind,
        doc,
    }
}

use ConfigType::*;

/// Broker keys from `server.properties` that this broker reads or reports.
/// A group config (KIP-848's per-group overrides, Kafka's `GroupConfig`): its default is the
/// broker config named by `broker_key`.
#[derive(Debug)]
pub struct GroupKey {
    pub name: &'static str,
    pub broker_key: &'static str,
    pub kind: ConfigType,
    pub doc: &'static str,
}

/// The group configs of Kafka 4.0 that apply to the groups this broker runs (consumer groups;
/// share groups are not served).
pub const GROUP_KEYS: &[GroupKey] = &[
    GroupKey {
        name: "consumer.heartbeat.interval.ms",
        broker_key: "group.consumer.heartbeat.interval.ms",
        kind: ConfigType::Int,
        doc: "Heartbeat interval given to the members of this consumer group.",
    },
    GroupKey {
        name: "consumer.session.timeout.ms",
        broker_key: "group.consumer.session.timeout.ms",
        kind: ConfigType::Int,
        doc: "Session timeout of the members of this consumer group.",
    },
];

/// The broker keys Kafka lets AlterConfigs change at run time (KIP-226), per broker or as the
/// cluster-wide default: the defaults of topic configs, and a few that need no restart here
/// either. The SASL Kerberos keys are stored and reported; no listener here uses Kerberos.
pub const DYNAMIC_BROKER_KEYS: &[&str] = &[
    "log.segment.bytes",
    "log.roll.ms",
    "log.retention.ms",
    "log.retention.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.index.interval.bytes",
    "log.cleanup.policy",
    "log.message.timestamp.type",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.after.max.ms",
    "log.cleaner.delete.retention.ms",
    "compression.type",
    "min.insync.replicas",
    "message.max.bytes",
    "unclean.leader.election.enable",
    "max.connections",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
];

/// Whether AlterConfigs may change a broker key.
pub fn is_dynamic_broker_key(name: &str) -> bool {
    DYNAMIC_BROKER_KEYS.contains(&name)
}

/// The type of a broker key: its own, or that of the topic key it is the default of.
pub fn broker_key_kind(name: &str) -> Option<ConfigType> {
    broker_key(name).map(|k| k.kind).or_else(|| {
        TOPIC_KEYS
            .iter()
            .find(|t| t.synonyms.iter().any(|s| s.name == name))
            .map(|t| t.kind)
    })
}

pub const BROKER_KEYS: &[BrokerKey] = &[
    b(
        "sasl.kerberos.min.time.before.relogin",
        Some("60000"),
        Long,
        "Login thread sleep time between refresh attempts (Kerberos; stored, not used here).",
    ),
    b(
        "sasl.kerberos.ticket.renew.jitter",
        Some("0.05"),
        Double,
        "Random jitter added to the Kerberos renewal time (stored, not used here).",
    ),
    b(
        "sasl.kerberos.ticket.renew.window.factor",
        Some("0.8"),
        Double,
        "Share of the Kerberos ticket lifetime before renewal (stored, not used here).",
    ),
    b(
        "node.id",
        Some("1"),
        Int,
        "The id of this broker (Kafka's broker.id is a synonym).",
    ),
    b("broker.id", None, Int, "Old name of node.id."),
    b(
        "process.roles",
        Some("broker,controller"),
        List,
        "The roles of this node: broker, controller, or both (KRaft).",
    ),
    b(
        "controller.quorum.voters",
        None,
        List,
        "The controller quorum as id@host:port; empty runs a quorum of this node alone.",
    ),
    b(
        "controller.quorum.bootstrap.servers",
        None,
        List,
        "Controller addresses to find the quorum through (KIP-853); host:port.",
    ),
    b(
        "controller.listener.names",
        Some("CONTROLLER"),
        List,
        "Listeners the controller quorum uses.",
    ),
    b(
        "inter.broker.listener.name",
        None,
        String,
        "The listener brokers replicate over; defaults to the one named after security.inter.broker.protocol.",
    ),
    b(
        "security.inter.broker.protocol",
        Some("PLAINTEXT"),
        String,
        "Security protocol brokers reach each other with, when inter.broker.listener.name is not set.",
    ),
    b(
        "listener.security.protocol.map",
        Some("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"),
        List,
        "Security protocol of each listener name.",
    ),
    b(
        "sasl.enabled.mechanisms",
        Some("GSSAPI"),
        List,
        "SASL mechanisms a SASL listener serves: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (GSSAPI is Kafka's default and is not served here).",
    ),
    b(
        "sasl.mechanism.inter.broker.protocol",
        Some("GSSAPI"),
        String,
        "SASL mechanism brokers authenticate to each other with on a SASL inter-broker listener.",
    ),
    b(
        "sasl.jaas.config",
        None,
        Password,
        "JAAS login module of a SASL listener: PLAIN users (user_NAME=\"password\") and the broker's own username and password.",
    ),
    b(
        "sasl.oauthbearer.jwks.endpoint.url",
        None,
        String,
        "OAUTHBEARER: the JWKS whose keys sign valid tokens (a file:// URL).",
    ),
    b(
        "sasl.oauthbearer.expected.audience",
        None,
        List,
        "OAUTHBEARER: audiences a token must name one of (not checked when empty).",
    ),
    b(
        "sasl.oauthbearer.expected.issuer",
        None,
        String,
        "OAUTHBEARER: the issuer a token must name (not checked when empty).",
    ),
    b(
        "sasl.oauthbearer.sub.claim.name",
        Some("sub"),
        String,
        "OAUTHBEARER: the claim that names the principal.",
    ),
    b(
        "sasl.oauthbearer.clock.skew.seconds",
        Some("30"),
        Long,
        "OAUTHBEARER: how far exp and nbf may be off the broker's clock.",
    ),
    b(
        "sasl.server.max.receive.size",
        Some("524288"),
        Int,
        "Largest frame read before a connection has authenticated.",
    ),
    b(
        "connections.max.reauth.ms",
        Some("0"),
        Long,
        "Session lifetime of a SASL connection (KIP-368); it must re-authenticate before then. 0 is no limit.",
    ),
    b(
        "connection.failed.authentication.delay.ms",
        Some("100"),
        Int,
        "How long a connection that failed authentication waits before it is closed.",
    ),
    b(
        "connections.max.idle.ms",
        Some("600000"),
        Long,
        "A connection idle this long is closed.",
    ),
    b(
        "ssl.keystore.location",
        None,
        String,
        "The broker's certificate chain and private key: a PEM file (both in one file) or a PKCS12 file.",
    ),
    b(
        "ssl.keystore.type",
        Some("JKS"),
        String,
        "PEM or PKCS12 (JKS, Kafka's default, is read as whichever the file is; real JKS files are not supported).",
    ),
    b(
        "ssl.keystore.password",
        None,
        Password,
        "Password of a PKCS12 keystore.",
    ),
    b(
        "ssl.key.password",
        None,
        Password,
        "Password of the private key in a PKCS12 keystore (defaults to the keystore password).",
    ),
    b(
        "ssl.keystore.certificate.chain",
        None,
        Password,
        "The certificate chain in PEM, instead of a keystore file.",
    ),
    b(
        "ssl.keystore.key",
        None,
        Password,
        "The private key in PEM (unencrypted PKCS8, PKCS1 or SEC1), with ssl.keystore.certificate.chain.",
    ),
    b(
        "ssl.truststore.location",
        None,
        String,
        "CA certificates that client certificates (and, for the broker's own connections, other brokers) are checked against: PEM or PKCS12.",
    ),
    b(
        "ssl.truststore.type",
        Some("JKS"),
        String,
        "PEM or PKCS12, as ssl.keystore.type.",
    ),
    b(
        "ssl.truststore.password",
        None,
        Password,
        "Password of a PKCS12 truststore.",
    ),
    b(
        "ssl.truststore.certificates",
        None,
        Password,
        "Trusted CA certificates in PEM, instead of a truststore file.",
    ),
    b(
        "ssl.client.auth",
        Some("none"),
        String,
        "none, requested or required: whether clients of an SSL listener present certificates (mTLS).",
    ),
    b(
        "ssl.principal.mapping.rules",
        Some("DEFAULT"),
        String,
        "How a client certificate's subject becomes a principal name (DEFAULT: the subject DN; RULE:pattern/replacement/[LU]).",
    ),
    b(
        "ssl.endpoint.identification.algorithm",
        Some("https"),
        String,
        "https: a broker checks another broker's certificate names its host; empty: it does not.",
    ),
    b(
        "broker.rack",
        None,
        String,
        "Rack of this broker, for rack-aware replica placement.",
    ),
    b(
        "broker.heartbeat.interval.ms",
        Some("2000"),
        Int,
        "How often a broker heartbeats to the active controller.",
    ),
    b(
        "broker.session.timeout.ms",
        Some("9000"),
        Int,
        "A broker that has not heartbeated this long is fenced.",
    ),
    b(
        "replica.lag.time.max.ms",
        Some("30000"),
        Long,
        "A follower that has not caught up for this long leaves the ISR.",
    ),
    b(
        "replica.fetch.wait.max.ms",
        Some("500"),
        Int,
        "Longest wait of a follower's fetch.",
    ),
    b(
        "replica.fetch.max.bytes",
        Some("1048576"),
        Int,
        "Bytes a follower asks for per partition.",
    ),
    b(
        "replica.fetch.response.max.bytes",
        Some("10485760"),
        Int,
        "Bytes a follower asks for per fetch.",
    ),
    b(
        "auto.leader.rebalance.enable",
        Some("true"),
        Boolean,
        "Elect preferred replicas back when leadership is imbalanced.",
    ),
    b(
        "leader.imbalance.check.interval.seconds",
        Some("300"),
        Long,
        "How often the controller checks leadership balance.",
    ),
    b(
        "leader.imbalance.per.broker.percentage",
        Some("10"),
        Int,
        "Share of a broker's preferred partitions it may fail to lead before a rebalance.",
    ),
    b(
        "metadata.log.max.snapshot.interval.records",
        Some("20000"),
        Long,
        "Metadata records between snapshots of the metadata log.",
    ),
    b(
        "listeners",
        Some("PLAINTEXT://127.0.0.1:9092"),
        List,
        "Addresses the broker listens on.",
    ),
    b(
        "advertised.listeners",
        None,
        List,
        "Addresses given to clients; defaults to listeners.",
    ),
    b(
        "log.dirs",
        None,
        List,
        "Directories holding the partition logs; the first one is used.",
    ),
    b(
        "log.dir",
        Some("/tmp/kafka-logs"),
        String,
        "Used when log.dirs is not set.",
    ),
    b(
        "num.partitions",
        Some("1"),
        Int,
        "Default partition count of new topics.",
    ),
    b(
        "default.replication.factor",
        Some("1"),
        Int,
        "Default replication factor of new topics.",
    ),
    b(
        "auto.create.topics.enable",
        Some("true"),
        Boolean,
        "Create topics named in Metadata.",
    ),
    b(
        "delete.topic.enable",
        Some("true"),
        Boolean,
        "Allow DeleteTopics.",
    ),
    b(
        "authorizer.class.name",
        Some(""),
        String,
        "Any class name (org.apache.kafka.metadata.authorizer.StandardAuthorizer) turns ACL checks on; empty allows every request.",
    ),
    b(
        "super.users",
        None,
        List,
        "Principals allowed everything whatever the ACLs say, separated by ';' (User:admin;User:broker).",
    ),
    b(
        "allow.everyone.if.no.acl.found",
        Some("false"),
        Boolean,
        "Allow an action on a resource that no ACL covers.",
    ),
    b(
        "log.segment.bytes",
        Some("1073741824"),
        Int,
        "Size at which a segment is rolled.",
    ),
    b(
        "log.roll.ms",
        None,
        Long,
        "Age at which a segment is rolled (ms).",
    ),
    b(
        "log.roll.hours",
        Some("168"),
        Int,
        "Age at which a segment is rolled (hours).",
    ),
    b(
        "log.retention.ms",
        None,
        Long,
        "How long a segment is kept (ms).",
    ),
    b(
        "log.retention.minutes",
        None,
        Int,
        "How long a segment is kept (minutes).",
    ),
    b(
        "log.retention.hours",
        Some("168"),
        Int,
        "How long a segment is kept (hours).",
    ),
    b(
        "log.retention.bytes",
        Some("-1"),
        Long,
        "Partition size above which old segments go.",
    ),
    b(
        "log.retention.check.interval.ms",
        Some("300000"),
        Long,
        "Retention check period.",
    ),
    b(
        "log.flush.interval.messages",
        Some("9223372036854775807"),
        Long,
        "Flush every N messages.",
    ),
    b(
        "log.flush.interval.ms",
        None,
        Long,
        "Flush after this long (ms); unset means never.",
    ),
    b(
        "log.flush.scheduler.interval.ms",
        Some("9223372036854775807"),
        Long,
        "Flush check period.",
    ),
    b(
        "log.index.interval.bytes",
        Some("4096"),
        Int,
        "Bytes between offset index entries.",
    ),
    b(
        "log.cleanup.policy",
        Some("delete"),
        List,
        "Default cleanup policy of topics.",
    ),
    b(
        "log.message.timestamp.type",
        Some("CreateTime"),
        String,
        "CreateTime or LogAppendTime.",
    ),
    b(
        "compression.type",
        Some("producer"),
        String,
        "Final compression of topics' data.",
    ),
    b(
        "min.insync.replicas",
        Some("1"),
        Int,
        "Replicas that must ack an acks=all write.",
    ),
    b(
        "message.max.bytes",
        Some("1048588"),
        Int,
        "Largest record batch accepted.",
    ),
    b(
        "socket.request.max.bytes",
        Some("104857600"),
        Int,
        "Largest request accepted.",
    ),
    b(
        "max.connections",
        Some("2147483647"),
        Int,
        "Most connections at once.",
    ),
    b(
        "max.incremental.fetch.session.cache.slots",
        Some("1000"),
        Int,
        "Most incremental fetch sessions (KIP-227) kept at once.",
    ),
    b(
        "replica.high.watermark.checkpoint.interval.ms",
        Some("5000"),
        Long,
        "How often every partition's high watermark is written to replication-offset-checkpoint.",
    ),
    b(
        "transaction.state.log.num.partitions",
        Some("50"),
        Int,
        "Partitions of __transaction_state.",
    ),
    b(
        "transaction.state.log.replication.factor",
        Some("3"),
        Short,
        "Replication factor of __transaction_state (at most the number of brokers here).",
    ),
    b(
        "transaction.state.log.min.isr",
        Some("2"),
        Int,
        "min.insync.replicas of __transaction_state.",
    ),
    b(
        "transaction.state.log.segment.bytes",
        Some("104857600"),
        Int,
        "segment.bytes of __transaction_state.",
    ),
    b(
        "transaction.partition.verification.enable",
        Some("true"),
        Boolean,
        "Check with the coordinator that a transactional batch opening a transaction on a partition belongs to the producer's open transaction (KIP-890).",
    ),
    b(
        "transaction.max.timeout.ms",
        Some("900000"),
        Int,
        "Longest transaction.timeout.ms a producer may ask for.",
    ),
    b(
        "transactional.id.expiration.ms",
        Some("604800000"),
        Int,
        "How long a transactional id with nothing open is kept after its last use.",
    ),
    b(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Some("10000"),
        Int,
        "How often transactions open past their timeout are looked for and aborted.",
    ),
    b(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Some("3600000"),
        Int,
        "How often expired transactional ids are looked for and removed.",
    ),
    b(
        "offsets.topic.num.partitions",
        Some("50"),
        Int,
        "Partitions of __consumer_offsets.",
    ),
    b(
        "offsets.retention.minutes",
        Some("10080"),
        Int,
        "Offsets of a group empty this long (or committed this long ago outside a group) expire.",
    ),
    b(
        "log.cleaner.backoff.ms",
        Some("15000"),
        Long,
        "How often compacted partitions are checked for a segment to clean.",
    ),
    b(
        "log.cleaner.dedupe.buffer.size",
        Some("134217728"),
        Long,
        "The total memory used for log deduplication across all cleaner threads (one here): \
         the cleaner's key map holds 24 bytes per key, and a pass whose dirty part has more \
         keys cleans what fits and leaves the rest to the next pass.",
    ),
    b(
        "offsets.retention.check.interval.ms",
        Some("600000"),
        Long,
        "How often expired offsets are looked for.",
    ),
    b(
        "offsets.topic.replication.factor",
        Some("3"),
        Short,
        "Replication factor of __consumer_offsets (at most the number of brokers here).",
    ),
    b(
        "offsets.topic.segment.bytes",
        Some("104857600"),
        Int,
        "Segment size of __consumer_offsets.",
    ),
    b(
        "offset.metadata.max.bytes",
        Some("4096"),
        Int,
        "Longest metadata string an offset commit may carry.",
    ),
    b(
        "group.min.session.timeout.ms",
        Some("6000"),
        Int,
        "Shortest session timeout a member may ask for.",
    ),
    b(
        "group.max.session.timeout.ms",
        Some("1800000"),
        Int,
        "Longest session timeout a member may ask for.",
    ),
    b(
        "group.initial.rebalance.delay.ms",
        Some("3000"),
        Int,
        "How long the first rebalance of an empty group waits for more members.",
    ),
    b(
        "group.max.size",
        Some("2147483647"),
        Int,
        "Most members in one group.",
    ),
    b(
        "group.consumer.heartbeat.interval.ms",
        Some("5000"),
        Int,
        "Heartbeat interval given to members of consumer groups (KIP-848).",
    ),
    b(
        "group.consumer.session.timeout.ms",
        Some("45000"),
        Int,
        "Session timeout of members of consumer groups (KIP-848).",
    ),
    b(
        "group.consumer.max.size",
        Some("2147483647"),
        Int,
        "Most members in one consumer group (KIP-848).",
    ),
    b(
        "unclean.leader.election.enable",
        Some("false"),
        Boolean,
        "Elect out-of-sync replicas.",
    ),
];

/// Topic keys, with their broker synonyms, as Kafka 4.x lists them.
pub const TOPIC_KEYS: &[TopicKey] = &[
    t(
        "cleanup.policy",
        "delete",
        List,
        &[syn("log.cleanup.policy")],
        "delete or compact.",
    ),
    t(
        "compression.type",
        "producer",
        String,
        &[syn("compression.type")],
        "Final codec.",
    ),
    t(
        "delete.retention.ms",
        "86400000",
        Long,
        &[syn("log.cleaner.delete.retention.ms")],
        "Tombstone retention.",
    ),
    t(
        "file.delete.delay.ms",
        "60000",
        Long,
        &[syn("log.segment.delete.delay.ms")],
        "Delay before a file is deleted.",
    ),
    t(
        "flush.messages",
        "9223372036854775807",
        Long,
        &[syn("log.flush.interval.messages")],
        "Flush every N messages.",
    ),
    t(
        "flush.ms",
        "9223372036854775807",
        Long,
        &[syn("log.flush.interval.ms")],
        "Flush after this long.",
    ),
    t(
        "index.interval.bytes",
        "4096",
        Int,
        &[syn("log.index.interval.bytes")],
        "Bytes between index entries.",
    ),
    t(
        "max.compaction.lag.ms",
        "9223372036854775807",
        Long,
        &[syn("log.cleaner.max.compaction.lag.ms")],
        "Max time uncompacted.",
    ),
    t(
        "max.message.bytes",
        "1048588",
        Int,
        &[syn("message.max.bytes")],
        "Largest record batch.",
    ),
    t(
        "message.timestamp.after.max.ms",
        "3600000",
        Long,
        &[syn("log.message.timestamp.after.max.ms")],
        "Future timestamp bound.",
    ),
    t(
        "message.timestamp.before.max.ms",
        "9223372036854775807",
        Long,
        &[syn("log.message.timestamp.before.max.ms")],
        "Past timestamp bound.",
    ),
    t(
        "message.timestamp.type",
        "CreateTime",
        String,
        &[syn("log.message.timestamp.type")],
        "CreateTime or LogAppendTime.",
    ),
    t(
        "min.cleanable.dirty.ratio",
        "0.5",
        Double,
        &[syn("log.cleaner.min.cleanable.ratio")],
        "Dirty ratio to compact.",
    ),
    t(
        "min.compaction.lag.ms",
        "0",
        Long,
        &[syn("log.cleaner.min.compaction.lag.ms")],
        "Min time uncompacted.",
    ),
    t(
        "min.insync.replicas",
        "1",
        Int,
        &[syn("min.insync.replicas")],
        "Replicas for acks=all.",
    ),
    t(
        "preallocate",
        "false",
        Boolean,
        &[syn("log.preallocate")],
        "Preallocate segment files.",
    ),
    t(
        "retention.bytes",
        "-1",
        Long,
        &[syn("log.retention.bytes")],
        "Partition size bound.",
    ),
    t(
        "retention.ms",
        "604800000",
        Long,
        RETENTION_SYNONYMS,
        "How long data is kept.",
    ),
    t(
        "segment.bytes",
        "1073741824",
        Int,
        &[syn("log.segment.bytes")],
        "Segment size.",
    ),
    t(
        "segment.index.bytes",
        "10485760",
        Int,
        &[syn("log.index.size.max.bytes")],
        "Index size.",
    ),
    t(
        "segment.jitter.ms",
        "0",
        Long,
        &[
            syn("log.roll.jitter.ms"),
            Synonym {
                name: "log.roll.jitter.hours",
                factor: 3_600_000,
            },
        ],
        "Roll jitter.",
    ),
    t(
        "segment.ms",
        "604800000",
        Long,
        ROLL_SYNONYMS,
        "Segment age before roll.",
    ),
    t(
        "unclean.leader.election.enable",
        "false",
        Boolean,
        &[syn("unclean.leader.election.enable")],
        "Unclean election.",
    ),
];

const RETENTION_SYNONYMS: &[Synonym] = &[
    Synonym {
        name: "log.retention.ms",
        factor: 1,
    },
    Synonym {
        name: "log.retention.minutes",
        factor: 60_000,
    },
    Synonym {
        name: "log.retention.hours",
        factor: 3_600_000,
    },
];

const ROLL_SYNONYMS: &[Synonym] = &[
    Synonym {
        name: "log.roll.ms",
        factor: 1,
    },
    Synonym {
        name: "log.roll.hours",
        factor: 3_600_000,
    },
];

const fn t(
    name: &'static str,
    default: &'static str,
    kind: ConfigType,
    synonyms: &'static [Synonym],
    doc: &'static str,
) -> TopicKey {
    TopicKey {
        name,
        default: Some(default),
        kind,
        synonyms,
        doc,
    }
}

/// The broker key of this name, if we know it.
pub fn broker_key(name: &str) -> Option<&'static BrokerKey> {
    BROKER_KEYS.iter().find(|k| k.name == name)
}

/// The topic key of this name, if we know it.
pub fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

/// Checks a value against a key's type; returns a message naming the problem.
pub fn check_value(kind: ConfigType, value: &str) -> Result<(), std::string::String> {
    let ok = match kind {
        Boolean => matches!(value, "true" | "false"),
        Int => value.trim().parse::<i32>().is_ok(),
        Short => value.trim().parse::<i16>().is_ok(),
        Long => value.trim().parse::<i64>().is_ok(),
        Double => value.trim().parse::<f64>().is_ok(),
        String | List | Class | Password => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{value}' is not a valid {kind:?}"))
    }
}

/// Checks the values Kafka restricts to a set or a range.
pub fn check_topic_value(key: &TopicKey, value: &str) -> Result<(), std::string::String> {
    check_value(key.kind, value)?;
    let allowed: Option<&[&str]> = match key.name {
        "cleanup.policy" => {
            let bad = value
                .split(',')
                .map(str::trim)
                .find(|p| !matches!(*p, "delete" | "compact"));
            return bad.map_or(Ok(()), |p| Err(format!("'{p}' is not delete or compact")));
        }
        "compression.type" => Some(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
        "message.timestamp.type" => Some(&["CreateTime", "LogAppendTime"]),
        _ => None,
    };
    match allowed {
        Some(set) if !set.contains(&value) => Err(format!("'{value}' is not one of {set:?}")),
        _ => Ok(()),
    }
}
