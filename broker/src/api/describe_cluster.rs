//! DescribeCluster: cluster id, controller and brokers (at their address on the listener the
//! request came in on).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::auth;
use super::str_bytes;
use super::RequestContext;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::error::Result;
use crate::Broker;

pub async fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: DescribeClusterRequest,
) -> Result<DescribeClusterResponse> {
    let (cluster_id, controller, brokers) = broker.cluster.read(|image| {
        let brokers: Vec<DescribeClusterBroker> = image
            .brokers
            .values()
            .filter(|b| !b.fenced)
            .filter_map(|b| {
                let (host, port) = b.end_point(&ctx.listener)?;
                Some(
                    DescribeClusterBroker::default()
                        .with_broker_id(BrokerId(b.node_id))
                        .with_host(str_bytes(host))
                        .with_port(i32::from(port))
                        .with_rack(b.rack.clone().map(str_bytes)),
                )
            })
            .collect();
        (
            image.cluster_id.clone(),
            image.client_controller_id(),
            brokers,
        )
    });
    // As Kafka: anyone may describe the cluster; its operations need DESCRIBE on it (else 0).
    let asked = request.include_cluster_authorized_operations;
    let operations = if asked && !auth::allowed_on_cluster(broker, ctx, AclOperation::Describe) {
        0
    } else {
        auth::operations(broker, ctx, asked, ResourceType::Cluster, CLUSTER_NAME)
    };
    Ok(DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(cluster_id))
        .with_controller_id(BrokerId(controller))
        .with_brokers(brokers)
        .with_endpoint_type(request.endpoint_type)
        .with_cluster_authorized_operations(operations))
}
