//! TLS listeners: librdkafka over SSL with a client certificate (mTLS, its subject the
//! principal) and over SASL_SSL with SCRAM-SHA-256 and -512; PEM files, PEM strings and PKCS12
//! keystores; a plaintext client or TLS garbage on a TLS port closes that connection only.

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, MetadataRequest};
use ktui_broker::security::Secret;
use ktui_broker::{BrokerConfig, RunningBroker};
use rdkafka::consumer::Consumer;
use tokio::io::AsyncWriteExt;

use crate::raw::Raw;
use crate::security_certs::{Certs, CLIENT_DN};
use crate::security_sasl::round_trip;
use crate::security_scram::sasl_scram;

/// A broker from `overrides` (log.dirs is added) with `--add-scram` users.
pub async fn start_broker(
    overrides: &[(&str, String)],
    add_scram: &[&str],
) -> (RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut all = vec![("log.dirs".to_string(), dir.path().display().to_string())];
    all.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let mut config = BrokerConfig::from_properties("", &all).expect("config");
    config.add_scram = add_scram.iter().map(|a| Secret::from(*a)).collect();
    let running = RunningBroker::start(config).await.expect("broker starts");
    (running, dir)
}

/// Whether librdkafka with `settings` gets metadata from `bootstrap` (and the topics it lists).
pub async fn metadata_topics(
    bootstrap: &str,
    settings: &[(String, String)],
) -> Result<Vec<String>, String> {
    let bootstrap = bootstrap.to_string();
    let settings = settings.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", &bootstrap)
            .set("broker.address.family", "v4");
        for (k, v) in &settings {
            c.set(k, v);
        }
        let consumer: rdkafka::consumer::BaseConsumer = c.create().map_err(|e| e.to_string())?;
        let m = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        Ok(m.topics().iter().map(|t| t.name().to_string()).collect())
    })
    .await
    .expect("rdkafka")
}

