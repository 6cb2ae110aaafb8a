//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and for brokers'
//! dynamic configs (KIP-226: per broker, or the cluster-wide default with the empty name,
//! kept as config records in the metadata log), and describing the group configs' defaults.
//!
//! Every known config is returned with its value, its source and, when asked, its synonyms,
//! as Kafka does; clients doing read-modify-write with AlterConfigs rely on it.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::auth;
use super::str_bytes;
use super::topics::check_topic_config;
use super::RequestContext;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::cluster::Refusal;
use crate::config::defs::{
    broker_key, broker_key_kind, is_dynamic_broker_key, ConfigType, BROKER_KEYS, GROUP_KEYS,
    TOPIC_KEYS,
};
use crate::config::ConfigSource;
use crate::error::Result;
use crate::Broker;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Group configs (KIP-848), described from Kafka 4.0.
const RESOURCE_GROUP: i8 = 32;
/// DescribeConfigs v3 added config types and documentation.
const TYPES_VERSION: i16 = 3;

/// One config entry before encoding.
struct Entry {
    name: &'static str,
    value: Option<String>,
    source: ConfigSource,
    read_only: bool,
    kind: ConfigType,
    doc: &'static str,
    synonyms: Vec<(String, Option<String>, ConfigSource)>,
}

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> Result<DescribeConfigsResponse> {
    let results = request
        .resources
        .iter()
        .map(|res| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            let refused = refusal(
                broker,
                ctx,
                AclOperation::DescribeConfigs,
                res.resource_type,
                &res.resource_name,
            );
            let entries = match refused {
                Some(r) => Err(r),
                None => entries_for(broker, res.resource_type, &res.resource_name),
            };
            match entries {
                Ok(entries) => {
                    let wanted = |name: &str| {
                        res.configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
                    };
                    let configs = entries
                        .into_iter()
                        .filter(|e| wanted(e.name))
                        .map(|e| encode_entry(ctx.version, &request, e))
                        .collect();
                    base.with_configs(configs)
                }
                Err(r) => base
                    .with_error_code(r.error.code())
                    .with_error_message(Some(str_bytes(r.message))),
            }
        })
        .collect();
    Ok(DescribeConfigsResponse::default().with_results(results))
}

fn entries_for(broker: &Broker, resource_type: i8, name: &StrBytes) -> Result<Vec<Entry>, Refusal> {
    match resource_type {
        RESOURCE_TOPIC => {
            let overrides = topic_overrides(broker, name)?;
            Ok(TOPIC_KEYS
                .iter()
                .map(|key| {
                    let r = broker.config.resolve_topic(key, &overrides);
                    Entry {
                        name: key.name,
                        value: r.value,
                        source: r.source,
                        read_only: false,
                        kind: key.kind,
                        doc: key.doc,
                        synonyms: r.synonyms,
                    }
                })
                .collect())
        }
        RESOURCE_BROKER => {
            check_broker_name(broker, name)?;
            Ok(BROKER_KEYS
                .iter()
                .map(|key| {
                    let mut synonyms: Vec<(String, Option<String>, ConfigSource)> = broker
                        .config
                        .layers(key.name)
                        .into_iter()
                        .map(|(v, source)| (key.name.to_string(), Some(v), source))
                        .collect();
                    if let Some(d) = key.default {
                        synonyms.push((
                            key.name.to_string(),
                            Some(d.to_string()),
                            ConfigSource::Default,
                        ));
                    }
                    let (value, source) = synonyms
                        .first()
                        .map_or((None, ConfigSource::Default), |(_, v, s)| (v.clone(), *s));
                    Entry {
                        name: key.name,
                        value,
                        source,
                        read_only: !is_dynamic_broker_key(key.name),
                        kind: key.kind,
                        doc: key.doc,
                        synonyms,
                    }
                })
                .collect())
        }
        // Any group name, existing or not, has its configs (Kafka answers defaults alike).
        RESOURCE_GROUP => {
            let set = broker
                .cluster
                .read(|i| i.group_configs.get(name.as_str()).cloned())
                .unwrap_or_default();
            Ok(GROUP_KEYS
                .iter()
                .map(|key| {
                    let explicit = broker.config.explicit(key.broker_key).map(str::to_string);
                    let (value, broker_source) = match explicit {
                        Some(v) => (Some(v), ConfigSource::StaticBroker),
                        None => (
                            broker_key(key.broker_key)
                                .and_then(|k| k.default)
                                .map(str::to_string),
                            ConfigSource::Default,
                        ),
                    };
                    let mut synonyms =
                        vec![(key.broker_key.to_string(), value.clone(), broker_source)];
                    let (value, source) = match set.get(key.name) {
                        Some(v) => {
                            synonyms.insert(
                                0,
                                (key.name.to_string(), Some(v.clone()), ConfigSource::Group),
                            );
                            (Some(v.clone()), ConfigSource::Group)
                        }
                        None => (value, ConfigSource::Default),
                    };
                    Entry {
                        name: key.name,
                        value,
                        source,
                        read_only: false,
                        kind: key.kind,
                        doc: key.doc,
                        synonyms,
                    }
                })
                .collect())
        }
        other => Err(Refusal {
            error: ResponseError::InvalidRequest,
            message: format!("Unsupported resource type {other}."),
        }),
    }
}

