//! `ktui local up -n N` and its companions: a cluster of N broker processes on 127.0.0.1, each
//! a combined broker and controller (KRaft's `process.roles=broker,controller`), started
//! detached from this executable as `ktui broker --cluster-id ID --override ...`.
//!
//! `up` makes the cluster (ports, a cluster id, a folder per node under
//! `<data dir>/cluster/`) or starts again the nodes of the one it made before, then returns
//! once every node answers Metadata listing them all. `stop ID` and `start ID` stop one node and
//! start it again with the same ports and data; `down` stops them all; `status` shows each node
//! and which one the cluster names its controller. Nodes are signalled only by the pid recorded
//! when they were started. Layout: `state` (the state file and the folders), `ports`,
//! `broker_args` (a node's command line), `probe` (asking the cluster with ktui's client),
//! `report` (what the commands print); processes are `super::process`'s.

mod broker_args;
mod ports;
mod probe;
pub mod report;
pub mod secure;
pub mod state;

use std::collections::BTreeSet;
use std::fs;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::process::{self, Signal};
pub use probe::Answer;
use state::{ClusterState, NodeState};

/// The most nodes `up -n` starts: a dev cluster on one machine, not a load test.
pub const NODES_MAX: u16 = 16;
/// How long `up` and `start` wait for the cluster to list their nodes, and `stop` and `down`
/// for nodes to exit after SIGTERM (a broker drains and flushes first).
const WAIT_MAX: Duration = Duration::from_secs(30);
/// How long a node started by a command that then failed gets to exit after SIGTERM before
/// it is killed.
const ABANDON_GRACE: Duration = Duration::from_secs(10);

/// The cluster after `up`.
#[derive(Debug)]
pub struct Ready {
    pub state: ClusterState,
    /// Nodes this `up` started (the others were running already).
    pub started: Vec<i32>,
    /// From the start of `up` until metadata listed every node.
    pub elapsed: Duration,
}

/// The node `start` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: i32,
    /// Its Kafka listener.
    pub addr: String,
    /// The new process; `None` when the node was running already.
    pub pid: Option<u32>,
}

/// A node that `stop` or `down` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    pub id: i32,
    pub pid: u32,
}

/// Each node as `status` shows it.
#[derive(Debug)]
pub struct Status {
    pub state: ClusterState,
    /// Whether each node's recorded process runs, in node order.
    pub alive: Vec<bool>,
    /// The cluster's answer, or why there is none (no node runs, or none answered).
    pub answer: Result<Answer, String>,
}

impl Status {
    /// Whether any node runs.
    pub fn any_alive(&self) -> bool {
        self.alive.iter().any(|a| *a)
    }
}

/// A running local cluster, for the console to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// How many nodes the cluster has.
    pub nodes: usize,
    /// The settings to connect with: the Kafka listeners of the nodes that run, and SASL_SSL
    /// as the admin on a secured cluster.
    pub client: crate::config::ClientConfig,
    /// Made with `--secure`.
    pub secure: bool,
}

/// A node process this command started and still owns, so an early exit shows at once.
struct Launched {
    id: i32,
    child: Child,
}

/// Starts the cluster of `nodes` nodes (made with Kafka ports from `port_base` up when it is
/// new), or the stopped nodes of the one made before; returns once every node answers metadata
/// listing them all.
pub fn up(nodes: usize, port_base: u16, secure: bool) -> anyhow::Result<Ready> {
    let began = Instant::now();
    let mut state = match ClusterState::load()? {
        Some(state) if secure && state.secure.is_none() => bail!(
            "the local cluster in {} was made without --secure; stop it (`ktui local down`) \
             and delete that folder to make a secured one",
            state::cluster_dir().display()
        ),
        Some(state) if state.nodes.len() == nodes => state,
        Some(state) => bail!(
            "the local cluster in {} has {} nodes: `ktui local up -n {}` starts it; for a new \
             cluster, stop it (`ktui local down`) and delete that folder",
            state::cluster_dir().display(),
            state.nodes.len(),
            state.nodes.len()
        ),
        None => new_cluster(nodes, port_base, secure)?,
    };
    let stopped: Vec<i32> = state
        .nodes
        .iter()
        .filter(|n| !node_runs(n))
        .map(|n| n.id)
        .collect();
    let launched = launch(&mut state, &stopped)?;
    let bootstrap: Vec<String> = state.nodes.iter().map(NodeState::kafka_addr).collect();
    let expected: BTreeSet<i32> = state.nodes.iter().map(|n| n.id).collect();
    if let Err(e) = await_listed(&mut state, launched, &bootstrap, &expected) {
        return Err(e).context(format!(
            "the local cluster did not start (nodes this command started were stopped); see \
             the node logs: {}",
            logs(&state.nodes)
        ));
    }
    Ok(Ready {
        state,
        started: stopped,
        elapsed: began.elapsed(),
    })
}

