//! The client's one error type. Every message a person sees names the bad value or address
//! and, for a Kafka error code, the code's name and what to do next. Mapping a Kafka code to
//! advice lives here so the subcommands and (later) the console word errors the same way.

use kafka_protocol::error::ResponseError;

/// Anything that can go wrong talking to a cluster or reading settings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connection (or TLS handshake) to a broker failed.
    #[error("cannot connect to {addr}: {reason}; check the address (--bootstrap) and that a broker listens there")]
    Connect { addr: String, reason: String },
    /// No answer within the request or connection timeout.
    #[error("no answer from {addr} to {what} within {ms} ms; check the broker, or raise request.timeout.ms")]
    Timeout {
        addr: String,
        what: String,
        ms: u128,
    },
    /// The connection closed while requests were waiting.
    #[error("connection to {addr} closed: {reason}")]
    Disconnected { addr: String, reason: String },
    /// The broker and this client share no version of an API.
    #[error("broker {addr} does not support {api} in any version ktui speaks ({ours}); it may be too old or not Kafka")]
    UnsupportedVersion {
        addr: String,
        api: String,
        ours: String,
    },
    /// A Kafka error code in a response.
    #[error("{context}: {}{}; {}", code_name(*.code), message_suffix(.message), advice(*.code))]
    Kafka {
        context: String,
        code: i16,
        message: Option<String>,
    },
    /// A topic that metadata, freshly loaded, does not list: final, not retried.
    #[error("topic '{0}' does not exist (UNKNOWN_TOPIC_OR_PARTITION); check the name with `ktui topics list`")]
    UnknownTopic(String),
    /// A response that could not be decoded or makes no sense.
    #[error("protocol error from {addr}: {reason}")]
    Protocol { addr: String, reason: String },
    /// Bad settings: a file, a profile or a flag.
    #[error("{0}")]
    Config(String),
    /// A bad argument or input value.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a local file or stream.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Clone for Error {
    /// The same error; an I/O error keeps its kind and text (the OS error itself is not
    /// cloneable). One failed request fails every partition it carried with a copy.
    fn clone(&self) -> Self {
        match self {
            Error::Connect { addr, reason } => Error::Connect {
                addr: addr.clone(),
                reason: reason.clone(),
            },
            Error::Timeout { addr, what, ms } => Error::Timeout {
                addr: addr.clone(),
                what: what.clone(),
                ms: *ms,
            },
            Error::Disconnected { addr, reason } => Error::Disconnected {
                addr: addr.clone(),
                reason: reason.clone(),
            },
            Error::UnsupportedVersion { addr, api, ours } => Error::UnsupportedVersion {
                addr: addr.clone(),
                api: api.clone(),
                ours: ours.clone(),
            },
            Error::Kafka {
                context,
                code,
                message,
            } => Error::Kafka {
                context: context.clone(),
                code: *code,
                message: message.clone(),
            },
            Error::UnknownTopic(t) => Error::UnknownTopic(t.clone()),
            Error::Protocol { addr, reason } => Error::Protocol {
                addr: addr.clone(),
                reason: reason.clone(),
            },
            Error::Config(s) => Error::Config(s.clone()),
            Error::Invalid(s) => Error::Invalid(s.clone()),
            Error::Io { what, source } => Error::Io {
                what: what.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
        }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A Kafka error for `code` in `context` (`code` must not be 0).
    pub fn kafka(context: impl Into<String>, code: i16, message: Option<&str>) -> Self {
        Error::Kafka {
            context: context.into(),
            code,
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
        }
    }

    /// Ok for error code 0, else the Kafka error named by `context` (built only then).
    pub fn check(
        context: impl FnOnce() -> String,
        code: i16,
        message: Option<&str>,
    ) -> Result<(), Error> {
        if code == 0 {
            return Ok(());
        }
        Err(Error::kafka(context(), code, message))
    }

    /// The Kafka error code, if this is one.
    pub fn code(&self) -> Option<i16> {
        match self {
            Error::Kafka { code, .. } => Some(*code),
            Error::UnknownTopic(_) => Some(UNKNOWN_TOPIC_OR_PARTITION),
            _ => None,
        }
    }

    /// Whether trying again (after a metadata refresh and a backoff) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Kafka { code, .. } => {
                ResponseError::try_from_code(*code).is_some_and(|e| e.is_retriable())
            }
            Error::Disconnected { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the error means the cached metadata (leaders, coordinators) is stale.
    pub fn is_stale_metadata(&self) -> bool {
        matches!(
            self.code(),
            Some(NOT_LEADER_OR_FOLLOWER)
                | Some(UNKNOWN_TOPIC_OR_PARTITION)
                | Some(LEADER_NOT_AVAILABLE)
                | Some(NOT_COORDINATOR)
                | Some(COORDINATOR_NOT_AVAILABLE)
                | Some(FENCED_LEADER_EPOCH)
                | Some(UNKNOWN_LEADER_EPOCH)
                | Some(NOT_CONTROLLER)
        ) && !matches!(self, Error::UnknownTopic(_))
            || matches!(self, Error::Disconnected { .. })
    }
}

/// Kafka error codes the client branches on.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const NOT_COORDINATOR: i16 = 16;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const NOT_CONTROLLER: i16 = 41;
pub const FENCED_LEADER_EPOCH: i16 = 74;
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
pub const ELECTION_NOT_NEEDED: i16 = 84;
pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

/// `UNKNOWN_TOPIC_OR_PARTITION (3)`: Kafka's own spelling of a code, and the number.
pub fn code_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(ResponseError::Unknown(_)) | None => format!("error code {code}"),
        Some(e) => format!("{} ({code})", screaming_snake(&format!("{e}"))),
    }
}

