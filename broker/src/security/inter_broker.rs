//! What a broker presents when it connects to another broker's inter-broker listener (the
//! replication fetcher's connections), from that listener's own keys as Kafka reads them:
//! TLS with the listener's truststore (and its keystore as the client certificate) on SSL and
//! SASL_SSL, and SASL with `sasl.mechanism.inter.broker.protocol` as the `username` and
//! `password` of the listener's JAAS entry for that mechanism on SASL_PLAINTEXT and SASL_SSL.

use std::sync::Arc;

use super::{jaas_entry, Mechanism, Secret};
use crate::config::{BrokerConfig, ConfigError, SecurityProtocol};

/// The SASL login a broker uses towards the others.
#[derive(Debug, Clone)]
pub struct SaslLogin {
    pub mechanism: Mechanism,
    pub user: String,
    pub password: Secret,
}

/// How to reach the inter-broker listener of another broker.
#[derive(Debug, Clone)]
pub struct InterBrokerSecurity {
    pub listener: String,
    pub protocol: SecurityProtocol,
    /// The TLS client configuration on SSL and SASL_SSL.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The SASL login on SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<SaslLogin>,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl InterBrokerSecurity {
    /// Plain TCP, for a broker with no inter-broker listener of its own (a controller only).
    pub fn plaintext() -> Self {
        InterBrokerSecurity {
            listener: String::new(),
            protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: None,
        }
    }

    /// The settings of `inter.broker.listener.name`'s listener. A quorum of one has no other
    /// broker to reach, so nothing is asked of it.
    pub fn from_config(config: &BrokerConfig) -> Result<Self, ConfigError> {
        if config.is_single_node() {
            return Ok(Self::plaintext());
        }
        let name = config.inter_broker_listener.clone();
        let Some(listener) = config.listeners.iter().find(|l| l.name == name) else {
            return Ok(Self::plaintext());
        };
        let tls = if listener.protocol.uses_tls() {
            Some(super::tls::client_config(config, &name)?)
        } else {
            None
        };
        let sasl = if listener.protocol.uses_sasl() {
            Some(sasl_login(config, &name)?)
        } else {
            None
        };
        Ok(InterBrokerSecurity {
            listener: name,
            protocol: listener.protocol,
            tls,
            sasl,
        })
    }
}

fn sasl_login(config: &BrokerConfig, listener: &str) -> Result<SaslLogin, ConfigError> {
    let key = "sasl.mechanism.inter.broker.protocol";
    let name = config.str_value(key);
    let mechanism = Mechanism::parse(name.trim())
        .ok_or_else(|| invalid(key, super::mechanism::unsupported(name.trim())))?;
    if mechanism == Mechanism::OAuthBearer {
        return Err(invalid(
            key,
            "OAUTHBEARER between brokers is not supported; use PLAIN or SCRAM",
        ));
    }
    let jaas_key = format!(
        "listener.name.{}.{}.sasl.jaas.config",
        listener.to_ascii_lowercase(),
        mechanism.config_prefix()
    );
    let entry = jaas_entry(config, listener, mechanism)?.ok_or_else(|| {
        invalid(
            &jaas_key,
            format!(
                "the inter-broker listener '{listener}' uses SASL: its JAAS config needs the broker's own username and password"
            ),
        )
    })?;
    let user = entry
        .text("username")
        .ok_or_else(|| invalid(&jaas_key, "the JAAS config has no username"))?;
    let password = entry
        .options
        .get("password")
        .cloned()
        .ok_or_else(|| invalid(&jaas_key, "the JAAS config has no password"))?;
    Ok(SaslLogin {
        mechanism,
        user,
        password,
    })
}
