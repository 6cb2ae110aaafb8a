//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554). Describe answers
//! from this broker's metadata image (mechanisms and iterations only, as Kafka's `ScramImage`);
//! Alter turns each salted password the client computed into the stored keys here and sends
//! the change to the active controller, like the other admin writes. They need DESCRIBE and
//! ALTER on the cluster.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::ResponseError;

use super::auth::{allowed_on_cluster, denied};
use super::{str_bytes, RequestContext};
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::cluster::ClusterImage;
use crate::controller::{ControllerRequest, ControllerResponse, ScramResult, ScramUpsertion};
use crate::error::Result;
use crate::security::scram::{credential_from_salted, ScramCredential};
use crate::security::{Mechanism, Secret};
use crate::Broker;

pub async fn describe(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeUserScramCredentialsRequest,
) -> Result<DescribeUserScramCredentialsResponse> {
    if !allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        let message = denied(
            ctx,
            AclOperation::Describe,
            ResourceType::Cluster,
            CLUSTER_NAME,
        );
        return Ok(DescribeUserScramCredentialsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(str_bytes(message))));
    }
    let wanted: Option<Vec<String>> = request
        .users
        .filter(|u| !u.is_empty())
        .map(|users| users.iter().map(|u| u.name.to_string()).collect());
    let results = broker
        .cluster
        .read(|image| describe_users(image, wanted.as_deref()));
    Ok(DescribeUserScramCredentialsResponse::default().with_results(results))
}

/// Kafka's `ScramImage.describe`: every user when none is named; a name asked twice is
/// DUPLICATE_RESOURCE, an unknown one RESOURCE_NOT_FOUND.
fn describe_users(
    image: &ClusterImage,
    wanted: Option<&[String]>,
) -> Vec<DescribeUserScramCredentialsResult> {
    let mut users: BTreeMap<&str, bool> = BTreeMap::new();
    match wanted {
        None => {
            for name in image.scram_credentials.keys() {
                users.insert(name, false);
            }
        }
        Some(names) => {
            for name in names {
                let seen = users.contains_key(name.as_str());
                users.insert(name, seen);
            }
        }
    }
    users
        .into_iter()
        .map(|(user, duplicate)| {
            let result = DescribeUserScramCredentialsResult::default().with_user(str_bytes(user));
            let refuse = |error: ResponseError, message: &str| {
                result
                    .clone()
                    .with_error_code(error.code())
                    .with_error_message(Some(str_bytes(format!("{message}{user}"))))
            };
            if duplicate {
                return refuse(
                    ResponseError::DuplicateResource,
                    "Cannot describe SCRAM credentials for the same user twice in a single request: ",
                );
            }
            match image.scram_credentials.get(user).filter(|m| !m.is_empty()) {
                Some(mechanisms) => result.clone().with_credential_infos(
                    mechanisms
                        .iter()
                        .map(|(m, c)| {
                            CredentialInfo::default()
                                .with_mechanism(*m)
                                .with_iterations(c.iterations)
                        })
                        .collect(),
                ),
                None => refuse(
                    ResponseError::ResourceNotFound,
                    "Attempt to describe a user credential that does not exist: ",
                ),
            }
        })
        .collect()
}

pub async fn alter(
    broker: &Broker,
    ctx: &RequestContext,
    request: AlterUserScramCredentialsRequest,
) -> Result<AlterUserScramCredentialsResponse> {
    let names = request
        .deletions
        .iter()
        .map(|d| d.name.to_string())
        .chain(request.upsertions.iter().map(|u| u.name.to_string()));
    if !allowed_on_cluster(broker, ctx, AclOperation::Alter) {
        let message = denied(
            ctx,
            AclOperation::Alter,
            ResourceType::Cluster,
            CLUSTER_NAME,
        );
        let code = ResponseError::ClusterAuthorizationFailed.code();
        let results = names.map(|user| result(user, code, Some(message.clone())));
        return Ok(AlterUserScramCredentialsResponse::default().with_results(results.collect()));
    }
    let deletions = request
        .deletions
        .iter()
        .map(|d| (d.name.to_string(), d.mechanism))
        .collect();
    let upsertions = request
        .upsertions
        .iter()
        .map(|u| {
            let stored = Mechanism::from_scram_type(u.mechanism).and_then(|m| {
                credential_from_salted(m, u.salt.to_vec(), &u.salted_password, u.iterations)
            });
            // An unknown mechanism goes on with no keys: the controller refuses it by name.
            let stored = stored.unwrap_or(ScramCredential {
                salt: Secret::default(),
                stored_key: Secret::default(),
                server_key: Secret::default(),
                iterations: u.iterations,
            });
            ScramUpsertion {
                name: u.name.to_string(),
                mechanism: u.mechanism,
                iterations: u.iterations,
                salt: stored.salt,
                stored_key: stored.stored_key,
                server_key: stored.server_key,
            }
        })
        .collect();
    let request = ControllerRequest::AlterScramCredentials {
        deletions,
        upsertions,
    };
    let results = match broker.cluster.submit(request).await {
        Ok(ControllerResponse::ScramResults(results)) => results,
        Ok(other) => {
            let message = format!("the controller answered {other:?}");
            let code = ResponseError::UnknownServerError.code();
            names
                .map(|user| ScramResult {
                    user,
                    error_code: code,
                    message: Some(message.clone()),
                })
                .collect()
        }
        Err(refusal) => names
            .map(|user| ScramResult {
                user,
                error_code: refusal.error.code(),
                message: Some(refusal.message.clone()),
            })
            .collect(),
    };
    let results = results
        .into_iter()
        .map(|r| result(r.user, r.error_code, r.message))
        .collect();
    Ok(AlterUserScramCredentialsResponse::default().with_results(results))
}

fn result(user: String, code: i16, message: Option<String>) -> AlterUserScramCredentialsResult {
    AlterUserScramCredentialsResult::default()
        .with_user(str_bytes(user))
        .with_error_code(code)
        .with_error_message(message.map(str_bytes))
}