/// Starts node `id` again with its ports and data; returns once it answers metadata listing
/// every node that runs.
pub fn start(id: i32) -> anyhow::Result<Started> {
    let mut state = existing()?;
    let node = state.node(id)?;
    let addr = node.kafka_addr();
    if node_runs(node) {
        return Ok(Started {
            id,
            addr,
            pid: None,
        });
    }
    let launched = launch(&mut state, &[id])?;
    let pid = launched[0].child.id();
    let expected: BTreeSet<i32> = running_nodes(&state).map(|n| n.id).collect();
    if let Err(e) = await_listed(&mut state, launched, std::slice::from_ref(&addr), &expected) {
        let log = state::log_of(&state::node_dir(id));
        return Err(e).context(format!(
            "node {id} did not join the local cluster and was stopped again; see {}. A node \
             joins only while a majority of the cluster's {} nodes runs; `ktui local up -n {}` \
             starts every stopped node",
            log.display(),
            state.nodes.len(),
            state.nodes.len()
        ));
    }
    Ok(Started {
        id,
        addr,
        pid: Some(pid),
    })
}

/// Stops node `id` with `signal` and waits for it to exit; `None` if it was not running.
pub fn stop(id: i32, signal: Signal) -> anyhow::Result<Option<Stopped>> {
    let mut state = existing()?;
    let node = state.node(id)?.clone();
    let stopped = match node.pid.filter(|_| node_runs(&node)) {
        Some(pid) => {
            process::signal(pid, signal)?;
            if !process::wait_exit(&[pid], WAIT_MAX).is_empty() {
                bail!(
                    "node {id} (pid {pid}) did not exit within {WAIT_MAX:?}; `ktui local stop \
                     {id} --kill` ends it at once"
                );
            }
            Some(Stopped { id, pid })
        }
        None => None,
    };
    state.node_mut(id)?.pid = None;
    state.save()?;
    Ok(stopped)
}

/// Stops every node (SIGTERM, all at once) and waits for them to exit; returns those stopped.
/// The state file and the data stay, so `up` starts the same cluster again.
pub fn down() -> anyhow::Result<Vec<Stopped>> {
    let Some(mut state) = ClusterState::load()? else {
        return Ok(Vec::new());
    };
    let running: Vec<Stopped> = state
        .nodes
        .iter()
        .filter(|n| node_runs(n))
        .filter_map(|n| {
            Some(Stopped {
                id: n.id,
                pid: n.pid?,
            })
        })
        .collect();
    for node in &running {
        process::signal(node.pid, Signal::Term)?;
    }
    let pids: Vec<u32> = running.iter().map(|n| n.pid).collect();
    let left = process::wait_exit(&pids, WAIT_MAX);
    for node in &mut state.nodes {
        if !node.pid.is_some_and(|pid| left.contains(&pid)) {
            node.pid = None;
        }
    }
    state.save()?;
    if !left.is_empty() {
        bail!(
            "pids {left:?} did not exit within {WAIT_MAX:?}; `ktui local stop ID --kill` ends a \
             node at once"
        );
    }
    Ok(running)
}

/// Each node and what the cluster says; `None` when no cluster was made.
pub fn status() -> anyhow::Result<Option<Status>> {
    let Some(state) = ClusterState::load()? else {
        return Ok(None);
    };
    let alive: Vec<bool> = state.nodes.iter().map(node_runs).collect();
    let bootstrap: Vec<String> = running_nodes(&state).map(NodeState::kafka_addr).collect();
    let answer = if bootstrap.is_empty() {
        Err("no node runs".to_string())
    } else {
        probe::ask(&state.client_config(Vec::new()), &bootstrap).map_err(|e| format!("{e:#}"))
    };
    Ok(Some(Status {
        state,
        alive,
        answer,
    }))
}

/// The local cluster, if any of its nodes runs (no network: the console asks before it opens).
pub fn running() -> Option<Running> {
    let state = ClusterState::load().ok()??;
    let bootstrap: Vec<String> = running_nodes(&state).map(NodeState::kafka_addr).collect();
    (!bootstrap.is_empty()).then(|| Running {
        client: state.client_config(bootstrap),
        nodes: state.nodes.len(),
        secure: state.secure.is_some(),
    })
}

/// The state of the cluster made before, or an error saying how to make one.
fn existing() -> anyhow::Result<ClusterState> {
    ClusterState::load()?
        .context("there is no local cluster; `ktui local up -n 3` starts one of three nodes")
}

