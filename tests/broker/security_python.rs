//! The Python clients on secured listeners: confluent-kafka (librdkafka) and kafka-python at
//! Debian's versions (kafka-python 2.0.2 uses the v0 handshake with bare tokens) and at pip's
//! current versions, over SASL_PLAINTEXT with PLAIN, SSL with a client certificate, and
//! SASL_SSL with SCRAM-SHA-256 and -512 (tests/clients/python_security.py).

use std::process::Command;

use crate::clients::run;
use crate::security_certs::Certs;
use crate::security_sasl::{plain_jaas, ALICE_PASSWORD};
use crate::security_tls::start_broker;

const SCRAM_PASSWORD: &str = "dora-pw-20c4";

fn python_security(python: &str, tag: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let certs = Certs::generate();
    let overrides = vec![
        (
            "listeners",
            "SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0".to_string(),
        ),
        (
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".into(),
        ),
        ("sasl.jaas.config", plain_jaas()),
        ("ssl.keystore.location", certs.broker.display().to_string()),
        ("ssl.truststore.location", certs.ca.display().to_string()),
        ("listener.name.ssl.ssl.client.auth", "required".into()),
        ("connection.failed.authentication.delay.ms", "10".into()),
    ];
    let scram = [
        format!("SCRAM-SHA-256=[name=dora,password={SCRAM_PASSWORD}]"),
        format!("SCRAM-SHA-512=[name=dora,password={SCRAM_PASSWORD}]"),
    ];
    let scram: Vec<&str> = scram.iter().map(String::as_str).collect();
    let (running, _dir) = rt.block_on(start_broker(&overrides, &scram));
    let addr = |name: &str| running.listener_addr(name).expect("listener").to_string();
    let ca = certs.ca.display().to_string();
    let cases = [
        (
            "plain",
            addr("SASL_PLAINTEXT"),
            serde_json::json!({"protocol": "SASL_PLAINTEXT", "mechanism": "PLAIN",
                "username": "alice", "password": ALICE_PASSWORD}),
        ),
        (
            "mtls",
            addr("SSL"),
            serde_json::json!({"protocol": "SSL", "ca": ca,
                "cert": certs.client_cert.display().to_string(),
                "key": certs.client_key.display().to_string()}),
        ),
        (
            "scram256",
            addr("SASL_SSL"),
            serde_json::json!({"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-256",
                "username": "dora", "password": SCRAM_PASSWORD, "ca": ca}),
        ),
        (
            "scram512",
            addr("SASL_SSL"),
            serde_json::json!({"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-512",
                "username": "dora", "password": SCRAM_PASSWORD, "ca": ca}),
        ),
    ];
    let script = format!(
        "{}/tests/clients/python_security.py",
        env!("CARGO_MANIFEST_DIR")
    );
    for (case, bootstrap, settings) in cases {
        let mut cmd = Command::new(python);
        cmd.args([
            &script,
            &bootstrap,
            &format!("{tag}-{case}"),
            &settings.to_string(),
        ]);
        let out = run(cmd, None);
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("python_security.py {case} with {python}:\n{text}");
        assert!(text.contains(" passed, 0 failed"), "{case}: {text}");
    }
    rt.block_on(running.shutdown());
}

#[test]
fn python_clients_on_secured_listeners_debian_versions() {
    python_security("/usr/bin/python3", "debian");
}

#[test]
fn python_clients_on_secured_listeners_current_versions() {
    let python = std::env::var("KTUI_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python").to_string()
    });
    python_security(&python, "current");
}
