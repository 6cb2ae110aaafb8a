//! The decision: may this principal, from this host, perform this operation on this resource?
//! Kafka's StandardAuthorizer rules (`StandardAuthorizerData.authorize`), as pure functions of
//! the settings and the ACLs:
//!
//! 1. a super user may do anything;
//! 2. the ACLs that cover the resource (its literal name, the wildcard `*`, prefixes of its
//!    name) and concern the principal (or `User:*`) and the host (or `*`) are looked at: one
//!    that DENIES the operation (or ALL) denies, whatever else allows;
//! 3. else one that ALLOWS the operation, ALL, or an operation that implies it (READ, WRITE,
//!    DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
//! 4. else, if no ACL at all covers the resource, `allow.everyone.if.no.acl.found` decides;
//!    if some ACL covers it (for other principals or operations), the action is denied.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::acl::Acl;
use super::cache::AclCache;
use super::kinds::{AclOperation, PatternType, PermissionType, ResourceType, WILDCARD};
use super::Principal;
use crate::config::AuthorizerSettings;

/// Who asks: the principal the connection authenticated as, and its address.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub principal: &'a Principal,
    pub host: IpAddr,
}

/// What an action is done on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource<'a> {
    pub resource_type: ResourceType,
    pub name: &'a str,
}

/// Why an action was allowed or denied (what Kafka's audit log names as the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// No authorizer is configured.
    NoAuthorizer,
    SuperUser,
    /// This ACL allowed or denied.
    Acl(Acl),
    /// No ACL covers the resource: `allow.everyone.if.no.acl.found` decided.
    NoAclFound,
    /// ACLs cover the resource, and none of them allows the action.
    NoMatchingAllow,
}

/// A decision and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub rule: Rule,
}

/// Decides one action.
pub fn decide(
    settings: &AuthorizerSettings,
    acls: &AclCache,
    who: Requester<'_>,
    operation: AclOperation,
    resource: Resource<'_>,
) -> Decision {
    if !settings.enabled {
        return Decision {
            allowed: true,
            rule: Rule::NoAuthorizer,
        };
    }
    let principal = who.principal.to_string();
    if settings.super_users.contains(&principal) {
        return Decision {
            allowed: true,
            rule: Rule::SuperUser,
        };
    }
    let mut covered = false;
    let mut allowing = None;
    for acl in acls.covering(resource.resource_type, resource.name) {
        covered = true;
        if !acl.concerns(&principal, who.host) {
            continue;
        }
        match acl.permission_type {
            PermissionType::Deny if acl.operation.denies(operation) => {
                return Decision {
                    allowed: false,
                    rule: Rule::Acl(acl.clone()),
                };
            }
            PermissionType::Allow if acl.operation.allows(operation) => {
                allowing.get_or_insert(acl);
            }
            _ => {}
        }
    }
    match allowing {
        Some(acl) => Decision {
            allowed: true,
            rule: Rule::Acl(acl.clone()),
        },
        None if !covered => Decision {
            allowed: settings.allow_everyone_if_no_acl_found,
            rule: Rule::NoAclFound,
        },
        None => Decision {
            allowed: false,
            rule: Rule::NoMatchingAllow,
        },
    }
}

/// Whether the requester may perform `operation` on at least one resource of the type, named
/// or not yet (Kafka's `Authorizer.authorizeByResourceType`, which InitProducerId asks with
/// WRITE on topics): some ALLOW ACL of the principal for the operation (or ALL) on a literal
/// name or prefix that no DENY ACL of the principal dominates (the same literal name, or a
/// prefix of it), or a wildcard ALLOW with no wildcard DENY. Implied operations do not count
/// here, as in Kafka.
pub fn decide_by_resource_type(
    settings: &AuthorizerSettings,
    acls: &AclCache,
    who: Requester<'_>,
    operation: AclOperation,
    resource_type: ResourceType,
) -> bool {
    // A name no ACL can be about decides super users, wildcards and the no-ACL default.
    let probe = Resource {
        resource_type,
        name: "hardcode",
    };
    if decide(settings, acls, who, operation, probe).allowed {
        return true;
    }
    let principal = who.principal.to_string();
    let mut deny_literal = BTreeSet::new();
    let mut deny_prefixed = BTreeSet::new();
    let mut allow = Vec::new();
    let mut wildcard_allow = false;
    let relevant = acls.of_type(resource_type).filter(|a| {
        a.concerns(&principal, who.host)
            && (a.operation == operation || a.operation == AclOperation::All)
    });
    for acl in relevant {
        let name = acl.resource_name.as_str();
        let wildcard = acl.pattern_type == PatternType::Literal && name == WILDCARD;
        match (acl.permission_type, acl.pattern_type) {
            (PermissionType::Deny, _) if wildcard => return false,
            (PermissionType::Deny, PatternType::Literal) => {
                let _ = deny_literal.insert(name);
            }
            (PermissionType::Deny, PatternType::Prefixed) => {
                let _ = deny_prefixed.insert(name);
            }
            (PermissionType::Allow, _) if wildcard => wildcard_allow = true,
            (PermissionType::Allow, pattern) => allow.push((pattern, name)),
            _ => {}
        }
    }
    if wildcard_allow {
        return true;
    }
    allow.into_iter().any(|(pattern, name)| {
        let denied_literal = pattern == PatternType::Literal && deny_literal.contains(name);
        let denied_prefix = name
            .char_indices()
            .map(|(i, c)| &name[..i + c.len_utf8()])
            .any(|prefix| deny_prefixed.contains(prefix));
        !denied_literal && !denied_prefix
    })
}
