//! The broker's error type. Handlers turn most failures into Kafka error codes in their
//! responses; an `Error` that reaches the connection loop closes that connection only.

use kafka_protocol::ResponseError;

/// A failure that a request handler or the server loop cannot answer in-band.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client sent bytes that do not decode as the request it claims to be.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The client used an API key or version we neither implement nor advertise.
    #[error("unsupported api key {key} version {version}")]
    Unsupported { key: i16, version: i16 },
    /// The log or the metadata store failed on disk.
    #[error("storage: {0}")]
    Storage(String),
    /// A produce with acks=0 failed; there is no response to carry the error, so the
    /// connection is closed.
    #[error("acks=0 produce failed with error code {0}")]
    AcksZeroFailure(i16),
}

impl Error {
    /// The Kafka error code a client should see for this failure.
    pub fn error_code(&self) -> i16 {
        match self {
            Error::Malformed(_) => ResponseError::CorruptMessage.code(),
            Error::Unsupported { .. } => ResponseError::UnsupportedVersion.code(),
            Error::Storage(_) => ResponseError::KafkaStorageError.code(),
            Error::AcksZeroFailure(code) => *code,
        }
    }
}

/// Result alias used across the broker.
pub type Result<T, E = Error> = std::result::Result<T, E>;
