//! Which ports the nodes of a new local cluster listen on. Kafka listeners take the ports from
//! a base up (9092, 9093, 9094 for three nodes) when every one of them is free, else ports the
//! system hands out; a base of 0 always takes the latter. Controller listeners always take ports
//! the system hands out. The choice is made once, at `up`, and kept in the state file.

use std::collections::BTreeSet;
use std::net::TcpListener;

use anyhow::{bail, Context};

use super::state::NodeState;

/// How many ports the system may hand out that clash with a chosen Kafka port before the
/// choice gives up (a clash needs a base inside the ephemeral range; more is a broken system).
const DRAWS_MAX: usize = 64;

/// The two listeners of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NodePorts {
    pub kafka: u16,
    pub controller: u16,
}

/// Ports for `nodes` nodes, Kafka's from `base` up when all are free (a base of 0: never).
pub(super) fn choose(nodes: usize, base: u16) -> anyhow::Result<Vec<NodePorts>> {
    let mut free = FreePorts::default();
    choose_with(nodes, base, crate::local::port_is_free, || free.next())
}

/// Fails naming the first of the node's ports something else listens on.
pub(super) fn check_free(node: &NodeState) -> anyhow::Result<()> {
    for (port, listener) in [
        (node.kafka_port, "Kafka"),
        (node.controller_port, "controller"),
    ] {
        if !crate::local::port_is_free(port) {
            bail!(
                "port {port} (node {}'s {listener} listener) is in use by another process",
                node.id
            );
        }
    }
    Ok(())
}

/// Ports the system hands out for 127.0.0.1:0, each kept bound until this is dropped so that
/// no two of them are the same port.
#[derive(Default)]
struct FreePorts {
    held: Vec<TcpListener>,
}

impl FreePorts {
    fn next(&mut self) -> anyhow::Result<u16> {
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).context("cannot find a free port on 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        self.held.push(listener);
        Ok(port)
    }
}

/// The choice, with the two questions it asks of the system passed in.
fn choose_with(
    nodes: usize,
    base: u16,
    is_free: impl Fn(u16) -> bool,
    mut free: impl FnMut() -> anyhow::Result<u16>,
) -> anyhow::Result<Vec<NodePorts>> {
    let kafka: Vec<u16> = match preferred(nodes, base) {
        Some(ports) if ports.iter().all(|p| is_free(*p)) => ports,
        _ => (0..nodes).map(|_| free()).collect::<anyhow::Result<_>>()?,
    };
    let mut taken: BTreeSet<u16> = kafka.iter().copied().collect();
    let mut controller = Vec::with_capacity(nodes);
    let mut draws = 0;
    while controller.len() < nodes {
        draws += 1;
        if draws > nodes + DRAWS_MAX {
            bail!("cannot find {nodes} free controller ports on 127.0.0.1");
        }
        let port = free()?;
        if taken.insert(port) {
            controller.push(port);
        }
    }
    let chosen: Vec<NodePorts> = kafka
        .into_iter()
        .zip(controller)
        .map(|(kafka, controller)| NodePorts { kafka, controller })
        .collect();
    assert_eq!(chosen.len(), nodes);
    assert_eq!(taken.len(), 2 * nodes, "every port is chosen once");
    Ok(chosen)
}

/// `base, base + 1, ...` for `nodes` nodes; `None` for a base of 0 or a range past 65535.
fn preferred(nodes: usize, base: u16) -> Option<Vec<u16>> {
    if base == 0 {
        return None;
    }
    let last = usize::from(base) + nodes.checked_sub(1)?;
    let last = u16::try_from(last).ok()?;
    Some((base..=last).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out 50000, 50001, ... as the system would hand out free ports.
    fn counter(start: u16) -> impl FnMut() -> anyhow::Result<u16> {
        let mut next = start;
        move || {
            next += 1;
            Ok(next - 1)
        }
    }

    #[test]
    fn kafka_ports_run_from_the_base_when_all_are_free() {
        let ports = choose_with(3, 9092, |_| true, counter(50000)).expect("ports");
        let kafka: Vec<u16> = ports.iter().map(|p| p.kafka).collect();
        let controller: Vec<u16> = ports.iter().map(|p| p.controller).collect();
        assert_eq!(kafka, vec![9092, 9093, 9094]);
        assert_eq!(controller, vec![50000, 50001, 50002]);
    }

    #[test]
    fn one_busy_port_in_the_range_moves_every_node_to_free_ports() {
        let ports = choose_with(3, 9092, |p| p != 9093, counter(50000)).expect("ports");
        let kafka: Vec<u16> = ports.iter().map(|p| p.kafka).collect();
        assert_eq!(kafka, vec![50000, 50001, 50002]);
        assert_eq!(ports[0].controller, 50003);
    }

    #[test]
    fn base_zero_always_takes_free_ports() {
        let ports = choose_with(2, 0, |_| true, counter(50000)).expect("ports");
        assert_eq!(
            ports,
            vec![
                NodePorts {
                    kafka: 50000,
                    controller: 50002
                },
                NodePorts {
                    kafka: 50001,
                    controller: 50003
                },
            ]
        );
    }

    #[test]
    fn a_free_port_that_clashes_with_a_kafka_port_is_skipped() {
        let ports = choose_with(2, 50001, |_| true, counter(50000)).expect("ports");
        let controller: Vec<u16> = ports.iter().map(|p| p.controller).collect();
        assert_eq!(controller, vec![50000, 50003]);
    }

    #[test]
    fn a_range_past_the_last_port_is_not_preferred() {
        assert_eq!(preferred(3, 65534), None);
        assert_eq!(preferred(2, 65534), Some(vec![65534, 65535]));
        assert_eq!(preferred(0, 9092), None);
        let ports = choose_with(3, 65534, |_| true, counter(50000)).expect("ports");
        assert_eq!(ports[0].kafka, 50000);
    }

    #[test]
    fn a_system_that_repeats_one_port_is_refused() {
        let error = choose_with(2, 9092, |_| true, || Ok(50000)).expect_err("no second port");
        assert!(error.to_string().contains("controller ports"), "{error}");
    }

    #[test]
    fn real_free_ports_are_distinct() {
        let ports = choose(5, 0).expect("ports");
        let all: BTreeSet<u16> = ports.iter().flat_map(|p| [p.kafka, p.controller]).collect();
        assert_eq!(all.len(), 10);
        assert!(!all.contains(&0));
    }
}
