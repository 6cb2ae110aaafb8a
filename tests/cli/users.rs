//! `ktui users set-password|list|delete` against the workspace broker, and ktui's own SASL
//! client (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN) logging in to its SASL_PLAINTEXT listener
//! with the credentials made: librdkafka logs in with them too; a wrong or deleted password is
//! refused with SASL_AUTHENTICATION_FAILED in one line that never shows the password.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::common::{assert_one_line_error, run_ktui, TestBroker};

const ADMIN_PASSWORD: &str = "admin-secret-7f3a";

fn broker() -> TestBroker {
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"{ADMIN_PASSWORD}\" user_admin=\"{ADMIN_PASSWORD}\";"
    );
    TestBroker::start_with(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        ),
        (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            jaas.as_str(),
        ),
    ])
}

/// A client.properties logging in as `user` with `mechanism`.
fn properties(
    dir: &tempfile::TempDir,
    bootstrap: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> String {
    let path = dir
        .path()
        .join(format!("{mechanism}-{user}-{}.properties", password.len()));
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    std::fs::write(
        &path,
        format!(
            "bootstrap.servers={bootstrap}\nsecurity.protocol=SASL_PLAINTEXT\n\
             sasl.mechanism={mechanism}\nsasl.jaas.config={module} required \
             username=\"{user}\" password=\"{password}\";\n"
        ),
    )
    .expect("properties");
    path.display().to_string()
}

fn rdkafka_logs_in(bootstrap: &str, mechanism: &str, user: &str, password: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", mechanism)
        .set("sasl.username", user)
        .set("sasl.password", password)
        .create()
        .expect("consumer");
    consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .is_ok()
}

#[test]
fn scram_users_are_made_listed_used_and_deleted() {
    let broker = broker();
    let sasl = broker.listener("SASL_PLAINTEXT");
    let dir = tempfile::tempdir().expect("dir");
    let password = "alice-pw-93b1";
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let out = broker.ktui_stdin(
            &["users", "set-password", "alice", "--mechanism", mechanism],
            format!("{password}\n").as_bytes(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = broker.json(&["users", "list"]);
    assert_eq!(
        listed,
        serde_json::json!([{"name": "alice", "credentials": [
            {"mechanism": "SCRAM-SHA-256", "iterations": 4096},
            {"mechanism": "SCRAM-SHA-512", "iterations": 4096}]}]),
    );
    let text = broker.ktui(&["users", "list"]);
    assert!(!String::from_utf8_lossy(&text.stdout).contains(password));

    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let config = properties(&dir, &sasl, mechanism, "alice", password);
        let out = run_ktui(&["topics", "list", "--command-config", &config], b"", &[]);
        assert!(
            out.status.success(),
            "{mechanism}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            rdkafka_logs_in(&sasl, mechanism, "alice", password),
            "librdkafka, {mechanism}"
        );
        let wrong = properties(&dir, &sasl, mechanism, "alice", "guess");
        let out = run_ktui(&["topics", "list", "--command-config", &wrong], b"", &[]);
        assert_one_line_error(&out, "SASL_AUTHENTICATION_FAILED");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("guess"));
    }
    let admin = properties(&dir, &sasl, "PLAIN", "admin", ADMIN_PASSWORD);
    let out = run_ktui(&["brokers", "--command-config", &admin], b"", &[]);
    assert!(
        out.status.success(),
        "PLAIN: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = broker.ktui(&["users", "delete", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(broker.json(&["users", "list"]), serde_json::json!([]));
    let config = properties(&dir, &sasl, "SCRAM-SHA-512", "alice", password);
    let out = run_ktui(&["topics", "list", "--command-config", &config], b"", &[]);
    assert_one_line_error(&out, "SASL_AUTHENTICATION_FAILED");
}

#[test]
fn bad_user_input_gets_one_line() {
    let broker = TestBroker::start();
    let empty = broker.ktui_stdin(&["users", "set-password", "bob"], b"\n");
    assert_one_line_error(&empty, "password is empty");
    let weak = broker.ktui_stdin(
        &["users", "set-password", "bob", "--iterations", "100"],
        b"pw\n",
    );
    assert_one_line_error(&weak, "4096");
    let md5 = broker.ktui_stdin(
        &["users", "set-password", "bob", "--mechanism", "MD5"],
        b"pw\n",
    );
    assert_one_line_error(&md5, "SCRAM-SHA-256 or SCRAM-SHA-512");
    assert_one_line_error(
        &broker.ktui(&["users", "delete", "nobody"]),
        "no SCRAM credential",
    );
}
