#![allow(unreachable_pub)]
//! CLI tests: the real `ktui` binary against the workspace broker running in-process on a free
//! loopback port, asserting exit codes and JSON output, and cross-checking with librdkafka.

/// The broker runs in this process; hostile counts must not abort it (`ktui_broker::alloc`).
#[global_allocator]
static GLOBAL: ktui_broker::alloc::LazyHugeAlloc = ktui_broker::alloc::LazyHugeAlloc;

mod acls;
#[path = "../support/certs.rs"]
mod certs;
mod cluster_admin;
mod common;
mod config_sources;
mod consume_groups;
mod errors;
mod groups;
mod local_cluster;
#[path = "../support/local_data.rs"]
mod local_data;
mod local_secure;
mod log_dirs;
mod oauthbearer;
#[path = "../support/own_runtime_broker.rs"]
mod own_runtime_broker;
mod partitioner;
mod perf;
/// The cluster harness, shared with the broker tests; not every helper is used here.
#[allow(dead_code)]
#[path = "../support/process_cluster.rs"]
mod process_cluster;
mod python;
mod quorum_voters;
/// Needed by the cluster harness; its other helpers serve the broker tests.
#[allow(dead_code)]
#[path = "../support/raw.rs"]
mod raw;
mod records;
mod tls;
mod tool_flags;
mod topics;
mod transactions;
mod users;
