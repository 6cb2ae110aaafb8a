//! The authorizer's rules, decided without a broker: the StandardAuthorizer's matching
//! (`ktui_broker::authorizer::decide`) on ACL sets built here. Each test names the rule it
//! pins down: super users, DENY over ALLOW, literal, wildcard and prefixed patterns, implied
//! operations, principal and host wildcards, and `allow.everyone.if.no.acl.found`.

use std::collections::BTreeSet;

use ktui_broker::authorizer::{
    decide, decide_by_resource_type, Acl, AclCache, AclOperation, PatternType, PermissionType,
    Principal, Requester, Resource, ResourceType, Rule,
};
use ktui_broker::config::AuthorizerSettings;
use uuid::Uuid;

use AclOperation::*;

fn settings(super_users: &[&str], allow_everyone: bool) -> AuthorizerSettings {
    AuthorizerSettings {
        enabled: true,
        super_users: super_users
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        allow_everyone_if_no_acl_found: allow_everyone,
    }
}

/// An ACL on a topic, from any host.
fn acl(
    name: &str,
    pattern: PatternType,
    principal: &str,
    op: AclOperation,
    perm: PermissionType,
) -> Acl {
    Acl {
        resource_type: ResourceType::Topic,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: principal.into(),
        host: "*".into(),
        operation: op,
        permission_type: perm,
    }
}

fn allow(name: &str, pattern: PatternType, principal: &str, op: AclOperation) -> Acl {
    acl(name, pattern, principal, op, PermissionType::Allow)
}

fn deny(name: &str, pattern: PatternType, principal: &str, op: AclOperation) -> Acl {
    acl(name, pattern, principal, op, PermissionType::Deny)
}

fn cache(acls: &[Acl]) -> AclCache {
    let mut cache = AclCache::default();
    for a in acls {
        cache.insert(Uuid::new_v4(), a.clone());
    }
    cache
}

/// Whether `user` from 127.0.0.1 may perform `op` on topic `topic`.
fn may(s: &AuthorizerSettings, acls: &AclCache, user: &str, op: AclOperation, topic: &str) -> bool {
    may_from(s, acls, user, "127.0.0.1", op, topic)
}

fn may_from(
    s: &AuthorizerSettings,
    acls: &AclCache,
    user: &str,
    host: &str,
    op: AclOperation,
    topic: &str,
) -> bool {
    let principal = Principal::user(user);
    let who = Requester {
        principal: &principal,
        host: host.parse().expect("address"),
    };
    let resource = Resource {
        resource_type: ResourceType::Topic,
        name: topic,
    };
    decide(s, acls, who, op, resource).allowed
}

#[test]
fn without_acls_everything_is_denied_unless_everyone_is_allowed() {
    let none = cache(&[]);
    assert!(!may(&settings(&[], false), &none, "alice", Read, "orders"));
    assert!(may(&settings(&[], true), &none, "alice", Read, "orders"));
}

#[test]
fn super_users_bypass_even_a_deny() {
    let acls = cache(&[deny("orders", PatternType::Literal, "User:admin", All)]);
    let s = settings(&["User:admin"], false);
    assert!(may(&s, &acls, "admin", Write, "orders"));
    assert!(!may(&s, &acls, "alice", Write, "orders"));
    let principal = Principal::user("admin");
    let who = Requester {
        principal: &principal,
        host: "127.0.0.1".parse().expect("address"),
    };
    let decision = decide(
        &s,
        &acls,
        who,
        Write,
        Resource {
            resource_type: ResourceType::Topic,
            name: "orders",
        },
    );
    assert_eq!(decision.rule, Rule::SuperUser);
}

#[test]
fn deny_wins_over_allow() {
    let acls = cache(&[
        allow("orders", PatternType::Literal, "User:alice", All),
        deny("ord", PatternType::Prefixed, "User:alice", Write),
    ]);
    let s = settings(&[], false);
    assert!(may(&s, &acls, "alice", Read, "orders"));
    assert!(
        !may(&s, &acls, "alice", Write, "orders"),
        "the prefixed DENY wins"
    );
    let everyone_denied = cache(&[
        allow("orders", PatternType::Literal, "User:alice", Read),
        deny("*", PatternType::Literal, "User:*", Read),
    ]);
    assert!(
        !may(&s, &everyone_denied, "alice", Read, "orders"),
        "a wildcard DENY for User:* wins"
    );
}

