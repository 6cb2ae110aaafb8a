//! Transport security: what each listener asks of a connection before it serves requests, and
//! what a broker presents when it connects to another.
//!
//! - `secret`: a string or bytes that never shows in a log line, an error or `Debug`.
//! - `jaas`: `sasl.jaas.config` values (login module, options).
//! - `mechanism`: the SASL mechanisms served, by Kafka's names.
//! - `plain`: SASL/PLAIN against the listener's JAAS users.
//! - `scram`: SCRAM-SHA-256/512 credentials and exchanges (server, and client for brokers).
//! - `sasl`: one connection's SASL exchange (handshake, tokens, re-authentication).
//! - `bootstrap`: first SCRAM users given when a data directory is formatted (`--add-scram`).
//! - `tls`: rustls configurations from the `ssl.*` keys (PEM and PKCS12 stores, mTLS).
//! - `principal`: a client certificate's subject and `ssl.principal.mapping.rules`.
//! - `inter_broker`: TLS and SASL a broker presents to the others' inter-broker listener.
//!
//! The connection loop (`server::connection`) applies a listener's [`ListenerSecurity`]; the
//! authorizer decides what the principal it yields may do.

pub mod bootstrap;
pub mod inter_broker;
pub mod jaas;
pub mod mechanism;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod sasl;
pub mod scram;
mod secret;
pub mod tls;

pub use mechanism::Mechanism;
pub use secret::Secret;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{BrokerConfig, ConfigError, Listener, SecurityProtocol};
use sasl::SaslSettings;

/// What a listener requires of its connections, built once at start-up from the config.
#[derive(Debug)]
pub struct ListenerSecurity {
    /// The listener's name, as requests carry it in their context.
    pub name: String,
    pub protocol: SecurityProtocol,
    /// SASL settings on SASL_PLAINTEXT and SASL_SSL listeners.
    pub sasl: Option<Arc<SaslSettings>>,
    /// The TLS configuration of SSL and SASL_SSL listeners.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How a client certificate becomes the principal, on SSL listeners (SASL decides on
    /// SASL_SSL ones).
    pub certificate_principal: Option<principal::PrincipalMapper>,
    /// `connections.max.idle.ms`: a connection that sends nothing this long is closed.
    pub idle: Duration,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl ListenerSecurity {
    /// The security of `listener` from the broker's `ssl.*` and `sasl.*` keys (and their
    /// `listener.name.<name>.` forms).
    pub fn from_config(config: &BrokerConfig, listener: &Listener) -> Result<Self, ConfigError> {
        let (tls, certificate_principal) = if listener.protocol.uses_tls() {
            let auth = tls::client_auth(config, &listener.name, listener.protocol)?;
            let server = tls::server_config(config, &listener.name, auth)?;
            let mapper = if listener.protocol == SecurityProtocol::Ssl {
                let key = "ssl.principal.mapping.rules";
                let rules = config.listener_value_or_default(&listener.name, key);
                Some(principal::PrincipalMapper::parse(&rules).map_err(|e| invalid(key, e))?)
            } else {
                None
            };
            (Some(server), mapper)
        } else {
            (None, None)
        };
        let sasl = if listener.protocol.uses_sasl() {
            Some(Arc::new(sasl_settings(config, &listener.name)?))
        } else {
            None
        };
        let idle_key = "connections.max.idle.ms";
        let idle = config.listener_value_or_default(&listener.name, idle_key);
        let idle_ms: u64 = idle
            .trim()
            .parse()
            .map_err(|_| invalid(idle_key, format!("'{idle}' is not a number")))?;
        Ok(ListenerSecurity {
            name: listener.name.clone(),
            protocol: listener.protocol,
            sasl,
            tls,
            certificate_principal,
            idle: Duration::from_millis(idle_ms.max(1)),
        })
    }

    /// A PLAINTEXT listener's security, for tests that serve a socket of their own.
    pub fn plaintext(name: &str) -> Self {
        ListenerSecurity {
            name: name.to_string(),
            protocol: SecurityProtocol::Plaintext,
            sasl: None,
            tls: None,
            certificate_principal: None,
            idle: Duration::from_millis(600_000),
        }
    }
}

/// The enabled mechanisms of a SASL listener; every one must be served here.
fn enabled_mechanisms(
    config: &BrokerConfig,
    listener: &str,
) -> Result<Vec<Mechanism>, ConfigError> {
    let key = "sasl.enabled.mechanisms";
    let value = config.listener_value_or_default(listener, key);
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let mechanism =
            Mechanism::parse(name).ok_or_else(|| invalid(key, mechanism::unsupported(name)))?;
        if !out.contains(&mechanism) {
            out.push(mechanism);
        }
    }
    if out.is_empty() {
        return Err(invalid(
            key,
            format!("listener '{listener}' enables no SASL mechanism"),
        ));
    }
    Ok(out)
}

