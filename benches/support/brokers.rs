//! `ktui broker` processes for the benchmarks: one node, or a cluster of combined
//! broker+controller nodes, each on free loopback ports with a temporary directory, killed when
//! dropped. `BENCH_BROKER_LOG` sets their tracing filter; their output goes to
//! `$TMPDIR/ktui-bench-broker-N.log`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Running broker processes.
pub(crate) struct Brokers {
    children: Vec<Child>,
    commands: Vec<Command>,
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl Brokers {
    /// `n` nodes; with `n > 1` they form one cluster (a Raft quorum of all of them).
    pub(crate) fn start(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let controllers: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let voters: Vec<String> = controllers
            .iter()
            .enumerate()
            .map(|(id, p)| format!("{id}@127.0.0.1:{p}"))
            .collect();
        let mut children = Vec::new();
        let mut commands = Vec::new();
        for id in 0..n {
            let mut overrides = vec![format!(
                "log.dirs={}",
                dir.path().join(format!("node-{id}")).display()
            )];
            if n == 1 {
                overrides.push(format!("listeners=PLAINTEXT://127.0.0.1:{}", ports[id]));
            } else {
                overrides.extend([
                    format!("node.id={id}"),
                    format!(
                        "listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                        ports[id], controllers[id]
                    ),
                    format!("advertised.listeners=PLAINTEXT://127.0.0.1:{}", ports[id]),
                    format!("controller.quorum.voters={}", voters.join(",")),
                ]);
            }
            let mut command = Command::new(env!("CARGO_BIN_EXE_ktui"));
            let _ = command.arg("broker");
            if n > 1 {
                let _ = command.args(["--cluster-id", "ktui-bench-cluster-000"]);
            }
            for o in &overrides {
                let _ = command.arg("--override").arg(o);
            }
            let _ = command.env(
                "RUST_LOG",
                std::env::var("BENCH_BROKER_LOG").unwrap_or_else(|_| "warn".into()),
            );
            children.push(spawn(&mut command, id));
            commands.push(command);
        }
        let brokers = Brokers {
            children,
            commands,
            ports,
            _dir: dir,
        };
        brokers.wait_ready();
        brokers
    }

    /// Stops every node (SIGKILL) and starts them all again on the same ports and data;
    /// returns once Metadata lists every broker.
    #[allow(dead_code)]
    pub(crate) fn restart(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children = self
            .commands
            .iter_mut()
            .enumerate()
            .map(|(id, command)| spawn(command, id))
            .collect();
        self.wait_ready();
    }

    /// Every node's client listener.
    pub(crate) fn bootstrap(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Each process's id.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Waits until Metadata lists every broker.
    fn wait_ready(&self) {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listed = consumer
                .fetch_metadata(None, Duration::from_secs(2))
                .map_or(0, |m| m.brokers().len());
            if listed == self.ports.len() {
                return;
            }
            assert!(Instant::now() < deadline, "the brokers did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn spawn(command: &mut Command, id: usize) -> Child {
    let log = std::env::temp_dir().join(format!("ktui-bench-broker-{id}.log"));
    command
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_or_else(|_| Stdio::null(), Stdio::from),
        )
        .spawn()
        .expect("start ktui broker")
}

impl Drop for Brokers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
