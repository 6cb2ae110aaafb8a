#![allow(unreachable_pub)]
//! Console tests: screens drawn from fixtures into ratatui's TestBackend and compared with
//! insta snapshots (`snapshots/`, two terminal sizes each), key sequences driven through the
//! app state machine, and an end-to-end run of the real binary in tmux against the
//! workspace broker.

/// The broker runs in this process; hostile counts must not abort it (`ktui_broker::alloc`).
#[global_allocator]
static GLOBAL: ktui_broker::alloc::LazyHugeAlloc = ktui_broker::alloc::LazyHugeAlloc;

mod e2e;
mod e2e_cluster;
mod fixtures;
mod keys;
mod local;
#[path = "../support/local_data.rs"]
mod local_data;
#[path = "../support/own_runtime_broker.rs"]
mod own_runtime_broker;
mod screens;
mod writes;
