//! The authorizer's keys, with Kafka's names: `authorizer.class.name` turns ACLs on,
//! `super.users` lists the principals that bypass them, and `allow.everyone.if.no.acl.found`
//! says what happens to a resource no ACL covers.
//!
//! Kafka loads the class named; here any non-empty name (Kafka's
//! `org.apache.kafka.metadata.authorizer.StandardAuthorizer`, say) turns on the one authorizer
//! there is, which follows the StandardAuthorizer's rules (`crate::authorizer`).

use std::collections::BTreeSet;

use super::{BrokerConfig, ConfigError};

/// How the broker authorizes requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerSettings {
    /// `authorizer.class.name` is set: requests are checked against the ACLs. Unset, every
    /// request is allowed, as in Kafka without an authorizer.
    pub enabled: bool,
    /// `super.users`: principals (`User:admin`) allowed everything, whatever the ACLs say.
    /// Brokers' own requests (followers fetching) need their principal here, as in Kafka.
    pub super_users: BTreeSet<String>,
    /// `allow.everyone.if.no.acl.found`: allow an action on a resource that no ACL at all
    /// covers (false: deny it).
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerSettings {
    /// Reads the three keys; a super user that is not `Type:name` is refused.
    pub fn from_config(config: &BrokerConfig) -> Result<Self, ConfigError> {
        let class = config.str_value("authorizer.class.name");
        let super_users = parse_super_users(&config.str_value("super.users"))?;
        Ok(AuthorizerSettings {
            enabled: !class.trim().is_empty(),
            super_users,
            allow_everyone_if_no_acl_found: config
                .str_value("allow.everyone.if.no.acl.found")
                .eq_ignore_ascii_case("true"),
        })
    }
}

/// `User:admin;User:broker`: principals separated by semicolons, as Kafka writes them.
fn parse_super_users(value: &str) -> Result<BTreeSet<String>, ConfigError> {
    let mut users = BTreeSet::new();
    for user in value.split(';').map(str::trim).filter(|u| !u.is_empty()) {
        let valid = user
            .split_once(':')
            .is_some_and(|(kind, name)| !kind.is_empty() && !name.is_empty());
        if !valid {
            return Err(ConfigError::Invalid {
                key: "super.users".into(),
                message: format!(
                    "'{user}' is not a principal; write Type:name, as User:admin, separated by ';'"
                ),
            });
        }
        users.insert(user.to_string());
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(overrides: &[(&str, &str)]) -> Result<AuthorizerSettings, ConfigError> {
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BrokerConfig::from_properties("", &overrides).map(|c| c.authorizer)
    }

    #[test]
    fn off_by_default_and_on_with_any_class_name() {
        let off = settings(&[]).expect("config");
        assert!(!off.enabled && off.super_users.is_empty());
        assert!(!off.allow_everyone_if_no_acl_found);
        let on = settings(&[
            (
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            ),
            ("super.users", "User:admin; User:broker;"),
            ("allow.everyone.if.no.acl.found", "true"),
        ])
        .expect("config");
        assert!(on.enabled && on.allow_everyone_if_no_acl_found);
        assert_eq!(
            on.super_users.iter().collect::<Vec<_>>(),
            ["User:admin", "User:broker"]
        );
    }

    #[test]
    fn super_users_must_be_principals() {
        let e = settings(&[("super.users", "admin")]).expect_err("refused");
        assert!(e.to_string().contains("super.users"), "{e}");
    }
}
