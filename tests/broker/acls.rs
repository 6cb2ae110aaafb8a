//! The ACL APIs through librdkafka's admin calls (CreateAcls, DescribeAcls, DeleteAcls):
//! refused with SECURITY_DISABLED without an authorizer; with one (and `User:ANONYMOUS` a
//! super user), ACLs are created, described with Kafka's filters (ANY, MATCH, LITERAL,
//! PREFIXED, by principal and operation), deleted by filter, and bad bindings refused one by
//! one with INVALID_REQUEST; a principal that is no super user gets
//! CLUSTER_AUTHORIZATION_FAILED.

use kafka_protocol::messages::{ApiKey, DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::ResponseError;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use crate::acls_admin::{create_acls, delete_acls, describe_acls, Binding, Op, Pattern, Resource};
use crate::common::TestBroker;
use crate::raw::Raw;

/// Kafka's authorizer class; any non-empty name turns the authorizer on.
pub const AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

pub fn client_config(bootstrap: &str, auth: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    for (k, v) in auth {
        c.set(k, v);
    }
    c
}

fn topic(name: &str, pattern: Pattern, principal: &str, op: Op) -> Binding {
    Binding::allow(
        Resource::RD_KAFKA_RESOURCE_TOPIC,
        name,
        pattern,
        principal,
        op,
    )
}

const LITERAL: Pattern = Pattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL;
const PREFIXED: Pattern = Pattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_apis_without_an_authorizer_are_security_disabled() {
    let broker = TestBroker::start().await;
    let config = client_config(&broker.bootstrap(), &[]);
    let binding = topic("t", LITERAL, "User:alice", Op::RD_KAFKA_ACL_OPERATION_READ);
    let (created, described) = tokio::task::spawn_blocking(move || {
        (
            create_acls(&config, &[binding]),
            describe_acls(&config, &Binding::any()),
        )
    })
    .await
    .expect("admin calls");
    let created = created.expect("request answered");
    let (code, message) = created[0].clone().expect_err("refused");
    assert_eq!(code, RDKafkaErrorCode::SecurityDisabled, "{message}");
    // librdkafka 2.12 drops DescribeAcls' top-level error (it answers an empty list): the
    // code is read from the wire instead.
    assert_eq!(described.expect("answered"), Vec::new());
    let mut raw = Raw::connect(&broker.bootstrap()).await;
    let response: DescribeAclsResponse = raw
        .call(ApiKey::DescribeAcls, 3, &DescribeAclsRequest::default())
        .await;
    assert_eq!(
        response.error_code,
        ResponseError::SecurityDisabled.code(),
        "{response:?}"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_created_described_and_deleted() {
    let broker = TestBroker::start_configured(&[
        ("authorizer.class.name", AUTHORIZER),
        ("super.users", "User:ANONYMOUS"),
    ])
    .await;
    let config = client_config(&broker.bootstrap(), &[]);
    tokio::task::spawn_blocking(move || create_describe_delete(&config))
        .await
        .expect("admin calls");
    broker.stop().await;
}

fn create_describe_delete(config: &ClientConfig) {
    use Op::*;
    let read_orders = topic(
        "orders",
        PREFIXED,
        "User:alice",
        RD_KAFKA_ACL_OPERATION_READ,
    );
    let write_orders = topic("orders", LITERAL, "User:bob", RD_KAFKA_ACL_OPERATION_WRITE);
    let deny_payments = topic("payments", LITERAL, "User:*", RD_KAFKA_ACL_OPERATION_ALL).denying();
    let group = Binding::allow(
        Resource::RD_KAFKA_RESOURCE_GROUP,
        "g1",
        LITERAL,
        "User:alice",
        RD_KAFKA_ACL_OPERATION_READ,
    );
    let cluster = Binding::allow(
        Resource::RD_KAFKA_RESOURCE_BROKER,
        "kafka-cluster",
        LITERAL,
        "User:alice",
        RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
    );
    let wrong_cluster = Binding {
        name: Some("my-cluster".into()),
        ..cluster.clone()
    };
    let no_colon = topic("orders", LITERAL, "alice", RD_KAFKA_ACL_OPERATION_READ);
    let all = [
        read_orders.clone(),
        write_orders.clone(),
        deny_payments.clone(),
        group.clone(),
        cluster.clone(),
        wrong_cluster,
        no_colon,
        read_orders.clone(),
    ];
    let created = create_acls(config, &all).expect("CreateAcls answered");
    assert_eq!(created.len(), all.len());
    for (i, outcome) in created.iter().enumerate() {
        match i {
            5 | 6 => {
                let (code, message) = outcome.clone().expect_err("bad binding refused");
                assert_eq!(code, RDKafkaErrorCode::InvalidRequest, "#{i}: {message}");
            }
            _ => outcome
                .clone()
                .unwrap_or_else(|e| panic!("#{i} refused: {e:?}")),
        }
    }
    // A repeated binding is one ACL.
    let every = describe_acls(config, &Binding::any()).expect("DescribeAcls");
    assert_eq!(every.len(), 5, "{every:#?}");
    // MATCH: the ACLs that apply to topic orders-eu: the prefixed `orders` one only.
    let applying = Binding {
        resource_type: Resource::RD_KAFKA_RESOURCE_TOPIC,
        name: Some("orders-eu".into()),
        pattern_type: Pattern::RD_KAFKA_RESOURCE_PATTERN_MATCH,
        ..Binding::any()
    };
    assert_eq!(
        describe_acls(config, &applying).expect("DescribeAcls"),
        vec![read_orders.clone()]
    );
    // LITERAL orders: bob's only; by principal: alice's three.
    let literal = Binding {
        resource_type: Resource::RD_KAFKA_RESOURCE_TOPIC,
        name: Some("orders".into()),
        pattern_type: LITERAL,
        ..Binding::any()
    };
    assert_eq!(
        describe_acls(config, &literal).expect("DescribeAcls"),
        vec![write_orders.clone()]
    );
    let alices = Binding {
        principal: Some("User:alice".into()),
        ..Binding::any()
    };
    assert_eq!(
        describe_acls(config, &alices).expect("DescribeAcls").len(),
        3
    );
    // Delete alice's topic ACLs and everything on payments, in one request.
    let alice_topics = Binding {
        resource_type: Resource::RD_KAFKA_RESOURCE_TOPIC,
        ..alices.clone()
    };
    let payments = Binding {
        resource_type: Resource::RD_KAFKA_RESOURCE_TOPIC,
        name: Some("payments".into()),
        ..Binding::any()
    };
    let deleted = delete_acls(config, &[alice_topics, payments]).expect("DeleteAcls answered");
    assert_eq!(deleted[0].clone().expect("deleted"), vec![read_orders]);
    assert_eq!(deleted[1].clone().expect("deleted"), vec![deny_payments]);
    let mut left = describe_acls(config, &Binding::any()).expect("DescribeAcls");
    let mut expected = vec![write_orders, group, cluster];
    let key = |b: &Binding| (b.resource_type as u32, b.name.clone());
    left.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(left, expected);
}
