//! Asking the local cluster about itself with ktui's own client: which brokers its metadata
//! lists and which one it names the controller. `up` and `start` poll their nodes until each
//! answers listing every broker expected; `status` asks once. The launcher's commands are blocking code, so
//! each question runs on a small runtime of its own.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::client::Cluster;
use crate::config::ClientConfig;

/// How long one connection attempt may take; the nodes are on this machine.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one Metadata request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait between two questions while the cluster forms.
const POLL: Duration = Duration::from_millis(50);

/// What the cluster's metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The node ids of the brokers metadata lists.
    pub brokers: BTreeSet<i32>,
    /// Metadata's `controller_id` (-1 when the cluster names none).
    pub controller_id: i32,
}

/// Asks `bootstrap` (tried in order) for metadata, once, with `base`'s security settings.
pub(super) fn ask(base: &ClientConfig, bootstrap: &[String]) -> anyhow::Result<Answer> {
    block_on(ask_once(base, bootstrap))?
}

/// Asks each of `nodes` (Kafka listeners) until every one answers itself with metadata that
/// lists every broker in `expected`, or `wait_max` has passed; returns the last answer. Asking
/// each node, not just the first that answers, proves that a node just started serves: the
/// others may list it still from before it stopped. Before each round `check` may end the wait
/// (a node it started has exited, say).
pub(super) fn wait_listed(
    base: &ClientConfig,
    nodes: &[String],
    expected: &BTreeSet<i32>,
    wait_max: Duration,
    mut check: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Answer> {
    assert!(!nodes.is_empty(), "a wait asks at least one node");
    let deadline = Instant::now() + wait_max;
    block_on(async {
        loop {
            check()?;
            let last = ask_each(base, nodes, expected).await;
            if last.is_ok() || Instant::now() + POLL >= deadline {
                return last.with_context(|| {
                    format!(
                        "brokers {} were not all listed within {wait_max:?}",
                        ids(expected)
                    )
                });
            }
            tokio::time::sleep(POLL).await;
        }
    })?
}

/// Asks each node in turn; fails at the first that does not answer or does not list
/// `expected`, naming it.
async fn ask_each(
    base: &ClientConfig,
    nodes: &[String],
    expected: &BTreeSet<i32>,
) -> anyhow::Result<Answer> {
    let mut last = None;
    for node in nodes {
        let answer = ask_once(base, std::slice::from_ref(node))
            .await
            .with_context(|| format!("{node} did not answer"))?;
        if !answer.brokers.is_superset(expected) {
            bail!("{node} listed {}", ids(&answer.brokers));
        }
        last = Some(answer);
    }
    last.context("no node to ask")
}

/// One Metadata request through a fresh client (connections to nodes that restarted are new).
async fn ask_once(base: &ClientConfig, bootstrap: &[String]) -> anyhow::Result<Answer> {
    let config = ClientConfig {
        bootstrap: bootstrap.to_vec(),
        client_id: "ktui-local".to_string(),
        connect_timeout: CONNECT_TIMEOUT,
        request_timeout: REQUEST_TIMEOUT,
        retries: 0,
        ..base.clone()
    };
    let cluster = Cluster::connect(config).await?;
    let metadata = cluster.metadata().await?;
    Ok(Answer {
        brokers: metadata.brokers.keys().copied().collect(),
        controller_id: metadata.controller_id,
    })
}

/// `[0, 1, 2]`.
fn ids(set: &BTreeSet<i32>) -> String {
    format!("{:?}", set.iter().collect::<Vec<_>>())
}

/// Runs `future` on a current-thread runtime of its own.
fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start an async runtime")?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_a_list() {
        assert_eq!(ids(&[2, 0, 1].into()), "[0, 1, 2]");
    }

    #[test]
    fn the_workspace_broker_lists_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let overrides = [
            ("log.dirs".to_string(), dir.path().display().to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://127.0.0.1:0".to_string(),
            ),
            ("node.id".to_string(), "7".to_string()),
        ];
        let config = ktui_broker::BrokerConfig::from_properties("", &overrides).expect("config");
        let broker = runtime
            .block_on(ktui_broker::RunningBroker::start(config))
            .expect("broker starts");
        let bootstrap = vec![broker.local_addr().to_string()];
        let answer = wait_listed(
            &ClientConfig::default(),
            &bootstrap,
            &[7].into(),
            Duration::from_secs(30),
            || Ok(()),
        )
        .expect("listed");
        assert_eq!(answer.brokers, [7].into());
        assert_eq!(
            ask(&ClientConfig::default(), &bootstrap).expect("answer"),
            answer
        );
        let error = wait_listed(
            &ClientConfig::default(),
            &bootstrap,
            &[7, 8].into(),
            Duration::from_millis(200),
            || Ok(()),
        )
        .expect_err("no broker 8");
        let text = format!("{error:#}");
        assert!(text.contains("[7, 8] were not all listed"), "{text}");
        assert!(text.contains("listed [7]"), "{text}");
        runtime.block_on(broker.shutdown());
    }

    #[test]
    fn a_check_that_fails_ends_the_wait_at_once() {
        let started = Instant::now();
        let error = wait_listed(
            &ClientConfig::default(),
            &["127.0.0.1:1".to_string()],
            &[0].into(),
            Duration::from_secs(30),
            || bail!("node 0 exited"),
        )
        .expect_err("the check fails");
        assert_eq!(error.to_string(), "node 0 exited");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_wait_for_a_closed_port_runs_out() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = closed.local_addr().expect("addr").to_string();
        drop(closed);
        let error = wait_listed(
            &ClientConfig::default(),
            &[addr],
            &[0].into(),
            Duration::from_millis(300),
            || Ok(()),
        )
        .expect_err("nothing listens");
        let text = format!("{error:#}");
        assert!(text.contains("were not all listed"), "{text}");
        assert!(text.contains("did not answer"), "{text}");
    }
}
