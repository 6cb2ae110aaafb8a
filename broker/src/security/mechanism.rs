//! The SASL mechanisms a listener may enable, by Kafka's names.

/// A SASL mechanism this broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism served, in the order they are listed.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::OAuthBearer,
    ];

    /// The mechanism's name, as SaslHandshake and `sasl.enabled.mechanisms` write it.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism of this name (names are case-sensitive in Kafka).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Kafka's `ScramMechanism` type code (1 and 2), as the SCRAM credential APIs and
    /// metadata records carry it; `None` for PLAIN.
    pub fn scram_type(self) -> Option<i8> {
        match self {
            Mechanism::Plain | Mechanism::OAuthBearer => None,
            Mechanism::ScramSha256 => Some(1),
            Mechanism::ScramSha512 => Some(2),
        }
    }

    /// The SCRAM mechanism of a type code.
    pub fn from_scram_type(code: i8) -> Option<Self> {
        match code {
            1 => Some(Mechanism::ScramSha256),
            2 => Some(Mechanism::ScramSha512),
            _ => None,
        }
    }

    /// The lower-case form Kafka puts in listener-prefixed keys
    /// (`listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config`).
    pub fn config_prefix(self) -> String {
        self.name().to_ascii_lowercase()
    }
}

/// Why a `sasl.enabled.mechanisms` entry was refused: a message saying what is served instead.
pub fn unsupported(name: &str) -> String {
    let why = match name {
        "GSSAPI" => "GSSAPI (Kerberos) is not supported",
        _ => "it is not a mechanism this broker serves",
    };
    format!("'{name}': {why}; enable PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
}