/// A new cluster's state (ports chosen, a new cluster id, no process yet), saved.
fn new_cluster(nodes: usize, port_base: u16, secure: bool) -> anyhow::Result<ClusterState> {
    let ports = ports::choose(nodes, port_base)?;
    let state = ClusterState {
        secure: secure.then(secure::Secure::new),
        cluster_id: state::new_cluster_id(),
        nodes: ports
            .iter()
            .zip(0..)
            .map(|(p, id)| NodeState {
                id,
                kafka_port: p.kafka,
                controller_port: p.controller,
                pid: None,
            })
            .collect(),
    };
    if let Some(secure) = &state.secure {
        secure::prepare(&state, secure)?;
    }
    state.save()?;
    Ok(state)
}

/// Starts the nodes `ids` (their ports checked free first), recording each pid as it starts.
fn launch(state: &mut ClusterState, ids: &[i32]) -> anyhow::Result<Vec<Launched>> {
    for id in ids {
        ports::check_free(state.node(*id)?)?;
    }
    let mut launched = Vec::with_capacity(ids.len());
    for id in ids {
        match launch_one(state, *id) {
            Ok(child) => launched.push(Launched { id: *id, child }),
            Err(e) => {
                abandon(state, launched);
                return Err(e);
            }
        }
        state.node_mut(*id)?.pid = launched.last().map(|l| l.child.id());
        state.save()?;
    }
    Ok(launched)
}

fn launch_one(state: &ClusterState, id: i32) -> anyhow::Result<Child> {
    let node = state.node(id)?;
    let dir = state::node_dir(id);
    let data = state::data_dir_of(&dir);
    fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let secure = match &state.secure {
        Some(secure) => Some(broker_args::SecureArgs {
            properties: secure::write_node_properties(node, secure)?,
            // Only a node that formats its data directory creates the admin user.
            add_scram: (!data.join("meta.properties").exists()).then(|| secure::add_scram(secure)),
        }),
        None => None,
    };
    let args = broker_args::broker_args(state, node, &data, secure.as_ref());
    process::spawn_detached(&args, &state::log_of(&dir))
}

/// Waits until each of `nodes` (Kafka listeners) answers metadata listing every node in
/// `expected`. When they do not in time, or a node this command started exits first, the nodes
/// it started are stopped again.
fn await_listed(
    state: &mut ClusterState,
    mut launched: Vec<Launched>,
    nodes: &[String],
    expected: &BTreeSet<i32>,
) -> anyhow::Result<()> {
    let base = state.client_config(Vec::new());
    let waited = probe::wait_listed(&base, nodes, expected, WAIT_MAX, || {
        check_launched(&mut launched)
    });
    if waited.is_err() {
        abandon(state, launched);
    }
    waited.map(drop)
}

/// Fails if a node this command started has exited, quoting the end of its log.
fn check_launched(launched: &mut [Launched]) -> anyhow::Result<()> {
    for node in launched {
        if let Some(exit) = node.child.try_wait()? {
            let log = state::log_of(&state::node_dir(node.id));
            bail!(
                "node {} exited ({exit}); the end of {}:{}",
                node.id,
                log.display(),
                process::log_tail(&log)
            );
        }
    }
    Ok(())
}

/// Stops the nodes a failing command started (SIGTERM, then SIGKILL after a grace period) and
/// forgets their pids.
fn abandon(state: &mut ClusterState, mut launched: Vec<Launched>) {
    let mut pids = Vec::with_capacity(launched.len());
    for node in &mut launched {
        if matches!(node.child.try_wait(), Ok(None)) {
            let _ = process::signal(node.child.id(), Signal::Term);
            pids.push(node.child.id());
        }
    }
    for pid in process::wait_exit(&pids, ABANDON_GRACE) {
        let _ = process::signal(pid, Signal::Kill);
    }
    for mut node in launched {
        let _ = node.child.wait();
        if let Ok(recorded) = state.node_mut(node.id) {
            recorded.pid = None;
        }
    }
    let _ = state.save();
}

/// Whether the node's recorded process runs and is that node's broker (its command line names
/// the node's data directory), not another process that got the pid since.
fn node_runs(node: &NodeState) -> bool {
    let data = state::data_dir_of(&state::node_dir(node.id));
    let marker = format!("log.dirs={}", data.display());
    node.pid.is_some_and(|pid| process::runs(pid, &marker))
}

fn running_nodes(state: &ClusterState) -> impl Iterator<Item = &NodeState> {
    state.nodes.iter().filter(|n| node_runs(n))
}

/// Every node's log, for an error message.
fn logs(nodes: &[NodeState]) -> String {
    nodes
        .iter()
        .map(|n| state::log_of(&state::node_dir(n.id)).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
