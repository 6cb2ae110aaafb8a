//! AddRaftVoter (API 80) and RemoveRaftVoter (API 81), KIP-853: `ktui metadata-quorum
//! add-controller` and `remove-controller`, as `kafka-metadata-quorum.sh` runs them. Any
//! broker takes them and forwards them to the active controller; a static quorum
//! (`controller.quorum.voters`) refuses them with UNSUPPORTED_VERSION, as Kafka does at
//! `kraft.version` 0. They need ALTER on the cluster.

use kafka_protocol::messages::{
    AddRaftVoterRequest, AddRaftVoterResponse, RemoveRaftVoterRequest, RemoveRaftVoterResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{auth, str_bytes, RequestContext};
use crate::authorizer::{AclOperation, ResourceType};
use crate::controller::ControllerRequest;
use crate::error::Result;
use crate::Broker;

/// An error code and message for either response.
type Outcome = (i16, Option<StrBytes>);

fn refused(error: ResponseError, message: impl Into<String>) -> Outcome {
    (error.code(), Some(str_bytes(message.into())))
}

/// The checks both requests share: the caller may alter the cluster, and the request is for
/// this cluster.
fn check(broker: &Broker, ctx: &RequestContext, cluster_id: Option<&StrBytes>) -> Option<Outcome> {
    if !auth::allowed_on_cluster(broker, ctx, AclOperation::Alter) {
        let message = auth::denied(ctx, AclOperation::Alter, ResourceType::Cluster, "");
        return Some(refused(ResponseError::ClusterAuthorizationFailed, message));
    }
    let ours = broker.cluster.read(|i| i.cluster_id.clone());
    match cluster_id {
        Some(id) if !id.is_empty() && id.as_str() != ours => Some(refused(
            ResponseError::InconsistentClusterId,
            format!("This is cluster {ours}, not {}.", id.as_str()),
        )),
        _ => None,
    }
}

async fn submit(broker: &Broker, request: ControllerRequest) -> Outcome {
    match broker.cluster.submit(request).await {
        Ok(_) => (0, None),
        Err(r) => (r.error.code(), Some(str_bytes(r.message))),
    }
}

pub async fn add(
    broker: &Broker,
    ctx: &RequestContext,
    request: AddRaftVoterRequest,
) -> Result<AddRaftVoterResponse> {
    let outcome = match check(broker, ctx, request.cluster_id.as_ref()) {
        Some(refusal) => refusal,
        None => {
            // The controller listener: the one named like ours, else the first.
            let ours = broker
                .config
                .controller_listener
                .as_ref()
                .map(|l| l.name.as_str());
            let listener = request
                .listeners
                .iter()
                .find(|l| Some(l.name.as_str()) == ours)
                .or_else(|| request.listeners.first());
            match listener {
                None => refused(
                    ResponseError::InvalidRequest,
                    "The new voter names no controller listener.",
                ),
                Some(l) => {
                    let addr = format!("{}:{}", l.host.as_str(), l.port);
                    let timeout_ms = u64::try_from(request.timeout_ms).unwrap_or(0);
                    let add = ControllerRequest::AddVoter {
                        id: request.voter_id,
                        addr,
                        timeout_ms,
                    };
                    submit(broker, add).await
                }
            }
        }
    };
    Ok(AddRaftVoterResponse::default()
        .with_error_code(outcome.0)
        .with_error_message(outcome.1))
}

pub async fn remove(
    broker: &Broker,
    ctx: &RequestContext,
    request: RemoveRaftVoterRequest,
) -> Result<RemoveRaftVoterResponse> {
    let outcome = match check(broker, ctx, request.cluster_id.as_ref()) {
        Some(refusal) => refusal,
        None => {
            let remove = ControllerRequest::RemoveVoter {
                id: request.voter_id,
            };
            submit(broker, remove).await
        }
    };
    Ok(RemoveRaftVoterResponse::default()
        .with_error_code(outcome.0)
        .with_error_message(outcome.1))
}
