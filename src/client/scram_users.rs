//! SCRAM users (KIP-554): DescribeUserScramCredentials (API 50) lists each user's mechanisms
//! and iteration counts (a broker never sends a secret back), and AlterUserScramCredentials
//! (API 51) sets or deletes one mechanism's credential. The password is salted here, as
//! Kafka's AdminClient does it: a random salt and PBKDF2 over the password, so the password
//! itself never crosses the wire.

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::admin;
use super::cluster::Cluster;
use super::scram::ScramHash;
use crate::error::{Error, Result};

/// Kafka's default and minimum iteration count.
pub const ITERATIONS_DEFAULT: i32 = 4096;
/// Salt bytes, as Kafka's ScramFormatter makes them.
const SALT_BYTES: usize = 32;
/// RESOURCE_NOT_FOUND: the user has no SCRAM credential.
const RESOURCE_NOT_FOUND: i16 = 91;

/// A SCRAM mechanism, with its KIP-554 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Mechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    Sha256,
    #[serde(rename = "SCRAM-SHA-512")]
    Sha512,
}

impl Mechanism {
    pub fn code(self) -> i8 {
        match self {
            Mechanism::Sha256 => 1,
            Mechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(Mechanism::Sha256),
            2 => Some(Mechanism::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`, in any case.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_uppercase().as_str() {
            "SCRAM-SHA-256" => Ok(Mechanism::Sha256),
            "SCRAM-SHA-512" => Ok(Mechanism::Sha512),
            _ => Err(Error::Invalid(format!(
                "mechanism '{text}' is not SCRAM-SHA-256 or SCRAM-SHA-512"
            ))),
        }
    }

    fn hash(self) -> ScramHash {
        match self {
            Mechanism::Sha256 => ScramHash::Sha256,
            Mechanism::Sha512 => ScramHash::Sha512,
        }
    }
}

/// One credential of a user: no secret, only how it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    pub mechanism: Mechanism,
    pub iterations: i32,
}

/// A user with SCRAM credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScramUser {
    pub name: String,
    pub credentials: Vec<Credential>,
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The users named (every user with a credential when `None`), sorted by name. A named user
/// without credentials is listed with none.
pub async fn describe(cluster: &Cluster, users: Option<&[String]>) -> Result<Vec<ScramUser>> {
    let request = DescribeUserScramCredentialsRequest::default().with_users(users.map(|names| {
        names
            .iter()
            .map(|n| UserName::default().with_name(text(n)))
            .collect()
    }));
    let response: DescribeUserScramCredentialsResponse = cluster
        .retry(|| async { cluster.any_connection().await?.send(&request).await })
        .await?;
    Error::check(
        || "describe SCRAM users".to_string(),
        response.error_code,
        response.error_message.as_deref(),
    )?;
    let mut out = Vec::new();
    for r in &response.results {
        let name = r.user.to_string();
        if r.error_code == RESOURCE_NOT_FOUND {
            out.push(ScramUser {
                name,
                credentials: Vec::new(),
            });
            continue;
        }
        Error::check(
            || format!("describe SCRAM user '{name}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
        let mut credentials: Vec<Credential> = r
            .credential_infos
            .iter()
            .filter_map(|c| {
                Some(Credential {
                    mechanism: Mechanism::from_code(c.mechanism)?,
                    iterations: c.iterations,
                })
            })
            .collect();
        credentials.sort_by_key(|c| c.mechanism);
        out.push(ScramUser { name, credentials });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Sets `user`'s `mechanism` credential from `password`, salted here.
pub async fn set_password(
    cluster: &Cluster,
    user: &str,
    mechanism: Mechanism,
    password: &str,
    iterations: i32,
) -> Result<()> {
    if iterations < ITERATIONS_DEFAULT {
        return Err(Error::Invalid(format!(
            "iterations {iterations} is below Kafka's minimum of {ITERATIONS_DEFAULT}"
        )));
    }
    let salt: Vec<u8> = (0..SALT_BYTES).map(|_| fastrand::u8(..)).collect();
    let rounds = u32::try_from(iterations).unwrap_or(u32::MAX);
    let salted = mechanism
        .hash()
        .salted_password(password.as_bytes(), &salt, rounds);
    let request = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(text(user))
            .with_mechanism(mechanism.code())
            .with_iterations(iterations)
            .with_salt(Bytes::from(salt))
            .with_salted_password(Bytes::from(salted)),
    ]);
    alter(cluster, user, &request).await
}

/// Deletes `user`'s `mechanism` credential.
pub async fn delete(cluster: &Cluster, user: &str, mechanism: Mechanism) -> Result<()> {
    let request = AlterUserScramCredentialsRequest::default().with_deletions(vec![
        ScramCredentialDeletion::default()
            .with_name(text(user))
            .with_mechanism(mechanism.code()),
    ]);
    alter(cluster, user, &request).await
}

async fn alter(
    cluster: &Cluster,
    user: &str,
    request: &AlterUserScramCredentialsRequest,
) -> Result<()> {
    let response: AlterUserScramCredentialsResponse = cluster
        .retry(|| async { admin::controller(cluster).await?.send(request).await })
        .await?;
    for r in &response.results {
        Error::check(
            || format!("SCRAM credential of '{user}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_parse_and_round_trip() {
        assert_eq!(
            Mechanism::parse("scram-sha-512").ok(),
            Some(Mechanism::Sha512)
        );
        assert!(Mechanism::parse("PLAIN").is_err_and(|e| e.to_string().contains("PLAIN")));
        for m in [Mechanism::Sha256, Mechanism::Sha512] {
            assert_eq!(Mechanism::from_code(m.code()), Some(m));
            assert_eq!(Mechanism::parse(m.name()).ok(), Some(m));
        }
    }
}