fn message_suffix(message: &Option<String>) -> String {
    message.as_ref().map_or(String::new(), |m| format!(": {m}"))
}

/// `UnknownTopicOrPartition` → `UNKNOWN_TOPIC_OR_PARTITION`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What to do about a Kafka error code, in one sentence.
pub fn advice(code: i16) -> &'static str {
    match code {
        UNKNOWN_TOPIC_OR_PARTITION => "check the topic name with `ktui topics list`",
        LEADER_NOT_AVAILABLE | NOT_LEADER_OR_FOLLOWER => {
            "the partition has no reachable leader; retry when the cluster has settled"
        }
        COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR => {
            "the group coordinator is not ready; retry shortly"
        }
        TOPIC_ALREADY_EXISTS => "pick another name, or delete the topic first",
        UNSUPPORTED_VERSION => "the broker is older than this request needs",
        7 => "the broker did not finish in time; retry, or raise the timeout",
        10 => "the record or batch is larger than the topic's max.message.bytes",
        17 => "use a topic name of letters, digits, '.', '_' and '-', at most 249 characters",
        29..=31 => "the credentials in use lack this permission; ask the cluster's admin",
        37 => "use a partition count of at least 1",
        38 => "use a replication factor of at least 1 and at most the number of brokers",
        40 => "check the config name and value with `ktui topics describe`",
        39 => "name live broker ids, each at most once (`ktui brokers` lists them)",
        NOT_CONTROLLER => "this is not the controller; retry shortly",
        42 => "the broker refused the request as malformed; check the arguments",
        68 => "the group still has members; stop its consumers first",
        69 => "the group does not exist; check the name with `ktui groups list`",
        60 => "a reassignment of this partition is running; wait for it or cancel it first",
        73 => "deleting topics is disabled on this cluster (delete.topic.enable=false)",
        80 => "the preferred replica is down or out of the ISR; bring it back first",
        83 => "no replica of the partition is up; start one of its brokers",
        ELECTION_NOT_NEEDED => "the partition already has the leader asked for",
        NO_REASSIGNMENT_IN_PROGRESS => "nothing to cancel: the partition is not being reassigned",
        25 | 27 | 22 => "the group is rebalancing or in use; stop its consumers and retry",
        53 => "the credentials in use may not use this transactional id; ask the cluster's admin",
        105 => "no such transactional id; `ktui transactions list` lists them",
        47 | 90 | 52 => {
            "the producer or its coordinator has moved on; describe the partition's producers again (`ktui producers describe`)"
        }
        48 => "the transaction is not in a state that allows this",
        _ => "see Kafka's protocol error codes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_name_the_code_and_advise() {
        let e = Error::kafka("describe topic 'x'", UNKNOWN_TOPIC_OR_PARTITION, None);
        let text = e.to_string();
        assert!(text.contains("UNKNOWN_TOPIC_OR_PARTITION (3)"), "{text}");
        assert!(text.contains("ktui topics list"), "{text}");
        assert!(e.is_retriable());
        assert!(e.is_stale_metadata());
        assert!(!Error::kafka("create", TOPIC_ALREADY_EXISTS, Some("exists")).is_retriable());
        assert_eq!(code_name(-12345), "error code -12345");
    }
}
