//! Where the cluster comes from: a profile in the profiles file, a Kafka client.properties
//! file (`--command-config`), or `--bootstrap-server`, Kafka's own spelling.

use crate::common::{assert_success, run_ktui, stderr, TestBroker};

#[test]
fn profiles_command_config_and_the_kafka_flag_name_all_reach_the_cluster() {
    let broker = TestBroker::start();
    let dir = tempfile::tempdir().expect("dir");
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!(
            "# Kafka client settings\nbootstrap.servers={}\nclient.id=cli-test\n",
            broker.bootstrap()
        ),
    )
    .expect("write");
    let profiles = dir.path().join("config.toml");
    std::fs::write(
        &profiles,
        format!("default = \"local\"\n[clusters.local]\nbootstrap = \"{}\"\n[clusters.down]\nbootstrap = \"127.0.0.1:1\"\n", broker.bootstrap()),
    )
    .expect("write");
    let env = [("KTUI_CONFIG", profiles.to_str().expect("utf8 path"))];
    let props = props.to_str().expect("utf8 path");
    let bootstrap = broker.bootstrap();
    for args in [
        vec!["brokers", "-o", "json"],
        vec!["brokers", "--profile", "local", "-o", "json"],
        vec!["brokers", "--command-config", props, "-o", "json"],
        vec![
            "brokers",
            "--bootstrap-server",
            bootstrap.as_str(),
            "-o",
            "json",
        ],
        vec!["topics", "--profile", "local", "list", "-o", "json"],
        vec!["-b", bootstrap.as_str(), "topics", "list", "-o", "json"],
        vec!["--command-config", props, "groups", "list", "-o", "json"],
    ] {
        let out = run_ktui(&args, b"", &env);
        assert_success(&out, &args);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(value.is_array(), "{args:?}");
    }
    let down = run_ktui(&["brokers", "--profile", "down"], b"", &env);
    assert_eq!(down.status.code(), Some(1));
    assert!(stderr(&down).contains("127.0.0.1:1"), "{}", stderr(&down));
    let missing = run_ktui(&["brokers", "--profile", "nope"], b"", &env);
    assert!(
        stderr(&missing).contains("'nope'") && stderr(&missing).contains("local"),
        "{}",
        stderr(&missing)
    );
}
