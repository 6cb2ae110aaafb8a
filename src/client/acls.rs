//! ACLs: DescribeAcls, CreateAcls and DeleteAcls (APIs 29–31) as Kafka's AdminClient sends
//! them, with Kafka's names for resource types, pattern types, operations and permissions
//! (`Topic`, `Prefixed`, `Read`, `Allow`; read in any case). Writes go to the controller
//! (any broker forwards them in KRaft); each binding's or filter's own error is reported.

use std::fmt;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::admin;
use super::cluster::Cluster;
use crate::error::{Error, Result};

/// Defines an enum of Kafka's codes with their names (`as_str`, `Display`, `parse`).
macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:expr, $text:expr;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// The value on the wire.
            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// The value for a wire code, if Kafka defines it.
            pub fn from_code(code: i8) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Kafka's spelling, as `kafka-acls.sh` prints it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Parses a name in any case, with `-` or `_` between words
            /// (`describe-configs`, `DESCRIBE_CONFIGS`, `DescribeConfigs`).
            pub fn parse(text: &str) -> Result<Self> {
                let wanted: String = text
                    .chars()
                    .filter(|c| *c != '-' && *c != '_')
                    .collect::<String>()
                    .to_lowercase();
                [$($name::$variant,)*]
                    .into_iter()
                    .find(|v| v.as_str().to_lowercase() == wanted)
                    .ok_or_else(|| {
                        let names: Vec<&str> = [$($name::$variant,)*]
                            .into_iter()
                            .map($name::as_str)
                            .collect();
                        Error::Invalid(format!(
                            "'{text}' is not one of {}",
                            names.join(", ")
                        ))
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kafka_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Any = 1, "Any";
        Topic = 2, "Topic";
        Group = 3, "Group";
        Cluster = 4, "Cluster";
        TransactionalId = 5, "TransactionalId";
        DelegationToken = 6, "DelegationToken";
        User = 7, "User";
    }
);

kafka_enum!(
    /// Kafka's `PatternType`.
    PatternType {
        Any = 1, "Any";
        Match = 2, "Match";
        Literal = 3, "Literal";
        Prefixed = 4, "Prefixed";
    }
);

kafka_enum!(
    /// Kafka's `AclOperation`.
    Operation {
        Any = 1, "Any";
        All = 2, "All";
        Read = 3, "Read";
        Write = 4, "Write";
        Create = 5, "Create";
        Delete = 6, "Delete";
        Alter = 7, "Alter";
        Describe = 8, "Describe";
        ClusterAction = 9, "ClusterAction";
        DescribeConfigs = 10, "DescribeConfigs";
        AlterConfigs = 11, "AlterConfigs";
        IdempotentWrite = 12, "IdempotentWrite";
        CreateTokens = 13, "CreateTokens";
        DescribeTokens = 14, "DescribeTokens";
    }
);

kafka_enum!(
    /// Kafka's `AclPermissionType`.
    Permission {
        Any = 1, "Any";
        Deny = 2, "Deny";
        Allow = 3, "Allow";
    }
);

/// The cluster resource's one name.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// One ACL: who may (or may not) do what on which resources, from which host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `User:alice`, or `User:*`.
    pub principal: String,
    /// `*` or an address.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

/// Which ACLs a describe or delete selects: `None` fields match anything (`Any` for enums).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Operation,
    pub permission: Permission,
}

impl Default for AclFilter {
    /// Every ACL.
    fn default() -> Self {
        AclFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: Operation::Any,
            permission: Permission::Any,
        }
    }
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn opt_text(s: Option<&String>) -> Option<StrBytes> {
    s.map(|s| text(s))
}

/// An enum field of a response, or a protocol error naming it.
fn decoded<T>(value: Option<T>, what: &str, code: i8) -> Result<T> {
    value.ok_or_else(|| Error::Protocol {
        addr: "the broker".into(),
        reason: format!("unknown {what} code {code} in an ACL"),
    })
}

/// An ACL from a response's fields: `(resource type, name, pattern type)` and `(principal,
/// host, operation, permission)`, the codes checked.
fn binding(
    (resource_type, name, pattern_type): (i8, &StrBytes, i8),
    (principal, host, operation, permission): (&StrBytes, &StrBytes, i8, i8),
) -> Result<AclBinding> {
    Ok(AclBinding {
        resource_type: decoded(
            ResourceType::from_code(resource_type),
            "resource type",
            resource_type,
        )?,
        resource_name: name.to_string(),
        pattern_type: decoded(
            PatternType::from_code(pattern_type),
            "pattern type",
            pattern_type,
        )?,
        principal: principal.to_string(),
        host: host.to_string(),
        operation: decoded(Operation::from_code(operation), "operation", operation)?,
        permission: decoded(Permission::from_code(permission), "permission", permission)?,
    })
}

