//! The async Kafka client, on kafka-protocol's messages and record batches.
//!
//! - `connection`: one broker: framing, correlation ids, pipelining, timeouts, transport.
//! - `lenient`: response decoding that skips tagged fields sent outside their versions.
//! - `versions`: ApiVersions negotiation: the highest version both sides speak.
//! - `sasl`: the authentication step after ApiVersions (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER).
//! - `oauth`: OAUTHBEARER tokens: an OIDC token endpoint, a token file, or a token given.
//! - `scram`: the SCRAM exchange's messages and proofs.
//! - `cluster`: bootstrap, metadata cache, leader and coordinator routing, retries.
//! - `admin`: topics, configs, partition offsets.
//! - `acls`: ACLs (DescribeAcls, CreateAcls, DeleteAcls) with Kafka's names.
//! - `scram_users`: SCRAM users (KIP-554), passwords salted on this side.
//! - `log_dirs`: each broker's log directories and the bytes of every partition in them.
//! - `elections`: preferred and unclean leader elections (ElectLeaders).
//! - `reassignments`: moving partition replicas between brokers, and the moves in progress.
//! - `placement`: Kafka's replica placement, for proposed reassignments.
//! - `quorum`: the KRaft controller quorum of the metadata log (DescribeQuorum).
//! - `groups`: consumer groups: list, describe, committed offsets, delete, commit.
//! - `lag`: committed offsets against log end offsets.
//! - `isolation`: read_committed and read_uncommitted, and what read_committed hides.
//! - `transactions`: transactions (KIP-664): list, describe, abort a hanging one.
//! - `producers`: a partition's active producers and their open transactions.
//! - `membership`: joining a consumer group (classic or KIP-848) and keeping its assignment.
//! - `partitioner`: Kafka's default partitioner (murmur2).
//! - `produce`: batching producer for one topic.
//! - `tail`: fetch streams of decoded records, one Fetch in flight per leader broker.
//! - `tls`: rustls under a connection for SSL and SASL_SSL.

pub mod acls;
pub mod admin;
pub mod cluster;
pub mod connection;
pub mod elections;
pub mod fence;
pub mod groups;
pub mod hanging;
pub mod isolation;
pub mod lag;
mod lenient;
pub mod log_dirs;
pub mod membership;
pub mod oauth;
pub mod partitioner;
pub mod placement;
pub mod produce;
pub mod producers;
pub mod quorum;
pub mod reassignments;
pub mod sasl;
pub mod scram;
pub mod scram_users;
pub mod tail;
#[cfg(test)]
mod test_proxy;
#[cfg(test)]
mod test_server;
pub mod tls;
pub mod transactions;
pub mod versions;

pub use cluster::Cluster;
