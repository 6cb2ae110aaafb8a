//! The listener-scoped form of the security keys: Kafka lets any `ssl.*` or `sasl.*` key (and
//! `connections.max.reauth.ms`) be set for one listener as `listener.name.<name>.<key>`, and
//! SASL keys for one mechanism of one listener as `listener.name.<name>.<mechanism>.<key>`
//! (listener and mechanism in lower case). The most specific setting wins.
//!
//! What the values mean is `security`'s business; this module only finds them.

use super::BrokerConfig;

/// The prefix of listener-scoped keys.
pub const LISTENER_PREFIX: &str = "listener.name.";

impl BrokerConfig {
    /// `listener.name.<listener>.<key>` when set, else `<key>` when set.
    pub fn listener_value(&self, listener: &str, key: &str) -> Option<String> {
        let scoped = format!("{LISTENER_PREFIX}{}.{key}", listener.to_ascii_lowercase());
        self.scoped(&scoped)
            .or_else(|| self.values.get(key).cloned())
    }

    /// `listener.name.<listener>.<key>` only (keys Kafka reads for a listener only in that
    /// form, as `ssl.client.auth` on SASL_SSL listeners).
    pub fn listener_only_value(&self, listener: &str, key: &str) -> Option<String> {
        self.scoped(&format!(
            "{LISTENER_PREFIX}{}.{key}",
            listener.to_ascii_lowercase()
        ))
    }

    /// `listener.name.<listener>.<mechanism>.<key>` when set, else
    /// [`Self::listener_value`].
    pub fn listener_mechanism_value(
        &self,
        listener: &str,
        mechanism: &str,
        key: &str,
    ) -> Option<String> {
        let scoped = format!(
            "{LISTENER_PREFIX}{}.{}.{key}",
            listener.to_ascii_lowercase(),
            mechanism.to_ascii_lowercase()
        );
        self.scoped(&scoped)
            .or_else(|| self.listener_value(listener, key))
    }

    /// [`Self::listener_value`], else the key's default.
    pub fn listener_value_or_default(&self, listener: &str, key: &str) -> String {
        self.listener_value(listener, key)
            .unwrap_or_else(|| self.str_value(key))
    }

    /// A listener-scoped key, matched ignoring the case of the listener name as written.
    fn scoped(&self, wanted: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.clone())
    }
}

/// Whether a key is listener-scoped (it is checked when its listener is set up, not against the
/// key table).
pub fn is_listener_scoped(key: &str) -> bool {
    key.starts_with(LISTENER_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_setting_wins() {
        let c = BrokerConfig::from_properties(
            "sasl.enabled.mechanisms=PLAIN\n\
             listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256\n\
             listener.name.SASL_SSL.scram-sha-256.connections.max.reauth.ms=5\n\
             connections.max.reauth.ms=7\n",
            &[],
        )
        .expect("config");
        let v = |l, k| c.listener_value(l, k);
        assert_eq!(
            v("SASL_SSL", "sasl.enabled.mechanisms").as_deref(),
            Some("SCRAM-SHA-256")
        );
        assert_eq!(
            v("OTHER", "sasl.enabled.mechanisms").as_deref(),
            Some("PLAIN")
        );
        let m = |l, mech| c.listener_mechanism_value(l, mech, "connections.max.reauth.ms");
        assert_eq!(m("sasl_ssl", "SCRAM-SHA-256").as_deref(), Some("5"));
        assert_eq!(m("SASL_SSL", "PLAIN").as_deref(), Some("7"));
        assert_eq!(
            c.listener_value_or_default("X", "connection.failed.authentication.delay.ms"),
            "100"
        );
    }
}
