//! Listeners as Kafka names them: `listeners` and `advertised.listeners` hold any number of
//! `NAME://host:port` entries, `listener.security.protocol.map` gives each name its security
//! protocol (a name that is itself a protocol maps to it), and `inter.broker.listener.name` (or
//! `security.inter.broker.protocol`) says which one brokers use to reach each other.
//!
//! The controller's listener (`controller.listener.names`) is parsed here too but served by the
//! quorum's own transport; what secures a listener (TLS, SASL) is `security`'s business.

use super::ConfigError;

/// Kafka's `SecurityProtocol`, with its ids (`EndPoint.security_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext = 0,
    Ssl = 1,
    SaslPlaintext = 2,
    SaslSsl = 3,
}

impl SecurityProtocol {
    /// Parses a protocol name as Kafka writes it.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    /// Kafka's name of the protocol.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are wrapped in TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients must authenticate with SASL before any other request.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// One listener, `NAME://host:port`, with the security protocol its name maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub protocol: SecurityProtocol,
}

/// The protocol `listener.security.protocol.map` gives `name`; a name missing from the map
/// that is itself a protocol name maps to that protocol, as in Kafka.
fn protocol_of(name: &str, protocol_map: &str) -> Option<SecurityProtocol> {
    let mapped = protocol_map
        .split(',')
        .filter_map(|pair| pair.trim().split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, p)| p);
    SecurityProtocol::parse(mapped.unwrap_or(name))
}

/// Parses `PLAINTEXT://host:port,SASL_SSL://host:port`; each name must map to a security
/// protocol and appear once.
pub fn parse_listeners(
    key: &str,
    value: &str,
    protocol_map: &str,
) -> Result<Vec<Listener>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: key.into(),
        message,
    };
    let mut out: Vec<Listener> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item
            .split_once("://")
            .ok_or_else(|| invalid(format!("'{item}' is not NAME://host:port")))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| invalid(format!("'{item}' has no port")))?;
        let port: u16 = port
            .parse()
            .map_err(|_| invalid(format!("'{port}' is not a port")))?;
        let protocol = protocol_of(name, protocol_map).ok_or_else(|| {
            invalid(format!(
                "listener '{name}' has no security protocol: add '{name}:PLAINTEXT' (or SSL, \
                 SASL_PLAINTEXT, SASL_SSL) to listener.security.protocol.map"
            ))
        })?;
        if out.iter().any(|l| l.name.eq_ignore_ascii_case(name)) {
            return Err(invalid(format!("listener name '{name}' appears twice")));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        out.push(Listener {
            name: name.to_string(),
            host: host.to_string(),
            port,
            protocol,
        });
    }
    Ok(out)
}

/// The listener brokers use to reach each other: `inter.broker.listener.name`, else the
/// listener named after `security.inter.broker.protocol`, else PLAINTEXT, else the first
/// listener (Kafka would refuse the last case; a single secured listener is common in tests).
pub fn inter_broker_listener(
    explicit_name: Option<&str>,
    explicit_protocol: Option<&str>,
    listeners: &[Listener],
) -> Result<Option<String>, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        key: key.into(),
        message,
    };
    if explicit_name.is_some() && explicit_protocol.is_some() {
        return Err(invalid(
            "inter.broker.listener.name",
            "set inter.broker.listener.name or security.inter.broker.protocol, not both".into(),
        ));
    }
    let find = |name: &str| {
        listeners
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
            .map(|l| l.name.clone())
    };
    if let Some(name) = explicit_name {
        return find(name).map(Some).ok_or_else(|| {
            invalid(
                "inter.broker.listener.name",
                format!("'{name}' is not one of the listeners"),
            )
        });
    }
    if let Some(protocol) = explicit_protocol {
        if SecurityProtocol::parse(protocol).is_none() {
            return Err(invalid(
                "security.inter.broker.protocol",
                format!("'{protocol}' is not a security protocol"),
            ));
        }
        return find(protocol).map(Some).ok_or_else(|| {
            invalid(
                "security.inter.broker.protocol",
                format!("no listener is named '{protocol}'"),
            )
        });
    }
    Ok(find("PLAINTEXT").or_else(|| listeners.first().map(|l| l.name.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_protocols() {
        let map = "INTERNAL:SASL_SSL,EXTERNAL:SSL";
        let ls = parse_listeners(
            "listeners",
            "INTERNAL://:9092,EXTERNAL://localhost:9093,SASL_PLAINTEXT://[::1]:9094",
            map,
        )
        .expect("listeners");
        let got: Vec<_> = ls.iter().map(|l| (l.name.as_str(), l.protocol)).collect();
        assert_eq!(
            got,
            vec![
                ("INTERNAL", SecurityProtocol::SaslSsl),
                ("EXTERNAL", SecurityProtocol::Ssl),
                ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
            ]
        );
        assert_eq!(ls[0].host, "127.0.0.1");
        assert_eq!(ls[2].host, "::1");
        assert!(parse_listeners("listeners", "OTHER://:1", map).is_err());
        assert!(parse_listeners("listeners", "SSL://:1,SSL://:2", map).is_err());
    }

    #[test]
    fn the_inter_broker_listener() {
        let ls = parse_listeners("l", "PLAINTEXT://:1,SASL_SSL://:2", "").expect("listeners");
        let pick = |n, p| inter_broker_listener(n, p, &ls);
        assert_eq!(pick(None, None).expect("ok").as_deref(), Some("PLAINTEXT"));
        assert_eq!(
            pick(Some("SASL_SSL"), None).expect("ok").as_deref(),
            Some("SASL_SSL")
        );
        assert_eq!(
            pick(None, Some("SASL_SSL")).expect("ok").as_deref(),
            Some("SASL_SSL")
        );
        assert!(pick(Some("NOPE"), None).is_err());
        assert!(pick(Some("SASL_SSL"), Some("SASL_SSL")).is_err());
    }
}
