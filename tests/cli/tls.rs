//! ktui's own TLS paths against the workspace broker's TLS listeners: a CA file, mutual TLS
//! (a client certificate the SSL listener requires), and SASL PLAIN over SASL_SSL; without the
//! client certificate, without the CA, or with a wrong password, one line and exit 1.

use crate::certs::Certs;
use crate::common::{assert_one_line_error, run_ktui, stderr, TestBroker};

const ADMIN_PASSWORD: &str = "tls-admin-pw-61";

fn properties(dir: &std::path::Path, name: &str, lines: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("properties");
    path.display().to_string()
}

#[test]
fn ktui_connects_over_tls_with_a_ca_mutual_tls_and_sasl_ssl() {
    let certs = Certs::generate();
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         user_admin=\"{ADMIN_PASSWORD}\";"
    );
    let broker = TestBroker::start_with(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        ),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &certs.broker.display().to_string()),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", &certs.ca.display().to_string()),
        ("listener.name.ssl.ssl.client.auth", "required"),
        ("sasl.enabled.mechanisms", "PLAIN"),
        (
            "listener.name.sasl_ssl.plain.sasl.jaas.config",
            jaas.as_str(),
        ),
    ]);
    let out = broker.ktui(&["topics", "create", "secured", "--partitions", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = certs.dir.path();
    let ca = format!("ssl.ca.location={}", certs.ca.display());
    let ssl = broker.listener("SSL");
    let sasl_ssl = broker.listener("SASL_SSL");
    let list = |config: &str| run_ktui(&["topics", "list", "--command-config", config], b"", &[]);

    let mutual = properties(
        dir,
        "mtls.properties",
        &[
            format!("bootstrap.servers={ssl}"),
            "security.protocol=SSL".into(),
            ca.clone(),
            format!("ssl.certificate.location={}", certs.client_cert.display()),
            format!("ssl.key.location={}", certs.client_key.display()),
        ],
    );
    let out = list(&mutual);
    assert!(out.status.success(), "mTLS: {}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("secured"));

    let no_certificate = properties(
        dir,
        "no-cert.properties",
        &[
            format!("bootstrap.servers={ssl}"),
            "security.protocol=SSL".into(),
            ca.clone(),
        ],
    );
    let started = std::time::Instant::now();
    let out = list(&no_certificate);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "refused at once, not after the 30 s request timeout"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the listener requires a certificate"
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    let no_ca = properties(
        dir,
        "no-ca.properties",
        &[
            format!("bootstrap.servers={sasl_ssl}"),
            "security.protocol=SASL_SSL".into(),
            "sasl.mechanism=PLAIN".into(),
            "sasl.username=admin".into(),
            format!("sasl.password={ADMIN_PASSWORD}"),
        ],
    );
    assert_one_line_error(&list(&no_ca), "UnknownIssuer");

    let plain = |password: &str, name: &str| {
        properties(
            dir,
            name,
            &[
                format!("bootstrap.servers={sasl_ssl}"),
                "security.protocol=SASL_SSL".into(),
                "sasl.mechanism=PLAIN".into(),
                format!(
                    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
                     required username=\"admin\" password=\"{password}\";"
                ),
                "ssl.truststore.type=PEM".to_string(),
                format!("ssl.truststore.location={}", certs.ca.display()),
            ],
        )
    };
    let out = list(&plain(ADMIN_PASSWORD, "sasl-ssl.properties"));
    assert!(out.status.success(), "SASL_SSL PLAIN: {}", stderr(&out));
    let out = list(&plain("guess-42", "wrong.properties"));
    assert_one_line_error(&out, "SASL_AUTHENTICATION_FAILED");
    assert!(!stderr(&out).contains("guess-42"));
}
