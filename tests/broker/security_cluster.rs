//! A secured 3-node cluster of `ktui broker` processes: a SASL_SSL listener (SCRAM-SHA-256
//! and -512) is the inter-broker listener, so followers fetch over TLS as the SCRAM user
//! `broker`. SCRAM users made with AlterUserScramCredentials on one node log in on every node;
//! acks=all records survive the leader's death and are read from another broker; no password
//! reaches the brokers' logs.

use std::time::Duration;

use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
};
use ktui_broker::security::Mechanism;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::raw::Raw;
use crate::security_certs::Certs;
use crate::security_sasl::round_trip;
use crate::security_scram::{sasl_scram, upsertion};
use crate::security_tls::metadata_topics;

use crate::cluster::harness;

const BROKER_PASSWORD: &str = "broker-pw-e4d1c0";
const ALICE_PASSWORD: &str = "alice-scram-pw-58a2";
const WRONG_PASSWORD: &str = "wrong-pw-b77f31";

fn secured_overrides(certs: &Certs) -> Vec<(String, String)> {
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"broker\" password=\"{BROKER_PASSWORD}\";"
    );
    vec![
        (
            "listener.security.protocol.map".into(),
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL".into(),
        ),
        ("inter.broker.listener.name".into(), "SASL_SSL".into()),
        (
            "sasl.enabled.mechanisms".into(),
            "SCRAM-SHA-256,SCRAM-SHA-512".into(),
        ),
        (
            "sasl.mechanism.inter.broker.protocol".into(),
            "SCRAM-SHA-512".into(),
        ),
        (
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config".into(),
            jaas,
        ),
        (
            "ssl.keystore.location".into(),
            certs.broker.display().to_string(),
        ),
        ("ssl.keystore.type".into(), "PEM".into()),
        (
            "ssl.truststore.location".into(),
            certs.ca.display().to_string(),
        ),
        ("ssl.truststore.type".into(), "PEM".into()),
        ("offsets.topic.replication.factor".into(), "3".into()),
        ("replica.lag.time.max.ms".into(), "5000".into()),
    ]
}

fn alice(certs: &Certs, password: &str) -> Vec<(String, String)> {
    let mut settings = sasl_scram("SASL_SSL", "SCRAM-SHA-256", "alice", password);
    settings.push(("ssl.ca.location".into(), certs.ca.display().to_string()));
    settings
}

fn admin(bootstrap: &str, settings: &[(String, String)]) -> AdminClient<DefaultClientContext> {
    let mut c = rdkafka::config::ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    for (k, v) in settings {
        c.set(k, v);
    }
    c.create().expect("admin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sasl_ssl_inter_broker_listener_replicates() {
    let certs = Certs::generate();
    let overrides = secured_overrides(&certs);
    let extra: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut cluster = harness::TestCluster::start_with_listener(3, &extra, Some("SASL_SSL")).await;
    // Users through node 0's PLAINTEXT listener (no authorizer: anyone may).
    let mut raw = Raw::connect(&cluster.addr(0)).await;
    for (user, mechanism, password) in [
        ("broker", Mechanism::ScramSha512, BROKER_PASSWORD),
        ("alice", Mechanism::ScramSha256, ALICE_PASSWORD),
    ] {
        let request = AlterUserScramCredentialsRequest::default()
            .with_upsertions(vec![upsertion(user, mechanism, password)]);
        let response: AlterUserScramCredentialsResponse = raw
            .call(ApiKey::AlterUserScramCredentials, 0, &request)
            .await;
        assert_eq!(response.results[0].error_code, 0, "{response:?}");
    }
    // The credentials reached every broker: alice logs in on each one alone.
    let secured: Vec<String> = cluster
        .second_bootstrap()
        .split(',')
        .map(str::to_string)
        .collect();
    for addr in &secured {
        let mut listed = Err(String::new());
        for _ in 0..50 {
            listed = metadata_topics(addr, &alice(&certs, ALICE_PASSWORD)).await;
            if listed.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(listed.is_ok(), "alice on {addr}: {listed:?}");
    }
    assert!(metadata_topics(&secured[0], &alice(&certs, WRONG_PASSWORD))
        .await
        .is_err());
    let bootstrap = cluster.second_bootstrap();
    let topic =
        NewTopic::new("secured", 1, TopicReplication::Fixed(3)).set("min.insync.replicas", "2");
    let created = admin(&bootstrap, &alice(&certs, ALICE_PASSWORD))
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    // Followers fetch over SASL_SSL as `broker`: the ISR fills up.
    let (m, _) = cluster
        .wait_metadata("a full ISR", Some(&["secured"]), |m| {
            m.topics
                .first()
                .and_then(|t| t.partitions.first())
                .is_some_and(|p| p.isr_nodes.len() == 3)
        })
        .await;
    let leader = m.topics[0].partitions[0].leader_id.0 as usize;
    round_trip(&bootstrap, &alice(&certs, ALICE_PASSWORD), "secured", 100).await;
    // Every follower has the records: kill the leader and read them from another broker.
    cluster.kill(leader);
    let others: Vec<&String> = secured
        .iter()
        .enumerate()
        .filter(|(id, _)| *id != leader)
        .map(|(_, a)| a)
        .collect();
    let survivors = others
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",");
    cluster
        .wait_metadata("a new leader", Some(&["secured"]), |m| {
            m.topics
                .first()
                .and_then(|t| t.partitions.first())
                .is_some_and(|p| p.leader_id.0 >= 0 && p.leader_id.0 as usize != leader)
        })
        .await;
    crate::security_sasl::consume_values(
        &survivors,
        &alice(&certs, ALICE_PASSWORD),
        "secured",
        100,
    )
    .await;
    for id in 0..3 {
        let log = std::fs::read_to_string(cluster.log_path(id)).unwrap_or_default();
        for secret in [BROKER_PASSWORD, ALICE_PASSWORD, WRONG_PASSWORD] {
            assert!(!log.contains(secret), "node {id}'s log holds a password");
        }
    }
}
