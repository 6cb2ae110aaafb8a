//! Authorization refusals in words: which operation on which resource the request needed,
//! from what the request was about and Kafka's error code (TOPIC_, GROUP_, CLUSTER_ and
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED), with the `ktui acls create` that would grant it.
//! Kafka's codes say only the resource type; the request says the rest.

use crate::error::Error;
use crate::tui::action::Subject;

const TOPIC: i16 = 29;
const GROUP: i16 = 30;
const CLUSTER: i16 = 31;
const TRANSACTIONAL_ID: i16 = 53;

/// The refusal explained, when `error` is one and `subject` says what was needed.
pub fn explain(subject: &Subject, error: &Error, principal: &str) -> Option<String> {
    let code = error.code()?;
    let (operation, resource, flag) = match code {
        TOPIC => {
            let (operation, topic) = topic_access(subject)?;
            (
                operation,
                format!("topic {topic}"),
                format!("--topic {topic}"),
            )
        }
        GROUP => {
            let (operation, group) = group_access(subject)?;
            (
                operation,
                format!("group {group}"),
                format!("--group {group}"),
            )
        }
        CLUSTER => (
            cluster_access(subject)?,
            "the cluster".to_string(),
            "--cluster".to_string(),
        ),
        TRANSACTIONAL_ID => return Some(format!("{principal} may not use this transactional id")),
        _ => return None,
    };
    Some(format!(
        "not authorized: {principal} may not {operation} {resource}; an admin can allow it with \
         `ktui acls create --allow-principal {principal} --operation {operation} {flag}`"
    ))
}

fn topic_access(subject: &Subject) -> Option<(&'static str, String)> {
    Some(match subject {
        Subject::Produce(t) => ("Write", t.clone()),
        Subject::Tail(t) => ("Read", t.clone()),
        Subject::Topic(t) => ("Describe", t.clone()),
        Subject::CreateTopic(t) => ("Create", t.clone()),
        Subject::DeleteTopic(t) => ("Delete", t.clone()),
        Subject::AlterConfig(t) => ("AlterConfigs", t.clone()),
        Subject::AddPartitions { topic, .. } => ("Alter", topic.clone()),
        _ => return None,
    })
}

fn group_access(subject: &Subject) -> Option<(&'static str, String)> {
    Some(match subject {
        Subject::Group(g) => ("Describe", g.clone()),
        Subject::ResetPreview(g) => ("Describe", g.clone()),
        Subject::ResetOffsets { group, .. } => ("Read", group.clone()),
        Subject::DeleteGroup(g) => ("Delete", g.clone()),
        _ => return None,
    })
}

fn cluster_access(subject: &Subject) -> Option<&'static str> {
    Some(match subject {
        Subject::CreateTopic(_) => "Create",
        Subject::Elect { .. } | Subject::Reassign(..) => "Alter",
        Subject::CreateAcl(_) | Subject::DeleteAcl(_) => "Alter",
        Subject::SetPassword(_) | Subject::DeleteUser(_) => "Alter",
        Subject::Cluster
        | Subject::Groups
        | Subject::LogDirs
        | Subject::Reassignments
        | Subject::Acls
        | Subject::Users => "Describe",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: i16) -> Error {
        Error::kafka("request", code, None)
    }

    #[test]
    fn refusals_name_the_operation_and_the_resource() {
        let text = explain(
            &Subject::Produce("orders".into()),
            &refusal(TOPIC),
            "User:alice",
        )
        .expect("explained");
        assert!(
            text.contains("User:alice may not Write topic orders"),
            "{text}"
        );
        assert!(text.contains("--operation Write --topic orders"), "{text}");
        let group = Subject::ResetOffsets {
            group: "billing".into(),
            partitions: 3,
        };
        assert!(explain(&group, &refusal(GROUP), "User:bob")
            .is_some_and(|t| t.contains("may not Read group billing")));
        assert!(explain(&Subject::Acls, &refusal(CLUSTER), "User:bob")
            .is_some_and(|t| t.contains("Describe the cluster") && t.contains("--cluster")));
        assert_eq!(explain(&Subject::Acls, &refusal(3), "User:bob"), None);
        assert_eq!(explain(&Subject::Groups, &refusal(TOPIC), "User:bob"), None);
    }
}
