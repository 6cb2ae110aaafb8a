//! Authorization with ACLs, by the rules of Kafka's StandardAuthorizer (KRaft): who may do
//! what on which topic, group, transactional id or on the cluster, and the KIP-430
//! authorized-operations bit fields that Metadata, DescribeCluster, DescribeGroups and
//! ConsumerGroupDescribe report.
//!
//! - `kinds`: Kafka's resource types, pattern types, operations and permission types.
//! - `acl`: one ACL (`AclBinding`) and one filter (`AclBindingFilter`), and how they match.
//! - `cache`: the cluster's ACLs, as the metadata image holds them, indexed by resource.
//! - `rules`: the decision (super users, DENY wins, implied operations, the no-ACL default).
//!
//! The ACLs live in the metadata log (`AccessControlEntry` and `RemoveAccessControlEntry`
//! records, written by the active controller) and every broker decides from its own image.
//! Without `authorizer.class.name` nothing is checked, as in Kafka without an authorizer.
//! Which request needs which operation is the handlers' business (`crate::api`).

mod acl;
mod cache;
mod kinds;
mod rules;

pub use acl::{Acl, AclFilter, Codes};
pub use cache::AclCache;
pub use kinds::{
    operations_bits, AclOperation, PatternType, PermissionType, ResourceType, CLUSTER_NAME,
    WILDCARD, WILDCARD_PRINCIPAL,
};
pub use rules::{decide, decide_by_resource_type, Decision, Requester, Resource, Rule};

use crate::cluster::Cluster;
use crate::config::AuthorizerSettings;

/// Kafka's "authorized operations not requested" value (`Integer.MIN_VALUE`).
pub const OMITTED: i32 = i32::MIN;

/// The broker's authorizer: its settings and the ACLs of its metadata image.
#[derive(Debug, Clone)]
pub struct Authorizer {
    settings: AuthorizerSettings,
    /// The image the ACLs are read from, at the moment of each decision.
    cluster: Cluster,
}

impl Authorizer {
    pub fn new(settings: AuthorizerSettings, cluster: Cluster) -> Self {
        Authorizer { settings, cluster }
    }

    /// Whether `authorizer.class.name` is set (ACLs are checked and the ACL APIs work).
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    pub fn settings(&self) -> &AuthorizerSettings {
        &self.settings
    }

    /// Whether `who` may perform `operation` on the resource. A denial is logged at info level
    /// (Kafka's audit log does the same for resources asked for by name).
    pub fn authorize(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource: Resource<'_>,
    ) -> bool {
        if !self.settings.enabled {
            return true;
        }
        let decision = self
            .cluster
            .read(|image| decide(&self.settings, &image.acls, who, operation, resource));
        if !decision.allowed {
            tracing::info!(
                target: "ktui_broker::authorizer::audit",
                principal = %who.principal,
                host = %who.host,
                %operation,
                resource_type = %resource.resource_type,
                resource = resource.name,
                rule = ?decision.rule,
                "denied"
            );
        }
        decision.allowed
    }

    /// Whether `who` may perform `operation` on some resource of the type (Kafka's
    /// `authorizeByResourceType`).
    pub fn authorize_by_resource_type(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        if !self.settings.enabled {
            return true;
        }
        self.cluster.read(|image| {
            decide_by_resource_type(&self.settings, &image.acls, who, operation, resource_type)
        })
    }

    /// KIP-430's field: the operations of the resource type that `who` may perform on the
    /// resource, as bits, when the request asked for them; else [`OMITTED`]. Without an
    /// authorizer, every operation the resource type supports.
    pub fn authorized_operations(
        &self,
        requested: bool,
        who: Requester<'_>,
        resource: Resource<'_>,
    ) -> i32 {
        if !requested {
            return OMITTED;
        }
        let operations = resource.resource_type.operations().iter().copied();
        if !self.settings.enabled {
            return operations_bits(operations);
        }
        self.cluster.read(|image| {
            operations_bits(
                operations
                    .filter(|op| decide(&self.settings, &image.acls, who, *op, resource).allowed),
            )
        })
    }
}

/// Who sent a request: Kafka's `KafkaPrincipal`, written `User:alice`. Connections that have
/// not authenticated (PLAINTEXT, SSL without a client certificate) are `User:ANONYMOUS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    /// The principal type; Kafka's authenticators all use `User`.
    pub kind: String,
    pub name: String,
}

impl Principal {
    /// `User:ANONYMOUS`.
    pub fn anonymous() -> Self {
        Principal::user("ANONYMOUS")
    }

    /// `User:NAME`.
    pub fn user(name: impl Into<String>) -> Self {
        Principal {
            kind: "User".into(),
            name: name.into(),
        }
    }

    /// Parses `Type:name` (the name may hold `:`), as `super.users` and ACLs write it.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, name) = text.split_once(':')?;
        (!kind.is_empty() && !name.is_empty()).then(|| Principal {
            kind: kind.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}
