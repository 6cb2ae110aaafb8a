//! What `ktui local up -n N` records about its cluster, in `<data dir>/cluster/cluster.json`:
//! the cluster id every node was formatted with, and per node its id, ports and the pid of its
//! process while one runs. Also where each node keeps its data and its log, and how a new
//! cluster id is made. Starting, stopping and asking the nodes is `cluster`'s.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The local cluster as launched: enough to restart any node as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Kafka's cluster id (22 characters of URL-safe base64). Every node formats its data
    /// directory with it at first start and refuses a directory of another cluster, so a node
    /// restarted by `ktui local start ID` must be given the same one.
    pub cluster_id: String,
    /// Sorted by node id, which runs from 0.
    pub nodes: Vec<NodeState>,
    /// Set for a cluster made with `--secure` (SASL_SSL, SCRAM, ACLs): the admin's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<super::secure::Secure>,
}

/// One combined broker and controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// Kafka's `node.id`.
    pub id: i32,
    /// The PLAINTEXT listener clients use.
    pub kafka_port: u16,
    /// The CONTROLLER listener the quorum uses; fixed for the cluster's life because every
    /// node names every voter's address in `controller.quorum.voters`.
    pub controller_port: u16,
    /// The process while it runs; `None` once ktui has stopped it.
    pub pid: Option<u32>,
}

