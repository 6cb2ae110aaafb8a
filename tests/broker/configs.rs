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