fn ssl_listener(certs: &Certs, extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("listeners", "SSL://127.0.0.1:0".to_string()),
        ("ssl.keystore.location", certs.broker.display().to_string()),
        ("ssl.keystore.type", "PEM".to_string()),
        ("ssl.truststore.location", certs.ca.display().to_string()),
        ("ssl.truststore.type", "PEM".to_string()),
    ];
    for (k, v) in extra {
        out.retain(|(key, _)| key != k);
        out.push((leak(k), v.clone()));
    }
    out
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_clients_are_their_certificate_subject() {
    let certs = Certs::generate();
    let overrides = ssl_listener(
        &certs,
        &[
            ("ssl.client.auth", "requested".into()),
            ("authorizer.class.name", "StandardAuthorizer".into()),
            ("super.users", format!("User:{CLIENT_DN}")),
        ],
    );
    let (running, _dir) = start_broker(&overrides, &[]).await;
    let b = running.local_addr().to_string();
    // alice (a super user by her certificate's subject) creates and uses a topic.
    round_trip(&b, &certs.rdkafka("SSL", true), "mtls-topic", 20).await;
    let with_cert = metadata_topics(&b, &certs.rdkafka("SSL", true)).await;
    assert!(
        with_cert
            .as_ref()
            .is_ok_and(|t| t.contains(&"mtls-topic".to_string())),
        "{with_cert:?}"
    );
    // Without a certificate the client is User:ANONYMOUS and may see nothing.
    let anonymous = metadata_topics(&b, &certs.rdkafka("SSL", false)).await;
    assert_eq!(anonymous, Ok(Vec::new()));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_client_certificate_is_required() {
    let certs = Certs::generate();
    let overrides = ssl_listener(&certs, &[("ssl.client.auth", "required".into())]);
    let (running, _dir) = start_broker(&overrides, &[]).await;
    let b = running.local_addr().to_string();
    assert!(metadata_topics(&b, &certs.rdkafka("SSL", false))
        .await
        .is_err());
    assert!(metadata_topics(&b, &certs.rdkafka("SSL", true))
        .await
        .is_ok());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_with_scram_256_and_512() {
    let certs = Certs::generate();
    let mut overrides = ssl_listener(&certs, &[]);
    overrides[0] = ("listeners", "SASL_SSL://127.0.0.1:0".into());
    overrides.push((
        "sasl.enabled.mechanisms",
        "SCRAM-SHA-256,SCRAM-SHA-512".into(),
    ));
    let (running, _dir) = start_broker(
        &overrides,
        &[
            "SCRAM-SHA-256=[name=carol,password=carol-pw-3141]",
            "SCRAM-SHA-512=[name=carol,password=carol-pw-3141]",
        ],
    )
    .await;
    let b = running.local_addr().to_string();
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut settings = sasl_scram("SASL_SSL", mechanism, "carol", "carol-pw-3141");
        settings.push(("ssl.ca.location".into(), certs.ca.display().to_string()));
        let topic = format!("sasl-ssl-{}", &mechanism[10..]);
        round_trip(&b, &settings, &topic, 20).await;
    }
    let mut wrong = sasl_scram("SASL_SSL", "SCRAM-SHA-256", "carol", "not-carols-pw");
    wrong.push(("ssl.ca.location".into(), certs.ca.display().to_string()));
    assert!(metadata_topics(&b, &wrong).await.is_err());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_and_garbage_on_a_tls_port_close_only_that_connection() {
    let certs = Certs::generate();
    let (running, _dir) = start_broker(&ssl_listener(&certs, &[]), &[]).await;
    let b = running.local_addr().to_string();
    let mut plain = Raw::connect(&b).await;
    plain
        .send(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    let mut garbage = Raw::connect(&b).await;
    garbage
        .stream
        .write_all(&[
            0x16, 0x03, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
        ])
        .await
        .expect("write");
    // A client that connects and says nothing holds its connection, and others go on.
    let _silent = Raw::connect(&b).await;
    assert!(
        plain.is_closed().await,
        "a plaintext client is disconnected"
    );
    assert!(garbage.is_closed().await, "TLS garbage is disconnected");
    assert!(metadata_topics(&b, &certs.rdkafka("SSL", false))
        .await
        .is_ok());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_and_pem_string_keystores() {
    let certs = Certs::generate();
    let p12 = certs.broker_pkcs12("store-pw-1");
    let pkcs12 = ssl_listener(
        &certs,
        &[
            ("ssl.keystore.location", p12.display().to_string()),
            ("ssl.keystore.type", "PKCS12".into()),
            ("ssl.keystore.password", "store-pw-1".into()),
        ],
    );
    let strings = vec![
        ("listeners", "SSL://127.0.0.1:0".to_string()),
        ("ssl.keystore.type", "PEM".into()),
        (
            "ssl.keystore.certificate.chain",
            certs.broker_cert_pem.clone(),
        ),
        ("ssl.keystore.key", certs.broker_key_pem.clone()),
    ];
    for overrides in [pkcs12, strings] {
        let (running, _dir) = start_broker(&overrides, &[]).await;
        let b = running.local_addr().to_string();
        assert!(metadata_topics(&b, &certs.rdkafka("SSL", false))
            .await
            .is_ok());
        running.shutdown().await;
    }
    // A wrong PKCS12 password is a start-up error that does not show the password.
    let dir = tempfile::tempdir().expect("dir");
    let bad: Vec<(String, String)> = vec![
        ("log.dirs".into(), dir.path().display().to_string()),
        ("listeners".into(), "SSL://127.0.0.1:0".into()),
        ("ssl.keystore.location".into(), p12.display().to_string()),
        ("ssl.keystore.type".into(), "PKCS12".into()),
        ("ssl.keystore.password".into(), "guessed-pw-99".into()),
    ];
    let config = BrokerConfig::from_properties("", &bad).expect("config");
    let err = RunningBroker::start(config).await.expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("ssl.keystore.location") && !text.contains("guessed-pw-99"),
        "{text}"
    );
}
