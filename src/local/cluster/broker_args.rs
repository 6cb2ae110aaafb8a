//! The command line of one node of the local cluster: `ktui broker --cluster-id ID` with the
//! server.properties keys of a combined broker and controller (KRaft's `process.roles`) given as
//! `--override`s. Every node names the whole quorum in `controller.quorum.voters`, which is why
//! the ports of every node are fixed when the cluster is made.

use std::path::Path;

use super::state::{ClusterState, NodeState};

/// How a node of a secured cluster starts: its server.properties (listeners, TLS, SASL and
/// ACL keys, secrets included) and, when it formats its data directory, the admin user.
pub(super) struct SecureArgs {
    pub properties: std::path::PathBuf,
    pub add_scram: Option<String>,
}

/// `broker --cluster-id=ID --override KEY=VALUE ...` for `node`, keeping its data in `log_dir`.
/// The id is joined to its flag so that no id could ever read as a flag of its own. A secured
/// node reads its listeners from `--config` instead.
pub(super) fn broker_args(
    cluster: &ClusterState,
    node: &NodeState,
    log_dir: &Path,
    secure: Option<&SecureArgs>,
) -> Vec<String> {
    assert!(
        cluster.nodes.iter().any(|n| n == node),
        "node {} is one of the cluster's",
        node.id
    );
    let mut args = vec![
        "broker".to_string(),
        format!("--cluster-id={}", cluster.cluster_id),
    ];
    if let Some(secure) = secure {
        args.push(format!("--config={}", secure.properties.display()));
        if let Some(scram) = &secure.add_scram {
            args.push(format!("--add-scram={scram}"));
        }
    }
    for (key, value) in overrides(cluster, node, log_dir) {
        if secure.is_some() && LISTENER_KEYS.contains(&key) {
            continue;
        }
        args.push("--override".to_string());
        args.push(format!("{key}={value}"));
    }
    args
}

/// The keys a secured node takes from its properties file instead.
const LISTENER_KEYS: [&str; 4] = [
    "listeners",
    "advertised.listeners",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
];

/// The server.properties keys, in the order Kafka's KRaft sample `server.properties` has them.
fn overrides(
    cluster: &ClusterState,
    node: &NodeState,
    log_dir: &Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("process.roles", "broker,controller".to_string()),
        ("node.id", node.id.to_string()),
        (
            "listeners",
            format!(
                "PLAINTEXT://{},CONTROLLER://{}",
                node.kafka_addr(),
                node.controller_addr()
            ),
        ),
        (
            "advertised.listeners",
            format!("PLAINTEXT://{}", node.kafka_addr()),
        ),
        ("controller.listener.names", "CONTROLLER".to_string()),
        ("inter.broker.listener.name", "PLAINTEXT".to_string()),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string(),
        ),
        ("controller.quorum.voters", voters(cluster)),
        ("log.dirs", log_dir.display().to_string()),
    ]
}

/// `controller.quorum.voters`: `ID@127.0.0.1:PORT` of every node, comma-separated.
fn voters(cluster: &ClusterState) -> String {
    cluster
        .nodes
        .iter()
        .map(|n| format!("{}@{}", n.id, n.controller_addr()))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_runs_as_a_combined_broker_and_controller_of_the_whole_quorum() {
        let cluster = super::super::state::three_nodes();
        let args = broker_args(
            &cluster,
            &cluster.nodes[1],
            Path::new("/d/node-1/data"),
            None,
        );
        let expected = [
            "broker",
            "--cluster-id=MkU3OEVBNTcwNTJENDM2Qg",
            "--override",
            "process.roles=broker,controller",
            "--override",
            "node.id=1",
            "--override",
            "listeners=PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:41001",
            "--override",
            "advertised.listeners=PLAINTEXT://127.0.0.1:9093",
            "--override",
            "controller.listener.names=CONTROLLER",
            "--override",
            "inter.broker.listener.name=PLAINTEXT",
            "--override",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "--override",
            "controller.quorum.voters=0@127.0.0.1:41000,1@127.0.0.1:41001,2@127.0.0.1:41002",
            "--override",
            "log.dirs=/d/node-1/data",
        ];
        assert_eq!(args, expected);
    }
}
