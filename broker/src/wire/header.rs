//! Request header decoding and response framing.
//!
//! The request header's own version depends on the API and its version; the response header
//! likewise (ApiVersions responses always use header v0, KIP-511). Responses are encoded with
//! their 4-byte length prefix in one buffer so the connection writes them with one call.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

/// Why a request header could not be read; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("malformed request header: {0}")]
    Malformed(String),
}

/// Decodes the request header at the front of `frame`, leaving the body in `frame`.
pub fn decode_request_header(frame: &mut Bytes) -> Result<(ApiKey, RequestHeader), HeaderError> {
    if frame.len() < 4 {
        return Err(HeaderError::Malformed(
            "frame shorter than api key and version".into(),
        ));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api_key = ApiKey::try_from(key).map_err(|_| HeaderError::UnknownApiKey(key))?;
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(frame, header_version)
        .map_err(|e| HeaderError::Malformed(e.to_string()))?;
    Ok((api_key, header))
}

/// Encodes `body` as the response to a request of `api_key` at `version`, length prefix included.
pub fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<BytesMut, String> {
    let header_version = api_key.response_header_version(version);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let mut buf = BytesMut::with_capacity(capacity_hint(body));
    buf.put_i32(0);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| e.to_string())?;
    body.encode(&mut buf, version).map_err(|e| e.to_string())?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Bytes a response needs beyond its record sets, except for very large metadata.
const RESPONSE_BYTES_BASE: usize = 1024;
/// Per-partition fields of a Fetch response besides its records.
const FETCH_PARTITION_BYTES: usize = 64;

/// A buffer size that holds the whole response, so that a Fetch response of many megabytes
/// is copied once into its buffer rather than again at every doubling of a small one.
fn capacity_hint(body: &ResponseKind) -> usize {
    match body {
        ResponseKind::Fetch(fetch) => fetch
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| FETCH_PARTITION_BYTES + p.records.as_ref().map_or(0, Bytes::len))
            .sum::<usize>()
            .saturating_add(RESPONSE_BYTES_BASE),
        _ => RESPONSE_BYTES_BASE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsResponse;

    #[test]
    fn unknown_api_key_and_short_frames_are_errors() {
        let mut frame = Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert!(matches!(
            decode_request_header(&mut frame),
            Err(HeaderError::UnknownApiKey(_))
        ));
        let mut short = Bytes::from_static(&[0, 18]);
        assert!(decode_request_header(&mut short).is_err());
        let mut truncated = Bytes::from_static(&[0, 18, 0, 3, 0, 0, 0, 1, 0, 9, b'a']);
        assert!(decode_request_header(&mut truncated).is_err());
    }

    #[test]
    fn api_versions_response_uses_header_v0() {
        let body = ResponseKind::ApiVersions(ApiVersionsResponse::default());
        let buf = encode_response(ApiKey::ApiVersions, 3, 7, &body).expect("encode");
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        assert_eq!(len, buf.len() - 4);
        assert_eq!(&buf[4..8], &7i32.to_be_bytes());
        // Header v0 has no tagged-field byte: the error code follows the correlation id.
        assert_eq!(&buf[8..10], &0i16.to_be_bytes());
    }
}
