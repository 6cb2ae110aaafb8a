//! A cluster of `ktui broker` processes on free loopback ports, each a combined broker and
//! controller (or, with [`TestCluster::start_split`], controllers and brokers apart) with its
//! own data directory, for tests that kill and restart nodes. Every
//! process started is killed when the harness is dropped, whatever the test did.
//!
//! `KTUI_TEST_BROKER_LOG` sets the nodes' `RUST_LOG`; `KTUI_TEST_KEEP_LOGS=1` copies their
//! logs to a folder under the temporary directory when the cluster is dropped.
//!
//! Shared by the test binaries through `#[path]`; it needs the including crate to have
//! `support/raw.rs` as `crate::raw`. Its methods are async: blocking tests drive them on a
//! runtime of their own.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tempfile::TempDir;

use crate::raw::Raw;

/// The Metadata version the harness reads (topic ids, no cluster operations).
const METADATA_VERSION: i16 = 12;
const POLL: Duration = Duration::from_millis(20);
/// How long any one wait for the cluster may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// What a node is (`process.roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roles {
    Combined,
    Controller,
    Broker,
}

impl Roles {
    fn controller(self) -> bool {
        self != Roles::Broker
    }

    fn broker(self) -> bool {
        self != Roles::Controller
    }

    fn value(self) -> &'static str {
        match self {
            Roles::Combined => "broker,controller",
            Roles::Controller => "controller",
            Roles::Broker => "broker",
        }
    }
}

struct Node {
    roles: Roles,
    port: u16,
    controller_port: u16,
    /// The port of the second client listener, when the cluster has one.
    second_port: u16,
    child: Option<Child>,
}

/// A running test cluster.
pub struct TestCluster {
    dir: TempDir,
    cluster_id: String,
    extra: Vec<(String, String)>,
    nodes: Vec<Node>,
    /// A second client listener's name (beside PLAINTEXT, which the harness itself reads
    /// Metadata from), e.g. a SASL_SSL listener the test secures with `extra`.
    second_listener: Option<String>,
    /// A dynamic quorum (KIP-853): the nodes find it through
    /// `controller.quorum.bootstrap.servers`, node 0 is formatted `--standalone` and the
    /// others join as observers until added.
    dynamic: bool,
}

/// `n` distinct free ports: all held open at once while they are chosen.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("port").port())
        .collect()
}

impl TestCluster {
    /// Starts `n` nodes (ids 0..n) with `extra` config overrides, and waits until Metadata
    /// lists every broker.
    pub async fn start(n: usize, extra: &[(&str, &str)]) -> Self {
        Self::start_with_listener(n, extra, None).await
    }

    /// Starts `n` nodes that also have the client listener `second` (its protocol is set by
    /// `extra`, as `listener.security.protocol.map` and the listener's keys).
    pub async fn start_with_listener(
        n: usize,
        extra: &[(&str, &str)],
        second: Option<&str>,
    ) -> Self {
        Self::start_roles(vec![Roles::Combined; n], extra, second).await
    }

    /// Starts `controllers` nodes that are only controllers (ids 0..controllers, the voters)
    /// and `brokers` nodes that are only brokers (the ids after them), Kafka's production
    /// layout, and waits until Metadata lists every broker.
    #[allow(dead_code)] // Only the cluster tests split the roles.
    pub async fn start_split(controllers: usize, brokers: usize, extra: &[(&str, &str)]) -> Self {
        let mut roles = vec![Roles::Controller; controllers];
        roles.extend(vec![Roles::Broker; brokers]);
        Self::start_roles(roles, extra, None).await
    }

    /// Starts `n` combined nodes of a dynamic quorum whose only voter is node 0 (the others
    /// observe until `ktui metadata-quorum add-controller` adds them), and waits until
    /// Metadata lists every broker.
    #[allow(dead_code)] // Only the cluster tests use a dynamic quorum.
    pub async fn start_dynamic(n: usize, extra: &[(&str, &str)]) -> Self {
        let mut cluster = Self::layout(vec![Roles::Combined; n], extra, None);
        cluster.dynamic = true;
        cluster.spawn_all().await
    }

    async fn start_roles(roles: Vec<Roles>, extra: &[(&str, &str)], second: Option<&str>) -> Self {
        Self::layout(roles, extra, second).spawn_all().await
    }

    async fn spawn_all(mut self) -> Self {
        for id in 0..self.nodes.len() {
            self.spawn(id);
        }
        let brokers = self.nodes.iter().filter(|n| n.roles.broker()).count();
        self.wait_brokers(brokers).await;
        self
    }

    fn layout(roles: Vec<Roles>, extra: &[(&str, &str)], second: Option<&str>) -> Self {
        let n = roles.len();
        let ports = free_ports(3 * n);
        let nodes = roles
            .iter()
            .enumerate()
            .map(|(i, roles)| Node {
                roles: *roles,
                port: ports[3 * i],
                controller_port: ports[3 * i + 1],
                second_port: ports[3 * i + 2],
                child: None,
            })
            .collect();
        TestCluster {
            dir: tempfile::tempdir().expect("temp dir"),
            // Each cluster its own id: a node of another test's cluster that took a port this
            // one released is refused instead of joining.
            cluster_id: format!("ktui-test-{}", uuid::Uuid::new_v4().simple()),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            nodes,
            second_listener: second.map(str::to_string),
            dynamic: false,
        }
    }

