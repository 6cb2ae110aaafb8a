//! End-to-end against a three-node cluster that `ktui local up -n 3` started (free ports, a
//! temporary data directory): the real console in tmux kills the leader of a partition from
//! the Brokers screen, the header counts the under-replicated partitions, the Events screen
//! records the leader moving away, and starting the broker again from the same screen brings
//! the ISR back (an ISR-grew event, the header back to zero). Every wait polls the screen
//! until a deadline; every process started is killed when the test ends.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::e2e::Console;
use crate::local_data::LocalData;

const DEADLINE: Duration = Duration::from_secs(60);

/// The leader of `topic`-0 once all three replicas are in its ISR.
fn leader_with_full_isr(bootstrap: &str, topic: &str) -> i32 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .expect("consumer");
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            let leader = md
                .topics()
                .first()
                .and_then(|t| t.partitions().iter().find(|p| p.id() == 0))
                .filter(|p| p.leader() >= 0 && p.isr().len() == 3)
                .map(|p| p.leader());
            if let Some(leader) = leader {
                return leader;
            }
        }
        assert!(Instant::now() < deadline, "{topic}-0 never had 3 in sync");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The number after `label` in the header (first line).
fn header_count(screen: &str, label: &str) -> Option<usize> {
    let header = screen.lines().next()?;
    let words: Vec<&str> = header.split_whitespace().collect();
    let at = words.iter().position(|w| *w == label)?;
    words.get(at + 1)?.parse().ok()
}

/// Selects broker `id`'s row on the Brokers screen by filtering on its address.
fn select_broker(console: &Console, addr: &str) {
    console.command("brokers");
    console.wait_for("Log dirs of broker");
    console.type_text("/");
    console.type_text(addr);
    console.keys(&["Enter"]);
    console.wait_for(&format!("filter: {addr}"));
}

#[test]
fn kill_a_leader_from_the_console_and_watch_the_cluster_heal() {
    let data = LocalData::new();
    let up = data.ktui(&["local", "up", "-n", "3", "--port-base", "0"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let bootstrap = data.bootstrap();
    let create = data.ktui(&[
        "topics",
        "create",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "3",
        "-b",
        &bootstrap,
    ]);
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    let leader = leader_with_full_isr(&bootstrap, "orders");
    let state = data.state().expect("cluster.json");
    let addr = format!(
        "127.0.0.1:{}",
        state["nodes"][usize::try_from(leader).expect("id")]["kafka_port"]
    );

    let console = Console::launch("--refresh 500ms", Some(data.path()));
    console.wait("a healthy cluster in the header", |s| {
        s.contains("brokers 3/3") && header_count(s, "urp") == Some(0)
    });

    select_broker(&console, &addr);
    console.type_text("K");
    console.wait_for(&format!("Kill broker {leader} with SIGKILL"));
    console.type_text("y");
    console.wait_for(&format!("node {leader}"));
    console.wait("under-replicated partitions in the header", |s| {
        header_count(s, "urp").is_some_and(|n| n > 0)
    });
    console.command("events");
    console.wait_for(&format!("leader of orders-0 moved {leader} →"));

    select_broker(&console, &addr);
    console.type_text("u");
    console.wait_for(&format!("Start broker {leader} again"));
    console.type_text("y");
    console.wait("the cluster healed in the header", |s| {
        s.contains("brokers 3/3") && header_count(s, "urp") == Some(0)
    });
    console.command("events");
    console.wait("the ISR of orders-0 growing back", |s| {
        s.lines().any(|l| {
            l.contains("ISR of orders-0")
                && !l.contains("shrank")
                && l.trim_end().ends_with(&leader.to_string())
        })
    });
    let down = data.ktui(&["local", "down"]);
    assert!(down.status.success());
}

/// The console on a secured local cluster (SASL_SSL, SCRAM, ACLs) through the
/// client.properties `ktui local up --secure` wrote: it connects and lists the topics.
#[test]
fn the_console_opens_a_secured_cluster_with_its_client_properties() {
    let data = LocalData::new();
    let up = data.ktui(&["local", "up", "-n", "1", "--secure", "--port-base", "0"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let props = data
        .cluster_dir()
        .join("client.properties")
        .display()
        .to_string();
    let create = data.ktui(&[
        "topics",
        "create",
        "payments",
        "--partitions",
        "2",
        "--command-config",
        &props,
    ]);
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    let console = Console::launch(
        &format!("--command-config '{props}' --refresh 500ms"),
        Some(data.path()),
    );
    console.wait("the secured cluster's topics", |s| {
        s.contains("payments") && s.contains("brokers 1/1") && s.contains("● connected")
    });
    let password = data.state().expect("state")["secure"]["admin_password"]
        .as_str()
        .expect("password")
        .to_string();
    let log = console.log();
    assert!(
        log.contains("request Cluster"),
        "the console logged its requests"
    );
    assert!(
        !log.contains(&password),
        "the console's log shows no secret"
    );
    let down = data.ktui(&["local", "down"]);
    assert!(down.status.success());
}
