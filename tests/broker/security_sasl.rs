//! SASL_PLAINTEXT with PLAIN: librdkafka produces and consumes as a JAAS user; a wrong
//! password is refused with SASL_AUTHENTICATION_FAILED and a message without the password;
//! requests before authentication close the connection; the old v0 handshake (bare tokens)
//! works; re-authentication (KIP-368) is answered.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Offset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestBroker;
use crate::raw::Raw;

pub const ALICE_PASSWORD: &str = "alice-pw-7f3a91";
pub const ADMIN_PASSWORD: &str = "admin-pw-c20d4e";

/// The JAAS config of a PLAIN listener with users admin and alice.
pub fn plain_jaas() -> String {
    format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"{ADMIN_PASSWORD}\" \
         user_admin=\"{ADMIN_PASSWORD}\" user_alice=\"{ALICE_PASSWORD}\";"
    )
}

/// A broker whose only listener is SASL_PLAINTEXT with PLAIN, plus `extra` overrides.
pub async fn plain_broker(extra: &[(&str, &str)]) -> TestBroker {
    let jaas = plain_jaas();
    let mut overrides = vec![
        ("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
        ("sasl.enabled.mechanisms", "PLAIN"),
        (
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            jaas.as_str(),
        ),
        ("connection.failed.authentication.delay.ms", "10"),
    ];
    overrides.extend_from_slice(extra);
    TestBroker::start_configured(&overrides).await
}

/// librdkafka settings for SASL_PLAINTEXT PLAIN as `user`.
pub fn sasl_plain(user: &str, password: &str) -> Vec<(String, String)> {
    [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", user),
        ("sasl.password", password),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Produces `count` records to `topic` with librdkafka and reads them back, both with `auth`.
pub async fn round_trip(bootstrap: &str, auth: &[(String, String)], topic: &str, count: usize) {
    let settings: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut producer_settings = settings.clone();
    producer_settings.push(("acks", "all"));
    let producer = crate::common::producer(bootstrap, &producer_settings);
    for i in 0..count {
        let value = format!("value-{i}");
        producer
            .send(
                FutureRecord::<(), str>::to(topic).payload(&value),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce over {settings:?}: {e}"));
    }
    consume_values(bootstrap, auth, topic, count).await;
}

/// Reads partition 0 of `topic` from the beginning with librdkafka and `auth`; checks it holds
/// `value-0` to `value-{count-1}`.
pub async fn consume_values(bootstrap: &str, auth: &[(String, String)], topic: &str, count: usize) {
    let bootstrap = bootstrap.to_string();
    let topic = topic.to_string();
    let owned = auth.to_vec();
    let seen = tokio::task::spawn_blocking(move || {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", &bootstrap)
            .set("broker.address.family", "v4")
            .set("group.id", "security-round-trip")
            .set("enable.auto.commit", "false");
        for (k, v) in &owned {
            c.set(k, v);
        }
        let consumer: rdkafka::consumer::BaseConsumer = c.create().expect("consumer");
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Beginning)
            .expect("offset");
        consumer.assign(&tpl).expect("assign");
        let deadline = std::time::Instant::now() + crate::common::DEADLINE;
        let mut values = Vec::new();
        while values.len() < count && std::time::Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                let m = m.expect("consume");
                values.push(
                    String::from_utf8_lossy(rdkafka::Message::payload(&m).unwrap_or_default())
                        .to_string(),
                );
            }
        }
        values
    })
    .await
    .expect("consumer");
    let want: Vec<String> = (0..count).map(|i| format!("value-{i}")).collect();
    assert_eq!(seen, want);
}

/// SaslHandshake v1 then SaslAuthenticate v2 with a PLAIN token.
pub async fn plain_login(raw: &mut Raw, user: &str, password: &str) -> SaslAuthenticateResponse {
    let handshake: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await;
    assert_eq!(handshake.error_code, 0);
    let token = format!("\0{user}\0{password}");
    raw.call(
        ApiKey::SaslAuthenticate,
        2,
        &SaslAuthenticateRequest::default().with_auth_bytes(token.into_bytes().into()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_produces_and_consumes_as_a_plain_user() {
    let broker = plain_broker(&[]).await;
    let b = broker.bootstrap();
    round_trip(&b, &sasl_plain("alice", ALICE_PASSWORD), "plain-topic", 50).await;
    // A wrong password: librdkafka reports the authentication failure and gets no metadata.
    let auth = sasl_plain("alice", "wrong-password-123");
    let failed = tokio::task::spawn_blocking(move || {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", &b)
            .set("broker.address.family", "v4");
        for (k, v) in &auth {
            c.set(k, v);
        }
        let consumer: rdkafka::consumer::BaseConsumer = c.create().expect("consumer");
        consumer.fetch_metadata(None, Duration::from_secs(3))
    })
    .await
    .expect("rdkafka");
    assert!(
        failed.is_err(),
        "metadata with a wrong password: {failed:?}"
    );
    broker.stop().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_echoing_it() {
    let broker = plain_broker(&[]).await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let versions: ApiVersionsResponse = raw
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let advertised = |key: ApiKey| {
        versions
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(advertised(ApiKey::SaslHandshake), Some((0, 1)));
    assert_eq!(advertised(ApiKey::SaslAuthenticate), Some((0, 2)));
    let refused = plain_login(&mut raw, "alice", "not-the-password-42").await;
    assert_eq!(refused.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    let message = refused
        .error_message
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert_eq!(
        message,
        "Authentication failed: Invalid username or password"
    );
    assert!(
        raw.is_closed().await,
        "closed after a failed authentication"
    );
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let unknown = plain_login(&mut raw, "mallory", ALICE_PASSWORD).await;
    assert_eq!(unknown.error_code, 58);
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let ok = plain_login(&mut raw, "alice", ALICE_PASSWORD).await;
    assert_eq!(ok.error_code, 0, "{ok:?}");
    let metadata: MetadataResponse = raw
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert_eq!(metadata.brokers.len(), 1);
    broker.stop().await;
}

#[tokio::test]
async fn requests_before_authentication_close_the_connection() {
    let broker = plain_broker(&[]).await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    raw.send(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert!(raw.is_closed().await, "Metadata before the handshake");
    // After the handshake, only SaslAuthenticate.
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let _: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await;
    raw.send(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert!(raw.is_closed().await, "Metadata during authentication");
    // An unknown mechanism is answered with the enabled ones, then closed.
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let refused: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("GSSAPI")),
        )
        .await;
    assert_eq!(refused.error_code, 33, "UNSUPPORTED_SASL_MECHANISM");
    assert_eq!(refused.mechanisms, vec![StrBytes::from_static_str("PLAIN")]);
    assert!(raw.is_closed().await);
    broker.stop().await;
}

#[tokio::test]
async fn the_v0_handshake_takes_bare_tokens() {
    let broker = plain_broker(&[]).await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let handshake: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            0,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await;
    assert_eq!(handshake.error_code, 0);
    let token = format!("\0alice\0{ALICE_PASSWORD}");
    let mut frame = BytesMut::new();
    frame.put_i32(token.len() as i32);
    frame.put_slice(token.as_bytes());
    raw.stream.write_all(&frame).await.expect("token");
    let len = raw.stream.read_i32().await.expect("answer");
    assert_eq!(len, 0, "PLAIN answers an empty token");
    let metadata: MetadataResponse = raw
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert_eq!(metadata.brokers.len(), 1);
    broker.stop().await;
}

#[tokio::test]
async fn sessions_end_and_re_authentication_renews_them() {
    let broker = plain_broker(&[("connections.max.reauth.ms", "300")]).await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let ok = plain_login(&mut raw, "alice", ALICE_PASSWORD).await;
    assert_eq!(ok.session_lifetime_ms, 300);
    let again = plain_login(&mut raw, "alice", ALICE_PASSWORD).await;
    assert_eq!((again.error_code, again.session_lifetime_ms), (0, 300));
    let _: MetadataResponse = raw
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    // Another principal on re-authentication is refused.
    let other = plain_login(&mut raw, "admin", ADMIN_PASSWORD).await;
    assert_eq!(other.error_code, 58);
    assert!(raw.is_closed().await);
    // Past the session's end, a request closes the connection.
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let _ = plain_login(&mut raw, "alice", ALICE_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    raw.send(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert!(raw.is_closed().await, "an expired session is closed");
    broker.stop().await;
}
