//! Authorized operations (KIP-430): the bit field of ACL operations a client may perform on a
//! resource, which Metadata, DescribeCluster, DescribeGroups and ConsumerGroupDescribe report
//! when asked. No authorizer runs yet, so, as Kafka does without `authorizer.class.name`, every
//! operation that applies to the resource type is allowed (Kafka's
//! `AclEntry.supportedOperations`). The ACL work will answer from real permissions here.

/// Kafka's `AclOperation` codes; bit `1 << code` in an authorized-operations field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AclOperation {
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
}

/// The resource kinds whose operations are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Topic,
    Group,
    Cluster,
}

/// Kafka's "authorized operations not requested" value (`Integer.MIN_VALUE`).
pub const OMITTED: i32 = i32::MIN;

impl Resource {
    /// Kafka's `AclEntry.supportedOperations` for the resource type.
    pub fn operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            Resource::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            Resource::Group => &[Read, Describe, Delete],
            Resource::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
        }
    }
}

/// The authorized-operations field for `resource`: the operations as bits when the request
/// asked for them, else [`OMITTED`].
pub fn authorized_operations(requested: bool, resource: Resource) -> i32 {
    if !requested {
        return OMITTED;
    }
    resource
        .operations()
        .iter()
        .fold(0, |bits, op| bits | (1 << (*op as u8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_operation_without_an_authorizer() {
        let topic = authorized_operations(true, Resource::Topic);
        assert_eq!(topic.count_ones(), 8);
        assert_eq!(topic, 0b1101_1111_1000);
        assert_eq!(
            authorized_operations(true, Resource::Cluster).count_ones(),
            7
        );
        assert_eq!(
            authorized_operations(true, Resource::Group),
            (1 << 3) | (1 << 6) | (1 << 8)
        );
        assert_eq!(authorized_operations(false, Resource::Topic), OMITTED);
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