impl ClusterState {
    /// The node with `id`, or an error naming the ids there are.
    pub fn node(&self, id: i32) -> anyhow::Result<&NodeState> {
        let count = self.nodes.len();
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| no_such_node(id, count))
    }

    /// The node with `id`, to record its pid.
    pub fn node_mut(&mut self, id: i32) -> anyhow::Result<&mut NodeState> {
        let count = self.nodes.len();
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| no_such_node(id, count))
    }

    /// The client settings ktui uses on the cluster, for `bootstrap`: plaintext, or the admin
    /// over SASL_SSL on a secured one.
    pub fn client_config(&self, bootstrap: Vec<String>) -> crate::config::ClientConfig {
        match &self.secure {
            Some(secure) => super::secure::client_config(secure, bootstrap),
            None => crate::config::ClientConfig {
                bootstrap,
                ..crate::config::ClientConfig::default()
            },
        }
    }

    /// `127.0.0.1:PORT,...` of every node's Kafka listener, in node order.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(NodeState::kafka_addr)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the state file; `None` when there is none (no cluster was ever launched).
    pub fn load() -> anyhow::Result<Option<ClusterState>> {
        Self::load_from(&state_file())
    }

    /// Writes the state file.
    pub fn save(&self) -> anyhow::Result<()> {
        self.save_to(&state_file())
    }

    fn load_from(path: &Path) -> anyhow::Result<Option<ClusterState>> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state: ClusterState = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a local cluster's state", path.display()))?;
        Ok(Some(state))
    }

    /// Writes the file whole: to a temporary file renamed over it, so a reader never sees
    /// half of it.
    fn save_to(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        fs::write(&temporary, text + "\n")
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        #[cfg(unix)]
        {
            // A secured cluster's state holds its admin's password.
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&temporary, fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", temporary.display()))?;
        }
        fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

impl NodeState {
    /// `127.0.0.1:PORT` of the Kafka listener.
    pub fn kafka_addr(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    /// `127.0.0.1:PORT` of the controller listener.
    pub fn controller_addr(&self) -> String {
        format!("127.0.0.1:{}", self.controller_port)
    }
}

fn no_such_node(id: i32, count: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "there is no node {id} in the local cluster (its nodes are 0 to {})",
        count.saturating_sub(1)
    )
}

/// `<data dir>/cluster`.
pub fn cluster_dir() -> PathBuf {
    super::super::data_dir().join("cluster")
}

/// `<data dir>/cluster/cluster.json`.
pub fn state_file() -> PathBuf {
    cluster_dir().join("cluster.json")
}

/// `<data dir>/cluster/node-ID`: the node's folder, holding `data/` and `broker.log`.
pub fn node_dir(id: i32) -> PathBuf {
    cluster_dir().join(format!("node-{id}"))
}

/// The node's `log.dirs`.
pub fn data_dir_of(node_dir: &Path) -> PathBuf {
    node_dir.join("data")
}

/// The file the node's stdout and stderr are appended to.
pub fn log_of(node_dir: &Path) -> PathBuf {
    node_dir.join("broker.log")
}

/// A new random cluster id, as Kafka's `Uuid.randomUuid()` makes them: one that does not start
/// with '-' (it would read as a flag on a command line) and is none of Kafka's reserved ids.
pub fn new_cluster_id() -> String {
    loop {
        let bytes = fastrand::u128(..).to_be_bytes();
        if let Some(id) = cluster_id_of(bytes) {
            return id;
        }
    }
}

/// The cluster id written for 16 bytes, unless Kafka would refuse or redraw it: the zero
/// uuid, the metadata topic's id (1), or a text that starts with '-'.
fn cluster_id_of(bytes: [u8; 16]) -> Option<String> {
    if u128::from_be_bytes(bytes) <= 1 {
        return None;
    }
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    assert_eq!(id.len(), 22, "16 bytes are 22 base64 characters");
    (!id.starts_with('-')).then_some(id)
}

/// The cluster the unit tests share: three nodes on 9092 to 9094 (controllers on 41000 to
/// 41002), nodes 0 and 1 running as pids 100 and 101, node 2 stopped.
#[cfg(test)]
pub(super) fn three_nodes() -> ClusterState {
    ClusterState {
        secure: None,
        cluster_id: "MkU3OEVBNTcwNTJENDM2Qg".to_string(),
        nodes: (0..3u16)
            .map(|i| NodeState {
                id: i32::from(i),
                kafka_port: 9092 + i,
                controller_port: 41000 + i,
                pid: (i < 2).then_some(100 + u32::from(i)),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cluster").join("cluster.json");
        assert_eq!(
            ClusterState::load_from(&path).expect("no file is no cluster"),
            None
        );
        let state = three_nodes();
        state.save_to(&path).expect("save");
        let back = ClusterState::load_from(&path).expect("load");
        assert_eq!(back, Some(state.clone()));
        assert!(!path.with_extension("json.tmp").exists());
        fs::write(&path, "{").expect("write");
        let error = format!("{:#}", ClusterState::load_from(&path).expect_err("torn"));
        assert!(error.contains("not a local cluster's state"), "{error}");
        let value: serde_json::Value = serde_json::to_value(&state).expect("json");
        assert_eq!(value["cluster_id"], "MkU3OEVBNTcwNTJENDM2Qg");
        assert_eq!(value["nodes"][1]["kafka_port"], 9093);
        assert_eq!(value["nodes"][1]["controller_port"], 41001);
        assert_eq!(value["nodes"][1]["pid"], 101);
        assert!(value["nodes"][2]["pid"].is_null());
    }

    #[test]
    fn nodes_are_found_by_id_and_a_missing_one_is_named() {
        let mut state = three_nodes();
        assert_eq!(state.node(2).expect("node 2").kafka_port, 9094);
        state.node_mut(1).expect("node 1").pid = Some(7);
        assert_eq!(state.node(1).expect("node 1").pid, Some(7));
        let error = state.node(3).expect_err("no node 3").to_string();
        assert!(
            error.contains("no node 3") && error.contains("0 to 2"),
            "{error}"
        );
        assert_eq!(
            state.bootstrap(),
            "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
        );
    }

    #[test]
    fn cluster_ids_are_22_url_safe_characters_of_16_bytes() {
        for _ in 0..1000 {
            let id = new_cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'), "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{id}"
            );
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&id)
                .expect("base64");
            assert_eq!(bytes.len(), 16);
        }
    }

    #[test]
    fn reserved_and_flag_like_ids_are_redrawn() {
        assert_eq!(cluster_id_of([0; 16]), None);
        let mut one = [0; 16];
        one[15] = 1;
        assert_eq!(cluster_id_of(one), None);
        // 0xf8 encodes as '-' first in URL-safe base64 (62 << 2).
        let mut dash = [0x55; 16];
        dash[0] = 0xf8;
        assert_eq!(cluster_id_of(dash), None);
        assert_eq!(
            cluster_id_of([0x55; 16]).as_deref(),
            Some("VVVVVVVVVVVVVVVVVVVVVQ")
        );
    }
}
