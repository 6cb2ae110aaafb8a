//! kafka-python (pip's current version, from the venv scripts/test makes) against a three-node
//! cluster: `tests/clients/python_cluster.py`.

use std::process::Command;

use super::harness::TestCluster;
use crate::clients::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_sees_a_replicated_cluster_as_kafka_describes_one() {
    let cluster = TestCluster::start(3, &[]).await;
    let python = std::env::var("KTUI_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python").to_string()
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/python_cluster.py"
    );
    let bootstrap = cluster.bootstrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(python);
        let _ = cmd.args([script, &bootstrap]);
        run(cmd, None)
    })
    .await
    .expect("python");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
