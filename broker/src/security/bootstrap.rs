//! First SCRAM users, as Kafka 3.5+'s `kafka-storage.sh format --add-scram` makes them:
//! `ktui broker --add-scram 'SCRAM-SHA-512=[name=admin,password=secret]'` (repeatable). The
//! credentials are derived when the data directory is formatted and kept in
//! `bootstrap-scram.json` there (salts and keys, not passwords); once a controller is active
//! they are written to the metadata log (for each user and mechanism the log does not have
//! yet) and the file is removed. Clients are served only after that, so the first login works.
//!
//! Argument syntax (Kafka's `ScramParser`): `MECHANISM=[name=N,password=P]`, optionally with
//! `iterations=I` and `salt=BASE64`, or `salt=BASE64,saltedpassword=BASE64` instead of a
//! password; a value may be wrapped in double quotes; values cannot hold ','.

use std::path::Path;

use base64::Engine;

use super::scram::{
    credential_from_password, credential_from_salted, ITERATIONS_DEFAULT, ITERATIONS_MAX,
    ITERATIONS_MIN,
};
use super::{Mechanism, Secret};
use crate::controller::{ControllerRequest, ControllerResponse, ScramUpsertion};
use crate::Broker;

const FILE_NAME: &str = "bootstrap-scram.json";

/// Why an `--add-scram` argument was refused; the message never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--add-scram: {0}")]
pub struct AddScramError(String);

fn refuse(message: impl Into<String>) -> AddScramError {
    AddScramError(message.into())
}

/// Parses one `--add-scram` argument into the credential to store.
pub fn parse(argument: &Secret) -> Result<ScramUpsertion, AddScramError> {
    let text = std::str::from_utf8(argument.expose()).map_err(|_| refuse("not UTF-8"))?;
    let (mechanism, config) = text
        .trim()
        .split_once('=')
        .ok_or_else(|| refuse("expected MECHANISM=[name=...,password=...]"))?;
    let mechanism = Mechanism::parse(mechanism)
        .filter(|m| m.scram_type().is_some())
        .ok_or_else(|| {
            refuse(format!(
                "'{mechanism}' is not SCRAM-SHA-256 or SCRAM-SHA-512"
            ))
        })?;
    let config = config
        .strip_prefix('[')
        .and_then(|c| c.strip_suffix(']'))
        .ok_or_else(|| refuse("the settings must be in [...]"))?;
    let mut name = None;
    let mut password = None;
    let mut salt = None;
    let mut salted = None;
    let mut iterations = ITERATIONS_DEFAULT;
    for component in config.split(',') {
        let (key, value) = component
            .split_once('=')
            .ok_or_else(|| refuse("each setting is key=value"))?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        match key.trim() {
            "name" => name = Some(value.to_string()),
            "password" => password = Some(Secret::from(value)),
            "iterations" => {
                iterations = value
                    .parse()
                    .map_err(|_| refuse(format!("iterations '{value}' is not a number")))?
            }
            "salt" => salt = Some(decode(value, "salt")?),
            "saltedpassword" => salted = Some(Secret::new(decode(value, "saltedpassword")?)),
            other => return Err(refuse(format!("unknown setting '{other}'"))),
        }
    }
    let name = name.ok_or_else(|| refuse("you must supply 'name'"))?;
    if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&iterations) {
        return Err(refuse(format!(
            "iterations must be between {ITERATIONS_MIN} and {ITERATIONS_MAX}"
        )));
    }
    let credential = match (password, salted, salt) {
        (Some(p), None, None) => credential_from_password(mechanism, &p, iterations),
        (Some(p), None, Some(salt)) => {
            let salted = super::scram::salted_password(mechanism, &p, &salt, iterations);
            credential_from_salted(mechanism, salt, salted.expose(), iterations)
        }
        (None, Some(salted), Some(salt)) => {
            credential_from_salted(mechanism, salt, salted.expose(), iterations)
        }
        (None, Some(_), None) => return Err(refuse("'saltedpassword' needs 'salt'")),
        _ => {
            return Err(refuse(
                "supply one of 'password' or 'saltedpassword' (with 'salt')",
            ))
        }
    }
    .ok_or_else(|| refuse("not a SCRAM mechanism"))?;
    Ok(ScramUpsertion {
        name,
        mechanism: mechanism.scram_type().unwrap_or_default(),
        iterations,
        salt: credential.salt,
        stored_key: credential.stored_key,
        server_key: credential.server_key,
    })
}

