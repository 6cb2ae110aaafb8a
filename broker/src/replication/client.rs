//! A broker's connection to another broker's client listener, for the requests a broker makes
//! itself (a follower's Fetch, OffsetForLeaderEpoch): Kafka's framing and headers, one request
//! at a time.

use std::io;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response a broker reads from another.
const RESPONSE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// One connection to one broker.
#[derive(Debug)]
pub(super) struct BrokerClient {
    addr: String,
    client_id: StrBytes,
    stream: Option<TcpStream>,
    correlation: i32,
}

impl BrokerClient {
    pub(super) fn new(addr: String, client_id: String) -> Self {
        BrokerClient {
            addr,
            client_id: StrBytes::from_string(client_id),
            stream: None,
            correlation: 0,
        }
    }

    pub(super) fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `body` as `key` at `version` and decodes the answer, at most `timeout` in all; the
    /// connection is dropped after any error.
    pub(super) async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Q,
        timeout: Duration,
    ) -> io::Result<R> {
        match tokio::time::timeout(timeout, self.exchange(key, version, body)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} did not answer", self.addr),
                ))
            }
        }
    }

    async fn exchange<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Q,
    ) -> io::Result<R> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .map_err(io::Error::other)?;
        body.encode(&mut buf, version).map_err(io::Error::other)?;
        let len = i32::try_from(buf.len() - 4).map_err(io::Error::other)?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(&self.addr).await?;
                s.set_nodelay(true)?;
                self.stream.insert(s)
            }
        };
        stream.write_all(&buf).await?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await?;
        let len = usize::try_from(i32::from_be_bytes(len)).map_err(io::Error::other)?;
        if len > RESPONSE_BYTES_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response too large",
            ));
        }
        let mut frame = vec![0u8; len];
        stream.read_exact(&mut frame).await?;
        let mut frame = Bytes::from(frame);
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if header.correlation_id != self.correlation {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "correlation id mismatch",
            ));
        }
        R::decode(&mut frame, version).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}
