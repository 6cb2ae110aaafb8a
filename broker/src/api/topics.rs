//! CreateTopics (validate_only too), DeleteTopics (by name, or by id from v6) and
//! CreatePartitions.
//!
//! With an authorizer, as Kafka: CreateTopics needs CREATE on the cluster or on each topic,
//! and shows a new topic's configs only with DESCRIBE_CONFIGS on it (else
//! `topic_config_error_code` is TOPIC_AUTHORIZATION_FAILED); DeleteTopics needs DELETE on each
//! topic (and, for a topic named by id, DESCRIBE to learn its name); CreatePartitions needs
//! ALTER on each topic.

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{auth, RequestContext};
use super::{str_bytes, topic_name};
use crate::authorizer::{AclOperation, ResourceType};
use crate::cluster::{Refusal, TopicInfo, TopicSpec};
use crate::config::defs::{self, TOPIC_KEYS};
use crate::error::Result;
use crate::Broker;

/// CreateTopics v5 returns the new topic's partitions, replication factor and configs.
const DETAILS_VERSION: i16 = 5;
/// DeleteTopics v3 knows TOPIC_DELETION_DISABLED.
const DELETION_DISABLED_VERSION: i16 = 3;

pub async fn create(
    broker: &Broker,
    ctx: &RequestContext,
    request: CreateTopicsRequest,
) -> Result<CreateTopicsResponse> {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.0.to_string()))
        .map(|t| t.name.0.to_string())
        .collect();
    let may_create_any = auth::allowed_on_cluster(broker, ctx, AclOperation::Create);
    let may = |op, name: &str| auth::allowed(broker, ctx, op, ResourceType::Topic, name);
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        if duplicates.contains(&name) {
            let r = Refusal { error: ResponseError::InvalidRequest, message: format!("Create topics request from client contains multiple entries for the topic '{name}'.") };
            results.push(refused_topic(topic, r));
            continue;
        }
        if !may_create_any && !may(AclOperation::Create, &name) {
            let message = auth::denied(ctx, AclOperation::Create, ResourceType::Topic, &name);
            let r = Refusal::new(ResponseError::TopicAuthorizationFailed, message);
            results.push(refused_topic(topic, r));
            continue;
        }
        let configs_visible = may(AclOperation::DescribeConfigs, &name);
        results.push(
            match create_one(broker, topic, request.validate_only).await {
                Ok(info) => created_topic(broker, ctx.version, &name, &info, configs_visible),
                Err(r) => refused_topic(topic, r),
            },
        );
    }
    Ok(CreateTopicsResponse::default().with_topics(results))
}

async fn create_one(
    broker: &Broker,
    topic: &CreatableTopic,
    validate_only: bool,
) -> Result<TopicInfo, Refusal> {
    let spec = spec_of(broker, topic)?;
    if validate_only {
        broker.cluster.plan_topic(&spec).await
    } else {
        broker.create_topic(&spec).await
    }
}

fn spec_of(broker: &Broker, topic: &CreatableTopic) -> Result<TopicSpec, Refusal> {
    let invalid = |message: String| Refusal {
        error: ResponseError::InvalidRequest,
        message,
    };
    if !topic.assignments.is_empty()
        && (topic.num_partitions != -1 || topic.replication_factor != -1)
    {
        return Err(invalid(
            "Both numPartitions or replicationFactor and replicasAssignments were set.".into(),
        ));
    }
    let mut assignments: Vec<(i32, Vec<i32>)> = topic
        .assignments
        .iter()
        .map(|a| {
            (
                a.partition_index,
                a.broker_ids.iter().map(|b| b.0).collect(),
            )
        })
        .collect();
    assignments.sort_by_key(|(p, _)| *p);
    if assignments
        .iter()
        .enumerate()
        .any(|(i, (p, _))| *p != i as i32)
    {
        return Err(Refusal {
            error: ResponseError::InvalidReplicaAssignment,
            message: "Partitions must be numbered from 0 without gaps.".into(),
        });
    }
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        let value = c.value.as_ref().map(|v| v.to_string());
        check_topic_config(&c.name, value.as_deref())?;
        if let Some(v) = value {
            configs.insert(c.name.to_string(), v);
        }
    }
    let partitions = if topic.num_partitions == -1 {
        broker.config.num_partitions
    } else {
        topic.num_partitions
    };
    let rf = if topic.replication_factor == -1 {
        broker.config.default_replication_factor
    } else {
        topic.replication_factor
    };
    Ok(TopicSpec {
        name: topic.name.0.to_string(),
        partitions,
        replication_factor: rf,
        assignments: assignments.into_iter().map(|(_, r)| r).collect(),
        configs,
        internal: false,
    })
}

/// Checks one topic config key and value as Kafka does (INVALID_CONFIG otherwise).
pub fn check_topic_config(name: &str, value: Option<&str>) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        error: ResponseError::InvalidConfig,
        message,
    };
    let key = defs::topic_key(name)
        .ok_or_else(|| invalid(format!("Unknown topic config name: {name}")))?;
    match value {
        Some(v) => defs::check_topic_value(key, v)
            .map_err(|m| invalid(format!("Invalid value {v} for configuration {name}: {m}"))),
        None => Ok(()),
    }
}

