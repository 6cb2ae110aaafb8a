//! `ktui-broker`: a Kafka wire-compatible broker with a durable log.
//!
//! # Layout
//!
//! - `config`: `server.properties` keys with Kafka's names and defaults; topic config resolution.
//! - `limits`: every bound on input and queues, as named constants.
//! - `wire`: framing and headers, no I/O.
//! - `server`: listener, connection loop, dispatch table (which also answers ApiVersions).
//! - `api`: one module per API family; handlers never touch sockets.
//! - `cluster`: the metadata image (brokers, topics, partitions with replicas, leader, epochs
//!   and ISR) and Kafka's metadata records it is replayed from.
//! - `quorum`: the metadata log, replicated by Raft (`openraft`) across the controllers.
//! - `controller`: the active controller's decisions, written as metadata records.
//! - `lifecycle` and `publisher`: this broker registering and heartbeating, and reacting to
//!   metadata changes.
//! - `storage`: `meta.properties`, the cluster a data directory belongs to.
//! - `replica` and `partition`: the partitions hosted here, the checks on what they store, and
//!   their replication state (ISR, high watermark).
//! - `replication`: followers fetching from leaders; ISR changes proposed to the controller.
//! - `log`: Kafka's on-disk log: segments, indexes, recovery, retention.
//! - `coordinator`: consumer groups and committed offsets, kept in `__consumer_offsets`.
//! - `authorizer`: ACLs and the decision whether a principal may perform an operation on a
//!   resource (Kafka's StandardAuthorizer), and KIP-430's authorized operations.
//! - `security`: TLS and SASL on the listeners, and on a broker's connections to others.
//!
//! Start one with [`RunningBroker::start`] and stop it with [`RunningBroker::shutdown`].

pub mod alloc;
pub mod api;
pub mod authorizer;
mod broker;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod error;
pub mod hw_checkpoint;
mod lifecycle;
pub mod limits;
pub mod log;
pub mod partition;
mod publisher;
pub mod quorum;
pub mod replica;
pub mod replication;
pub mod security;
pub mod server;
pub mod storage;
pub mod wire;

pub use broker::{now_ms, Broker, RunningBroker, StartError};
pub use config::BrokerConfig;
