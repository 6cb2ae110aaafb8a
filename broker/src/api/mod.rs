//! Request handlers, one module per API family. A handler takes the broker, the request
//! context and the decoded request, and returns the response; it never touches a socket.
//! Errors a client can act on go into the response as Kafka error codes, limited to those the
//! request's version knows.

pub mod acls;
pub mod api_versions;
pub(crate) mod auth;
pub mod configs;
pub mod consumer_groups;
pub mod delete_records;
pub mod describe_cluster;
pub mod describe_quorum;
pub mod elect_leaders;
pub mod fetch;
pub mod fetch_session;
pub mod group_admin;
pub mod groups;
pub mod leader_epoch;
pub mod list_offsets;
pub mod log_dirs;
pub mod metadata;
pub mod offsets;
pub mod produce;
pub mod producer_id;
pub mod raft_voters;
pub mod reassignments;
pub mod sasl;
pub mod scram_credentials;
pub mod topics;
pub mod transactions;
pub mod txn_admin;

use std::net::SocketAddr;

use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

/// What a handler knows about the request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    /// Who the connection authenticated as (`User:ANONYMOUS` until it does).
    pub principal: crate::authorizer::Principal,
    /// The name of the listener the request came in on: brokers are given to the client by
    /// their address on this listener, as Kafka does.
    pub listener: String,
}

/// A `StrBytes` from any string.
pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// A `TopicName` from any string.
pub(crate) fn topic_name(s: impl Into<String>) -> TopicName {
    TopicName(str_bytes(s))
}