/// A created topic; its configs only for a principal that may DESCRIBE_CONFIGS it (Kafka
/// leaves them out and sets `topic_config_error_code` otherwise).
fn created_topic(
    broker: &Broker,
    version: i16,
    name: &str,
    info: &TopicInfo,
    configs_visible: bool,
) -> CreatableTopicResult {
    let mut result = CreatableTopicResult::default()
        .with_name(topic_name(name))
        .with_topic_id(info.id);
    if version >= DETAILS_VERSION && !configs_visible {
        let error = ResponseError::TopicAuthorizationFailed.code();
        let rf = info
            .partitions
            .first()
            .map_or(0, |p| p.replicas.len() as i16);
        result = result
            .with_num_partitions(info.partitions.len() as i32)
            .with_replication_factor(rf)
            .with_topic_config_error_code(error)
            .with_configs(None);
    } else if version >= DETAILS_VERSION {
        let configs = TOPIC_KEYS
            .iter()
            .map(|key| {
                let resolved = broker.config.resolve_topic(key, &info.configs);
                CreatableTopicConfigs::default()
                    .with_name(str_bytes(key.name))
                    .with_value(resolved.value.map(str_bytes))
                    .with_config_source(resolved.source as i8)
            })
            .collect();
        let rf = info
            .partitions
            .first()
            .map_or(0, |p| p.replicas.len() as i16);
        result = result
            .with_num_partitions(info.partitions.len() as i32)
            .with_replication_factor(rf)
            .with_configs(Some(configs));
    }
    result
}

fn refused_topic(topic: &CreatableTopic, r: Refusal) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(topic.name.clone())
        .with_error_code(r.error.code())
        .with_error_message(Some(str_bytes(r.message)))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_configs(None)
}

pub async fn delete(
    broker: &Broker,
    ctx: &RequestContext,
    request: DeleteTopicsRequest,
) -> Result<DeleteTopicsResponse> {
    let mut wanted: Vec<(Option<String>, Uuid)> = request
        .topic_names
        .iter()
        .map(|n| (Some(n.0.to_string()), Uuid::nil()))
        .collect();
    wanted.extend(
        request
            .topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)),
    );
    let mut responses = Vec::with_capacity(wanted.len());
    let may = |op, name: &str| auth::allowed(broker, ctx, op, ResourceType::Topic, name);
    for (name, id) in wanted {
        let by_id = name.is_none();
        let name = name.or_else(|| {
            broker
                .cluster
                .read(|i| i.topic_by_id(&id).map(|(n, _)| n.clone()))
        });
        let result = DeletableTopicResult::default()
            .with_name(name.clone().map(topic_name))
            .with_topic_id(id);
        if let Some(name) = name.as_deref() {
            // A topic named by id keeps its name from a principal that may not DESCRIBE it.
            let hidden = by_id && !may(AclOperation::Describe, name);
            if hidden || !may(AclOperation::Delete, name) {
                // Neither the name nor the message may tell a hidden topic's name.
                let (result, message) = if hidden {
                    let id = format!("with id {id}");
                    let message =
                        auth::denied(ctx, AclOperation::Describe, ResourceType::Topic, &id);
                    (result.with_name(None), message)
                } else {
                    let message =
                        auth::denied(ctx, AclOperation::Delete, ResourceType::Topic, name);
                    (result, message)
                };
                responses.push(
                    result
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                        .with_error_message(Some(str_bytes(message))),
                );
                continue;
            }
        }
        responses.push(
            match delete_one(broker, ctx.version, name.as_deref(), id).await {
                Ok(info) => result.with_topic_id(info.id),
                Err(r) => result
                    .with_error_code(r.error.code())
                    .with_error_message(Some(str_bytes(r.message))),
            },
        );
    }
    Ok(DeleteTopicsResponse::default().with_responses(responses))
}

async fn delete_one(
    broker: &Broker,
    version: i16,
    name: Option<&str>,
    id: Uuid,
) -> Result<TopicInfo, Refusal> {
    let Some(name) = name else {
        return Err(Refusal {
            error: ResponseError::UnknownTopicId,
            message: format!("Topic id {id} does not exist."),
        });
    };
    if !broker.config.delete_topic_enable {
        let error = if version >= DELETION_DISABLED_VERSION {
            ResponseError::TopicDeletionDisabled
        } else {
            ResponseError::InvalidRequest
        };
        return Err(Refusal {
            error,
            message: "Topic deletion is disabled (delete.topic.enable=false).".into(),
        });
    }
    if broker
        .cluster
        .read(|i| i.topics.get(name).is_some_and(|t| t.internal))
    {
        return Err(Refusal {
            error: ResponseError::InvalidTopicException,
            message: format!("Internal topic '{name}' cannot be deleted."),
        });
    }
    broker.cluster.delete_topic(name).await
}

pub async fn create_partitions(
    broker: &Broker,
    ctx: &RequestContext,
    request: CreatePartitionsRequest,
) -> Result<CreatePartitionsResponse> {
    let mut results = Vec::with_capacity(request.topics.len());
    for t in &request.topics {
        let name = t.name.0.to_string();
        let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        if !auth::allowed(broker, ctx, AclOperation::Alter, ResourceType::Topic, &name) {
            let message = auth::denied(ctx, AclOperation::Alter, ResourceType::Topic, &name);
            results.push(
                result
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(str_bytes(message))),
            );
            continue;
        }
        let outcome = broker
            .cluster
            .add_partitions(&name, t.count, request.validate_only)
            .await;
        results.push(match outcome {
            Ok(_) => result,
            Err(r) => result
                .with_error_code(r.error.code())
                .with_error_message(Some(str_bytes(r.message))),
        });
    }
    Ok(CreatePartitionsResponse::default().with_results(results))
}
