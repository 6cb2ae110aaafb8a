//! What the local cluster's commands print: plain lines for people, and the `status` table
//! (one whitespace-separated row per node, so scripts can pick a column). Building the text is
//! kept apart from printing it so it can be tested.

use super::state;
use super::{Ready, Started, Status, Stopped};

/// `up`: what started, where the data and logs are, and the bootstrap string on a line of its
/// own.
pub fn up(ready: &Ready) -> String {
    let nodes = ready.state.nodes.len();
    let what = match ready.started.len() {
        0 => "was running already".to_string(),
        n if n == nodes => format!("started ({nodes} nodes)"),
        n => format!(
            "started {n} of its {nodes} nodes ({})",
            list(&ready.started)
        ),
    };
    let mut text = format!(
        "local cluster {} {what}, ready in {:.2}s; data and logs in {}\nbootstrap: {}",
        ready.state.cluster_id,
        ready.elapsed.as_secs_f64(),
        state::cluster_dir().display(),
        ready.state.bootstrap()
    );
    if ready.state.secure.is_some() {
        text.push_str(&format!(
            "\nsecured: SASL_SSL, SCRAM-SHA-512 as {}, ACLs on; the password is in the files below\n\
             Kafka's tools and ktui: --command-config {}\nkcat: kcat -F {}",
            super::secure::ADMIN,
            super::secure::client_properties().display(),
            super::secure::kcat_conf().display()
        ));
    }
    text
}

/// `stop ID`: one line.
pub fn stop(id: i32, stopped: Option<Stopped>, killed: bool) -> String {
    match stopped {
        Some(s) if killed => format!("node {id} (pid {}) killed", s.pid),
        Some(s) => format!("node {id} (pid {}) stopped", s.pid),
        None => format!("node {id} was not running"),
    }
}

/// `start ID`: one line.
pub fn start(started: &Started) -> String {
    let Started { id, addr, pid } = started;
    match pid {
        Some(pid) => format!("node {id} started on {addr} (pid {pid}) and joined the cluster"),
        None => format!("node {id} is running already on {addr}"),
    }
}

/// `down`: one line per node stopped.
pub fn down(stopped: &[Stopped]) -> Vec<String> {
    stopped
        .iter()
        .map(|s| format!("node {} (pid {}) stopped", s.id, s.pid))
        .collect()
}

/// `status`: a header line, one row per node, and what went wrong asking the cluster if
/// anything did. A node the cluster names its controller has `yes` in the last column.
pub fn status(status: &Status) -> String {
    let state = &status.state;
    let mut lines = vec![
        format!(
            "local cluster {} ({} nodes), data and logs in {}",
            state.cluster_id,
            state.nodes.len(),
            state::cluster_dir().display()
        ),
        row([
            "ID",
            "KAFKA-PORT",
            "CONTROLLER-PORT",
            "PID",
            "ALIVE",
            "CONTROLLER",
        ]),
    ];
    let controller = status.answer.as_ref().map_or(-1, |a| a.controller_id);
    for (node, alive) in state.nodes.iter().zip(&status.alive) {
        let pid = match node.pid.filter(|_| *alive) {
            Some(pid) => pid.to_string(),
            None => "-".to_string(),
        };
        lines.push(row([
            &node.id.to_string(),
            &node.kafka_port.to_string(),
            &node.controller_port.to_string(),
            &pid,
            if *alive { "yes" } else { "no" },
            if *alive && node.id == controller {
                "yes"
            } else {
                ""
            },
        ]));
    }
    if let Err(why) = &status.answer {
        lines.push(format!("the cluster did not answer: {why}"));
    }
    lines.join("\n")
}

fn row(cells: [&str; 6]) -> String {
    let [id, kafka, controller_port, pid, alive, controller] = cells;
    format!("{id:<4} {kafka:<11} {controller_port:<16} {pid:<8} {alive:<6} {controller}")
        .trim_end()
        .to_string()
}

fn list(ids: &[i32]) -> String {
    ids.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::state::three_nodes;
    use super::super::Answer;
    use super::*;

    #[test]
    fn status_rows_split_into_columns_and_mark_the_controller() {
        let text = status(&Status {
            state: three_nodes(),
            alive: vec![true, true, false],
            answer: Ok(Answer {
                brokers: [0, 1].into(),
                controller_id: 1,
            }),
        });
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows,
            vec![
                vec![
                    "ID",
                    "KAFKA-PORT",
                    "CONTROLLER-PORT",
                    "PID",
                    "ALIVE",
                    "CONTROLLER"
                ],
                vec!["0", "9092", "41000", "100", "yes"],
                vec!["1", "9093", "41001", "101", "yes", "yes"],
                vec!["2", "9094", "41002", "-", "no"],
            ]
        );
        assert!(text.starts_with("local cluster MkU3OEVBNTcwNTJENDM2Qg (3 nodes)"));
    }

    #[test]
    fn status_says_why_the_cluster_did_not_answer() {
        let text = status(&Status {
            state: three_nodes(),
            alive: vec![false, false, false],
            answer: Err("no node runs".to_string()),
        });
        assert!(
            text.ends_with("the cluster did not answer: no node runs"),
            "{text}"
        );
        let pids: Vec<&str> = text
            .lines()
            .skip(2)
            .take(3)
            .filter_map(|l| l.split_whitespace().nth(3))
            .collect();
        assert_eq!(pids, vec!["-"; 3], "a dead node shows no pid: {text}");
    }

    #[test]
    fn up_ends_with_the_bootstrap_string() {
        let ready = Ready {
            state: three_nodes(),
            started: vec![0, 1, 2],
            elapsed: std::time::Duration::from_millis(1234),
        };
        let text = up(&ready);
        assert!(text.contains("started (3 nodes), ready in 1.23s"), "{text}");
        assert!(text.ends_with("\nbootstrap: 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"));
        let again = up(&Ready {
            started: vec![2],
            ..ready
        });
        assert!(again.contains("started 1 of its 3 nodes (2)"), "{again}");
    }

    #[test]
    fn one_line_per_node_for_stop_start_and_down() {
        let one = Some(Stopped { id: 1, pid: 101 });
        assert_eq!(stop(1, one, false), "node 1 (pid 101) stopped");
        assert_eq!(stop(1, one, true), "node 1 (pid 101) killed");
        assert_eq!(stop(1, None, false), "node 1 was not running");
        let started = Started {
            id: 1,
            addr: "127.0.0.1:9093".to_string(),
            pid: Some(7),
        };
        assert_eq!(
            start(&started),
            "node 1 started on 127.0.0.1:9093 (pid 7) and joined the cluster"
        );
        assert_eq!(
            down(&[Stopped { id: 0, pid: 100 }]),
            vec!["node 0 (pid 100) stopped"]
        );
    }
}
