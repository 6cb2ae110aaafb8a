#![allow(unreachable_pub)]
//! Broker integration tests: the broker runs in-process on a free loopback port and real
//! clients (librdkafka through the rdkafka crate, and raw sockets for malformed input) use it.

/// The broker runs in this process; hostile counts must not abort it (`ktui_broker::alloc`).
#[global_allocator]
static GLOBAL: ktui_broker::alloc::LazyHugeAlloc = ktui_broker::alloc::LazyHugeAlloc;

mod acls;
mod acls_admin;
mod acls_cluster;
mod acls_matrix;
mod acls_rules;
mod clients;
mod cluster;
mod common;
mod compaction;
mod configs;
mod consumer_protocol;
mod fetch_sessions;
mod group_protocol;
mod groups;
mod long_poll;
mod malformed;
mod offset_reset;
mod offsets;
mod produce_consume;
#[path = "../support/raw.rs"]
mod raw;
mod record_errors;
mod recovery;
#[path = "../support/certs.rs"]
mod security_certs;
mod security_cluster;
mod security_connections;
mod security_listeners;
mod security_python;
mod security_sasl;
mod security_scram;
mod security_tls;
mod shutdown;
mod timestamps;
mod topics;
mod transactions;
