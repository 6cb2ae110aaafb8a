//! One ACL (Kafka's `AclBinding`, stored as `StandardAcl`) and one ACL filter
//! (`AclBindingFilter`), with the checks CreateAcls, DescribeAcls and DeleteAcls make on them
//! and the matching rules of each:
//!
//! - an ACL applies to a resource named literally, to every resource of its type (the literal
//!   name `*`), or to every resource whose name starts with it (PREFIXED);
//! - a filter picks ACLs: ANY matches every pattern type; MATCH matches the ACLs that would
//!   apply to the named resource (literal, wildcard and prefixes); a name, principal or host
//!   left out (null) matches every one.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::kinds::{
    AclOperation, PatternType, PermissionType, ResourceType, CLUSTER_NAME, WILDCARD,
    WILDCARD_PRINCIPAL,
};
use super::Principal;

/// An ACL: who (principal, host) is allowed or denied (permission) what (operation) on which
/// resources (type, name, pattern type). Field names are those of Kafka's
/// `AccessControlEntryRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Acl {
    pub resource_type: ResourceType,
    pub resource_name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: PatternType,
    /// `Type:name`, or `User:*` for anyone.
    pub principal: String,
    /// A client address, or `*` for any.
    pub host: String,
    pub operation: AclOperation,
    /// ALLOW or DENY.
    pub permission_type: PermissionType,
}

/// The wire codes of a binding, as CreateAcls and the metadata record carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codes {
    pub resource_type: i8,
    pub pattern_type: i8,
    pub operation: i8,
    pub permission_type: i8,
}

impl Acl {
    /// A binding to create, checked as Kafka's CreateAcls checks it (its request parser, the
    /// broker's `AclApis` and the controller's `AclControlManager`); the error is the message
    /// of the INVALID_REQUEST the creation gets.
    pub fn new_binding(
        codes: Codes,
        resource_name: &str,
        principal: &str,
        host: &str,
    ) -> Result<Acl, String> {
        let resource_type = ResourceType::from_code(codes.resource_type)
            .filter(|t| *t != ResourceType::Any)
            .ok_or_else(|| format!("Invalid resourceType {}", codes.resource_type))?;
        let pattern_type = PatternType::from_code(codes.pattern_type)
            .filter(|p| matches!(p, PatternType::Literal | PatternType::Prefixed))
            .ok_or_else(|| format!("Invalid patternType {}", codes.pattern_type))?;
        let operation = AclOperation::from_code(codes.operation)
            .filter(|o| *o != AclOperation::Any)
            .ok_or_else(|| format!("Invalid operation {}", codes.operation))?;
        let permission_type = PermissionType::from_code(codes.permission_type)
            .filter(|p| *p != PermissionType::Any)
            .ok_or_else(|| format!("Invalid permissionType {}", codes.permission_type))?;
        if resource_name.is_empty() {
            return Err("Invalid empty resource name".into());
        }
        if resource_type == ResourceType::Cluster && resource_name != CLUSTER_NAME {
            return Err(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
            ));
        }
        if Principal::parse(principal).is_none() {
            return Err(format!(
                "Could not parse principal from `{principal}` (it must be Type:name, as User:alice)"
            ));
        }
        Ok(Acl {
            resource_type,
            resource_name: resource_name.to_string(),
            pattern_type,
            principal: principal.to_string(),
            host: host.to_string(),
            operation,
            permission_type,
        })
    }

    /// Whether the ACL's resource pattern covers the resource `name` (of its type).
    pub fn covers(&self, name: &str) -> bool {
        match self.pattern_type {
            PatternType::Literal => self.resource_name == name || self.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&self.resource_name),
            PatternType::Any | PatternType::Match => false,
        }
    }

    /// Whether the ACL is about `principal` connecting from `host`.
    pub fn concerns(&self, principal: &str, host: IpAddr) -> bool {
        let principal_matches = self.principal == principal || self.principal == WILDCARD_PRINCIPAL;
        principal_matches && host_matches(&self.host, host)
    }
}

/// An ACL's host against a client's address: `*`, or the same address (written in any form
/// that parses to it: Java prints `0:0:0:0:0:0:0:1` where Rust prints `::1`).
fn host_matches(acl_host: &str, host: IpAddr) -> bool {
    acl_host == WILDCARD || acl_host.parse::<IpAddr>().is_ok_and(|a| a == host)
}

/// A filter over ACLs: DescribeAcls returns and DeleteAcls removes the ACLs it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclFilter {
    /// ANY or a resource type.
    pub resource_type: ResourceType,
    /// None matches every name.
    pub resource_name: Option<String>,
    /// ANY, MATCH, LITERAL or PREFIXED.
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    /// ANY or an operation.
    pub operation: AclOperation,
    /// ANY, ALLOW or DENY.
    pub permission_type: PermissionType,
}

impl AclFilter {
    /// A filter from the wire; UNKNOWN and undefined codes are refused with the message of the
    /// INVALID_REQUEST they get.
    pub fn from_wire(
        codes: Codes,
        resource_name: Option<&str>,
        principal: Option<&str>,
        host: Option<&str>,
    ) -> Result<AclFilter, String> {
        let unknown = |what: &str, code: i8| format!("The filter has an unknown {what} ({code}).");
        Ok(AclFilter {
            resource_type: ResourceType::from_code(codes.resource_type)
                .ok_or_else(|| unknown("resource type", codes.resource_type))?,
            resource_name: resource_name.map(str::to_string),
            pattern_type: PatternType::from_code(codes.pattern_type)
                .ok_or_else(|| unknown("pattern type", codes.pattern_type))?,
            principal: principal.map(str::to_string),
            host: host.map(str::to_string),
            operation: AclOperation::from_code(codes.operation)
                .ok_or_else(|| unknown("operation", codes.operation))?,
            permission_type: PermissionType::from_code(codes.permission_type)
                .ok_or_else(|| unknown("permission type", codes.permission_type))?,
        })
    }

