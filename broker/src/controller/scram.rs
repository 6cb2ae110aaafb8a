//! SCRAM credentials at the controller (Kafka's `ScramControlManager`): AlterUserScramCredentials
//! becomes UserScramCredential and RemoveUserScramCredential records, with Kafka's checks and
//! its per-user answers. A user named twice in one request (whatever the mechanisms) is refused
//! as DUPLICATE_RESOURCE; the rest of the request goes on.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};

use super::{ControllerResponse, Decision};
use crate::cluster::records::MetadataRecord;
use crate::cluster::ClusterImage;
use crate::security::scram::{ITERATIONS_MAX, ITERATIONS_MIN};
use crate::security::{Mechanism, Secret};

/// A credential to set, already turned from the salted password into the stored keys by the
/// broker that took the request (the salted password never travels further).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScramUpsertion {
    pub name: String,
    pub mechanism: i8,
    pub iterations: i32,
    pub salt: Secret,
    pub stored_key: Secret,
    pub server_key: Secret,
}

/// One user's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScramResult {
    pub user: String,
    pub error_code: i16,
    pub message: Option<String>,
}

fn refused(error: ResponseError, message: &str) -> (i16, String) {
    (error.code(), message.to_string())
}

fn check_name_and_mechanism(name: &str, mechanism: i8) -> Result<(), (i16, String)> {
    if name.is_empty() {
        return Err(refused(
            ResponseError::UnacceptableCredential,
            "Username must not be empty",
        ));
    }
    if Mechanism::from_scram_type(mechanism).is_none() {
        return Err(refused(
            ResponseError::UnsupportedSaslMechanism,
            "Unknown SCRAM mechanism",
        ));
    }
    Ok(())
}

fn check_deletion(image: &ClusterImage, name: &str, mechanism: i8) -> Result<(), (i16, String)> {
    check_name_and_mechanism(name, mechanism)?;
    let exists = image
        .scram_credentials
        .get(name)
        .is_some_and(|m| m.contains_key(&mechanism));
    if !exists {
        return Err(refused(
            ResponseError::ResourceNotFound,
            "Attempt to delete a user credential that does not exist",
        ));
    }
    Ok(())
}

fn check_upsertion(u: &ScramUpsertion) -> Result<(), (i16, String)> {
    check_name_and_mechanism(&u.name, u.mechanism)?;
    if u.iterations < ITERATIONS_MIN {
        return Err(refused(
            ResponseError::UnacceptableCredential,
            "Too few iterations",
        ));
    }
    if u.iterations > ITERATIONS_MAX {
        return Err(refused(
            ResponseError::UnacceptableCredential,
            "Too many iterations",
        ));
    }
    Ok(())
}

/// AlterUserScramCredentials: deletions first, then upsertions, as Kafka orders them.
pub(super) fn alter(
    image: &ClusterImage,
    deletions: &[(String, i8)],
    upsertions: &[ScramUpsertion],
) -> Decision {
    let duplicate = || {
        refused(
            ResponseError::DuplicateResource,
            "A user credential cannot be altered twice in the same request",
        )
    };
    let mut errors: BTreeMap<String, (i16, String)> = BTreeMap::new();
    let mut deleting: BTreeMap<String, i8> = BTreeMap::new();
    let mut upserting: BTreeMap<String, &ScramUpsertion> = BTreeMap::new();
    for (name, mechanism) in deletions {
        if errors.contains_key(name) {
            continue;
        }
        if deleting.remove(name).is_some() {
            errors.insert(name.clone(), duplicate());
        } else if let Err(e) = check_deletion(image, name, *mechanism) {
            errors.insert(name.clone(), e);
        } else {
            deleting.insert(name.clone(), *mechanism);
        }
    }
    for u in upsertions {
        if errors.contains_key(&u.name) {
            continue;
        }
        if deleting.remove(&u.name).is_some() || upserting.remove(&u.name).is_some() {
            errors.insert(u.name.clone(), duplicate());
        } else if let Err(e) = check_upsertion(u) {
            errors.insert(u.name.clone(), e);
        } else {
            upserting.insert(u.name.clone(), u);
        }
    }
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, mechanism) in deleting {
        records.push(MetadataRecord::RemoveUserScramCredential {
            name: name.clone(),
            mechanism,
        });
        results.push(ok(name));
    }
    for (name, u) in upserting {
        records.push(MetadataRecord::UserScramCredential {
            name: name.clone(),
            mechanism: u.mechanism,
            salt: u.salt.clone(),
            stored_key: u.stored_key.clone(),
            server_key: u.server_key.clone(),
            iterations: u.iterations,
        });
        results.push(ok(name));
    }
    for (user, (error_code, message)) in errors {
        results.push(ScramResult {
            user,
            error_code,
            message: Some(message),
        });
    }
    if !records.is_empty() {
        tracing::info!(changes = records.len(), "SCRAM credentials altered");
    }
    Decision {
        records,
        response: ControllerResponse::ScramResults(results),
    }
}

fn ok(user: String) -> ScramResult {
    ScramResult {
        user,
        error_code: 0,
        message: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(name: &str, mechanism: i8, iterations: i32) -> ScramUpsertion {
        ScramUpsertion {
            name: name.into(),
            mechanism,
            iterations,
            salt: Secret::from("salt"),
            stored_key: Secret::from("stored"),
            server_key: Secret::from("server"),
        }
    }

    #[test]
    fn kafka_checks_and_answers() {
        let mut image = ClusterImage::new("c".into(), 1);
        let d = alter(&image, &[], &[upsert("alice", 1, 4096)]);
        for r in &d.records {
            image.apply(r);
        }
        assert!(image
            .scram_credential("alice", Mechanism::ScramSha256)
            .is_some());
        let d = alter(
            &image,
            &[("alice".into(), 1), ("bob".into(), 1), ("".into(), 1)],
            &[
                upsert("carol", 2, 100),
                upsert("dave", 3, 4096),
                upsert("erin", 1, 20_000),
                upsert("alice", 2, 4096),
            ],
        );
        let ControllerResponse::ScramResults(results) = d.response else {
            panic!("results");
        };
        let code = |u: &str| results.iter().find(|r| r.user == u).map(|r| r.error_code);
        assert_eq!(code("alice"), Some(ResponseError::DuplicateResource.code()));
        assert_eq!(code("bob"), Some(ResponseError::ResourceNotFound.code()));
        assert_eq!(code(""), Some(ResponseError::UnacceptableCredential.code()));
        assert_eq!(
            code("carol"),
            Some(ResponseError::UnacceptableCredential.code())
        );
        assert_eq!(
            code("dave"),
            Some(ResponseError::UnsupportedSaslMechanism.code())
        );
        assert_eq!(
            code("erin"),
            Some(ResponseError::UnacceptableCredential.code())
        );
        assert!(d.records.is_empty());
        let d = alter(&image, &[("alice".into(), 1)], &[]);
        for r in &d.records {
            image.apply(r);
        }
        assert!(image.scram_credentials.is_empty());
    }
}
