//! Bad input closes the offending connection only: truncated headers, absurd and negative
//! lengths, unknown API keys, unsupported versions. Afterwards a real client still works, and
//! so does a connection that was open all along.

use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};
use rdkafka::consumer::Consumer;
use tokio::io::AsyncWriteExt;

use crate::common::{consumer, TestBroker};
use crate::raw::Raw;

async fn closes_after(bootstrap: &str, bytes: &[u8]) {
    let mut raw = Raw::connect(bootstrap).await;
    raw.stream.write_all(bytes).await.expect("write");
    raw.stream.shutdown().await.ok();
    assert!(
        raw.is_closed().await,
        "broker closes the connection after {bytes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_only_their_connection() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let mut healthy = Raw::connect(&bootstrap).await;
    let _: MetadataResponse = healthy
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;

    let mut huge = Raw::connect(&bootstrap).await;
    huge.stream
        .write_all(&i32::MAX.to_be_bytes())
        .await
        .expect("write");
    assert!(
        huge.is_closed().await,
        "length 2^31-1 refused before reading"
    );
    closes_after(&bootstrap, &(-1i32).to_be_bytes()).await;
    closes_after(&bootstrap, &[0, 0, 0, 6, 0, 18, 0]).await;
    closes_after(
        &bootstrap,
        &[0, 0, 0, 10, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0],
    )
    .await;
    // A Metadata v3 body claiming 2^31-1 topics in a tiny frame.
    closes_after(
        &bootstrap,
        &[
            0, 0, 0, 14, 0, 3, 0, 3, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
        ],
    )
    .await;
    // Garbage after a valid header.
    closes_after(
        &bootstrap,
        &[
            0, 0, 0, 14, 0, 3, 0, 12, 0, 0, 0, 9, 0, 0, 0xde, 0xad, 0xbe, 0xef,
        ],
    )
    .await;
    // Produce v2 is advertised for old librdkafka's sake but is not served.
    closes_after(
        &bootstrap,
        &[0, 0, 0, 14, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0],
    )
    .await;

    let _: MetadataResponse = healthy
        .call(ApiKey::Metadata, 12, &MetadataRequest::default())
        .await;
    let c = consumer(&bootstrap);
    let md = c
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("real client still served");
    assert_eq!(md.brokers().len(), 1);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_newer_than_ours_gets_v0_answer() {
    let broker = TestBroker::start().await;
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let ours: ApiVersionsResponse = raw
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(ours.error_code, 0);
    let produce = ours
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .expect("produce");
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    // Version 9 of ApiVersions does not exist; the broker answers in v0 with UNSUPPORTED_VERSION.
    // Header v2: key, version, correlation id 1, null client id, no tagged fields; empty body.
    let frame = [0, 0, 0, 12, 0, 18, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0, 0];
    raw.stream.write_all(&frame).await.expect("write");
    let answer: ApiVersionsResponse = raw.receive_as(ApiKey::ApiVersions, 0, 1).await;
    assert_eq!(answer.error_code, 35);
    assert_eq!(answer.api_keys.len(), ours.api_keys.len());
    broker.stop().await;
}
