//! The authentication step of a connection, run right after ApiVersions when
//! `security.protocol` is SASL_PLAINTEXT or SASL_SSL: SaslHandshake names the mechanism, then
//! SaslAuthenticate carries the exchange (KIP-152). PLAIN is one message; SCRAM-SHA-256/512
//! ([`super::scram`]) is two round trips; OAUTHBEARER ([`super::oauth`]) sends a token, and a
//! refusal comes as an error document the client acknowledges before the error code arrives
//! (RFC 7628).

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use super::connection::Connection;
use super::scram::{ScramClient, ScramHash};
use crate::config::{ClientConfig, SaslSettings};
use crate::error::{Error, Result};

/// A SASL mechanism ktui can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Scram(ScramHash),
    OAuthBearer,
}

impl Mechanism {
    fn parse(name: &str) -> Result<Self> {
        match name {
            "PLAIN" | "" => Ok(Mechanism::Plain),
            "SCRAM-SHA-256" => Ok(Mechanism::Scram(ScramHash::Sha256)),
            "SCRAM-SHA-512" => Ok(Mechanism::Scram(ScramHash::Sha512)),
            "OAUTHBEARER" => Ok(Mechanism::OAuthBearer),
            other => Err(Error::Config(format!(
                "sasl.mechanism '{other}' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, \
                 OAUTHBEARER"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(ScramHash::Sha256) => "SCRAM-SHA-256",
            Mechanism::Scram(ScramHash::Sha512) => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// Authenticates `conn` if the configuration asks for SASL; a no-op otherwise.
pub async fn authenticate(conn: &Connection, config: &ClientConfig) -> Result<()> {
    if !config.security.protocol.uses_sasl() {
        return Ok(());
    }
    let sasl = &config.security.sasl;
    let mechanism = Mechanism::parse(&sasl.mechanism)?;
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let response = conn.send(&handshake).await?;
    if response.error_code != 0 {
        let offered: Vec<_> = response.mechanisms.iter().map(|m| m.to_string()).collect();
        return Err(Error::kafka(
            format!(
                "SASL handshake for {} with {} (it offers {})",
                mechanism.name(),
                conn.addr(),
                offered.join(", ")
            ),
            response.error_code,
            None,
        ));
    }
    match mechanism {
        Mechanism::Plain => {
            let _ = exchange(conn, sasl, plain_message(sasl)).await?;
        }
        Mechanism::Scram(hash) => {
            let mut scram = ScramClient::new(hash, &sasl.username, &sasl.password);
            let server_first = exchange(conn, sasl, Bytes::from(scram.client_first())).await?;
            let server_first = String::from_utf8_lossy(&server_first).into_owned();
            let last = Bytes::from(scram.client_final(&server_first)?);
            let server_final = exchange(conn, sasl, last).await?;
            scram.verify_server_final(&String::from_utf8_lossy(&server_final))?;
        }
        Mechanism::OAuthBearer => {
            let token = super::oauth::token(&sasl.oauthbearer).await?;
            let first = super::oauth::initial_response(&token, &sasl.oauthbearer.extensions);
            let challenge = exchange(conn, sasl, Bytes::from(first)).await?;
            if !challenge.is_empty() {
                // A refusal: the server's error document; acknowledging it brings the error.
                let _ = exchange(conn, sasl, Bytes::from_static(b"\x01")).await?;
                return Err(Error::kafka(
                    format!("SASL OAUTHBEARER authentication at {}", conn.addr()),
                    SASL_AUTHENTICATION_FAILED,
                    Some("the broker refused the token"),
                ));
            }
        }
    }
    Ok(())
}

/// Kafka's SASL_AUTHENTICATION_FAILED.
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// One SaslAuthenticate round trip: our bytes out, the server's bytes back.
async fn exchange(conn: &Connection, sasl: &SaslSettings, auth_bytes: Bytes) -> Result<Bytes> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(auth_bytes);
    let response = conn.send(&request).await?;
    if response.error_code != 0 {
        let who = if sasl.mechanism == "OAUTHBEARER" {
            "with an OAUTHBEARER token".to_string()
        } else {
            format!("as '{}'", sasl.username)
        };
        return Err(Error::kafka(
            format!("SASL authentication {who} at {}", conn.addr()),
            response.error_code,
            response.error_message.as_deref(),
        ));
    }
    Ok(response.auth_bytes)
}

/// RFC 4616: authorization id (empty), NUL, user name, NUL, password.
fn plain_message(sasl: &SaslSettings) -> Bytes {
    let mut out = Vec::with_capacity(sasl.username.len() + sasl.password.len() + 2);
    out.push(0);
    out.extend_from_slice(sasl.username.as_bytes());
    out.push(0);
    out.extend_from_slice(sasl.password.as_bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_nul_separated_and_mechanisms_are_named() {
        let sasl = SaslSettings {
            mechanism: "PLAIN".into(),
            username: "alice".into(),
            password: "pw".into(),
            ..SaslSettings::default()
        };
        assert_eq!(&plain_message(&sasl)[..], b"\0alice\0pw");
        assert_eq!(
            Mechanism::parse("SCRAM-SHA-512").expect("scram").name(),
            "SCRAM-SHA-512"
        );
        assert!(Mechanism::parse("GSSAPI").is_err());
    }

    fn sasl_config(addr: &str, mechanism: &str, password: &str) -> ClientConfig {
        let props: Vec<(String, String)> = [
            ("bootstrap.servers", addr),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", mechanism),
            ("sasl.username", "alice"),
            ("sasl.password", password),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ClientConfig::from_properties(&props).expect("config")
    }

    #[tokio::test]
    async fn every_mechanism_authenticates_and_a_wrong_password_is_named() {
        let addr = super::super::test_server::start("alice", "secret").await;
        for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            let config = sasl_config(&addr, mechanism, "secret");
            let conn = Connection::open(&addr, &config).await.expect(mechanism);
            let metadata = kafka_protocol::messages::MetadataRequest::default();
            conn.send(&metadata)
                .await
                .expect("a request after authentication");
            let wrong = sasl_config(&addr, mechanism, "guess");
            let e = Connection::open(&addr, &wrong)
                .await
                .err()
                .expect("refused");
            let text = e.to_string();
            assert!(
                text.contains("SASL_AUTHENTICATION_FAILED (58)") && text.contains("'alice'"),
                "{mechanism}: {text}"
            );
        }
    }

    #[tokio::test]
    async fn an_old_broker_answers_api_versions_v0_and_is_asked_again() {
        let addr = super::super::test_server::start_with("alice", "secret", 2).await;
        let conn = Connection::open(&addr, &sasl_config(&addr, "PLAIN", "secret"))
            .await
            .expect("negotiated down to ApiVersions v2");
        assert_eq!(
            conn.version_of::<SaslAuthenticateRequest>().expect("sasl"),
            2
        );
        assert!(conn
            .version_of::<kafka_protocol::messages::ProduceRequest>()
            .is_err());
    }
}