/// The JAAS entry of `mechanism` on `listener`: `listener.name.<l>.<mech>.sasl.jaas.config`,
/// `listener.name.<l>.sasl.jaas.config`, then `sasl.jaas.config`.
pub fn jaas_entry(
    config: &BrokerConfig,
    listener: &str,
    mechanism: Mechanism,
) -> Result<Option<jaas::JaasEntry>, ConfigError> {
    let prefix = mechanism.config_prefix();
    let Some(text) = config.listener_mechanism_value(listener, &prefix, "sasl.jaas.config") else {
        return Ok(None);
    };
    let key = format!(
        "listener.name.{}.{prefix}.sasl.jaas.config",
        listener.to_ascii_lowercase()
    );
    jaas::parse(&text)
        .map(Some)
        .map_err(|e| invalid(key, e.to_string()))
}

/// OAUTHBEARER's validator from Kafka's broker keys (KIP-768); the JWKS must be a local file.
fn oauth_validator(config: &BrokerConfig) -> Result<oauthbearer::Validator, ConfigError> {
    let key = "sasl.oauthbearer.jwks.endpoint.url";
    let url = config.str_value(key);
    let Some(path) = url.trim().strip_prefix("file://") else {
        return Err(invalid(
            key,
            if url.trim().is_empty() {
                "OAUTHBEARER needs a JWKS to check tokens: file:///path/to/jwks.json".to_string()
            } else {
                format!("'{url}': only a file:// JWKS is read (fetch it to a file)")
            },
        ));
    };
    let list = |key: &str| -> Vec<String> {
        config
            .str_value(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let skew_key = "sasl.oauthbearer.clock.skew.seconds";
    let skew = config.str_value(skew_key);
    let settings = oauthbearer::OAuthSettings {
        jwks_file: path.into(),
        audience: list("sasl.oauthbearer.expected.audience"),
        issuer: Some(config.str_value("sasl.oauthbearer.expected.issuer"))
            .filter(|s| !s.trim().is_empty()),
        sub_claim: Some(config.str_value("sasl.oauthbearer.sub.claim.name"))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| oauthbearer::SUB_CLAIM_DEFAULT.to_string()),
        clock_skew_seconds: if skew.trim().is_empty() {
            oauthbearer::CLOCK_SKEW_SECONDS_DEFAULT
        } else {
            skew.trim()
                .parse()
                .map_err(|_| invalid(skew_key, format!("'{skew}' is not a number")))?
        },
    };
    oauthbearer::Validator::new(settings).map_err(|e| invalid(key, e))
}

fn sasl_settings(config: &BrokerConfig, listener: &str) -> Result<SaslSettings, ConfigError> {
    let mechanisms = enabled_mechanisms(config, listener)?;
    let mut plain_users = BTreeMap::new();
    if mechanisms.contains(&Mechanism::Plain) {
        let entry = jaas_entry(config, listener, Mechanism::Plain)?.ok_or_else(|| {
            invalid(
                format!(
                    "listener.name.{}.plain.sasl.jaas.config",
                    listener.to_ascii_lowercase()
                ),
                format!(
                    "listener '{listener}' enables PLAIN but has no JAAS config with its users \
                     (PlainLoginModule required user_NAME=\"PASSWORD\";)"
                ),
            )
        })?;
        plain_users = entry.plain_users();
    }
    let mut reauth_ms = BTreeMap::new();
    for m in &mechanisms {
        let key = "connections.max.reauth.ms";
        let value = config
            .listener_mechanism_value(listener, &m.config_prefix(), key)
            .unwrap_or_else(|| config.str_value(key));
        let ms: i64 = value
            .trim()
            .parse()
            .map_err(|_| invalid(key, format!("'{value}' is not a number")))?;
        reauth_ms.insert(*m, ms);
    }
    let number = |key: &str| -> Result<u64, ConfigError> {
        let value = config.listener_value_or_default(listener, key);
        value
            .trim()
            .parse()
            .map_err(|_| invalid(key, format!("'{value}' is not a number")))
    };
    let oauth = if mechanisms.contains(&Mechanism::OAuthBearer) {
        Some(std::sync::Arc::new(oauth_validator(config)?))
    } else {
        None
    };
    Ok(SaslSettings {
        oauth,
        mechanisms,
        plain_users,
        reauth_ms,
        failed_delay: Duration::from_millis(number("connection.failed.authentication.delay.ms")?),
        receive_bytes_max: number("sasl.server.max.receive.size")? as usize,
    })
}