fn encode_entry(
    version: i16,
    request: &DescribeConfigsRequest,
    e: Entry,
) -> DescribeConfigsResourceResult {
    // A password (sasl.jaas.config, ssl.*.password, keys) is never sent: Kafka reports it
    // as sensitive with a null value, in its synonyms too.
    let sensitive = e.kind == ConfigType::Password;
    let shown = |v: Option<String>| if sensitive { None } else { v.map(str_bytes) };
    let mut out = DescribeConfigsResourceResult::default()
        .with_name(str_bytes(e.name))
        .with_value(shown(e.value))
        .with_read_only(e.read_only)
        .with_is_sensitive(sensitive)
        .with_config_source(e.source as i8);
    if request.include_synonyms {
        let synonyms = e
            .synonyms
            .into_iter()
            .map(|(n, v, s)| {
                DescribeConfigsSynonym::default()
                    .with_name(str_bytes(n))
                    .with_value(shown(v))
                    .with_source(s as i8)
            })
            .collect();
        out = out.with_synonyms(synonyms);
    }
    if version >= TYPES_VERSION {
        out = out.with_config_type(e.kind as i8);
        if request.include_documentation {
            out = out.with_documentation(Some(str_bytes(e.doc)));
        }
    }
    out
}

fn topic_overrides(broker: &Broker, name: &StrBytes) -> Result<BTreeMap<String, String>, Refusal> {
    broker
        .cluster
        .read(|i| i.topics.get(name.as_str()).map(|t| t.configs.clone()))
        .ok_or_else(|| Refusal {
            error: ResponseError::UnknownTopicOrPartition,
            message: format!("Topic '{name}' does not exist."),
        })
}

fn check_broker_name(broker: &Broker, name: &StrBytes) -> Result<(), Refusal> {
    if name.is_empty() || name.as_str() == broker.config.node_id.to_string() {
        Ok(())
    } else {
        Err(Refusal {
            error: ResponseError::InvalidRequest,
            message: format!(
                "Unexpected broker id, expected {} but received {name}",
                broker.config.node_id
            ),
        })
    }
}

/// With an authorizer, as Kafka: configs of a topic or group need DESCRIBE_CONFIGS or
/// ALTER_CONFIGS on it, those of a broker on the cluster; the refusal is the resource type's
/// authorization error.
fn refusal(
    broker: &Broker,
    ctx: &RequestContext,
    operation: AclOperation,
    resource_type: i8,
    name: &str,
) -> Option<Refusal> {
    let (resource_type, name, error) = match resource_type {
        RESOURCE_TOPIC => (
            ResourceType::Topic,
            name,
            ResponseError::TopicAuthorizationFailed,
        ),
        RESOURCE_GROUP => (
            ResourceType::Group,
            name,
            ResponseError::GroupAuthorizationFailed,
        ),
        RESOURCE_BROKER => (
            ResourceType::Cluster,
            CLUSTER_NAME,
            ResponseError::ClusterAuthorizationFailed,
        ),
        // Other types are refused as unsupported afterwards.
        _ => return None,
    };
    if auth::allowed(broker, ctx, operation, resource_type, name) {
        return None;
    }
    Some(Refusal {
        error,
        message: auth::denied(ctx, operation, resource_type, name),
    })
}

