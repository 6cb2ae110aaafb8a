#![allow(unreachable_pub)]
//! Broker integration tests: the broker runs in-process on a free loopback port and real
//! clients (librdkafka through the rdkafka crate, and raw sockets for malformed input) use it.

mod clients;
mod common;
mod compaction;
mod configs;
mod consumer_protocol;
mod group_protocol;
mod groups;
mod malformed;
mod offset_reset;
mod offsets;
mod produce_consume;
mod raw;
mod record_errors;
mod recovery;
mod timestamps;
mod topics;
