//! Kafka's framing: every request and response is a 4-byte big-endian length and that many
//! bytes. The length is checked against the configured maximum before any buffer is allocated.

use crate::limits::REQUEST_HEADER_BYTES_MIN;

/// Why a frame length was refused; the connection is closed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} is negative")]
    Negative(i32),
    #[error("frame length {0} is smaller than a request header")]
    TooSmall(i32),
    #[error("frame length {len} exceeds the limit of {max} bytes (socket.request.max.bytes, or sasl.server.max.receive.size before authentication)")]
    TooLarge { len: i32, max: usize },
}

/// Checks a request frame's length prefix and returns the body size to read.
pub fn check_request_length(prefix: [u8; 4], max: usize) -> Result<usize, FrameError> {
    check_frame_length(prefix, REQUEST_HEADER_BYTES_MIN, max)
}

/// Checks a length prefix against `min..=max` (a SASL token may be shorter than a request
/// header) and returns the body size to read.
pub fn check_frame_length(prefix: [u8; 4], min: usize, max: usize) -> Result<usize, FrameError> {
    let len = i32::from_be_bytes(prefix);
    if len < 0 {
        return Err(FrameError::Negative(len));
    }
    let size = len as usize;
    if size < min {
        return Err(FrameError::TooSmall(len));
    }
    if size > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_bounded_before_allocation() {
        let max = 1024;
        assert_eq!(check_request_length(20i32.to_be_bytes(), max), Ok(20));
        assert_eq!(
            check_request_length((-1i32).to_be_bytes(), max),
            Err(FrameError::Negative(-1))
        );
        assert_eq!(
            check_request_length(3i32.to_be_bytes(), max),
            Err(FrameError::TooSmall(3))
        );
        assert!(matches!(
            check_request_length(i32::MAX.to_be_bytes(), max),
            Err(FrameError::TooLarge { .. })
        ));
        assert_eq!(check_request_length(1024i32.to_be_bytes(), max), Ok(1024));
    }
}
