//! Topic configs through librdkafka: set, read back with sources, incremental changes.

use rdkafka::admin::{AdminOptions, AlterConfig, ConfigSource, ResourceSpecifier};

use crate::common::{admin, create_topic, TestBroker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_set_and_read_back() {
    let broker = TestBroker::start_configured(&[("log.retention.hours", "24")]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "cfg", 1, &[("cleanup.policy", "compact")]).await;
    let admin = admin(&bootstrap);
    let opts = AdminOptions::new();

    let described = admin
        .describe_configs([&ResourceSpecifier::Topic("cfg")], &opts)
        .await
        .expect("request");
    let resource = described[0].as_ref().expect("described");
    let policy = resource.get("cleanup.policy").expect("cleanup.policy");
    assert_eq!(policy.value.as_deref(), Some("compact"));
    assert_eq!(policy.source, ConfigSource::DynamicTopic);
    let retention = resource.get("retention.ms").expect("retention.ms");
    assert_eq!(
        retention.value.as_deref(),
        Some("86400000"),
        "broker synonym log.retention.hours=24"
    );
    assert_eq!(retention.source, ConfigSource::StaticBroker);
    let segment = resource.get("segment.bytes").expect("segment.bytes");
    assert_eq!(segment.value.as_deref(), Some("1073741824"));
    assert_eq!(segment.source, ConfigSource::Default);
    assert!(resource.entries.len() >= 20, "every topic config is listed");

    let change = AlterConfig::new(ResourceSpecifier::Topic("cfg"))
        .set("retention.ms", "1000")
        .set("cleanup.policy", "delete");
    admin
        .alter_configs([&change], &opts)
        .await
        .expect("request")[0]
        .as_ref()
        .expect("altered");
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic("cfg")], &opts)
        .await
        .expect("request");
    let resource = described[0].as_ref().expect("described");
    assert_eq!(
        resource
            .get("retention.ms")
            .and_then(|e| e.value.as_deref()),
        Some("1000")
    );
    assert_eq!(
        resource
            .get("cleanup.policy")
            .and_then(|e| e.value.as_deref()),
        Some("delete")
    );

    let bad = AlterConfig::new(ResourceSpecifier::Topic("cfg")).set("no.such.config", "1");
    // rust-rdkafka does not surface AlterConfigs' per-resource errors (the Python clients'
    // test checks INVALID_CONFIG); the refused change must leave the configs as they were.
    let _ = admin.alter_configs([&bad], &opts).await.expect("request");
    let after = admin
        .describe_configs([&ResourceSpecifier::Topic("cfg")], &opts)
        .await
        .expect("request");
    let after = after[0].as_ref().expect("described");
    assert!(after.get("no.such.config").is_none());
    assert_eq!(
        after.get("retention.ms").and_then(|e| e.value.as_deref()),
        Some("1000")
    );
    let broker_cfg = admin
        .describe_configs([&ResourceSpecifier::Broker(1)], &opts)
        .await
        .expect("request");
    let b = broker_cfg[0].as_ref().expect("broker configs");
    assert_eq!(
        b.get("log.retention.hours")
            .and_then(|e| e.value.as_deref()),
        Some("24")
    );
    broker.stop().await;
}

