//! Transport security: what each listener asks of a connection before it serves requests, and
//! what a broker presents when it connects to another.
//!
//! - `secret`: a string or bytes that never shows in a log line, an error or `Debug`.
//!
//! The connection loop (`server::connection`) applies a listener's [`ListenerSecurity`]; the
//! authorizer decides what the principal it yields may do.

mod secret;

pub use secret::Secret;

use crate::config::{BrokerConfig, ConfigError, Listener, SecurityProtocol};

/// What a listener requires of its connections, built once at start-up from the config.
#[derive(Debug)]
pub struct ListenerSecurity {
    /// The listener's name, as requests carry it in their context.
    pub name: String,
    pub protocol: SecurityProtocol,
}

impl ListenerSecurity {
    /// The security of `listener` from the broker's `ssl.*` and `sasl.*` keys (and their
    /// `listener.name.<name>.` forms).
    pub fn from_config(config: &BrokerConfig, listener: &Listener) -> Result<Self, ConfigError> {
        let _ = config;
        if listener.protocol != SecurityProtocol::Plaintext {
            return Err(ConfigError::Invalid {
                key: "listeners".into(),
                message: format!(
                    "listener '{}': {} is not supported yet",
                    listener.name,
                    listener.protocol.name()
                ),
            });
        }
        Ok(ListenerSecurity {
            name: listener.name.clone(),
            protocol: listener.protocol,
        })
    }

    /// A PLAINTEXT listener's security, for tests that serve a socket of their own.
    pub fn plaintext(name: &str) -> Self {
        ListenerSecurity {
            name: name.to_string(),
            protocol: SecurityProtocol::Plaintext,
        }
    }
}