pub async fn alter(
    broker: &Broker,
    ctx: &RequestContext,
    request: AlterConfigsRequest,
) -> Result<AlterConfigsResponse> {
    let mut responses = Vec::new();
    for res in &request.resources {
        let response = {
            let configs: Vec<(String, Option<String>)> = res
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect();
            let refused = refusal(
                broker,
                ctx,
                AclOperation::AlterConfigs,
                res.resource_type,
                &res.resource_name,
            );
            let outcome = match refused {
                Some(r) => Err(r),
                None => {
                    change_config(
                        broker,
                        res.resource_type,
                        &res.resource_name,
                        request.validate_only,
                        |target, _| {
                            let mut next = BTreeMap::new();
                            for (name, value) in &configs {
                                target.check(name, value.as_deref())?;
                                if let Some(v) = value {
                                    next.insert(name.clone(), v.clone());
                                }
                            }
                            Ok(next)
                        },
                    )
                    .await
                }
            };
            let base = alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            match outcome {
                Ok(()) => base,
                Err(r) => base
                    .with_error_code(r.error.code())
                    .with_error_message(Some(str_bytes(r.message))),
            }
        };
        responses.push(response);
    }
    Ok(AlterConfigsResponse::default().with_responses(responses))
}

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub async fn incremental_alter(
    broker: &Broker,
    ctx: &RequestContext,
    request: IncrementalAlterConfigsRequest,
) -> Result<IncrementalAlterConfigsResponse> {
    let mut responses = Vec::new();
    for res in &request.resources {
        let response = {
            let ops: Vec<(String, i8, Option<String>)> = res
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.config_operation,
                        c.value.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect();
            let refused = refusal(
                broker,
                ctx,
                AclOperation::AlterConfigs,
                res.resource_type,
                &res.resource_name,
            );
            let outcome = match refused {
                Some(r) => Err(r),
                None => {
                    change_config(
                        broker,
                        res.resource_type,
                        &res.resource_name,
                        request.validate_only,
                        |target, current| {
                            let mut next = current.clone();
                            for (name, op, value) in &ops {
                                apply_op(broker, target, &mut next, name, *op, value.as_deref())?;
                            }
                            Ok(next)
                        },
                    )
                    .await
                }
            };
            let base = incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            match outcome {
                Ok(()) => base,
                Err(r) => base
                    .with_error_code(r.error.code())
                    .with_error_message(Some(str_bytes(r.message))),
            }
        };
        responses.push(response);
    }
    Ok(IncrementalAlterConfigsResponse::default().with_responses(responses))
}

/// Applies one incremental operation to a resource's configs.
fn apply_op(
    broker: &Broker,
    target: &Target,
    next: &mut BTreeMap<String, String>,
    name: &str,
    op: i8,
    value: Option<&str>,
) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        error: ResponseError::InvalidConfig,
        message,
    };
    target.check(name, value)?;
    let is_list = target.kind(name) == Some(ConfigType::List);
    match op {
        OP_SET => {
            let v = value.ok_or_else(|| invalid(format!("Null value not supported for SET of {name}")))?;
            next.insert(name.to_string(), v.to_string());
        }
        OP_DELETE => {
            next.remove(name);
        }
        OP_APPEND | OP_SUBTRACT if is_list => {
            let current = match target {
                Target::Topic(_) => broker.config.topic_value(name, next),
                Target::Broker(_) | Target::Group(_) => next.get(name).cloned().or_else(|| Some(broker.config.str_value(name))),
            }
            .unwrap_or_default();
            let mut items: Vec<String> = current.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            let given: Vec<&str> = value.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if op == OP_APPEND {
                items.extend(given.iter().filter(|g| !items.iter().any(|i| i == *g)).map(|g| g.to_string()).collect::<Vec<_>>());
            } else {
                items.retain(|i| !given.contains(&i.as_str()));
            }
            let joined = items.join(",");
            target.check(name, Some(&joined))?;
            next.insert(name.to_string(), joined);
        }
        OP_APPEND | OP_SUBTRACT => return Err(invalid(format!("Config value append/subtract is not allowed for config key {name}, which is not a list."))),
        other => return Err(Refusal { error: ResponseError::InvalidRequest, message: format!("Unknown config operation {other}.") }),
    }
    Ok(())
}

