//! `ktui-broker`: a Kafka wire-compatible broker with a durable log.
//!
//! # Layout
//!
//! - `config`: `server.properties` keys with Kafka's names and defaults; topic config resolution.
//! - `limits`: every bound on input and queues, as named constants.
//! - `wire`: framing and headers, no I/O.
//! - `server`: listener, connection loop, dispatch table (which also answers ApiVersions).
//! - `api`: one module per API family; handlers never touch sockets.
//! - `cluster`: brokers, topics, partitions (replicas, leader, epoch, ISR), persisted.
//! - `replica` and `partition`: the partitions hosted here and the checks on what they store.
//! - `log`: Kafka's on-disk log: segments, indexes, recovery, retention.
//! - `coordinator`: consumer groups and committed offsets, kept in `__consumer_offsets`.
//! - `authorizer`: which operations a client may perform (KIP-430's authorized operations).
//!
//! Start one with [`RunningBroker::start`] and stop it with [`RunningBroker::shutdown`].

pub mod alloc;
pub mod api;
pub mod authorizer;
mod broker;
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod limits;
pub mod log;
pub mod partition;
pub mod replica;
pub mod server;
pub mod wire;

pub use broker::{now_ms, Broker, RunningBroker, StartError};
pub use config::BrokerConfig;
