//! Connections on a SASL listener that misbehave are closed, and only they: an oversized
//! frame before authentication, garbage tokens (PLAIN, SCRAM, bare v0 tokens), a client that
//! never authenticates (past the deadline, even while it keeps sending ApiVersions), and a
//! client that stays silent for `connections.max.idle.ms`.

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, MetadataResponse, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::raw::Raw;
use crate::security_sasl::{plain_login, ALICE_PASSWORD};
use crate::security_scram::scram_broker;

async fn handshake(raw: &mut Raw, version: i16, mechanism: &'static str) {
    let response: SaslHandshakeResponse = raw
        .call(
            ApiKey::SaslHandshake,
            version,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
        )
        .await;
    assert_eq!(response.error_code, 0);
}

/// A working login on another connection: the broker serves on.
async fn others_still_work(bootstrap: &str) {
    let mut raw = Raw::connect(bootstrap).await;
    assert_eq!(
        plain_login(&mut raw, "alice", ALICE_PASSWORD)
            .await
            .error_code,
        0
    );
    let metadata: MetadataResponse = raw
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    assert_eq!(metadata.brokers.len(), 1);
}

#[tokio::test]
async fn oversized_and_garbage_tokens_close_only_their_connection() {
    let broker = scram_broker(&[("sasl.server.max.receive.size", "4096")]).await;
    let b = broker.bootstrap();
    // A frame larger than sasl.server.max.receive.size before authentication.
    let mut big = Raw::connect(&b).await;
    let mut frame = BytesMut::new();
    frame.put_i32(1 << 20);
    frame.put_slice(&[0u8; 64]);
    big.stream.write_all(&frame).await.expect("write");
    // Garbage in a SaslAuthenticate for PLAIN and for SCRAM.
    let mut plain = Raw::connect(&b).await;
    handshake(&mut plain, 1, "PLAIN").await;
    let junk = vec![0xffu8; 300];
    let refused: SaslAuthenticateResponse = plain
        .call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(junk.clone().into()),
        )
        .await;
    assert_eq!(refused.error_code, 58);
    let mut scram = Raw::connect(&b).await;
    handshake(&mut scram, 1, "SCRAM-SHA-256").await;
    let refused: SaslAuthenticateResponse = scram
        .call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(junk.into()),
        )
        .await;
    assert_eq!(refused.error_code, 58);
    // A bare v0 token of garbage, and a malformed SaslAuthenticate body.
    let mut bare = Raw::connect(&b).await;
    handshake(&mut bare, 0, "SCRAM-SHA-512").await;
    bare.stream
        .write_all(&[0, 0, 0, 5, 1, 2, 3, 4, 5])
        .await
        .expect("write");
    let mut malformed = Raw::connect(&b).await;
    handshake(&mut malformed, 1, "PLAIN").await;
    malformed
        .send(ApiKey::SaslAuthenticate, 2, &ApiVersionsRequest::default())
        .await;
    for (what, raw) in [
        ("oversized", &mut big),
        ("PLAIN garbage", &mut plain),
        ("SCRAM garbage", &mut scram),
        ("bare garbage", &mut bare),
        ("malformed", &mut malformed),
    ] {
        assert!(raw.is_closed().await, "{what} closed");
    }
    others_still_work(&b).await;
    broker.stop().await;
}

#[tokio::test]
async fn a_client_that_never_authenticates_is_dropped_at_the_deadline() {
    let broker = scram_broker(&[]).await;
    let b = broker.bootstrap();
    let mut stalling = Raw::connect(&b).await;
    let started = Instant::now();
    // ApiVersions again and again (allowed before the handshake) is not authenticating.
    loop {
        stalling
            .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
            .await;
        let answer = tokio::time::timeout(Duration::from_secs(5), stalling.stream.read_i32()).await;
        match answer {
            Ok(Ok(len)) => {
                let mut body = vec![0u8; len as usize];
                if stalling.stream.read_exact(&mut body).await.is_err() {
                    break;
                }
            }
            Ok(Err(_)) => break,
            Err(_) => panic!("ApiVersions unanswered"),
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("still connected after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let lasted = started.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(13)).contains(&lasted),
        "dropped after {lasted:?}"
    );
    others_still_work(&b).await;
    broker.stop().await;
}

#[tokio::test]
async fn silent_connections_are_closed_after_connections_max_idle_ms() {
    let broker = scram_broker(&[("connections.max.idle.ms", "300")]).await;
    let b = broker.bootstrap();
    let mut raw = Raw::connect(&b).await;
    assert_eq!(
        plain_login(&mut raw, "alice", ALICE_PASSWORD)
            .await
            .error_code,
        0
    );
    let started = Instant::now();
    assert!(raw.is_closed().await);
    assert!(started.elapsed() < Duration::from_secs(5));
    others_still_work(&b).await;
    broker.stop().await;
}