#[test]
fn literal_wildcard_and_prefixed_patterns() {
    let acls = cache(&[
        allow("orders", PatternType::Literal, "User:alice", Read),
        allow("*", PatternType::Literal, "User:bob", Read),
        allow("pay", PatternType::Prefixed, "User:carol", Read),
    ]);
    let s = settings(&[], false);
    assert!(may(&s, &acls, "alice", Read, "orders"));
    assert!(
        !may(&s, &acls, "alice", Read, "orders-eu"),
        "a literal name is not a prefix"
    );
    assert!(
        may(&s, &acls, "bob", Read, "anything"),
        "`*` covers every topic"
    );
    assert!(may(&s, &acls, "carol", Read, "payments"));
    assert!(may(&s, &acls, "carol", Read, "pay"));
    assert!(!may(&s, &acls, "carol", Read, "orders"));
    let star_prefix = cache(&[allow("*", PatternType::Prefixed, "User:dave", Read)]);
    assert!(
        !may(&s, &star_prefix, "dave", Read, "orders"),
        "a PREFIXED `*` is no wildcard"
    );
}

#[test]
fn implied_operations() {
    let s = settings(&[], false);
    for op in [Read, Write, Delete, Alter] {
        let acls = cache(&[allow("t", PatternType::Literal, "User:alice", op)]);
        assert!(
            may(&s, &acls, "alice", Describe, "t"),
            "{op} implies DESCRIBE"
        );
    }
    let create = cache(&[allow("t", PatternType::Literal, "User:alice", Create)]);
    assert!(
        !may(&s, &create, "alice", Describe, "t"),
        "CREATE does not imply DESCRIBE"
    );
    let alter_configs = cache(&[allow("t", PatternType::Literal, "User:alice", AlterConfigs)]);
    assert!(may(&s, &alter_configs, "alice", DescribeConfigs, "t"));
    assert!(!may(&s, &alter_configs, "alice", Describe, "t"));
    let read = cache(&[allow("t", PatternType::Literal, "User:alice", Read)]);
    assert!(
        !may(&s, &read, "alice", Write, "t"),
        "implication runs one way"
    );
    let deny_read = cache(&[
        allow("t", PatternType::Literal, "User:alice", All),
        deny("t", PatternType::Literal, "User:alice", Read),
    ]);
    assert!(
        may(&s, &deny_read, "alice", Describe, "t"),
        "a DENY of READ does not deny DESCRIBE"
    );
    assert!(!may(&s, &deny_read, "alice", Read, "t"));
}

#[test]
fn principals_and_hosts() {
    let mut from_one_host = allow("t", PatternType::Literal, "User:alice", Read);
    from_one_host.host = "10.0.0.7".into();
    let acls = cache(&[
        from_one_host,
        allow("t", PatternType::Literal, "User:*", Describe),
    ]);
    let s = settings(&[], false);
    assert!(may_from(&s, &acls, "alice", "10.0.0.7", Read, "t"));
    assert!(
        !may_from(&s, &acls, "alice", "127.0.0.1", Read, "t"),
        "another host"
    );
    assert!(may(&s, &acls, "bob", Describe, "t"), "User:* is anyone");
    assert!(!may(&s, &acls, "bob", Read, "t"));
}

#[test]
fn allow_everyone_only_when_no_acl_covers_the_resource() {
    let acls = cache(&[allow("orders", PatternType::Literal, "User:alice", Read)]);
    let s = settings(&[], true);
    assert!(
        may(&s, &acls, "bob", Read, "other"),
        "no ACL covers `other`"
    );
    assert!(
        !may(&s, &acls, "bob", Read, "orders"),
        "an ACL covers `orders`, for alice only"
    );
    assert!(
        !may(&s, &acls, "alice", Write, "orders"),
        "covered: only what is allowed"
    );
}

#[test]
fn by_resource_type_as_init_producer_id_asks() {
    let s = settings(&[], false);
    let who_is = |name: &str| Principal::user(name);
    let alice = who_is("alice");
    let who = Requester {
        principal: &alice,
        host: "127.0.0.1".parse().expect("address"),
    };
    let any_write =
        |acls: &AclCache| decide_by_resource_type(&s, acls, who, Write, ResourceType::Topic);
    assert!(!any_write(&cache(&[])));
    assert!(any_write(&cache(&[allow(
        "orders",
        PatternType::Literal,
        "User:alice",
        Write
    )])));
    assert!(!any_write(&cache(&[allow(
        "orders",
        PatternType::Literal,
        "User:alice",
        Read
    )])));
    assert!(
        !any_write(&cache(&[
            allow("orders", PatternType::Literal, "User:alice", Write),
            deny("ord", PatternType::Prefixed, "User:alice", Write),
        ])),
        "a DENY on a prefix of the only ALLOW dominates it"
    );
    assert!(any_write(&cache(&[
        allow("orders", PatternType::Literal, "User:alice", Write),
        deny("pay", PatternType::Prefixed, "User:alice", Write),
    ])));
    assert!(!any_write(&cache(&[
        allow("*", PatternType::Literal, "User:alice", Write),
        deny("*", PatternType::Literal, "User:alice", Write),
    ])));
}