fn decode(value: &str, what: &str) -> Result<Vec<u8>, AddScramError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| refuse(format!("'{what}' is not base64")))
}

/// Keeps the credentials of a directory being formatted, for [`apply`] to write.
pub fn save(dir: &Path, users: &[ScramUpsertion]) -> std::io::Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_vec(users).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, dir.join(FILE_NAME))
}

/// Writes the kept credentials the metadata log lacks, then forgets them. A failure is
/// logged and the file kept, for the next start.
pub async fn apply(broker: &Broker) {
    let path = broker.config.log_dir.join(FILE_NAME);
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    let users: Vec<ScramUpsertion> = match serde_json::from_slice(&bytes) {
        Ok(users) => users,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable bootstrap SCRAM credentials");
            return;
        }
    };
    let missing: Vec<ScramUpsertion> = broker.cluster.read(|image| {
        users
            .into_iter()
            .filter(|u| {
                image
                    .scram_credentials
                    .get(&u.name)
                    .is_none_or(|m| !m.contains_key(&u.mechanism))
            })
            .collect()
    });
    let count = missing.len();
    // One request per credential: AlterUserScramCredentials refuses a user named twice, and a
    // user may be given both mechanisms.
    for upsertion in missing {
        let request = ControllerRequest::AlterScramCredentials {
            deletions: Vec::new(),
            upsertions: vec![upsertion],
        };
        let error = match broker.cluster.submit(request).await {
            Ok(ControllerResponse::ScramResults(results))
                if results.iter().all(|r| r.error_code == 0) =>
            {
                continue
            }
            Ok(ControllerResponse::ScramResults(r)) => format!("{r:?}"),
            Ok(other) => format!("{other:?}"),
            Err(refusal) => refusal.message,
        };
        tracing::warn!(%error, "bootstrap SCRAM credentials not written; kept for the next start");
        return;
    }
    tracing::info!(
        users = count,
        "bootstrap SCRAM credentials written to the metadata log"
    );
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove the bootstrap SCRAM file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_storage_syntax() {
        let u = parse(&Secret::from(
            "SCRAM-SHA-512=[name=admin,password=\"s3cr3t-pw\"]",
        ))
        .expect("parses");
        assert_eq!(
            (u.name.as_str(), u.mechanism, u.iterations),
            ("admin", 2, 4096)
        );
        let u = parse(&Secret::from(
            "SCRAM-SHA-256=[name=alice,password=pw,iterations=8192,salt=c2FsdA==]",
        ))
        .expect("parses");
        assert_eq!((u.mechanism, u.iterations), (1, 8192));
        assert_eq!(u.salt.expose(), b"salt");
        for bad in [
            "PLAIN=[name=a,password=s3cr3t-pw]",
            "SCRAM-SHA-256=name=a,password=s3cr3t-pw",
            "SCRAM-SHA-256=[password=s3cr3t-pw]",
            "SCRAM-SHA-256=[name=a]",
            "SCRAM-SHA-256=[name=a,password=s3cr3t-pw,iterations=10]",
            "SCRAM-SHA-256=[name=a,password=s3cr3t-pw,colour=blue]",
            "SCRAM-SHA-256=[name=a,saltedpassword=AAAA]",
        ] {
            let err = parse(&Secret::from(bad)).expect_err(bad);
            assert!(!err.to_string().contains("s3cr3t-pw"), "{err}");
        }
    }
}
