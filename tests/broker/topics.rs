//! Topic administration through librdkafka: create, list, describe, grow, delete.

use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::types::RDKafkaErrorCode;

use crate::common::{admin, consumer, create_topic, TestBroker};

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_describe_grow_delete() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "orders", 3, &[("retention.ms", "3600000")]).await;
    create_topic(&bootstrap, "payments", 1, &[]).await;

    let c = consumer(&bootstrap);
    let md = c.fetch_metadata(None, TIMEOUT).expect("metadata");
    let mut names = user_topics(&md);
    names.sort_unstable();
    assert_eq!(names, ["orders", "payments"]);
    assert_eq!(md.brokers().len(), 1);
    let orders = md
        .topics()
        .iter()
        .find(|t| t.name() == "orders")
        .expect("orders");
    assert_eq!(orders.partitions().len(), 3);
    for p in orders.partitions() {
        assert_eq!(p.leader(), 1);
        assert_eq!(p.replicas(), &[1]);
        assert_eq!(p.isr(), &[1]);
        assert!(p.error().is_none());
    }

    let admin = admin(&bootstrap);
    let opts = AdminOptions::new();
    let again = NewTopic::new("orders", 3, TopicReplication::Fixed(1));
    let dup = admin.create_topics([&again], &opts).await.expect("request");
    assert_eq!(
        dup[0].as_ref().expect_err("duplicate").1,
        RDKafkaErrorCode::TopicAlreadyExists
    );
    let too_many_replicas = NewTopic::new("x", 1, TopicReplication::Fixed(3));
    let r = admin
        .create_topics([&too_many_replicas], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("rf 3").1,
        RDKafkaErrorCode::InvalidReplicationFactor
    );
    let bad_name = NewTopic::new("bad name!", 1, TopicReplication::Fixed(1));
    let r = admin
        .create_topics([&bad_name], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("bad name").1,
        RDKafkaErrorCode::InvalidTopic
    );

    let grow = NewPartitions::new("orders", 5);
    admin
        .create_partitions([&grow], &opts)
        .await
        .expect("request")[0]
        .as_ref()
        .expect("grown");
    let shrink = NewPartitions::new("orders", 2);
    let r = admin
        .create_partitions([&shrink], &opts)
        .await
        .expect("request");
    assert_eq!(
        r[0].as_ref().expect_err("shrink").1,
        RDKafkaErrorCode::InvalidPartitions
    );
    let md = c.fetch_metadata(Some("orders"), TIMEOUT).expect("metadata");
    assert_eq!(md.topics()[0].partitions().len(), 5);

    let deleted = admin
        .delete_topics(&["payments"], &opts)
        .await
        .expect("request");
    deleted[0].as_ref().expect("deleted");
    assert!(!broker.dir.path().join("payments-0").exists());
    let md = c.fetch_metadata(None, TIMEOUT).expect("metadata");
    assert_eq!(user_topics(&md), ["orders"]);
    let missing = admin
        .delete_topics(&["nope"], &opts)
        .await
        .expect("request");
    assert_eq!(
        missing[0].as_ref().expect_err("missing").1,
        RDKafkaErrorCode::UnknownTopicOrPartition
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producing_to_a_new_topic_auto_creates_it() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let p = crate::common::producer(&bootstrap, &[]);
    p.send(
        rdkafka::producer::FutureRecord::<(), _>::to("auto-made").payload("x"),
        TIMEOUT,
    )
    .await
    .expect("delivered");
    let md = consumer(&bootstrap)
        .fetch_metadata(Some("auto-made"), TIMEOUT)
        .expect("metadata");
    assert_eq!(md.topics()[0].partitions().len(), 1, "num.partitions=1");
    broker.stop().await;
}

async fn metadata_v12(bootstrap: &str, topic: &str, allow: bool) -> MetadataResponse {
    let mut raw = crate::raw::Raw::connect(bootstrap).await;
    let wanted = MetadataRequestTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.into()))));
    let request = MetadataRequest::default()
        .with_topics(Some(vec![wanted]))
        .with_allow_auto_topic_creation(allow);
    raw.call(ApiKey::Metadata, 12, &request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_creation_follows_broker_and_request() {
    let broker = TestBroker::start_configured(&[("num.partitions", "4")]).await;
    let refused = metadata_v12(&broker.bootstrap(), "t1", false).await;
    assert_eq!(
        refused.topics[0].error_code, 3,
        "request did not allow creation"
    );
    let made = metadata_v12(&broker.bootstrap(), "t1", true).await;
    assert_eq!(
        (made.topics[0].error_code, made.topics[0].partitions.len()),
        (0, 4)
    );
    let invalid = metadata_v12(&broker.bootstrap(), "bad/name", true).await;
    assert_eq!(invalid.topics[0].error_code, 17, "INVALID_TOPIC_EXCEPTION");
    broker.stop().await;

    let broker = TestBroker::start_configured(&[("auto.create.topics.enable", "false")]).await;
    let refused = metadata_v12(&broker.bootstrap(), "t2", true).await;
    assert_eq!(refused.topics[0].error_code, 3, "broker disabled creation");
    broker.stop().await;
}

/// Topic names other than __consumer_offsets, which the consumer's group.id makes it create
/// (through FindCoordinator, as in Kafka) at a moment of librdkafka's choosing.
fn user_topics(md: &rdkafka::metadata::Metadata) -> Vec<&str> {
    md.topics()
        .iter()
        .map(|t| t.name())
        .filter(|n| *n != "__consumer_offsets")
        .collect()
}