    fn voters(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.roles.controller())
            .map(|(id, n)| format!("{id}@127.0.0.1:{}", n.controller_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `host:port` of every controller listener, comma-separated.
    fn controller_addrs(&self) -> String {
        (0..self.nodes.len())
            .filter(|id| self.nodes[*id].roles.controller())
            .map(|id| self.controller_addr(id))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The log file of node `id`.
    pub fn log_path(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("node-{id}.log"))
    }

    /// Starts node `id` (again).
    pub fn spawn(&mut self, id: usize) {
        let data = self.data_dir(id);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .expect("log file");
        let node = &self.nodes[id];
        let second = self
            .second_listener
            .as_ref()
            .map(|name| format!(",{name}://127.0.0.1:{}", node.second_port))
            .unwrap_or_default();
        let mut listeners = Vec::new();
        if node.roles.broker() {
            listeners.push(format!("PLAINTEXT://127.0.0.1:{}{second}", node.port));
        }
        if node.roles.controller() {
            listeners.push(format!("CONTROLLER://127.0.0.1:{}", node.controller_port));
        }
        let mut overrides = vec![
            format!("node.id={id}"),
            format!("process.roles={}", node.roles.value()),
            format!("listeners={}", listeners.join(",")),
            format!("log.dirs={}", data.display()),
        ];
        overrides.push(if self.dynamic {
            format!(
                "controller.quorum.bootstrap.servers={}",
                self.controller_addrs()
            )
        } else {
            format!("controller.quorum.voters={}", self.voters())
        });
        if node.roles.broker() {
            overrides.push(format!(
                "advertised.listeners=PLAINTEXT://127.0.0.1:{}{second}",
                node.port
            ));
        }
        overrides.extend(self.extra.iter().map(|(k, v)| format!("{k}={v}")));
        let mut command = Command::new(env!("CARGO_BIN_EXE_ktui"));
        let _ = command
            .arg("broker")
            .arg("--cluster-id")
            .arg(&self.cluster_id)
            .env(
                "RUST_LOG",
                std::env::var("KTUI_TEST_BROKER_LOG")
                    .unwrap_or_else(|_| "info,openraft=error".into()),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for o in &overrides {
            let _ = command.arg("--override").arg(o);
        }
        if self.dynamic {
            let _ = command.arg(if id == 0 {
                "--standalone"
            } else {
                "--no-initial-controllers"
            });
        }
        let child = command.spawn().expect("start a broker process");
        self.nodes[id].child = Some(child);
    }

    /// `host:port` of every broker's client listener.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .filter(|n| n.roles.broker())
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `host:port` of every node's second client listener.
    #[allow(dead_code)] // Only the tests of secured clusters have one.
    pub fn second_bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.second_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The cluster's id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The controller listener of node `id`.
    pub fn controller_addr(&self, id: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[id].controller_port)
    }

    /// The client listener of node `id`.
    pub fn addr(&self, id: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[id].port)
    }

    /// SIGKILLs node `id` and waits for it to exit.
    pub fn kill(&mut self, id: usize) {
        if let Some(mut child) = self.nodes[id].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (a `kill` signal name) to node `id`.
    pub fn signal(&self, id: usize, signal: &str) {
        if let Some(child) = &self.nodes[id].child {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status();
        }
    }

    /// The data directory of node `id`.
    pub fn data_dir(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    /// SIGTERMs node `id` and waits for it to exit (a clean, controlled shutdown).
    pub fn terminate(&mut self, id: usize) {
        if let Some(mut child) = self.nodes[id].child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + DEADLINE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(POLL);
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("node {id} did not stop on SIGTERM within {DEADLINE:?}");
        }
    }

    /// Metadata from the first node that answers, for `topics` (all when None).
    pub async fn metadata(&self, topics: Option<&[&str]>) -> Option<MetadataResponse> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        for (id, node) in self.nodes.iter().enumerate() {
            if node.child.is_none() || !node.roles.broker() {
                continue;
            }
            let Ok(Ok(stream)) = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect(self.addr(id)),
            )
            .await
            else {
                continue;
            };
            let mut raw = Raw::from_stream(stream);
            let call = raw.call(ApiKey::Metadata, METADATA_VERSION, &request);
            if let Ok(response) = tokio::time::timeout(Duration::from_secs(5), call).await {
                return Some(response);
            }
        }
        None
    }

    /// Polls Metadata until `test` accepts it; fails with the last answer and the node logs at
    /// the deadline. Returns the accepted answer and how long it took.
    pub async fn wait_metadata(
        &self,
        what: &str,
        topics: Option<&[&str]>,
        test: impl Fn(&MetadataResponse) -> bool,
    ) -> (MetadataResponse, Duration) {
        let started = Instant::now();
        let mut last = None;
        while started.elapsed() < DEADLINE {
            if let Some(m) = self.metadata(topics).await {
                if test(&m) {
                    return (m, started.elapsed());
                }
                last = Some(m);
            }
            tokio::time::sleep(POLL).await;
        }
        panic!(
            "timed out waiting for {what}; last metadata: {last:?}\n{}",
            self.log_tails()
        );
    }

    /// Waits until Metadata lists `n` brokers.
    pub async fn wait_brokers(&self, n: usize) -> Duration {
        let what = format!("{n} brokers");
        self.wait_metadata(&what, Some(&[]), |m| m.brokers.len() == n)
            .await
            .1
    }

    fn log_tails(&self) -> String {
        (0..self.nodes.len())
            .map(|id| {
                let text = std::fs::read_to_string(self.log_path(id)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().filter(|l| !l.contains("openraft")).collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                format!("--- node {id} ---\n{tail}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::env::var_os("KTUI_TEST_KEEP_LOGS").is_some() {
            let kept = std::env::temp_dir().join(format!("ktui-cluster-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&kept);
            for id in 0..self.nodes.len() {
                let _ = std::fs::copy(self.log_path(id), kept.join(format!("node-{id}.log")));
            }
            eprintln!("node logs kept in {}", kept.display());
        }
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