/// The ACLs `filter` selects, sorted.
pub async fn describe(cluster: &Cluster, filter: &AclFilter) -> Result<Vec<AclBinding>> {
    let request = DescribeAclsRequest::default()
        .with_resource_type_filter(filter.resource_type.code())
        .with_resource_name_filter(opt_text(filter.resource_name.as_ref()))
        .with_pattern_type_filter(filter.pattern_type.code())
        .with_principal_filter(opt_text(filter.principal.as_ref()))
        .with_host_filter(opt_text(filter.host.as_ref()))
        .with_operation(filter.operation.code())
        .with_permission_type(filter.permission.code());
    let response: DescribeAclsResponse = cluster
        .retry(|| async { cluster.any_connection().await?.send(&request).await })
        .await?;
    Error::check(
        || "describe ACLs".to_string(),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    let mut out = Vec::new();
    for r in &response.resources {
        for a in &r.acls {
            out.push(binding(
                (r.resource_type, &r.resource_name, r.pattern_type),
                (&a.principal, &a.host, a.operation, a.permission_type),
            )?);
        }
    }
    out.sort();
    Ok(out)
}

/// Creates `bindings`; the first binding the broker refuses is the error.
pub async fn create(cluster: &Cluster, bindings: &[AclBinding]) -> Result<()> {
    let request = CreateAclsRequest::default().with_creations(
        bindings
            .iter()
            .map(|b| {
                AclCreation::default()
                    .with_resource_type(b.resource_type.code())
                    .with_resource_name(text(&b.resource_name))
                    .with_resource_pattern_type(b.pattern_type.code())
                    .with_principal(text(&b.principal))
                    .with_host(text(&b.host))
                    .with_operation(b.operation.code())
                    .with_permission_type(b.permission.code())
            })
            .collect(),
    );
    let response: CreateAclsResponse = cluster
        .retry(|| async { admin::controller(cluster).await?.send(&request).await })
        .await?;
    for (binding, result) in bindings.iter().zip(&response.results) {
        Error::check(
            || format!("create ACL {}", describe_binding(binding)),
            result.error_code,
            result.error_message.as_deref(),
        )?;
    }
    Ok(())
}

/// Deletes the ACLs `filters` select; returns those deleted.
pub async fn delete(cluster: &Cluster, filters: &[AclFilter]) -> Result<Vec<AclBinding>> {
    let request = DeleteAclsRequest::default().with_filters(
        filters
            .iter()
            .map(|f| {
                DeleteAclsFilter::default()
                    .with_resource_type_filter(f.resource_type.code())
                    .with_resource_name_filter(opt_text(f.resource_name.as_ref()))
                    .with_pattern_type_filter(f.pattern_type.code())
                    .with_principal_filter(opt_text(f.principal.as_ref()))
                    .with_host_filter(opt_text(f.host.as_ref()))
                    .with_operation(f.operation.code())
                    .with_permission_type(f.permission.code())
            })
            .collect(),
    );
    let response: DeleteAclsResponse = cluster
        .retry(|| async { admin::controller(cluster).await?.send(&request).await })
        .await?;
    let mut deleted = Vec::new();
    for result in &response.filter_results {
        Error::check(
            || "delete ACLs".to_string(),
            result.error_code,
            result.error_message.as_deref(),
        )?;
        for m in &result.matching_acls {
            Error::check(
                || "delete ACLs".to_string(),
                m.error_code,
                m.error_message.as_deref(),
            )?;
            deleted.push(binding(
                (m.resource_type, &m.resource_name, m.pattern_type),
                (&m.principal, &m.host, m.operation, m.permission_type),
            )?);
        }
    }
    deleted.sort();
    Ok(deleted)
}

/// `Allow User:alice Read on Topic orders (Literal) from *`.
pub fn describe_binding(b: &AclBinding) -> String {
    format!(
        "{} {} {} on {} {} ({}) from {}",
        b.permission,
        b.principal,
        b.operation,
        b.resource_type,
        b.resource_name,
        b.pattern_type,
        b.host
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_kafkas_spellings() {
        assert_eq!(Operation::parse("Read").ok(), Some(Operation::Read));
        assert_eq!(Operation::parse("READ").ok(), Some(Operation::Read));
        assert_eq!(
            Operation::parse("describe-configs").ok(),
            Some(Operation::DescribeConfigs)
        );
        assert_eq!(
            Operation::parse("IDEMPOTENT_WRITE").ok(),
            Some(Operation::IdempotentWrite)
        );
        assert_eq!(
            ResourceType::parse("transactional-id").ok(),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(
            PatternType::parse("prefixed").ok(),
            Some(PatternType::Prefixed)
        );
        assert!(Permission::parse("maybe").is_err_and(|e| e.to_string().contains("Allow")));
        for code in 1..=14 {
            let op = Operation::from_code(code).expect("code");
            assert_eq!(op.code(), code);
        }
        assert_eq!(Operation::from_code(0), None);
    }
}