/// Dynamic broker configs (KIP-226): a broker's own and the cluster-wide default change the
/// defaults of every topic at once, survive a restart (they are metadata records), and only
/// the keys Kafka makes dynamic are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_broker_configs_become_topic_defaults() {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::{
        ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "dyn", 1, &[]).await;
    let admin = admin(&bootstrap);
    let opts = AdminOptions::new();
    let set = |name: &'static str, key: &'static str, value: &'static str| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str(name))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_static_str(key))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_static_str(value)))]),
        ])
    };
    let mut raw = crate::raw::Raw::connect(&bootstrap).await;
    let per_broker: IncrementalAlterConfigsResponse = raw
        .call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &set("1", "log.retention.ms", "3600000"),
        )
        .await;
    assert_eq!(per_broker.responses[0].error_code, 0, "{per_broker:?}");
    let cluster_wide: IncrementalAlterConfigsResponse = raw
        .call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &set("", "log.segment.bytes", "2097152"),
        )
        .await;
    assert_eq!(cluster_wide.responses[0].error_code, 0, "{cluster_wide:?}");
    let fixed: IncrementalAlterConfigsResponse = raw
        .call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &set("1", "num.partitions", "3"),
        )
        .await;
    assert_eq!(
        fixed.responses[0].error_code,
        kafka_protocol::ResponseError::InvalidRequest.code(),
        "num.partitions is not dynamic in Kafka"
    );
    let topic = admin
        .describe_configs([&ResourceSpecifier::Topic("dyn")], &opts)
        .await
        .expect("request");
    let topic = topic[0].as_ref().expect("described");
    let retention = topic.get("retention.ms").expect("retention.ms");
    assert_eq!(retention.value.as_deref(), Some("3600000"));
    assert_eq!(retention.source, ConfigSource::DynamicBroker);
    let segment = topic.get("segment.bytes").expect("segment.bytes");
    assert_eq!(segment.value.as_deref(), Some("2097152"));
    assert_eq!(segment.source, ConfigSource::DynamicDefaultBroker);
    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, &[]).await;
    let admin = crate::common::admin(&broker.bootstrap());
    let described = admin
        .describe_configs([&ResourceSpecifier::Broker(1)], &opts)
        .await
        .expect("request");
    let b = described[0].as_ref().expect("broker configs");
    let entry = b.get("log.retention.ms").expect("log.retention.ms");
    assert_eq!(
        entry.value.as_deref(),
        Some("3600000"),
        "kept across a restart"
    );
    assert_eq!(entry.source, ConfigSource::DynamicBroker);
    assert!(!entry.is_read_only);
    broker.stop().await;
}

/// Group configs (Kafka 4.0): set per group in the metadata log, described with the GROUP
/// source, and used by the group: a KIP-848 member of it is told the group's heartbeat
/// interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_configs_are_kept_and_used() {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::{
        ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
        DescribeConfigsRequest, DescribeConfigsResponse, GroupId, IncrementalAlterConfigsRequest,
        IncrementalAlterConfigsResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;

    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "grouped-cfg", 1, &[]).await;
    let mut raw = crate::raw::Raw::connect(&bootstrap).await;
    let set = |key: &'static str, value: &'static str| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(32)
                .with_resource_name(StrBytes::from_static_str("g-cfg"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_static_str(key))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_static_str(value)))]),
        ])
    };
    let ok: IncrementalAlterConfigsResponse = raw
        .call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &set("consumer.heartbeat.interval.ms", "1234"),
        )
        .await;
    assert_eq!(ok.responses[0].error_code, 0, "{ok:?}");
    let unknown: IncrementalAlterConfigsResponse = raw
        .call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &set("no.such.group.config", "1"),
        )
        .await;
    assert_eq!(
        unknown.responses[0].error_code,
        kafka_protocol::ResponseError::InvalidConfig.code()
    );
    let described: DescribeConfigsResponse = raw
        .call(
            ApiKey::DescribeConfigs,
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(32)
                    .with_resource_name(StrBytes::from_static_str("g-cfg"))
                    .with_configuration_keys(None),
            ]),
        )
        .await;
    let entry = described.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "consumer.heartbeat.interval.ms")
        .unwrap_or_else(|| panic!("not described: {described:?}"));
    assert_eq!(entry.value.as_deref(), Some("1234"));
    assert_eq!(entry.config_source, 8, "GROUP_CONFIG");
    let beat: ConsumerGroupHeartbeatResponse = raw
        .call(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            &ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g-cfg")))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![TopicName(StrBytes::from_static_str(
                    "grouped-cfg",
                ))])),
        )
        .await;
    assert_eq!(beat.error_code, 0, "{beat:?}");
    assert_eq!(beat.heartbeat_interval_ms, 1234, "the group's own interval");
    broker.stop().await;
}