/// A resource AlterConfigs changes: a topic's overrides, the dynamic configs of a broker (or
/// of every broker, with the empty name), or a group's configs (Kafka 4.0).
enum Target {
    Topic(String),
    Broker(String),
    Group(String),
}

impl Target {
    fn of(resource_type: i8, name: &StrBytes) -> Result<Self, Refusal> {
        match resource_type {
            RESOURCE_TOPIC => Ok(Target::Topic(name.to_string())),
            RESOURCE_BROKER if name.is_empty() || name.parse::<i32>().is_ok() => {
                Ok(Target::Broker(name.to_string()))
            }
            RESOURCE_BROKER => Err(Refusal {
                error: ResponseError::InvalidRequest,
                message: format!("'{name}' is not a broker id."),
            }),
            RESOURCE_GROUP if !name.is_empty() => Ok(Target::Group(name.to_string())),
            other => Err(Refusal {
                error: ResponseError::InvalidRequest,
                message: format!("Unsupported resource type {other}."),
            }),
        }
    }

    /// Checks a key (and value) for this resource, as Kafka does: broker keys must be ones
    /// Kafka changes at run time.
    fn check(&self, name: &str, value: Option<&str>) -> Result<(), Refusal> {
        match self {
            Target::Topic(_) => check_topic_config(name, value),
            Target::Broker(_) => {
                if !is_dynamic_broker_key(name) {
                    return Err(Refusal {
                        error: ResponseError::InvalidRequest,
                        message: format!("Cannot update these configs dynamically: Set({name})"),
                    });
                }
                self.check_value(name, value)
            }
            Target::Group(_) => {
                if !GROUP_KEYS.iter().any(|k| k.name == name) {
                    return Err(Refusal {
                        error: ResponseError::InvalidConfig,
                        message: format!("Unknown group config name: {name}"),
                    });
                }
                self.check_value(name, value)
            }
        }
    }

    fn check_value(&self, name: &str, value: Option<&str>) -> Result<(), Refusal> {
        match (value, self.kind(name)) {
            (Some(v), Some(kind)) => {
                crate::config::defs::check_value(kind, v).map_err(|m| Refusal {
                    error: ResponseError::InvalidConfig,
                    message: format!("Invalid value {v} for configuration {name}: {m}"),
                })
            }
            _ => Ok(()),
        }
    }

    fn kind(&self, name: &str) -> Option<ConfigType> {
        match self {
            Target::Topic(_) => crate::config::defs::topic_key(name).map(|k| k.kind),
            Target::Broker(_) => broker_key_kind(name),
            Target::Group(_) => GROUP_KEYS.iter().find(|k| k.name == name).map(|k| k.kind),
        }
    }
}

/// Computes a resource's next configs with `f` from its current ones and applies them
/// unless `validate_only`.
async fn change_config(
    broker: &Broker,
    resource_type: i8,
    name: &StrBytes,
    validate_only: bool,
    f: impl FnOnce(&Target, &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal>,
) -> Result<(), Refusal> {
    let target = Target::of(resource_type, name)?;
    let current = match &target {
        Target::Topic(_) => topic_overrides(broker, name)?,
        Target::Broker(id) => broker
            .cluster
            .read(|i| i.broker_configs.get(id).cloned())
            .unwrap_or_default(),
        Target::Group(id) => broker
            .cluster
            .read(|i| i.group_configs.get(id).cloned())
            .unwrap_or_default(),
    };
    let next = f(&target, &current)?;
    if validate_only {
        return Ok(());
    }
    match &target {
        Target::Topic(topic) => {
            broker.cluster.set_topic_configs(topic, next).await?;
            tracing::info!(topic = %topic, "topic configs changed");
        }
        Target::Broker(id) => {
            broker
                .cluster
                .set_resource_configs(RESOURCE_BROKER, id, next)
                .await?;
            tracing::info!(broker = %id, "dynamic broker configs changed");
        }
        Target::Group(id) => {
            broker
                .cluster
                .set_resource_configs(RESOURCE_GROUP, id, next)
                .await?;
            tracing::info!(group = %id, "group configs changed");
        }
    }
    Ok(())
}
