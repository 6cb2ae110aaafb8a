//! Kafka's ACL vocabulary, with Kafka's wire codes and names: resource types, pattern types,
//! operations and permission types (`org.apache.kafka.common.acl` and `.resource`), and which
//! operations each resource type supports (Kafka's `AclEntry.supportedOperations`).
//!
//! The filter-only values (ANY for every kind, MATCH for patterns) are variants too: a binding
//! stored in the metadata never holds them, which `acl::validate_binding` checks.

use serde::{Deserialize, Serialize};

/// Declares a Kafka enum with its byte code and its upper-case name (`ResourceType.TOPIC` is
/// 2 on the wire and printed `TOPIC`).
macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[repr(i8)]
        pub enum $name {
            $($variant = $code,)+
        }

        impl $name {
            /// The value of a wire code; `None` for UNKNOWN (0) and codes Kafka does not
            /// define.
            pub fn from_code(code: i8) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            pub fn code(self) -> i8 {
                self as i8
            }

            /// Kafka's name for the value, as its tools print it.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kafka_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Any = 1, "ANY";
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
        DelegationToken = 6, "DELEGATION_TOKEN";
        User = 7, "USER";
    }
);

kafka_enum!(
    /// Kafka's `PatternType`: how an ACL's resource name matches (LITERAL, PREFIXED), or how a
    /// filter matches ACLs (also ANY and MATCH).
    PatternType {
        Any = 1, "ANY";
        Match = 2, "MATCH";
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
);

kafka_enum!(
    /// Kafka's `AclOperation`; bit `1 << code` in a KIP-430 authorized-operations field.
    AclOperation {
        Any = 1, "ANY";
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
);

kafka_enum!(
    /// Kafka's `AclPermissionType`.
    PermissionType {
        Any = 1, "ANY";
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
);

/// The name of the one cluster resource, as ACLs on the cluster must give it.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The resource name or host that matches any (`*`), and the principal that matches anyone.
pub const WILDCARD: &str = "*";
pub const WILDCARD_PRINCIPAL: &str = "User:*";

impl ResourceType {
    /// The operations that apply to the resource type (Kafka 4.0's
    /// `AclEntry.supportedOperations`): what KIP-430's authorized-operations fields report.
    pub fn operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Any => &[],
        }
    }

    /// The lower-case word error messages use (`topic orders`, `group g1`).
    pub fn noun(self) -> &'static str {
        match self {
            ResourceType::Any => "resource",
            ResourceType::Topic => "topic",
            ResourceType::Group => "group",
            ResourceType::Cluster => "cluster",
            ResourceType::TransactionalId => "transactional id",
            ResourceType::DelegationToken => "delegation token",
            ResourceType::User => "user",
        }
    }
}

impl AclOperation {
    /// Whether an ALLOW ACL for `self` also allows `asked`: ALL allows everything, and, as in
    /// Kafka, READ, WRITE, DELETE and ALTER imply DESCRIBE, and ALTER_CONFIGS implies
    /// DESCRIBE_CONFIGS. A DENY ACL denies only its own operation (or everything, for ALL).
    pub fn allows(self, asked: AclOperation) -> bool {
        use AclOperation::*;
        if self == All || self == asked {
            return true;
        }
        match asked {
            Describe => matches!(self, Read | Write | Delete | Alter),
            DescribeConfigs => self == AlterConfigs,
            _ => false,
        }
    }

    /// Whether a DENY ACL for `self` denies `asked`.
    pub fn denies(self, asked: AclOperation) -> bool {
        self == AclOperation::All || self == asked
    }
}

/// The KIP-430 bit field of `operations`.
pub fn operations_bits(operations: impl IntoIterator<Item = AclOperation>) -> i32 {
    operations
        .into_iter()
        .fold(0, |bits, op| bits | (1 << op.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_kafkas() {
        assert_eq!(ResourceType::from_code(2), Some(ResourceType::Topic));
        assert_eq!(ResourceType::from_code(0), None);
        assert_eq!(ResourceType::from_code(8), None);
        assert_eq!(PatternType::Prefixed.code(), 4);
        assert_eq!(AclOperation::IdempotentWrite.code(), 12);
        assert_eq!(AclOperation::from_code(15), None);
        assert_eq!(PermissionType::Allow.name(), "ALLOW");
        assert_eq!(
            AclOperation::DescribeConfigs.to_string(),
            "DESCRIBE_CONFIGS"
        );
    }

    #[test]
    fn implied_operations_apply_to_allow_only() {
        use AclOperation::*;
        assert!(Read.allows(Describe) && Write.allows(Describe) && Alter.allows(Describe));
        assert!(!Create.allows(Describe) && !Describe.allows(Read));
        assert!(AlterConfigs.allows(DescribeConfigs) && !DescribeConfigs.allows(AlterConfigs));
        assert!(All.allows(IdempotentWrite));
        assert!(!Read.denies(Describe) && All.denies(Describe) && Read.denies(Read));
    }

    #[test]
    fn operation_bits() {
        let topic = operations_bits(ResourceType::Topic.operations().iter().copied());
        assert_eq!(topic, 0b1101_1111_1000);
        assert_eq!(
            operations_bits(ResourceType::Cluster.operations().iter().copied()).count_ones(),
            7
        );
    }
}
