//! Named listeners: every listener in `listeners` is bound and served, and Metadata,
//! DescribeCluster and FindCoordinator give each broker's address on the listener the request
//! came in on (librdkafka follows those addresses, so a client of one listener stays on it).

use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, DescribeClusterRequest, DescribeClusterResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, MetadataRequest, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::Consumer;

use crate::common::{consumer, TestBroker};
use crate::raw::Raw;

/// Two plaintext listeners; the second advertises `localhost` instead of 127.0.0.1.
async fn two_listener_broker() -> (TestBroker, String, String) {
    let broker = TestBroker::start_configured(&[
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
        ),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
        ),
        (
            "advertised.listeners",
            "PLAINTEXT://127.0.0.1:0,EXTERNAL://localhost:0",
        ),
    ])
    .await;
    let running = broker.running.as_ref().expect("running");
    let internal = running.listener_addr("PLAINTEXT").expect("PLAINTEXT bound");
    let external = running.listener_addr("EXTERNAL").expect("EXTERNAL bound");
    assert_ne!(internal.port(), external.port());
    (broker, internal.to_string(), external.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listener_answers_with_its_own_addresses() {
    let (broker, internal, external) = two_listener_broker().await;
    let external_port = external.rsplit_once(':').expect("port").1.to_string();
    for (addr, host) in [(&internal, "127.0.0.1"), (&external, "localhost")] {
        let port: i32 = addr
            .rsplit_once(':')
            .expect("port")
            .1
            .parse()
            .expect("port");
        let mut raw = Raw::connect(addr).await;
        let metadata: MetadataResponse = raw
            .call(ApiKey::Metadata, 12, &MetadataRequest::default())
            .await;
        let b = &metadata.brokers[0];
        assert_eq!(
            (b.host.as_str(), b.port),
            (host, port),
            "Metadata on {addr}"
        );
        let cluster: DescribeClusterResponse = raw
            .call(
                ApiKey::DescribeCluster,
                1,
                &DescribeClusterRequest::default(),
            )
            .await;
        let b = &cluster.brokers[0];
        assert_eq!(
            (b.host.as_str(), b.port),
            (host, port),
            "DescribeCluster on {addr}"
        );
        let request = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
        let coordinator: FindCoordinatorResponse =
            raw.call(ApiKey::FindCoordinator, 3, &request).await;
        assert_eq!(coordinator.error_code, 0, "{coordinator:?}");
        assert_eq!(
            (coordinator.host.as_str(), coordinator.port),
            (host, port),
            "FindCoordinator on {addr}"
        );
    }
    // librdkafka bootstrapped on the second listener is told of `localhost:<its port>`.
    let listed = tokio::task::spawn_blocking(move || {
        let c = consumer(&external);
        let m = c
            .fetch_metadata(None, Duration::from_secs(30))
            .expect("metadata");
        let b = &m.brokers()[0];
        (b.host().to_string(), b.port())
    })
    .await
    .expect("rdkafka");
    assert_eq!(listed.0, "localhost");
    assert_eq!(listed.1.to_string(), external_port);
    broker.stop().await;
}

#[tokio::test]
async fn listeners_without_a_protocol_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let overrides = vec![
        ("log.dirs".to_string(), dir.path().display().to_string()),
        ("listeners".to_string(), "OTHER://127.0.0.1:0".to_string()),
    ];
    let err = ktui_broker::BrokerConfig::from_properties("", &overrides).expect_err("refused");
    assert!(
        err.to_string().contains("listener.security.protocol.map"),
        "{err}"
    );
}