    /// Whether the filter matches `acl` (Kafka's `AclBindingFilter.matches`).
    pub fn matches(&self, acl: &Acl) -> bool {
        self.matches_pattern(acl) && self.matches_entry(acl)
    }

    fn matches_pattern(&self, acl: &Acl) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != acl.resource_type {
            return false;
        }
        let any_pattern = matches!(self.pattern_type, PatternType::Any | PatternType::Match);
        if !any_pattern && self.pattern_type != acl.pattern_type {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if self.pattern_type == PatternType::Match {
            acl.covers(name)
        } else {
            *name == acl.resource_name
        }
    }

    fn matches_entry(&self, acl: &Acl) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == acl.principal)
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && (self.operation == AclOperation::Any || self.operation == acl.operation)
            && (self.permission_type == PermissionType::Any
                || self.permission_type == acl.permission_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rt: ResourceType, pt: PatternType, op: AclOperation, perm: PermissionType) -> Codes {
        Codes {
            resource_type: rt.code(),
            pattern_type: pt.code(),
            operation: op.code(),
            permission_type: perm.code(),
        }
    }

    fn acl(name: &str, pt: PatternType) -> Acl {
        let c = codes(
            ResourceType::Topic,
            pt,
            AclOperation::Read,
            PermissionType::Allow,
        );
        Acl::new_binding(c, name, "User:alice", "*").expect("valid")
    }

    #[test]
    fn bad_bindings_are_refused_with_kafkas_reasons() {
        use AclOperation::{Alter, Read};
        use PatternType::{Literal, Match};
        use PermissionType::Allow;
        use ResourceType::{Cluster, Topic};
        let refuse = |c: Codes, name: &str, principal: &str| {
            Acl::new_binding(c, name, principal, "*").expect_err("refused")
        };
        let any_type = codes(ResourceType::Any, Literal, Read, Allow);
        assert!(refuse(any_type, "t", "User:a").contains("resourceType"));
        assert!(refuse(codes(Topic, Match, Read, Allow), "t", "User:a").contains("patternType"));
        let any_op = codes(Topic, Literal, AclOperation::Any, Allow);
        assert!(refuse(any_op, "t", "User:a").contains("operation"));
        let any_permission = codes(Topic, Literal, Read, PermissionType::Any);
        assert!(refuse(any_permission, "t", "User:a").contains("permissionType"));
        assert!(refuse(codes(Topic, Literal, Read, Allow), "", "User:a").contains("empty"));
        let cluster = codes(Cluster, Literal, Alter, Allow);
        assert!(refuse(cluster, "c", "User:a").contains(CLUSTER_NAME));
        assert!(refuse(codes(Topic, Literal, Read, Allow), "t", "alice").contains("principal"));
        let unknown = Codes {
            operation: 42,
            ..codes(Topic, Literal, Read, Allow)
        };
        assert!(Acl::new_binding(unknown, "t", "User:a", "*").is_err());
    }

    #[test]
    fn patterns_cover_names() {
        assert!(acl("orders", PatternType::Literal).covers("orders"));
        assert!(!acl("orders", PatternType::Literal).covers("orders-eu"));
        assert!(acl("*", PatternType::Literal).covers("anything"));
        assert!(acl("ord", PatternType::Prefixed).covers("orders"));
        assert!(!acl("*", PatternType::Prefixed).covers("orders"));
    }

    #[test]
    fn hosts_match_by_address() {
        let mut a = acl("t", PatternType::Literal);
        a.host = "0:0:0:0:0:0:0:1".into();
        assert!(a.concerns("User:alice", "::1".parse().expect("ip")));
        assert!(!a.concerns("User:bob", "::1".parse().expect("ip")));
        a.principal = WILDCARD_PRINCIPAL.into();
        assert!(a.concerns("User:bob", "::1".parse().expect("ip")));
        assert!(!a.concerns("User:bob", "127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn filters_match_as_kafkas() {
        let filter = |name: Option<&str>, pt: PatternType| AclFilter {
            resource_type: ResourceType::Topic,
            resource_name: name.map(str::to_string),
            pattern_type: pt,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission_type: PermissionType::Any,
        };
        let prefixed = acl("ord", PatternType::Prefixed);
        let wildcard = acl("*", PatternType::Literal);
        let literal = acl("orders", PatternType::Literal);
        let m = filter(Some("orders"), PatternType::Match);
        assert!(m.matches(&prefixed) && m.matches(&wildcard) && m.matches(&literal));
        let any = filter(Some("orders"), PatternType::Any);
        assert!(any.matches(&literal) && !any.matches(&prefixed) && !any.matches(&wildcard));
        let lit = filter(Some("ord"), PatternType::Literal);
        assert!(!lit.matches(&prefixed));
        assert!(filter(Some("ord"), PatternType::Prefixed).matches(&prefixed));
        assert!(filter(None, PatternType::Any).matches(&prefixed));
        let mut by_op = filter(None, PatternType::Any);
        by_op.operation = AclOperation::Write;
        assert!(!by_op.matches(&literal));
    }
}
