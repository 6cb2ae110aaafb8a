//! The security dialogs' rules: an ACL from the create form's fields (Kafka's names, read in
//! any case), and a SCRAM password from the set-password form's.

use crate::client::acls::{
    AclBinding, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME,
};
use crate::client::scram_users::Mechanism;
use crate::tui::action::{Request, Secret};

/// The create form's fields, in order.
pub(super) const ACL_FIELDS: [(&str, &str); 7] = [
    ("principal", "User:"),
    ("permission", "Allow"),
    ("operation", "Read"),
    ("resource type", "Topic"),
    ("resource name", ""),
    ("pattern", "Literal"),
    ("host", "*"),
];

/// The ACL the create form describes.
pub(super) fn acl(v: &[String]) -> Result<Request, String> {
    let principal = v[0].trim();
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => {}
        _ => {
            return Err(format!(
                "principal '{principal}' is not TYPE:NAME (User:alice)"
            ))
        }
    }
    let err = |e: crate::error::Error| e.to_string();
    let resource_type = ResourceType::parse(&v[3]).map_err(err)?;
    let pattern_type = PatternType::parse(&v[5]).map_err(err)?;
    if !matches!(pattern_type, PatternType::Literal | PatternType::Prefixed) {
        return Err("pattern is Literal or Prefixed".into());
    }
    let resource_name = if resource_type == ResourceType::Cluster {
        CLUSTER_NAME.to_string()
    } else if v[4].trim().is_empty() {
        return Err("resource name is empty (* for every one)".into());
    } else {
        v[4].trim().to_string()
    };
    Ok(Request::CreateAcl(AclBinding {
        resource_type,
        resource_name,
        pattern_type,
        principal: principal.to_string(),
        host: if v[6].trim().is_empty() {
            "*".into()
        } else {
            v[6].trim().to_string()
        },
        operation: Operation::parse(&v[2]).map_err(err)?,
        permission: Permission::parse(&v[1]).map_err(err)?,
    }))
}

/// The set-password form's fields, in order.
pub(super) const PASSWORD_FIELDS: [&str; 3] = ["user", "mechanism", "password"];

/// The password change the form describes.
pub(super) fn password(v: &[String]) -> Result<Request, String> {
    if v[0].is_empty() {
        return Err("user is empty".into());
    }
    let mechanism = Mechanism::parse(&v[1]).map_err(|e| e.to_string())?;
    if v[2].is_empty() {
        return Err("password is empty".into());
    }
    Ok(Request::SetPassword {
        user: v[0].clone(),
        mechanism,
        password: Secret(v[2].clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn acl_forms_are_checked() {
        let ok = fields(&[
            "User:alice",
            "allow",
            "write",
            "topic",
            "orders",
            "prefixed",
            "",
        ]);
        let Ok(Request::CreateAcl(b)) = acl(&ok) else {
            panic!("an ACL");
        };
        assert_eq!(
            (b.operation, b.pattern_type, b.host.as_str()),
            (Operation::Write, PatternType::Prefixed, "*")
        );
        let cluster = fields(&["User:ops", "Allow", "Alter", "Cluster", "", "Literal", "*"]);
        assert!(
            matches!(acl(&cluster), Ok(Request::CreateAcl(b)) if b.resource_name == CLUSTER_NAME)
        );
        assert!(acl(&fields(&[
            "alice", "Allow", "Read", "Topic", "t", "Literal", "*"
        ]))
        .is_err_and(|e| e.contains("TYPE:NAME")));
        assert!(acl(&fields(&[
            "User:a", "Allow", "Eat", "Topic", "t", "Literal", "*"
        ]))
        .is_err_and(|e| e.contains("'Eat'")));
        assert!(acl(&fields(&[
            "User:a", "Allow", "Read", "Topic", "", "Literal", "*"
        ]))
        .is_err_and(|e| e.contains("empty")));
    }

    #[test]
    fn password_forms_keep_the_secret_out_of_debug() {
        let request = password(&fields(&["alice", "SCRAM-SHA-256", "hunter2"])).expect("ok");
        assert!(!format!("{request:?}").contains("hunter2"));
        assert!(password(&fields(&["alice", "MD5", "x"])).is_err());
        assert!(password(&fields(&["alice", "SCRAM-SHA-256", ""])).is_err());
    }
}
