//! Metadata: brokers, cluster id, controller, and topics with partitions, leaders, leader
//! epochs, replicas and ISR. Topics named in a request are auto-created when the broker's
//! `auto.create.topics.enable` and the request (v4+: `allow_auto_topic_creation`) allow it.
//! Authorized operations (v8+) are reported when asked for.
//!
//! With an authorizer, as Kafka: a topic the principal may not DESCRIBE is left out of an
//! all-topics answer, and a topic asked for by name comes back as TOPIC_AUTHORIZATION_FAILED
//! (without saying whether it exists); auto-creation needs CREATE on the cluster or on the
//! topic.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::auth;
use super::RequestContext;
use super::{str_bytes, topic_name};
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME, OMITTED};
use crate::cluster::{validate_topic_name, ClusterImage, TopicInfo};
use crate::error::Result;
use crate::Broker;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: MetadataRequest,
) -> Result<MetadataResponse> {
    let all_topics = match &request.topics {
        None => true,
        Some(list) => ctx.version == 0 && list.is_empty(),
    };
    let allow_create = ctx.version < 4 || request.allow_auto_topic_creation;
    let mut topics = Vec::new();
    if all_topics {
        let names: Vec<String> = broker.cluster.read(|i| i.topics.keys().cloned().collect());
        let visible: Vec<String> = names
            .into_iter()
            .filter(|n| auth::allowed(broker, ctx, AclOperation::Describe, ResourceType::Topic, n))
            .collect();
        topics = broker.cluster.read(|image| {
            visible
                .iter()
                .filter_map(|n| image.topics.get(n).map(|t| describe_topic(image, n, t)))
                .collect()
        });
    } else {
        for wanted in request.topics.iter().flatten() {
            topics.push(
                lookup(
                    broker,
                    ctx,
                    wanted.name.as_ref().map(|n| n.0.as_str()),
                    wanted.topic_id,
                    allow_create,
                )
                .await,
            );
        }
    }
    let topics = topics
        .into_iter()
        .map(|t| {
            let refused = t.error_code == ResponseError::TopicAuthorizationFailed.code();
            let operations = match &t.name {
                Some(name) if !refused => auth::operations(
                    broker,
                    ctx,
                    request.include_topic_authorized_operations,
                    ResourceType::Topic,
                    name,
                ),
                _ => OMITTED,
            };
            t.with_topic_authorized_operations(operations)
        })
        .collect();
    // v8-v10 only: later versions moved the cluster's operations to DescribeCluster, where
    // they need DESCRIBE on the cluster (0 without it).
    let asked = request.include_cluster_authorized_operations;
    let cluster_operations = if !(8..=10).contains(&ctx.version) {
        OMITTED
    } else if asked && !auth::allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        0
    } else {
        auth::operations(broker, ctx, asked, ResourceType::Cluster, CLUSTER_NAME)
    };
    let (brokers, cluster_id, controller) = broker
        .cluster
        .read(|image| brokers_of(image, &ctx.listener));
    Ok(MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(cluster_id)))
        .with_controller_id(BrokerId(controller))
        .with_topics(topics)
        .with_cluster_authorized_operations(cluster_operations))
}

/// The live brokers with their address on `listener` (a broker without that listener is left
/// out, as Kafka leaves it out), the cluster id and the controller.
fn brokers_of(image: &ClusterImage, listener: &str) -> (Vec<MetadataResponseBroker>, String, i32) {
    let brokers = image
        .brokers
        .values()
        .filter(|b| !b.fenced)
        .filter_map(|b| {
            let (host, port) = b.end_point(listener)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.node_id))
                    .with_host(str_bytes(host))
                    .with_port(i32::from(port))
                    .with_rack(b.rack.clone().map(str_bytes)),
            )
        })
        .collect();
    (
        brokers,
        image.cluster_id.clone(),
        image.client_controller_id(),
    )
}

/// One requested topic, by name or (v10+) by id, auto-creating by name where allowed.
async fn lookup(
    broker: &Broker,
    ctx: &RequestContext,
    name: Option<&str>,
    id: Uuid,
    allow_create: bool,
) -> MetadataResponseTopic {
    let may =
        |op: AclOperation, name: &str| auth::allowed(broker, ctx, op, ResourceType::Topic, name);
    let Some(name) = name else {
        let found = broker.cluster.read(|i| {
            i.topic_by_id(&id)
                .map(|(n, t)| (n.clone(), describe_topic(i, n, t)))
        });
        return match found {
            // Topic ids are not secret; the name is.
            Some((name, _)) if !may(AclOperation::Describe, &name) => {
                error_topic(None, id, ResponseError::TopicAuthorizationFailed)
            }
            Some((_, topic)) => topic,
            None => error_topic(None, id, ResponseError::UnknownTopicId),
        };
    };
    if !may(AclOperation::Describe, name) {
        return error_topic(
            Some(name),
            Uuid::nil(),
            ResponseError::TopicAuthorizationFailed,
        );
    }
    if let Some(found) = broker
        .cluster
        .read(|i| i.topics.get(name).map(|t| describe_topic(i, name, t)))
    {
        return found;
    }
    let creating = allow_create && broker.config.auto_create_topics_enable;
    let may_create = || {
        auth::allowed_on_cluster(broker, ctx, AclOperation::Create)
            || may(AclOperation::Create, name)
    };
    if creating && !may_create() {
        return error_topic(
            Some(name),
            Uuid::nil(),
            ResponseError::TopicAuthorizationFailed,
        );
    }
    if validate_topic_name(name).is_err() {
        return error_topic(
            Some(name),
            Uuid::nil(),
            ResponseError::InvalidTopicException,
        );
    }
    if !creating {
        return error_topic(
            Some(name),
            Uuid::nil(),
            ResponseError::UnknownTopicOrPartition,
        );
    }
    match broker.create_topic(&broker.default_topic_spec(name)).await {
        Ok(topic) => broker.cluster.read(|i| describe_topic(i, name, &topic)),
        // Another request created it first.
        Err(r) if r.error == ResponseError::TopicAlreadyExists => broker
            .cluster
            .read(|i| i.topics.get(name).map(|t| describe_topic(i, name, t)))
            .unwrap_or_else(|| {
                error_topic(Some(name), Uuid::nil(), ResponseError::LeaderNotAvailable)
            }),
        Err(r) => {
            tracing::warn!(topic = name, error = %r.message, "auto-creation failed");
            error_topic(
                Some(name),
                Uuid::nil(),
                ResponseError::UnknownTopicOrPartition,
            )
        }
    }
}

fn error_topic(name: Option<&str>, id: Uuid, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(topic_name))
        .with_topic_id(id)
}

/// A topic's metadata as clients see it: a partition without a leader is
/// LEADER_NOT_AVAILABLE, and replicas on brokers that are fenced or gone are offline.
pub fn describe_topic(
    image: &ClusterImage,
    name: &str,
    topic: &TopicInfo,
) -> MetadataResponseTopic {
    let up = |id: &i32| image.brokers.get(id).is_some_and(|b| !b.fenced);
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let error = if p.online() {
                0
            } else {
                ResponseError::LeaderNotAvailable.code()
            };
            let offline = p.replicas.iter().copied().filter(|r| !up(r));
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(index as i32)
                .with_offline_replicas(offline.map(BrokerId).collect())
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(name)))
        .with_topic_id(topic.id)
        .with_is_internal(topic.internal)
        .with_partitions(partitions)
}
